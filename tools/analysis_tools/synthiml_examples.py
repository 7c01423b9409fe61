"""A grid of SynthIML examples per task and manipulation kind, with both masks.

    python tools/analysis_tools/synthiml_examples.py MANIFEST --out docs/synthiml/examples.jpg
        [--split test] [--per-kind 3] [--tasks natural,face] [--dpi 110]

Each row is one (task, kind); each example shows the image, the image with the region mask (the
primary mask, red) and the changed-pixel mask (green) drawn over it. Examples are the first
``--per-kind`` records of the kind in manifest order, so the grid is the same on every run.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

from mmiml.datasets.manifest import read_manifest
from mmiml.utils.cli import run_cli
from mmiml.utils.errors import IMLDataError


def _load(path: str | None, shape: tuple[int, int]) -> np.ndarray:
    if path is None:
        return np.zeros(shape, bool)
    with Image.open(path) as im:
        return np.asarray(im.convert("L")) > 127


def overlay(img: np.ndarray, region: np.ndarray, changed: np.ndarray) -> np.ndarray:
    """``img`` with the region's outline and fill in red and the changed pixels in green."""
    out = img.astype(np.float32)
    out[region] = 0.55 * out[region] + 0.45 * np.array([255, 0, 0], np.float32)
    out[changed] = 0.4 * out[changed] + 0.6 * np.array([0, 255, 0], np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("manifest", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--split", default="test")
    p.add_argument("--per-kind", type=int, default=3)
    p.add_argument("--tasks", help="comma-separated (default: every task in the manifest)")
    p.add_argument("--dpi", type=int, default=110)
    args = p.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = args.tasks.split(",") if args.tasks else None
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for rec in read_manifest(args.manifest, split=args.split):
        if tasks is not None and rec["task"] not in tasks:
            continue
        key = (rec["task"], rec.get("manipulation", "unknown"))
        if len(groups[key]) < args.per_kind:
            groups[key].append(rec)
    if not groups:
        raise IMLDataError(args.manifest, f"no {args.split!r} records"
                                          + (f" of tasks {tasks}" if tasks else ""))
    keys = sorted(groups)
    fig, axes = plt.subplots(len(keys), 2 * args.per_kind,
                             figsize=(2 * 1.6 * args.per_kind, 1.7 * len(keys)), squeeze=False)
    for row, key in enumerate(keys):
        for i in range(args.per_kind):
            a, b = axes[row, 2 * i], axes[row, 2 * i + 1]
            a.axis("off")
            b.axis("off")
            if i >= len(groups[key]):
                continue
            rec = groups[key][i]
            with Image.open(rec["image"]) as im:
                img = np.asarray(im.convert("RGB"))
            region = _load(rec.get("mask"), img.shape[:2])
            changed = _load(rec.get("mask_changed"), img.shape[:2])
            a.imshow(img)
            b.imshow(overlay(img, region, changed))
            if i == 0:
                a.set_title(f"{key[0]} / {key[1]}", fontsize=7, loc="left")
            if rec.get("mask_iou") is not None:
                b.set_title(f"IoU {rec['mask_iou']:.2f}", fontsize=6)
    fig.tight_layout(pad=0.2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=args.dpi)
    print(f"wrote {args.out}: {len(keys)} (task, kind) rows x {args.per_kind} examples "
          f"(image | region red, changed pixels green)")


if __name__ == "__main__":
    run_cli(main)
