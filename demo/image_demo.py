"""Localise the tampering in an image, or in every image of a folder, with an mmiml checkpoint.

    python demo/image_demo.py IMAGE|FOLDER CONFIG CHECKPOINT --out-dir DIR \
        [--device cpu] [--threshold 0.5] [--task natural]

For each image, DIR receives ``<stem>_heatmap.png`` (tampering probability, coloured 0 dark to
1 bright), ``<stem>_mask.png`` (0/255 at the threshold), ``<stem>_overlay.png`` (the image with
tampered pixels tinted red, outlined, each region boxed) and ``<stem>.json`` (image score,
regions with box, area and mean score, and Omni-IML's gate route). An image that cannot be
read (unreadable file, smaller than 8 px a side) is named with the reason and counted; the
others go on. Images the loader must convert first (16-bit, CMYK, palette, alpha, grey) are
predicted and named with the conversion; DIR/demo_summary.json counts both. Exit status: 0
when every image was predicted, 1 when some failed, 2 for bad arguments or when nothing could
be predicted.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

try:
    import mmiml  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmiml import TASKS
from mmiml.utils.cli import run_cli


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("input", help="an image file or a folder of images")
    p.add_argument("config")
    p.add_argument("checkpoint")
    p.add_argument("--out-dir", required=True, help="where the four outputs per image go")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threshold", type=float, default=0.5,
                   help="binarisation threshold of the mask (default 0.5)")
    p.add_argument("--task", choices=TASKS, help="recorded in the summaries")
    args = p.parse_args(argv)
    if not 0.0 <= args.threshold <= 1.0:
        p.error(f"--threshold must lie in [0, 1], got {args.threshold}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from tqdm import tqdm

    from mmiml.apis import IMLInferencer

    inferencer = IMLInferencer(args.config, args.checkpoint, args.device, args.threshold)
    out = inferencer(args.input, args.out_dir, task=args.task,
                     progress=lambda items: tqdm(items, desc="images", unit="img"))
    n_ok, n_failed = len(out["predictions"]), len(out["failed"])
    for name, reason in out["failed"]:
        print(f"FAILED {name}: {reason}", file=sys.stderr)
    for name, note in out["converted"]:
        print(f"converted {name}: {note}")
    for summary in out["predictions"]:
        regions = summary["regions"]
        print(f"{summary['source']}: score {summary['image_score']:.3f}, "
              f"{len(regions)} region(s), {100 * summary['tampered_share']:.1f}% tampered"
              + (f", gate {summary['gate']['route']}" if summary["gate"] else ""))
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(out["failures_by_kind"].items()))
    print(f"{n_ok} image(s) predicted, {n_failed} failed{f' ({kinds})' if kinds else ''}; "
          f"outputs in {args.out_dir}")
    Path(args.out_dir).mkdir(parents=True, exist_ok=True)
    (Path(args.out_dir) / "demo_summary.json").write_text(json.dumps(
        {"predicted": n_ok, "failed": [{"input": n, "reason": r} for n, r in out["failed"]],
         "failures_by_kind": out["failures_by_kind"],
         "converted": [{"input": n, "what": w} for n, w in out["converted"]]}, indent=1) + "\n")
    if n_ok == 0:
        return 2
    return 1 if n_failed else 0


if __name__ == "__main__":
    run_cli(main)
