"""Look at a manifest by eye: per task, a grid of its images with their masks overlaid.

    python tools/browse_dataset.py MANIFEST --out-dir DIR [--split test] [--per-task 16]
        [--cols 4] [--size 256] [--seed 0]

Writes ``DIR/<task>.png`` (and ``DIR/<task>_<source>.png`` when a task mixes datasets): up to
``--per-task`` entries drawn at random (``--seed``), each scaled to fit ``--size`` px, the
tampered pixels tinted red and outlined, authentic images framed green, and the file name and
the tampered share under each. The masks are read by the same mask policy as training
(inversion and thresholds of the manifest applied), so what you see is what a model learns
from. A file that cannot be read is drawn as a grey tile naming the problem, and counted.
"""
from __future__ import annotations

import argparse
import random
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

try:
    import mmiml  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np

from mmiml.datasets.io import load_image, load_mask
from mmiml.datasets.manifest import SPLITS, read_manifest
from mmiml.utils.cli import run_cli
from mmiml.utils.errors import IMLDataError
from mmiml.visualization import overlay

CAPTION = 30


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("manifest")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--split", choices=SPLITS, help="only this split (default: all)")
    p.add_argument("--per-task", type=int, default=16, help="entries per grid (default 16)")
    p.add_argument("--cols", type=int, default=4)
    p.add_argument("--size", type=int, default=256, help="tile side in px (default 256)")
    p.add_argument("--seed", type=int, default=0, help="which entries are drawn")
    args = p.parse_args(argv)
    for name in ("per_task", "cols", "size"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def _fit(img: np.ndarray, size: int) -> np.ndarray:
    h, w = img.shape[:2]
    scale = size / max(h, w)
    small = cv2.resize(img, (max(1, round(w * scale)), max(1, round(h * scale))),
                       interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST)
    tile = np.full((size, size, 3), 255, np.uint8)
    y, x = (size - small.shape[0]) // 2, (size - small.shape[1]) // 2
    tile[y:y + small.shape[0], x:x + small.shape[1]] = small
    return tile


def tile(entry: dict[str, Any], size: int) -> tuple[np.ndarray, str | None]:
    """One entry's tile (image, mask tinted, caption) and the problem if it could not be read."""
    problem = None
    try:
        image = load_image(entry["image"])
        if entry["mask"] is None:
            drawn = image.copy()
            cv2.rectangle(drawn, (0, 0), (drawn.shape[1] - 1, drawn.shape[0] - 1),
                          (0, 200, 0), max(2, min(drawn.shape[:2]) // 64))
            share = "authentic"
        else:
            mask = load_mask(entry["mask"], inverted=entry.get("mask_inverted", False),
                             threshold=entry.get("mask_threshold"),
                             expected_shape=image.shape)
            drawn = overlay(image, mask)
            share = f"{100 * mask.mean():.1f}% tampered"
        body = _fit(drawn, size)
    except IMLDataError as e:
        problem = e.problem
        body = np.full((size, size, 3), 200, np.uint8)
        share = "unreadable"
    caption = np.full((CAPTION, size, 3), 255, np.uint8)
    name = Path(entry["image"]).name
    cv2.putText(caption, name[: size // 7], (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 0),
                1, cv2.LINE_AA)
    cv2.putText(caption, share, (3, 26), cv2.FONT_HERSHEY_SIMPLEX, 0.38,
                (180, 0, 0) if problem else (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([body, caption], axis=0), problem


def grid(tiles: list[np.ndarray], cols: int) -> np.ndarray:
    h, w = tiles[0].shape[:2]
    rows = -(-len(tiles) // cols)
    out = np.full((rows * (h + 4), min(cols, len(tiles)) * (w + 4), 3), 255, np.uint8)
    for i, t in enumerate(tiles):
        r, c = divmod(i, cols)
        out[r * (h + 4):r * (h + 4) + h, c * (w + 4):c * (w + 4) + w] = t
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    entries = read_manifest(args.manifest, split=args.split, allow_empty=False)
    if not entries:
        raise IMLDataError(args.manifest, f"no entry in split {args.split!r}")
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in entries:
        groups[e["task"]].append(e)
    sources = {t: {e["source"] for e in es} for t, es in groups.items()}
    for task in list(groups):
        if len(sources[task]) > 1:
            for e in groups[task]:
                groups[f"{task}_{e['source']}"].append(e)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    problems = 0
    for name, group in sorted(groups.items()):
        chosen = rng.sample(group, min(args.per_task, len(group)))
        drawn = [tile(e, args.size) for e in chosen]
        for e, (_, problem) in zip(chosen, drawn, strict=True):
            if problem:
                problems += 1
                print(f"PROBLEM {e['image']}: {problem}", file=sys.stderr)
        path = out / f"{name.replace('/', '_')}.png"
        cv2.imwrite(str(path), grid([t for t, _ in drawn], args.cols)[..., ::-1])
        print(f"{path}: {len(chosen)} of {len(group)} entries")
    print(f"{problems} entr{'y' if problems == 1 else 'ies'} could not be read "
          "(grey tiles; tools/check_dataset.py lists every problem)")
    return 1 if problems else 0


if __name__ == "__main__":
    run_cli(main)
