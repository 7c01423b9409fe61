"""The leaderboard's intervals and shared ranks (mmiml.benchmark.significance) on result files
whose differences are known: a large consistent gain, differences lost in the noise, seeds."""
from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
from helpers import benchmark_doc, load_tool, write_benchmark_docs

from mmiml import TASKS
from mmiml.benchmark import report, significance
from mmiml.benchmark.result import load_results
from mmiml.benchmark.zoo import BY_KEY, OMNI

PLAIN = significance.PLAIN
N = 120


def _images(offset: float, noise: float = 0.0, seed: int = 0) -> dict[str, np.ndarray]:
    """Per-task per-image IoU: a shared difficulty per image plus ``offset`` and noise."""
    base = np.random.default_rng(100).uniform(0.1, 0.7, (len(TASKS), N))
    rng = np.random.default_rng(seed)
    return {t: np.clip(base[i] + offset + rng.normal(0, noise, N), 0, 1)
            for i, t in enumerate(TASKS)}


def _cell(text: str) -> tuple[float, float, float, bool]:
    """(difference, low, high, bold) of a '+1.2 [+0.3, +2.1]' cell."""
    bold = text.startswith("**")
    diff, rest = text.strip("*").split(" [")
    low, high = rest.rstrip("]").split(", ")
    return float(diff), float(low), float(high), bold


def _docs() -> list[dict]:
    return [
        benchmark_doc(PLAIN, 0, per_image=_images(0.0)),
        # Omni-IML: 8 points better on every image, whatever the seed
        benchmark_doc(OMNI, 0, per_image=_images(0.08, 0.01, seed=1)),
        benchmark_doc(OMNI, 1, per_image=_images(0.08, 0.01, seed=2)),
        # SegFormer: the plain model with zero-mean noise per image: not separable from it
        benchmark_doc("segformer", 0, per_image=_images(0.0, 0.15, seed=3)),
        # an ablation that removes the gain
        benchmark_doc(f"{OMNI}-dwd-off", 0, per_image=_images(0.0, 0.01, seed=4)),
        # single-task natural runs: joint costs Omni-IML 5 points on natural
        benchmark_doc(OMNI, 0, train_set="natural",
                      per_image={"natural": _images(0.13, 0.01, seed=5)["natural"]}),
    ]


def test_ranks_are_shared_where_the_intervals_overlap(tmp_path: Path):
    write_benchmark_docs(tmp_path, _docs())
    docs = load_results(tmp_path)
    means = report.joint_means(report.frame(docs))
    ranks = significance.rank_labels(docs, list(means), means)
    assert ranks == {OMNI: "1", PLAIN: "2–3", "segformer": "2–3"}


def test_comparisons_mark_the_real_gain_and_not_the_noise(tmp_path: Path):
    write_benchmark_docs(tmp_path, _docs())
    docs = load_results(tmp_path)
    table = significance.comparisons_table(docs).set_index("comparison")
    omni = table.loc[f"Omni-IML − {BY_KEY[PLAIN].name}"]
    assert omni["seeds"] == "1 / 2"
    diff, low, high, bold = _cell(omni["Δ IoU avg"])
    assert bold and abs(diff - 8.0) < 0.5 and 0 < low <= diff <= high
    diff, low, high, bold = _cell(table.loc[f"SegFormer − {BY_KEY[PLAIN].name}"]["Δ IoU avg"])
    assert not bold and low < 0 < high
    assert _cell(table.loc["Omni-IML − SegFormer"]["Δ IoU natural"])[3]
    ablation = significance.ablation_differences(docs).set_index("comparison")
    row = ablation.loc[f"{BY_KEY[OMNI + '-dwd-off'].name} − Omni-IML"]
    diff, low, high, bold = _cell(row["Δ IoU avg"])
    assert bold and abs(diff + 8.0) < 0.5 and high < 0
    # ablations the profile has not run: '-'
    assert ablation.loc[f"{BY_KEY[OMNI + '-force-rgb'].name} − Omni-IML"]["Δ IoU avg"] == "-"


def test_degradation_interval_per_task(tmp_path: Path):
    write_benchmark_docs(tmp_path, _docs())
    deg = significance.degradation_differences(load_results(tmp_path)).set_index("model")
    diff, low, high, bold = _cell(deg.loc["Omni-IML", "Δ IoU natural"])
    assert bold and abs(diff + 5.0) < 0.5 and high < 0
    assert deg.loc["Omni-IML", "Δ IoU document"] == "-"  # no single-task document run
    assert "SegFormer" not in deg.index


def test_old_results_without_per_image_figures_get_no_interval(tmp_path: Path):
    docs = [benchmark_doc(PLAIN, 0, iou=0.3), benchmark_doc(OMNI, 0, per_image=_images(0.08))]
    write_benchmark_docs(tmp_path, docs)
    loaded = load_results(tmp_path)
    means = report.joint_means(report.frame(loaded))
    assert significance.rank_labels(loaded, list(means), means) is None
    table = significance.comparisons_table(loaded)
    assert (table["Δ IoU avg"] == "-").all()


def _leaderboard() -> ModuleType:
    return load_tool("make_leaderboard")


def test_leaderboard_page_shows_shared_ranks_and_intervals(tmp_path: Path):
    write_benchmark_docs(tmp_path / "res" / "cpu", _docs())
    tool = _leaderboard()
    tool.generate(tmp_path / "res", tmp_path / "out")
    text = (tmp_path / "out" / "README.md").read_text()
    main = text.split("### Joint training")[1].split("\n### ")[0]
    assert "| 2–3    | ConvNeXt-UPer (plain)" in main or "| 2–3 " in main
    assert "share a rank range" in main
    intervals = text.split("### Differences with 95% intervals")[1].split("\n### ")[0]
    omni = next(line for line in intervals.splitlines() if line.startswith("| Omni-IML − Conv"))
    assert "**+" in omni
    assert "joint against single-task runs" in text
    # deterministic: a second generation is byte-identical (make_leaderboard --check)
    assert tool.check(tmp_path / "res", tmp_path / "out", None) == []


def test_learning_curves_table_and_plot(tmp_path: Path):
    from mmiml.engine.hooks import curve_point, read_curve
    from mmiml.engine.hooks.learning_curve_hook import CURVE_FILE, LearningCurveHook

    # the hook writes one point per validation, replacing a repeated iteration (a resume)
    class Runner:
        work_dir, iter = str(tmp_path), 100

    hook = LearningCurveHook()
    metrics = {f"iml/{s}/pixel_iou_image": 0.2 for s in (*TASKS, "avg")}
    hook.after_val_epoch(Runner(), metrics)
    Runner.iter = 200
    hook.after_val_epoch(Runner(), {**metrics, "iml/avg/pixel_iou_image": 0.3})
    hook.after_val_epoch(Runner(), {**metrics, "iml/avg/pixel_iou_image": 0.35})
    points = read_curve(tmp_path)
    assert [p["iter"] for p in points] == [100, 200]
    assert points[1]["avg"] == {"pixel_iou_image": 0.35}
    assert (tmp_path / CURVE_FILE).is_file()
    assert curve_point(5, {"iml/face/image_auc": 0.7}) == {"iter": 5, "face": {"image_auc": 0.7}}

    docs = []
    for model, seed, values in ((PLAIN, 0, (0.1, 0.2)), (PLAIN, 1, (0.2, 0.3)),
                                (OMNI, 0, (0.15, 0.25))):
        doc = benchmark_doc(model, seed)
        doc["learning_curve"] = [{"iter": it, "avg": {"pixel_iou_image": v}}
                                 for it, v in zip((300, 600), values, strict=True)]
        docs.append(doc)
    write_benchmark_docs(tmp_path / "res" / "cpu", docs)
    loaded = load_results(tmp_path / "res" / "cpu")
    curves = report.learning_curve_frame(loaded)
    assert list(curves.columns) == [BY_KEY[PLAIN].name, "Omni-IML"]  # zoo order
    assert curves.loc[600, BY_KEY[PLAIN].name] == np.float64(0.25)  # mean over seeds
    table = report.learning_curve_table(curves)
    assert list(table.columns) == ["model", "it 300", "it 600"]
    _leaderboard().generate(tmp_path / "res", tmp_path / "out")
    text = (tmp_path / "out" / "README.md").read_text()
    assert "### Learning curves" in text and "| Omni-IML " in text.split("### Learning")[1]
    # joint runs only: the degradation section says where the single-task runs come from
    degradation = text.split("### Degradation")[1].split("\n### ")[0]
    assert "No model of this profile has a single-task run" in degradation
    assert (tmp_path / "out" / "cpu" / "learning_curves.png").is_file()


def test_leaderboard_names_the_seeds_a_joint_run_still_lacks(tmp_path: Path):
    # the cpu profile asks for seeds 0..2 of every joint run of the nine models: Omni-IML has 0
    # and 1; its single-task runs and the ablations are cpu-long's, so cpu does not miss them
    write_benchmark_docs(tmp_path / "res" / "cpu", _docs())
    long_docs = [benchmark_doc(d["model"], d["seed"], train_set=d["train_set"],
                               profile="cpu-long") for d in _docs()]
    write_benchmark_docs(tmp_path / "res" / "cpu-long", long_docs)
    tool = _leaderboard()
    tool.generate(tmp_path / "res", tmp_path / "out")
    text = (tmp_path / "out" / "README.md").read_text()
    cpu, long = (text.split("## Profile `cpu`")[1].split("## Profile `cpu-long`")
                 if text.index("## Profile `cpu`\n") < text.index("## Profile `cpu-long`")
                 else text.split("## Profile `cpu-long`")[::-1])
    line = next(x for x in cpu.splitlines() if x.startswith("**Not run at the current code"))
    assert f"`{OMNI}` joint seed 2," in line
    assert f"`{PLAIN}` joint seeds 1, 2," in line
    assert f"`{OMNI}` document" not in line and f"`{OMNI}-force-rgb`" not in line
    line = next(x for x in long.splitlines() if x.startswith("**Not run at the current code"))
    assert f"`{OMNI}` natural," not in line and f"`{OMNI}` natural seed" not in line
    assert f"`{OMNI}` document," in line  # no single-task document run at all
    assert f"`{OMNI}-force-rgb` joint," in line


def test_an_archived_results_root_gets_its_about_text_and_working_links(tmp_path: Path):
    root = tmp_path / "archive" / "results"
    write_benchmark_docs(root / "cpu", _docs())
    (root / "ABOUT.md").write_text("Archived: the data before v2.\n")
    out = tmp_path / "archive"
    tool = _leaderboard()
    tool.main(["--results-root", str(root), "--out", str(out)])
    text = (out / "README.md").read_text()
    assert text.split("\n\n")[2] == "Archived: the data before v2."
    # links to the docs are relative to the page's own folder
    docs = (out / tool.relative_link("docs/metrics.md", out)).resolve()
    assert docs == (tool.ROOT / "docs" / "metrics.md").resolve() and docs.is_file()
    assert f"]({tool.relative_link('docs/metrics.md', out)})" in text
    assert tool.main(["--results-root", str(root), "--out", str(out), "--check"]) == 0
