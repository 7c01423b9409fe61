"""Score training-free lower-bound localizers on a manifest split.

    python tools/lower_bounds.py MANIFEST [--split test] --out-dir DIR
        [--predictors all_tampered,all_authentic,centre_blob,ela,noise_residual]
        [--group-by manipulation]

For each predictor (``mmiml.evaluation.lower_bounds.LOWER_BOUNDS``) the maps are written as
8-bit PNGs to DIR/<name>/preds/<image stem>.png and scored by
``mmiml.evaluation.score_predictions.score`` (as tools/score.py),
i.e. the same IMLMetric path as any saved prediction, so the figures are directly comparable
with models. Writes DIR/<name>.json (result JSON, mmiml-result/1) and prints a summary table.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

try:
    import mmiml  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmiml.evaluation.lower_bounds import LOWER_BOUNDS, score_lower_bounds
from mmiml.utils.cli import run_cli

SUMMARY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("num_images", "n"),
    ("pixel_iou_image", "IoU"),
    ("pixel_f1_image", "F1"),
    ("pixel_auc_image", "pAUC"),
    ("image_auc", "iAUC"),
    ("false_alarm_rate", "FA"),
)


def summary_table(results: Mapping[str, Mapping[str, Any]]) -> str:
    """Rows predictor x task (+ avg); image-aggregation IoU/F1 and a few more figures."""
    import pandas as pd

    rows, index = [], []
    for name, res in results.items():
        for task, scores in [*res["per_task"].items(), ("avg", res["avg"])]:
            index.append((name, task))
            rows.append([scores.get(key) for key, _ in SUMMARY_COLUMNS])
    df = pd.DataFrame(rows, columns=[c for _, c in SUMMARY_COLUMNS], dtype=object,
                      index=pd.MultiIndex.from_tuples(index, names=["predictor", "task"]))

    def fmt(v: Any) -> str:
        if v is None:
            return "-"
        return str(v) if isinstance(v, int) else f"{v:.4f}"

    df = df.map(fmt) if hasattr(df, "map") else df.applymap(fmt)
    return (df.to_string() + "\nIoU/F1/pAUC: per-image mean over tampered images ('image'); "
            "iAUC: image-level detection; FA: share of authentic images with any alarm; "
            "'-' undefined")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("manifest", help="manifest (JSON lines)")
    p.add_argument("--split", default="test", help="train, val, test or all (default test)")
    p.add_argument("--out-dir", required=True, help="folder for predictions and result JSONs")
    p.add_argument("--predictors", default=",".join(LOWER_BOUNDS),
                   help=f"comma-separated subset of {','.join(LOWER_BOUNDS)} (default all)")
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--group-by", default=None,
                   help="a manifest key, e.g. manipulation: also score and print each "
                        "<task>/<value> group (IoU per predictor)")
    return p.parse_args(argv)


def group_table(results: Mapping[str, Mapping[str, Any]], key: str = "pixel_iou_image") -> str:
    """Groups (rows) x predictors (columns) of ``key``, with the group's image count."""
    import pandas as pd

    # groups without a tampered image (e.g. "<task>/authentic") have no pixel figures
    groups = sorted({g for res in results.values() for g, scores in
                     res.get("per_group", {}).items() if scores.get("num_tampered", 1)})
    df = pd.DataFrame(index=pd.Index(groups, name="group"))
    for name, res in results.items():
        per = res.get("per_group", {})
        df[name] = [per.get(g, {}).get(key) for g in groups]
    first = next(iter(results.values())).get("per_group", {})
    df.insert(0, "n", [first.get(g, {}).get("num_tampered", first.get(g, {}).get("num_images"))
                       for g in groups])

    def fmt(v: Any) -> str:
        if v is None or v != v:
            return "-"
        return str(int(v)) if isinstance(v, int) else f"{v:.4f}"

    df = df.map(fmt) if hasattr(df, "map") else df.applymap(fmt)
    return df.to_markdown() if hasattr(df, "to_markdown") else df.to_string()


def main(argv: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    args = parse_args(argv)
    names = [n.strip() for n in args.predictors.split(",") if n.strip()]
    split = None if args.split == "all" else args.split
    results = score_lower_bounds(args.manifest, args.out_dir, split=split, predictors=names,
                                 threshold=args.threshold, group_by=args.group_by)
    first = next(iter(results.values()))
    spec = first["spec"]
    print(f"lower bounds on {args.manifest} split={args.split}: images={first['num_images']} "
          f"(tampered {first['num_tampered']}, authentic {first['num_authentic']}), "
          f"threshold={spec.get('threshold')} authentic_policy={spec.get('authentic_policy')}")
    print(summary_table(results))
    if args.group_by:
        print(f"\npixel IoU (per-image mean over tampered images) per <task>/<{args.group_by}>:")
        print(group_table(results))
    print(f"results written to {Path(args.out_dir)}/<predictor>.json")
    return results


if __name__ == "__main__":
    run_cli(main, errors=(ValueError,))
