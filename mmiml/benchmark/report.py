"""Tables and plots from benchmark result files (pandas + matplotlib), for
``tools/make_leaderboard.py`` and ``tools/degradation_report.py``.

Every function reads the validated result documents only (``mmiml.benchmark.result``); nothing
is typed in by hand. Which models there are, their order and which are ablations of which comes
from the zoo (``mmiml.benchmark.zoo``); a result file whose model the zoo no longer defines is
kept out of the tables and listed by :func:`not_in_zoo_table` instead, never dropped silently.
Output is deterministic: rows and columns in a fixed order, fixed float formats, PNGs without
timestamps or version metadata.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmiml import TASKS

from .zoo import BY_KEY, JOINT, OMNI, ZOO

AVG = "avg"
COLUMNS_TASKS: tuple[str, ...] = (*TASKS, AVG)
_ZOO_ORDER = {m.key: i for i, m in enumerate(ZOO)}


def split_by_zoo(docs: Iterable[Mapping[str, Any]]
                 ) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """(result files of zoo models and lower bounds, result files of models not in the zoo).

    A trained model that the zoo no longer defines (renamed, split or removed) has no config
    to rerun it with: its figures belong in no table of the current zoo, but its file is
    counted and listed (``not_in_zoo_table``). Lower bounds are references, not zoo models.
    """
    kept, stray = [], []
    for doc in docs:
        (kept if doc["kind"] == "lower_bound" or doc["model"] in BY_KEY else stray).append(doc)
    return kept, stray


def not_in_zoo_table(docs: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per result file of a model not in the zoo: file, model, run and average IoU."""
    rows = [{"file": f"`{Path(d['_path']).name}`" if "_path" in d else "-",
             "model": f"`{d['model']}`", "name": d["model_name"], "kind": d["kind"],
             "train set": d["train_set"], "seed": str(d["seed"]),
             "IoU avg": _num(d["result"]["avg"].get("pixel_iou_image"), 3)} for d in docs]
    return pd.DataFrame(rows)


def frame(docs: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per (result file, task or ``avg``) with every metric figure as a column."""
    rows = []
    for doc in docs:
        base = {k: doc[k] for k in ("profile", "model", "model_name", "train_set", "seed",
                                    "kind")}
        base["ablation_of"] = doc.get("ablation_of")
        for task, scores in [*doc["result"]["per_task"].items(), (AVG, doc["result"]["avg"])]:
            rows.append({**base, "task": task, **scores})
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    df["order"] = df["model"].map(lambda k: _ZOO_ORDER.get(k, len(_ZOO_ORDER)))
    return df.sort_values(["profile", "order", "model", "train_set", "seed", "task"],
                          kind="stable").reset_index(drop=True)


def _mean_std(values: pd.Series, digits: int, scale: float = 1.0) -> str:
    vals = [float(v) * scale for v in values if v is not None and not pd.isna(v)]
    if not vals:
        return "-"
    if len(vals) == 1:
        return f"{vals[0]:.{digits}f}"
    return f"{np.mean(vals):.{digits}f} ± {np.std(vals, ddof=1):.{digits}f}"


def _pivot(df: pd.DataFrame, metric: str, digits: int = 3, scale: float = 1.0) -> pd.DataFrame:
    """model rows x task columns of ``metric``: mean ± std over seeds."""
    out = {}
    for (model, task), group in df.groupby(["model", "task"], sort=False):
        out.setdefault(model, {})[task] = _mean_std(group[metric], digits, scale)
    table = pd.DataFrame.from_dict(out, orient="index")
    return table.reindex(columns=[t for t in COLUMNS_TASKS if t in table.columns])


def _names(df: pd.DataFrame) -> dict[str, str]:
    return dict(zip(df["model"], df["model_name"], strict=False))


def _seeds(df: pd.DataFrame) -> pd.Series:
    return df[df["task"] == AVG].groupby("model", sort=False)["seed"].nunique()


def joint_means(df: pd.DataFrame, metric: str = "pixel_iou_image") -> dict[str, float]:
    """Model -> mean over seeds of the average ``metric``, jointly trained models (the order
    of the main table)."""
    joint = df[(df["train_set"] == JOINT) & (df["kind"] == "model")]
    return {str(k): float(v) for k, v in _avg_of(joint, metric).items()} if not joint.empty \
        else {}


def _avg_of(df: pd.DataFrame, metric: str) -> pd.Series:
    return df[df["task"] == AVG].groupby("model", sort=False)[metric].mean()


def ranked_table(df: pd.DataFrame, metrics: Sequence[tuple[str, str]], *,
                 rank_by: str = "pixel_iou_image", include_lower_bounds: bool = True,
                 digits: int = 3, rank_labels: Mapping[str, str] | None = None
                 ) -> pd.DataFrame:
    """Joint-trained models ranked by their average ``rank_by``; per-task columns for each
    (metric, label); lower bounds appended as reference rows.

    ``rank_labels`` (model -> label such as ``"2–4"``, ``mmiml.benchmark.significance``)
    replaces the plain ranks 1..N when given."""
    joint = df[(df["train_set"] == JOINT) & (df["kind"] == "model")]
    if joint.empty:
        return pd.DataFrame()
    order = _avg_of(joint, rank_by).sort_values(ascending=False, kind="stable").index
    parts = []
    for metric, label in metrics:
        part = _pivot(joint, metric, digits).reindex(order)
        part.columns = [f"{label} {c}" for c in part.columns]
        parts.append(part)
    table = pd.concat(parts, axis=1)
    names = _names(joint)
    seeds = _seeds(joint)
    table.insert(0, "seeds", [int(seeds[m]) for m in table.index])
    table.insert(0, "model", [names[m] for m in table.index])
    if rank_labels is not None:
        table.insert(0, "rank", [rank_labels[m] for m in table.index])
    else:
        table.insert(0, "rank", [str(i) for i in range(1, len(table) + 1)])
    if include_lower_bounds:
        lb = df[df["kind"] == "lower_bound"]
        if not lb.empty:
            lb_parts = []
            for metric, label in metrics:
                part = _pivot(lb, metric, digits)
                part.columns = [f"{label} {c}" for c in part.columns]
                lb_parts.append(part)
            lb_table = pd.concat(lb_parts, axis=1)
            lb_names = _names(lb)
            lb_table.insert(0, "seeds", ["-"] * len(lb_table))
            lb_table.insert(0, "model", [f"*{lb_names[m]}*" for m in lb_table.index])
            lb_table.insert(0, "rank", ["ref"] * len(lb_table))
            table = pd.concat([table, lb_table])
    return table.reset_index(drop=True)


def degradation_frame(df: pd.DataFrame, metrics: Sequence[str] = ("pixel_iou_image",
                                                                   "pixel_f1_image"),
                      ) -> pd.DataFrame:
    """Joint minus single-task, per model and task, in points (x100), seeds averaged first.

    The single-task reference for task t is the model trained on t alone, tested on t. Rows:
    (model, metric); columns: tasks and ``mean`` (over the tasks with both runs).
    """
    rows = []
    trained = df[df["kind"] != "lower_bound"]
    for model, group in trained.groupby("model", sort=False):
        for metric in metrics:
            row = {"model": model, "model_name": group["model_name"].iloc[0], "metric": metric}
            deltas = []
            for task in TASKS:
                joint = group[(group["train_set"] == JOINT) & (group["task"] == task)][metric]
                single = group[(group["train_set"] == task) & (group["task"] == task)][metric]
                joint, single = joint.dropna(), single.dropna()
                if joint.empty or single.empty:
                    row[task] = np.nan
                    continue
                delta = 100.0 * (float(joint.mean()) - float(single.mean()))
                row[task] = delta
                deltas.append(delta)
            row["mean"] = float(np.mean(deltas)) if deltas else np.nan
            row["tasks_compared"] = len(deltas)
            if deltas:
                rows.append(row)
    return pd.DataFrame(rows)


def format_points(table: pd.DataFrame, columns: Sequence[str], digits: int = 1) -> pd.DataFrame:
    out = table.copy()
    for col in columns:
        out[col] = [("-" if pd.isna(v) else f"{v:+.{digits}f}") for v in out[col]]
    return out


def degradation_table(df: pd.DataFrame) -> pd.DataFrame:
    """Markdown-ready degradation: one row per model, IoU and F1 point deltas per task."""
    deg = degradation_frame(df)
    if deg.empty:
        return deg
    cols = [*TASKS, "mean"]
    parts = []
    for metric, label in (("pixel_iou_image", "ΔIoU"), ("pixel_f1_image", "ΔF1")):
        part = deg[deg["metric"] == metric].set_index("model")[cols]
        part = format_points(part, cols)
        part.columns = [f"{label} {c}" for c in cols]
        parts.append(part)
    table = pd.concat(parts, axis=1)
    names = dict(zip(deg["model"], deg["model_name"], strict=False))
    iou_mean = deg[deg["metric"] == "pixel_iou_image"].set_index("model")["mean"]
    table = table.loc[iou_mean.sort_values(ascending=False, kind="stable").index]
    table.insert(0, "model", [names[m] for m in table.index])
    return table.reset_index(drop=True)


def ablation_table(df: pd.DataFrame, full: str = OMNI) -> pd.DataFrame:
    """The full model and each of its ablations in the zoo (the zoo's order and names), jointly
    trained: seeds, IoU per task and the change against the full model in points.

    Rows come from the zoo, not from the result files: an ablation the zoo defines but the
    profile has not run shows ``-``; a result of an ablation the zoo no longer defines is not a
    row (``split_by_zoo`` lists it).
    """
    models = [full, *(m.key for m in ZOO if m.ablation_of == full)]
    joint = df[(df["train_set"] == JOINT) & df["model"].isin(models)] if not df.empty else df
    if joint.empty or full not in set(joint["model"]):
        return pd.DataFrame()
    means = joint.groupby(["model", "task"], sort=False)["pixel_iou_image"].mean()
    seeds = _seeds(joint)
    rows = []
    for model in models:
        row = {"model": BY_KEY[model].name, "seeds": str(int(seeds.get(model, 0)))}
        for task in COLUMNS_TASKS:
            value = means.get((model, task), np.nan)
            ref = means.get((full, task), np.nan)
            if pd.isna(value):
                row[f"IoU {task}"] = "-"
            elif model == full:
                row[f"IoU {task}"] = f"{value:.3f}"
            else:
                row[f"IoU {task}"] = f"{value:.3f} ({100 * (value - ref):+.1f})"
        rows.append(row)
    return pd.DataFrame(rows)


def complexity_table(docs: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Joint runs (seed 0): parameters, FLOPs, throughput and wall time."""
    rows = []
    for doc in docs:
        if doc["train_set"] != JOINT or doc["seed"] != 0:
            continue
        c, t, w = doc["complexity"], doc["throughput"], doc["wall_time_s"]
        rows.append({
            "order": _ZOO_ORDER.get(doc["model"], len(_ZOO_ORDER)),
            "model": doc["model_name"],
            "params (M)": _num(c["params_m"], 2),
            "train params (M)": _num(c["params_train_m"], 2),
            f"GFLOPs @{c['flops_input'] or '-'}": _num(c["gflops"], 2),
            "train img/s": _num(t["train_images_per_s"], 1),
            "test img/s": _num(t["test_images_per_s"], 1),
            "train wall (s)": _num(w["train"], 0),
            "budget": doc["budget"]["description"],
        })
    if not rows:
        return pd.DataFrame()
    table = pd.DataFrame(rows).sort_values(["order", "model"], kind="stable")
    return table.drop(columns="order").reset_index(drop=True)


def _num(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def gate_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Share of test images routed to the frequency path, per model (joint) and task: the mean
    over seeds, for the routing plot."""
    if "gate_fused_share" not in df.columns:
        return pd.DataFrame()
    joint = df[(df["train_set"] == JOINT) & df["gate_fused_share"].notna()
               & (df["task"] != AVG)]
    if joint.empty:
        return pd.DataFrame()
    table = joint.groupby(["model_name", "task"], sort=False)["gate_fused_share"].mean()
    return table.unstack("task").reindex(columns=[t for t in TASKS])


MECHANISM_COLUMNS: tuple[tuple[str, str], ...] = (
    ("gate_fused_share", "RGB+DCT"),
    ("gate_prob_mean", "gate p"),
)
"""Per-task figures of Omni-IML's Modal Gate in the mechanism table, with their labels."""


def mechanism_table(df: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """Omni-IML's mechanisms per jointly trained model, mean ± std over seeds.

    Per task: the share of the test images the Modal Gate routed to RGB+DCT and the gate's mean
    probability of that path; per model: ``dwd_mix_spread`` (how far apart the tasks' mean
    mixing weights of the Dynamic Weight Filters lie, docs/metrics.md). Rows: the models whose
    results record any of them; ``-`` where a figure is not recorded (gate bypassed, decoder
    without filters, or a result written before the figure existed).
    """
    keys = [k for k, _ in MECHANISM_COLUMNS] + ["dwd_mix_spread"]
    if df.empty or not any(k in df.columns for k in keys):
        return pd.DataFrame()
    joint = df[(df["train_set"] == JOINT) & (df["kind"] != "lower_bound")].copy()
    for key in keys:
        if key not in joint.columns:
            joint[key] = np.nan
    has = joint[keys].notna().any(axis=1)
    models = list(dict.fromkeys(joint.loc[has, "model"]))
    if not models:
        return pd.DataFrame()
    joint = joint[joint["model"].isin(models)]
    tasks = joint[joint["task"] != AVG]
    present = [t for t in TASKS if t in set(tasks["task"])]
    parts = []
    for key, label in MECHANISM_COLUMNS:
        part = _pivot(tasks, key, digits).reindex(index=models, columns=present)
        part.columns = [f"{label} {c}" for c in part.columns]
        parts.append(part.fillna("-"))
    table = pd.concat(parts, axis=1)
    spreads = joint[joint["task"] == AVG].groupby("model", sort=False)["dwd_mix_spread"]
    spread = {model: _mean_std(group, 3) for model, group in spreads}
    table["DWD spread"] = [spread.get(m, "-") for m in table.index]
    names, seeds = _names(joint), _seeds(joint)
    table.insert(0, "seeds", [str(int(seeds.get(m, 0))) for m in table.index])
    table.insert(0, "model", [names[m] for m in table.index])
    return table.reset_index(drop=True)


# ---------------------------------------------------------------------------- plots
def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100, "font.size": 9,
                         "axes.spines.top": False, "axes.spines.right": False})
    return plt


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # no Software/timestamp metadata: the same figures give byte-identical files
    fig.savefig(path, format="png", metadata={"Software": None}, bbox_inches="tight")
    _plt().close(fig)
    return path


def _grouped_bars(data: pd.DataFrame, title: str, ylabel: str, path: Path, *,
                  zero_line: bool = False) -> Path:
    """Grouped bars: one group per row of ``data``, one bar per column."""
    plt = _plt()
    n_rows, n_cols = data.shape
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * n_rows + 2.0), 3.6))
    width = 0.8 / max(1, n_cols)
    x = np.arange(n_rows)
    for i, col in enumerate(data.columns):
        ax.bar(x + (i - (n_cols - 1) / 2) * width, data[col].to_numpy(dtype=float), width,
               label=str(col))
    ax.set_xticks(x, [str(i) for i in data.index], rotation=30, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if zero_line:
        ax.axhline(0.0, color="black", linewidth=0.8)
    ax.legend(ncol=min(n_cols, 5), fontsize=8, frameon=False)
    return _save(fig, path)


def plot_iou_bars(df: pd.DataFrame, path: Path, title: str) -> Path | None:
    joint = df[(df["train_set"] == JOINT) & (df["kind"] != "lower_bound")]
    if joint.empty:
        return None
    means = joint.groupby(["model_name", "task"], sort=False)["pixel_iou_image"].mean()
    data = means.unstack("task").reindex(columns=list(COLUMNS_TASKS))
    data = data.sort_values(AVG, ascending=False, kind="stable")
    return _grouped_bars(data, title, "IoU (image aggregation)", path)


def plot_degradation(deg: pd.DataFrame, path: Path, title: str) -> Path | None:
    iou = deg[deg["metric"] == "pixel_iou_image"] if not deg.empty else deg
    if iou.empty:
        return None
    data = iou.set_index("model_name")[[*TASKS, "mean"]]
    return _grouped_bars(data, title, "joint − single-task IoU (points)", path,
                         zero_line=True)


def plot_gate(gates: pd.DataFrame, path: Path, title: str) -> Path | None:
    if gates.empty:
        return None
    return _grouped_bars(gates, title, "share routed to RGB+DCT", path)


def learning_curve_frame(docs: Sequence[Mapping[str, Any]], figure: str = "pixel_iou_image"
                         ) -> pd.DataFrame:
    """Joint runs' validation curves: rows iterations, columns model names, values the mean
    over seeds of the average ``figure`` (NaN where a model has no point)."""
    rows = []
    for doc in docs:
        if doc["train_set"] != JOINT or doc["kind"] == "lower_bound":
            continue
        for point in doc.get("learning_curve") or []:
            value = point.get(AVG, {}).get(figure)
            if value is not None:
                rows.append({"model": doc["model"], "model_name": doc["model_name"],
                             "iter": point["iter"], "value": value})
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame(rows)
    df["order"] = df["model"].map(lambda k: _ZOO_ORDER.get(k, len(_ZOO_ORDER)))
    table = df.groupby(["order", "model_name", "iter"])["value"].mean().reset_index()
    wide = table.pivot(index="iter", columns="model_name", values="value")
    names = table.drop_duplicates("model_name").sort_values(["order", "model_name"])
    return wide[list(names["model_name"])]


def plot_learning_curves(curves: pd.DataFrame, path: Path, title: str) -> Path | None:
    """Validation IoU against training iterations, one line per joint model."""
    if curves.empty:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.0, 3.8))
    for name in curves.columns:
        series = curves[name].dropna()
        ax.plot(series.index, series.to_numpy(dtype=float), marker="o", markersize=3,
                label=str(name))
    ax.set_xlabel("training iteration")
    ax.set_ylabel("val IoU (avg over tasks)")
    ax.set_title(title)
    ax.legend(ncol=2, fontsize=7, frameon=False)
    return _save(fig, path)


def learning_curve_table(curves: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """The curves as a table: one row per model, one column per iteration."""
    if curves.empty:
        return curves
    table = curves.T.map(lambda v: "-" if pd.isna(v) else f"{v:.{digits}f}")
    table.columns = [f"it {int(c)}" for c in table.columns]
    table.insert(0, "model", list(table.index))
    return table.reset_index(drop=True)


def _robust_docs(docs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Joint runs with a robustness record, in zoo order."""
    found = [d for d in docs if d.get("robustness") and d["train_set"] == JOINT]
    return sorted(found, key=lambda d: (_ZOO_ORDER.get(d["model"], len(_ZOO_ORDER)),
                                        d["model"], d["seed"]))


def robustness_table(docs: Sequence[Mapping[str, Any]], digits: int = 3) -> pd.DataFrame:
    """Per joint model: the subset, clean IoU, the area under each degradation curve and the
    robustness score (their mean), from the runs' robustness records."""
    rows = []
    for doc in _robust_docs(docs):
        rec = doc["robustness"]
        row = {"model": doc["model_name"], "seed": str(doc["seed"]),
               "images/task": str(rec["subset"]["per_task"] or "all"),
               "clean IoU": _num(rec["clean"]["avg"]["iou"], digits)}
        for kind in rec["curves"]:
            row[f"area {kind}"] = _num(rec["area"].get(kind), digits)
        row["score"] = _num(rec["score"], digits)
        rows.append(row)
    return pd.DataFrame(rows).fillna("-")


def plot_robustness(docs: Sequence[Mapping[str, Any]], out_dir: Path, profile: str
                    ) -> list[Path]:
    """One plot per degradation: average IoU against the level, one line per joint model,
    levels from mild to strong; the clean IoU as the leftmost point."""
    from mmiml.evaluation.robustness import LEVEL_NAMES, severity_sorted

    runs = _robust_docs(docs)
    kinds = list(dict.fromkeys(k for d in runs for k in d["robustness"]["curves"]))
    paths = []
    for kind in kinds:
        plt = _plt()
        fig, ax = plt.subplots(figsize=(6.4, 3.6))
        labels: list[str] = []
        for doc in runs:
            points = doc["robustness"]["curves"].get(kind)
            if not points:
                continue
            by_level = {p["level"]: p["avg"]["iou"] for p in points}
            levels = severity_sorted(kind, list(by_level))
            labels = ["clean", *(f"{v:g}" for v in levels)]
            values = [doc["robustness"]["clean"]["avg"]["iou"], *(by_level[v] for v in levels)]
            ax.plot(range(len(values)), [np.nan if v is None else v for v in values],
                    marker="o", markersize=3, label=doc["model_name"])
        ax.set_xticks(range(len(labels)), labels)
        ax.set_xlabel(f"{LEVEL_NAMES[kind]} (mild to strong)")
        ax.set_ylabel("IoU (avg over tasks)")
        ax.set_title(f"{profile}: {kind}")
        ax.legend(ncol=2, fontsize=7, frameon=False)
        paths.append(_save(fig, out_dir / f"robustness_{kind}.png"))
    return paths


def to_markdown(table: pd.DataFrame) -> str:
    if table.empty:
        return "_no results_"
    return table.to_markdown(index=False, disable_numparse=True)


def protocol_tables(docs: Sequence[Mapping[str, Any]], labels: Sequence[str],
                    metric: str = "pixel_f1_image", digits: int = 3
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A protocol's figures: (per test dataset, per task), one row per trained model, mean ±
    std over seeds of ``metric``; the dataset table adds the mean over the datasets each run
    has (``avg``), the task table the metric's macro average."""
    trained = [d for d in docs if d["kind"] == "model"]
    by_model: dict[str, list[Mapping[str, Any]]] = {}
    for d in sorted(trained, key=lambda d: (_ZOO_ORDER.get(d["model"], len(_ZOO_ORDER)),
                                            d["model"], d["seed"])):
        by_model.setdefault(d["model"], []).append(d)
    ds_rows, task_rows = [], []
    for runs in by_model.values():
        head = {"model": runs[0]["model_name"], "seeds": str(len(runs))}
        groups = [r["result"].get("per_group", {}) for r in runs]
        row = dict(head)
        for label in labels:
            row[label] = _mean_std(pd.Series([g[label][metric] if label in g else None
                                              for g in groups]), digits)
        row["avg"] = _mean_std(pd.Series([
            float(np.mean([g[x][metric] for x in labels if x in g])) if any(
                x in g for x in labels) else None for g in groups]), digits)
        ds_rows.append(row)
        tasks = [t for t in COLUMNS_TASKS if any(t in r["result"]["per_task"] or t == AVG
                                                 for r in runs)]
        trow = dict(head)
        for task in tasks:
            vals = [(r["result"]["avg"] if task == AVG else r["result"]["per_task"].get(task, {})
                     ).get(metric) for r in runs]
            trow[task] = _mean_std(pd.Series(vals), digits)
        task_rows.append(trow)
    return pd.DataFrame(ds_rows), pd.DataFrame(task_rows)
