"""Two sets of benchmark runs side by side: is a difference larger than the seed noise?

    python tools/analysis_tools/compare_runs.py --a RESULT.json|DIR ... --b RESULT.json|DIR ... \\
        [--label-a A] [--label-b B] [--task TASK|avg] [--metric pixel_iou_image] [--out MD]

Each set is the runs of one variant over several seeds (result files of ``tools/benchmark.py``,
validated). The report gives each set's per-seed values and mean ± std, and the difference of
the means (B - A) with a 95% Welch t-interval over seeds: "within seed noise" when the interval
holds 0. With 3 seeds per set the interval is wide; that is what 3 seeds can say. Our choice:
seeds, not test images, are the unit here, because the question is whether a change of the
model is larger than what retraining it changes.
"""
from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mmiml.benchmark.result import load_result_paths  # noqa: E402
from mmiml.utils.cli import run_cli  # noqa: E402
from mmiml.utils.errors import IMLDataError  # noqa: E402


def collect(paths: Sequence[str]) -> list[dict[str, Any]]:
    """The validated result files named (folders searched for ``*.json``), one per seed."""
    docs = load_result_paths(paths)
    runs = {(d["model"], d["train_set"], tuple(d.get("cfg_options", []))) for d in docs}
    if len(runs) > 1:
        raise IMLDataError(", ".join(paths), "mixes runs of different models, training sets "
                           f"or options ({sorted(runs)}); one set is one variant over seeds")
    seeds = [d["seed"] for d in docs]
    if len(set(seeds)) != len(seeds):
        raise IMLDataError(", ".join(paths), f"holds a seed twice (seeds {sorted(seeds)})")
    return sorted(docs, key=lambda d: d["seed"])


def values(docs: Sequence[dict[str, Any]], task: str, metric: str) -> list[float]:
    """``metric`` of ``task`` (or ``avg``) per seed; a missing figure names the file."""
    out = []
    for d in docs:
        scores = d["result"]["avg"] if task == "avg" else d["result"]["per_task"].get(task)
        if scores is None or scores.get(metric) is None:
            raise IMLDataError(d["_path"], f"has no {metric!r} for task {task!r}")
        out.append(float(scores[metric]))
    return out


def welch_interval(a: Sequence[float], b: Sequence[float], level: float = 0.95
                   ) -> tuple[float, float, float]:
    """Difference of means (b - a) and its Welch t-interval; needs 2 values per set."""
    from scipy import stats

    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"an interval needs at least 2 seeds per set, got {len(a)} and "
                         f"{len(b)}")
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    va = sum((x - ma) ** 2 for x in a) / (len(a) - 1) / len(a)
    vb = sum((x - mb) ** 2 for x in b) / (len(b) - 1) / len(b)
    diff = mb - ma
    se = math.sqrt(va + vb)
    if se == 0:
        return diff, diff, diff
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = stats.t.ppf(0.5 + level / 2, df) * se
    return diff, diff - half, diff + half


def report(a: Sequence[dict[str, Any]], b: Sequence[dict[str, Any]], label_a: str,
           label_b: str, task: str, metric: str) -> str:
    """Markdown: both sets per seed with mean ± std, then B - A with its interval, in points."""
    lines = [f"{metric} on {task} ({a[0]['profile']} profile, trained on {a[0]['train_set']}), "
             "x100", "", "| set | seeds | per seed | mean ± std |", "| --- | --- | --- | --- |"]
    va, vb = values(a, task, metric), values(b, task, metric)
    for label, docs, vals in ((label_a, a, va), (label_b, b, vb)):
        mean = sum(vals) / len(vals)
        std = (math.sqrt(sum((x - mean) ** 2 for x in vals) / (len(vals) - 1))
               if len(vals) > 1 else float("nan"))
        per_seed = ", ".join(f"{100 * v:.1f} (s{d['seed']})" for v, d in zip(vals, docs,
                                                                             strict=True))
        lines.append(f"| {label} | {len(vals)} | {per_seed} | {100 * mean:.1f} ± {100 * std:.1f} |")
    lines.append("")
    if min(len(va), len(vb)) < 2:
        lines.append(f"{label_b} - {label_a}: {100 * (sum(vb) / len(vb) - sum(va) / len(va)):+.1f}"
                     " points; no interval with one seed in a set.")
    else:
        diff, lo, hi = welch_interval(va, vb)
        verdict = "within seed noise" if lo <= 0 <= hi else "larger than seed noise"
        lines.append(f"{label_b} - {label_a}: {100 * diff:+.1f} points, 95% Welch interval over "
                     f"seeds [{100 * lo:+.1f}, {100 * hi:+.1f}]: {verdict}.")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--a", nargs="+", required=True, help="result files or folders of set A")
    p.add_argument("--b", nargs="+", required=True, help="result files or folders of set B")
    p.add_argument("--label-a", default="A")
    p.add_argument("--label-b", default="B")
    p.add_argument("--task", default="avg", help="a task or 'avg' (default)")
    p.add_argument("--metric", default="pixel_iou_image")
    p.add_argument("--out", help="also write the markdown here")
    args = p.parse_args(argv)
    text = report(collect(args.a), collect(args.b), args.label_a, args.label_b, args.task,
                  args.metric)
    print(text, end="")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    run_cli(main)
