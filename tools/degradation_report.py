"""Degradation report for any set of benchmark result files: joint minus single-task, per model
and task, in IoU and F1 points, as markdown, CSV and a PNG chart.

    python tools/degradation_report.py RESULT.json|DIR [...] [--out-dir DIR] [--name NAME]

Each argument is a result file or a folder searched recursively for ``*.json``; every file is
validated (a malformed or hand-edited file stops the report with its path named). A model needs
its joint run and at least one single-task run; models without both are listed as skipped.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmiml.benchmark import report  # noqa: E402
from mmiml.benchmark.result import load_result_paths  # noqa: E402
from mmiml.benchmark.zoo import JOINT  # noqa: E402
from mmiml.utils.cli import run_cli  # noqa: E402
from mmiml.utils.errors import IMLDataError  # noqa: E402


def collect(paths: list[str]) -> list[dict]:
    docs = load_result_paths(paths)
    profiles = sorted({d["profile"] for d in docs})
    if len(profiles) > 1:
        raise IMLDataError(", ".join(paths), f"results from several profiles "
                           f"({', '.join(profiles)}): joint and single-task runs must share a "
                           "budget; pass one profile's files")
    return docs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("results", nargs="+", help="result files or folders")
    p.add_argument("--out-dir", default="work_dirs/degradation_report")
    p.add_argument("--name", default="degradation", help="file stem of the outputs")
    args = p.parse_args(argv)
    docs = collect(args.results)
    df = report.frame(docs)
    deg = report.degradation_frame(df)
    trained = {d["model"] for d in docs if d["kind"] != "lower_bound"}
    compared = set(deg["model"]) if not deg.empty else set()
    skipped = []
    for model in sorted(trained - compared):
        sets = sorted({d["train_set"] for d in docs if d["model"] == model})
        missing = "a joint run" if JOINT not in sets else "a single-task run"
        skipped.append(f"{model}: has {', '.join(sets)}; needs {missing}")
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = report.degradation_table(df)
    md = [f"# Degradation: joint minus single-task ({docs[0]['profile']} profile)", "",
          f"From {len(docs)} result files. Points (x100); negative = joint training costs "
          "that task.", "", report.to_markdown(table), ""]
    if skipped:
        md += ["Skipped (no pair to compare):", ""] + [f"- {s}" for s in skipped] + [""]
    (out / f"{args.name}.md").write_text("\n".join(md), encoding="utf-8")
    deg.to_csv(out / f"{args.name}.csv", index=False, float_format="%.4f")
    png = report.plot_degradation(deg, out / f"{args.name}.png",
                                  "joint − single-task IoU (points)")
    print("\n".join(md))
    print(f"wrote {out / (args.name + '.md')}, {out / (args.name + '.csv')}"
          + (f", {png}" if png else ""))
    return 0


if __name__ == "__main__":
    run_cli(main)
