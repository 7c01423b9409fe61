"""Score saved prediction maps of any tool with mmiml's metric (docs/metrics.md).

    python tools/score.py --pred DIR --manifest MANIFEST [--out result.json] [--split test]
        [--threshold 0.5] [--skip-missing] [--resize]

Predictions are 8-bit PNG probability maps (value / 255; 16-bit PNGs: value / 65535) or ``.npy``
float maps in [0, 1], found anywhere under ``--pred`` and matched to manifest entries by the image
file stem. Every map goes through the same ``IMLMetric`` code path as ``tools/test.py``, so the
two tools report identical figures for identical probabilities.

A prediction whose size differs from the ground-truth mask (the image's original size) is an
error unless ``--resize`` is given, in which case it is resized bilinearly like a model output.

Every file is checked before anything is written: a prediction that is not such a map (empty,
truncated, a renamed ``.npz`` or pickle, wrong dtype, over the pixel limit), or a ground-truth
mask the mask policy refuses or that has no tampered pixel on a tampered entry
(docs/data_contract.md), stops the tool with the file named (exit 2) and leaves ``--out`` as it
was.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

try:
    import mmiml  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmiml.datasets.io import DEFAULT_MAX_PIXELS, MAX_PIXELS_ENV
from mmiml.evaluation.result_json import format_task_table, write_result
from mmiml.evaluation.score_predictions import score
from mmiml.utils.cli import run_cli


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pred", required=True, help="folder of <image stem>.png / .npy maps")
    p.add_argument("--manifest", required=True, help="manifest (JSON lines)")
    p.add_argument("--out", default=None,
                   help="result JSON path (default: <pred>/result.json)")
    p.add_argument("--split", default="test", help="train, val, test or all (default test)")
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--authentic-policy", default="exclude", choices=("exclude", "empty_is_one"))
    p.add_argument("--image-pooling", default="max", choices=("max", "mean", "topk_mean"))
    p.add_argument("--skip-missing", action="store_true",
                   help="skip (and count) images without a prediction instead of failing")
    p.add_argument("--resize", action="store_true",
                   help="resize predictions of another size to the ground truth (bilinear)")
    p.add_argument("--max-pixels", type=int, default=None,
                   help=f"pixel limit for images, masks and predictions (default: "
                        f"${MAX_PIXELS_ENV} or {DEFAULT_MAX_PIXELS}; 0 = no limit)")
    return p.parse_args(argv)


def run(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Score, write the result file and print the table; returns the result dict."""
    args = parse_args(argv)
    result = score(args.pred, args.manifest, split=None if args.split == "all" else args.split,
                   threshold=args.threshold, authentic_policy=args.authentic_policy,
                   image_pooling=args.image_pooling, skip_missing=args.skip_missing,
                   resize=args.resize, max_pixels=args.max_pixels)
    out = args.out or os.path.join(args.pred, "result.json")
    write_result(result, out)
    if result["num_skipped"]:
        print(f"skipped {result['num_skipped']} image(s) without a prediction")
    print(format_task_table(result))
    print(f"result written to {out}")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    run(argv)
    return 0


if __name__ == "__main__":
    run_cli(main)
