"""Regenerate the leaderboard (``leaderboard/README.md`` and its PNGs) from result files only.

    python tools/make_leaderboard.py [--profiles cpu,smoke] [--results-root leaderboard/results]
                                     [--out leaderboard] [--check]

One section per profile found under RESULTS_ROOT (``<profile>/*.json``, written by
``tools/benchmark.py``): the main table (joint-trained models ranked by average IoU, mean ± std
over seeds), the dataset-aggregation table, image-level figures, the degradation table (joint
minus single-task), Omni-IML's ablations (rows from the zoo), its Modal Gate routing and DWD
mixing spread, complexity, the lower-bound reference rows, plots and a provenance footer. Every
result file is validated first; a malformed or hand-edited file stops the run with its path
named. A valid result of a model that the zoo no longer defines (renamed, split or removed) is
in no table: the profile's header counts it, a section at its end lists it, and the tool prints
a warning naming the file. A results root may hold an ``ABOUT.md``, printed under the header (an
archived set of results says what it is); links to the docs are relative to OUT. The output is
deterministic; ``--check`` regenerates into a
temporary folder and fails if anything differs from OUT.
"""
from __future__ import annotations

import argparse
import filecmp
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from mmiml.benchmark import report, significance  # noqa: E402
from mmiml.benchmark.profiles import PROFILES  # noqa: E402
from mmiml.benchmark.protocols import get_protocol  # noqa: E402
from mmiml.benchmark.result import load_results  # noqa: E402
from mmiml.benchmark.zoo import BY_KEY, JOINT, ZOO  # noqa: E402
from mmiml.utils.cli import run_cli  # noqa: E402
from mmiml.utils.errors import IMLDataError  # noqa: E402

MAIN_METRICS = (("pixel_iou_image", "IoU"), ("pixel_f1_image", "F1"))
DATASET_METRICS = (("pixel_iou_dataset", "IoU_ds"), ("pixel_f1_dataset", "F1_ds"))
IMAGE_METRICS = (("image_auc", "iAUC"), ("false_alarm_rate", "FA"))


def _profiles_present(root: Path, wanted: str | None) -> list[str]:
    present = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if wanted:
        names = [n.strip() for n in wanted.split(",") if n.strip()]
        missing = [n for n in names if n not in present]
        if missing:
            raise IMLDataError(root, f"no results for profile(s) {', '.join(missing)}")
        present = names
    order = {name: i for i, name in enumerate(PROFILES)}
    return sorted(present, key=lambda n: (order.get(n, len(order)), n))


def _counted(values: list[str]) -> str:
    return ", ".join(f"`{v}` ({n} runs)" for v, n in sorted(Counter(values).items()))


def _provenance(docs: list[dict[str, Any]]) -> list[str]:
    prov = [d["provenance"] for d in docs]
    code = sorted({p["code_hash"] for p in prov})
    dirty = sum(p["code_dirty"] for p in prov)
    metric = [f"{p['metric_schema']} spec {p['metric_spec_version']}" for p in prov]
    packages = [", ".join(f"{k} {v}" for k, v in p["packages"].items()) for p in prov]
    one_code = ("one version of the code" if len(code) == 1 else
                "**results from more than one version of the code**")
    lines = [
        "### Provenance",
        "",
        f"- Commits: {_counted([p['git_commit'][:12] for p in prov])}.",
        "- Code hash (git trees of mmiml/, configs/, tools/): "
        f"{_counted([p['code_hash'] for p in prov])}: {one_code}.",
        f"- Runs with uncommitted code changes: {dirty}.",
        f"- Metric: {_counted(metric)}.",
        f"- Packages: {_counted(packages)}.",
        f"- Machines: {_counted([p['machine'] for p in prov])}.",
        f"- Resumed runs (trained in more than one process): {sum(p['resumed'] for p in prov)}.",
    ]
    data = Counter(tuple(sorted(p["test_data"].items())) for p in prov)
    for hashes, n in sorted(data.items()):
        lines.append("- Test data (sha256 of records + files, per task): "
                     + ", ".join(f"{t} `{h}`" for t, h in hashes) + f" ({n} runs).")
    rows = [{"model": d["model"], "train set": d["train_set"], "seed": str(d["seed"]),
             "config hash": f"`{d['provenance']['config_hash'] or '-'}`",
             "commit": f"`{d['provenance']['git_commit'][:12]}`",
             "finished": d["provenance"]["finished_at"],
             "wall (s)": f"{d['wall_time_s']['total']:.0f}",
             "file": f"`{Path(d['_path']).name}`"} for d in docs]
    lines += ["", "<details><summary>Every run</summary>", "",
              report.to_markdown(pd.DataFrame(rows)), "", "</details>", ""]
    return lines


def _image_scores(docs: list[dict[str, Any]]) -> str:
    """Which image score each joint model's results use (``spec.image_score``; files written
    before it was recorded name their pooling)."""
    found: dict[str, set[str]] = {}
    for d in docs:
        if d["train_set"] != JOINT or d["kind"] == "lower_bound":
            continue
        spec = d["result"]["spec"]
        found.setdefault(d["model_name"], set()).add(
            spec.get("image_score") or spec.get("image_pooling", "max"))
    words = {"model": "its detection head", "max": "max of the map",
             "topk_mean": "mean of the 100 highest pixels", "mean": "mean of the map"}
    return "Image scores: " + "; ".join(
        f"{name}: {', '.join(words.get(s, s) for s in sorted(kinds))}"
        for name, kinds in found.items()) + "."


def _all_dashes(table: pd.DataFrame) -> bool:
    cols = [c for c in table.columns if c.startswith("Δ")]
    return bool(cols) and bool((table[cols] == "-").all().all())


def _intervals(docs: list[dict[str, Any]]) -> list[str]:
    """The comparisons with their 95% paired bootstrap intervals (``-``: no per-image figures
    on one side)."""
    table = significance.comparisons_table(docs)
    if table.empty:
        return []
    seeds = {len(significance.runs_of(docs, m)) for m in significance.joint_models(docs)}
    caveat = ("With one seed per model an interval covers the draw of test images only, not "
              "retraining: it is too narrow for a claim about a method. "
              if seeds == {1} else "")
    if _all_dashes(table):
        return ["### Differences with 95% intervals", "",
                "None yet: no jointly trained model's result files keep per-image figures "
                "(written before they were recorded); a rerun gives them.", ""]
    return ["### Differences with 95% intervals", "",
            "B − A in IoU points (x100), per task and averaged over tasks, with the 95% paired "
            "bootstrap interval over test images (and over seeds, drawn per model); **bold**: "
            "the interval excludes 0. seeds: runs of A / B. `-`: a side keeps no per-image "
            f"figures (a result written before they were recorded). {caveat}"
            f"[docs/metrics.md]({_metrics_link()}), \"Intervals and shared ranks\".", "",
            report.to_markdown(table), ""]


def _stray_count(stray: list[dict[str, Any]]) -> str:
    n = len(stray)
    return f"{n} result file{'s' if n != 1 else ''} of {'a model' if n == 1 else 'models'}"


def _missing_runs(profile: str, prof: Any, docs: list[dict[str, Any]]) -> list[str]:
    """A line naming the profile's (model, training set, seed) runs without a result file: a
    model changed since its last run has its stale results removed until the rerun lands, and
    a run with fewer seeds than the profile's names the seeds it lacks."""
    if prof is None:
        return []
    have = {(d["model"], d["train_set"], int(d.get("seed", 0))) for d in docs}
    missing = []
    for m in prof.models_list():
        for t in (t for t in m.train_sets if t in prof.train_sets_list()):
            expected = range(prof.seeds_for(t))
            lacking = [k for k in expected if (m.key, t, k) not in have]
            if len(lacking) == len(expected):
                missing.append(f"`{m.key}` {t}")
            elif lacking:
                missing.append(f"`{m.key}` {t} seed{'s' if len(lacking) > 1 else ''} "
                               f"{', '.join(map(str, lacking))}")
    if not missing:
        return []
    return [f"**Not run at the current code yet ({len(missing)}):** {', '.join(missing)}. "
            "They are missing from the tables below (or show `-`); "
            f"`python tools/benchmark.py --profile {profile} --resume` runs them.", ""]


def _protocol_section(profile: str, prof: Any, docs: list[dict[str, Any]]) -> list[str]:
    """A real-data protocol: pixel F1 per test dataset and per task, the datasets found and
    missing, and the published figures beside them."""
    protocol = get_protocol(prof.protocol)
    trained = [d for d in docs if d["kind"] == "model"]
    records = [d["protocol"] for d in trained if "protocol" in d]
    present = sorted({x for r in records for x in r["present"]})
    missing = sorted({x for r in records for x in r["missing"]})
    labels = [x for x in protocol.test_labels()
              if any(x in d["result"].get("per_group", {}) for d in trained)]
    budgets = sorted({d["budget"]["description"] for d in trained})
    lines = [f"## Profile `{profile}`", "", f"{prof.description[0].upper()}"
             f"{prof.description[1:]}.", "",
             f"Reproduce: `bash tools/benchmark_all.sh --profile {profile} --data-root DIR` "
             "(docs/datasets.md: the folders under DIR and the converter of each). "
             f"Training budget: {'; '.join(budgets) or '-'}. Figures: pixel F1 at threshold "
             "0.5, per-image mean over the tampered images, mean ± std over seeds.", "",
             f"Datasets found: {', '.join(present) or '-'}.", "",
             f"Datasets missing (left out): {', '.join(missing) or 'none'}.", ""]
    by_dataset, by_task = report.protocol_tables(trained, labels)
    lines += ["### Pixel F1 per test dataset", "",
              report.to_markdown(by_dataset) if not by_dataset.empty else "No trained run yet.",
              "", "### Pixel F1 per task", "",
              report.to_markdown(by_task) if not by_task.empty else "No trained run yet.", ""]
    if protocol.references:
        cols = protocol.test_labels()
        rows = [{"model": f"*{r.model}*", **{c: f"{r.f1[c]:.3f}" if c in r.f1 else "-"
                                             for c in cols},
                 "avg": f"{sum(r.f1.values()) / len(r.f1):.3f}"} for r in protocol.references]
        lines += ["### Published figures (reported, not run here)", "",
                  f"Pixel F1 as published for this protocol, from {protocol.reference_source}. "
                  "Their training (full-size models, pretrained backbones, their own "
                  "schedules) is not ours; set a run beside them, not in their ranking.", "",
                  report.to_markdown(pd.DataFrame(rows)), ""]
    return lines + _provenance(docs)


def _section(profile: str, all_docs: list[dict[str, Any]], out: Path) -> list[str]:
    # tables show the zoo's models only; the other files are counted here and listed at the end
    docs, stray = report.split_by_zoo(all_docs)
    df = report.frame(docs)
    prof = PROFILES.get(profile)
    base = PROFILES.get(profile.split("@")[0])  # cpu@1200it: a budget study of cpu
    if base is not None and base.protocol:
        return _protocol_section(profile, base, docs)
    trained = [d for d in all_docs if d["kind"] != "lower_bound"]
    budgets = sorted({d["budget"]["description"] for d in trained})
    total = sum(d["wall_time_s"]["total"] for d in all_docs)
    lines = [f"## Profile `{profile}`", ""]
    if prof:
        lines += [f"{prof.description[0].upper()}{prof.description[1:]}.", ""]
    not_in_zoo = (f" {_stray_count(stray)} no longer in the zoo: in no table, listed under "
                  "\"Results of models not in the zoo\"." if stray else "")
    means = report.joint_means(df)
    ranks = significance.rank_labels(docs, list(means), means) if means else None
    rank_note = (
        "Ranks: models whose average IoU differs by less than the 95% paired bootstrap interval "
        f"can tell apart share a rank range (\"2–4\"; [docs/metrics.md]({_metrics_link()}), "
        "\"Intervals and shared ranks\")." if ranks is not None else
        "Ranks: by mean average IoU only; some result files keep no per-image figures (written "
        "before they were recorded), so no interval can separate or merge the ranks; a rerun "
        "gives them.")
    lines += [
        *_missing_runs(profile, prof, docs),
        f"Reproduce: `bash tools/benchmark_all.sh --profile {profile}`. "
        f"{len(trained)} trained runs and {len(all_docs) - len(trained)} lower-bound "
        f"references; the runs' wall times add up to {total / 60:.1f} min.{not_in_zoo}",
        "",
        # the link is relative to leaderboard/README.md (fixed, so --check compares equal)
        f"Training budget: {'; '.join(budgets) or '-'} (the same for every model and training "
        "set). Figures: threshold 0.5, authentic images excluded from the pixel figures, "
        "per-image means (`image` aggregation) unless marked `_ds` (one confusion matrix per "
        f"task). Definitions: [docs/metrics.md]({_metrics_link()}).",
        "",
        "### Joint training: per-task IoU and F1",
        "",
        "Models trained once on all four tasks (sampled 10:5:2:20), ranked by average IoU; "
        f"*italic* rows are training-free lower bounds. {rank_note}",
        "",
        report.to_markdown(report.ranked_table(df, MAIN_METRICS, rank_labels=ranks)),
        "",
    ]
    lines += _intervals(docs)
    bars = report.plot_iou_bars(df, out / profile / "iou_per_task.png",
                                f"{profile}: IoU per task, joint training")
    if bars:
        lines += [f"![IoU per task]({profile}/iou_per_task.png)", ""]
    curves = report.learning_curve_frame(docs)
    if not curves.empty:
        lines += ["### Learning curves", "",
                  "Average IoU over the four tasks' validation splits during training (joint "
                  "runs, mean over seeds); the budget is chosen from these curves "
                  "([docs/benchmark.md](../docs/benchmark.md)).", "",
                  report.to_markdown(report.learning_curve_table(curves)), ""]
        if report.plot_learning_curves(curves, out / profile / "learning_curves.png",
                                       f"{profile}: validation IoU during training"):
            lines += [f"![learning curves]({profile}/learning_curves.png)", ""]
    lines += ["### `dataset` aggregation", "",
              report.to_markdown(report.ranked_table(df, DATASET_METRICS,
                                                     rank_by="pixel_iou_dataset")), "",
              "### Image level: detection AUC and false alarms", "",
              "iAUC: image-level AUC of each model's image score (its detection head where it "
              "has one, else a pooling of its map; listed below the table); FA: share of "
              "authentic images with any pixel over 0.5 (lower is better; `-` where a task has "
              "no authentic image).",
              "", report.to_markdown(report.ranked_table(df, IMAGE_METRICS, rank_by="image_auc")),
              "", _image_scores(docs), ""]
    deg = report.degradation_frame(df)
    lines += ["### Degradation: joint minus single-task", ""]
    if deg.empty:
        lines += ["No model of this profile has a single-task run to compare with (`cpu` trains "
                  "the joint runs only): `bash tools/benchmark_all.sh --profile cpu-long`, or "
                  f"`--profile {profile} --tasks natural,document,face,scene_text`, adds them.",
                  ""]
    else:
        lines += ["Points (x100) of IoU and F1: the joint model on task t minus the model "
                  "trained on t alone, tested on t. Negative = joint training costs that task; "
                  "`mean` over the tasks compared.", "",
                  report.to_markdown(report.degradation_table(df)), ""]
    deg_ci = significance.degradation_differences(docs)
    if not deg_ci.empty and not _all_dashes(deg_ci):
        lines += ["The same IoU differences with their 95% paired bootstrap intervals (joint "
                  "against single-task runs on the task's test images; **bold**: excludes 0; "
                  "`-`: a side keeps no per-image figures).", "",
                  report.to_markdown(deg_ci), ""]
    chart = report.plot_degradation(deg, out / profile / "degradation.png",
                                    f"{profile}: joint − single-task IoU")
    if chart:
        lines += [f"![degradation]({profile}/degradation.png)", ""]
    for full in dict.fromkeys(m.ablation_of for m in ZOO if m.ablation_of):
        ablations = report.ablation_table(df, full)
        if not ablations.empty:
            lines += [f"### {BY_KEY[full].name} ablations (joint training)", "",
                      "The full model and the ablations the model zoo defines: IoU per task, "
                      "mean over seeds; in brackets the change against the full model, in "
                      "points; `-`: not run.", "", report.to_markdown(ablations), ""]
            ab_ci = significance.ablation_differences(docs, full)
            if not ab_ci.empty and not _all_dashes(ab_ci):
                lines += ["Each ablation minus the full model with the 95% paired bootstrap "
                          "interval (**bold**: excludes 0; `-`: not run, or no per-image "
                          "figures).", "", report.to_markdown(ab_ci), ""]
    mechanisms = report.mechanism_table(df)
    if not mechanisms.empty:
        lines += ["### Modal Gate routing and DWD mixing", "",
                  "RGB+DCT: share of each task's test images the Modal Gate Encoder sent to the "
                  "RGB+DCT path; gate p: the gate's mean probability of that path; DWD spread: "
                  "how far apart the tasks' mean kernel-mixing weights of the Dynamic Weight "
                  "Filters lie (0: every task mixes its kernels alike; "
                  f"[docs/metrics.md]({_metrics_link()})). Joint models, mean ± std over seeds; "
                  "`-`: not recorded (gate bypassed, no filters, or a result written before the "
                  "figure existed).", "", report.to_markdown(mechanisms), ""]
    gates = report.gate_frame(df)
    if not gates.empty:
        if report.plot_gate(gates, out / profile / "gate_routing.png",
                            f"{profile}: Modal Gate routing per task"):
            lines += [f"![gate routing]({profile}/gate_routing.png)", ""]
    robust = report.robustness_table(docs)
    if not robust.empty:
        lines += ["### Robustness", "",
                  "The joint runs of seed 0 tested on degraded copies of the first test images "
                  "of each task (images/task): JPEG quality, Gaussian blur, Gaussian noise "
                  "(IMDL-BenCo's grids) and resizing. area: the mean IoU over a degradation's "
                  "levels (trapezoid, mild to strong); score: the mean of the areas. The grid "
                  "and how it maps to IMDL-BenCo's settings: "
                  f"[docs/metrics.md]({_metrics_link()}), \"Robustness\".", "",
                  report.to_markdown(robust), ""]
        for path in report.plot_robustness(docs, out / profile, profile):
            lines += [f"![{path.stem}]({profile}/{path.name})", ""]
    lines += ["### Complexity and speed (joint runs)", "",
              "Parameters of the inference form (and with training-only branches); FLOPs at the "
              "training crop; throughput measured during the run on the machine below (train: "
              "steady-state iterations; test: load + predict + score).", "",
              report.to_markdown(report.complexity_table(docs)), ""]
    notes = sorted({(d["model_name"], d["note"]) for d in docs
                    if d.get("note") and d["kind"] != "lower_bound"})
    if notes:
        lines += ["### Model notes", ""] + [f"- **{n}**: {t}." for n, t in notes]
        lines += ["- **lower bound: …**: training-free references "
                  "(`mmiml.evaluation.lower_bounds`), scored like any saved prediction.", ""]
    if stray:
        lines += ["### Results of models not in the zoo", "",
                  f"{_stray_count(stray)} that `mmiml/benchmark/zoo.py` no longer defines "
                  "(renamed, split or removed): valid files, but no current config reruns "
                  "them, so no table above shows them. Rerun the benchmark for the current zoo "
                  "and delete these files.", "", report.to_markdown(report.not_in_zoo_table(stray)),
                  ""]
    lines += _provenance(all_docs)
    return lines


#: the folder the page is written for: its links to the repository's docs are relative to it
_page_dir: Path = ROOT / "leaderboard"


def relative_link(target: str, page_dir: Path) -> str:
    """``target`` (a path in the repository) as a link from a page in ``page_dir``."""
    return Path(os.path.relpath(ROOT / target, page_dir.resolve())).as_posix()


def _metrics_link() -> str:
    return relative_link("docs/metrics.md", _page_dir)


def _warn(message: str) -> None:
    print(f"make_leaderboard: {message}", file=sys.stderr)


def generate(root: Path, out: Path, profiles: str | None = None,
             warn: Callable[[str], None] = _warn, page_dir: Path | None = None) -> list[Path]:
    """Write OUT/README.md and OUT/<profile>/*.png; return the files written.

    ``warn`` gets one line per profile with result files of models not in the zoo, naming them.
    ``page_dir``: where the page will live (default OUT), for its links to the docs.
    ``ROOT/ABOUT.md``, when present, is printed under the header (an archive says what it is).
    """
    global _page_dir
    _page_dir = page_dir or out
    names = _profiles_present(root, profiles)
    lines = ["# mmiml leaderboard", "",
             "Generated by `python tools/make_leaderboard.py` from the result files under "
             f"`{root.as_posix()}/` (do not edit by hand; `tools/benchmark_all.sh` reruns the "
             "benchmark and regenerates this page). Every figure is read from a result file "
             "validated against the `mmiml-benchmark/1` schema and its checksum.", ""]
    about = root / "ABOUT.md"
    if about.is_file():
        lines += [about.read_text(encoding="utf-8").strip(), ""]
    sections = {}
    for name in names:
        docs = load_results(root / name)
        for doc in docs:
            # a file copied into another profile's folder would be listed under the wrong budget
            if doc["profile"] != name:
                raise IMLDataError(doc["_path"], f"result of profile {doc['profile']!r} in the "
                                                 f"folder of profile {name!r}")
        if docs:
            sections[name] = docs
        stray = report.split_by_zoo(docs)[1]
        if stray:
            warn(f"profile {name!r}: {_stray_count(stray)} not in the model zoo, listed "
                 "under 'Results of models not in the zoo' and in no table: "
                 + ", ".join(d["_path"] for d in stray))
    if not sections:
        # never replace a page with an empty one (a misspelt --results-root, say)
        raise IMLDataError(root, "no result files (<profile>/*.json) found; nothing written. "
                                 "Run `bash tools/benchmark_all.sh` or check --results-root")
    for name, docs in sections.items():
        lines += _section(name, docs, out)
    out.mkdir(parents=True, exist_ok=True)
    readme = out / "README.md"
    readme.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return [readme, *sorted(out.glob("*/*.png"))]


def check(root: Path, out: Path, profiles: str | None) -> list[str]:
    """Regenerate into a temporary folder; list the files that differ from OUT."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(root, Path(tmp), profiles, page_dir=out)
        problems = []
        for path in fresh:
            committed = out / path.relative_to(tmp)
            if not committed.is_file():
                problems.append(f"{committed}: missing (regenerate with make_leaderboard.py)")
            elif not filecmp.cmp(path, committed, shallow=False):
                problems.append(f"{committed}: differs from what the result files give")
        names = {p.relative_to(tmp) for p in fresh}
        for extra in sorted(out.glob("*/*.png")):
            if extra.relative_to(out) not in names:
                problems.append(f"{extra}: no result file produces this plot any more")
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profiles", help="comma-separated profiles (default: all with results)")
    p.add_argument("--results-root", default="leaderboard/results")
    p.add_argument("--out", default="leaderboard")
    p.add_argument("--check", action="store_true",
                   help="fail if OUT differs from a fresh generation")
    args = p.parse_args(argv)
    root, out = Path(args.results_root), Path(args.out)
    if args.check:
        problems = check(root, out, args.profiles)
        for problem in problems:
            print(f"make_leaderboard --check: {problem}", file=sys.stderr)
        if not problems:
            print(f"make_leaderboard --check: {out} is what {root} gives")
        return 1 if problems else 0
    written = generate(root, out, args.profiles)
    print(f"make_leaderboard: wrote {len(written)} files under {out}/")
    return 0


if __name__ == "__main__":
    run_cli(main)
