"""Which leaderboard differences are real: paired bootstrap intervals over the test images
(``mmiml.evaluation.bootstrap``) for the comparisons the leaderboard shows, and shared ranks.

Comparisons (docs/metrics.md, "Intervals and shared ranks"), all in IoU points (x100) with the
95% interval:

- every jointly trained model against the plain ConvNeXt-UPer;
- Omni-IML against every other jointly trained model;
- every ablation against its full model;
- joint against single-task training, per task (the degradation table).

A model whose result files lack per-image figures (written before they were recorded) gets
``-`` and a footnote, never a made-up interval. Everything is deterministic (fixed generator
seed), so ``make_leaderboard.py --check`` compares equal.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from mmiml import TASKS
from mmiml.evaluation.bootstrap import (
    AVG,
    Difference,
    compare_runs,
    format_difference,
    format_rank,
    has_per_image,
    shared_ranks,
)

from .zoo import BY_KEY, JOINT, OMNI, ZOO

PLAIN = "plain_convnext_uper"
COLUMNS: tuple[str, ...] = (*TASKS, AVG)


def runs_of(docs: Sequence[Mapping[str, Any]], model: str, train_set: str = JOINT
            ) -> list[Mapping[str, Any]]:
    """The trained runs (one per seed) of ``model`` on ``train_set``, in seed order."""
    found = [d for d in docs if d["model"] == model and d["train_set"] == train_set
             and d["kind"] != "lower_bound"]
    return sorted(found, key=lambda d: d["seed"])


def comparable(runs: Sequence[Mapping[str, Any]]) -> bool:
    """Runs exist and every one keeps per-image figures."""
    return bool(runs) and all(has_per_image(d) for d in runs)


def difference(docs: Sequence[Mapping[str, Any]], model_a: str, model_b: str,
               train_a: str = JOINT, train_b: str = JOINT, tasks: Sequence[str] | None = None
               ) -> dict[str, Difference] | None:
    """B - A per task and ``avg`` (IoU), or None when either side cannot be compared."""
    a, b = runs_of(docs, model_a, train_a), runs_of(docs, model_b, train_b)
    if not (comparable(a) and comparable(b)):
        return None
    return compare_runs(a, b, key="iou", tasks=tasks)


def _row(label: str, diffs: dict[str, Difference] | None, seeds: str) -> dict[str, str]:
    row = {"comparison": label, "seeds": seeds}
    for col in COLUMNS:
        d = None if diffs is None else diffs.get(col)
        row[f"Δ IoU {col}"] = format_difference(d)
    return row


def _seeds(docs: Sequence[Mapping[str, Any]], a: str, b: str) -> str:
    return f"{len(runs_of(docs, a))} / {len(runs_of(docs, b))}"


def joint_models(docs: Sequence[Mapping[str, Any]], ablations: bool = False) -> list[str]:
    """Zoo models with joint runs, in zoo order (ablations only when asked)."""
    have = {d["model"] for d in docs if d["train_set"] == JOINT and d["kind"] != "lower_bound"}
    return [m.key for m in ZOO if m.key in have and (ablations or not m.ablation_of)]


def comparisons_table(docs: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Each joint model against the plain ConvNeXt-UPer, then Omni-IML against each model."""
    models = joint_models(docs)
    rows = []
    if PLAIN in models:
        for m in models:
            if m != PLAIN:
                rows.append(_row(f"{BY_KEY[m].name} − {BY_KEY[PLAIN].name}",
                                 difference(docs, PLAIN, m), _seeds(docs, PLAIN, m)))
    if OMNI in models:
        for m in models:
            if m not in (OMNI, PLAIN):
                rows.append(_row(f"{BY_KEY[OMNI].name} − {BY_KEY[m].name}",
                                 difference(docs, m, OMNI), _seeds(docs, m, OMNI)))
    return pd.DataFrame(rows)


def ablation_differences(docs: Sequence[Mapping[str, Any]], full: str = OMNI) -> pd.DataFrame:
    """Each ablation in the zoo minus its full model (rows from the zoo; ``-``: not run or no
    per-image figures)."""
    if not runs_of(docs, full):
        return pd.DataFrame()
    rows = [_row(f"{m.name} − {BY_KEY[full].name}", difference(docs, full, m.key),
                 _seeds(docs, full, m.key))
            for m in ZOO if m.ablation_of == full]
    return pd.DataFrame(rows)


def degradation_differences(docs: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Joint minus single-task IoU per task with its interval, per model with both runs."""
    rows = []
    for m in ZOO:
        row: dict[str, str] = {"model": m.name}
        any_pair = False
        for task in TASKS:
            single = runs_of(docs, m.key, task)
            if not single or not runs_of(docs, m.key):
                row[f"Δ IoU {task}"] = "-"
                continue
            any_pair = True
            diffs = difference(docs, m.key, m.key, train_a=task, train_b=JOINT, tasks=[task])
            row[f"Δ IoU {task}"] = format_difference(None if diffs is None else diffs[task])
        if any_pair:
            rows.append(row)
    return pd.DataFrame(rows)


def rank_labels(docs: Sequence[Mapping[str, Any]], models: Sequence[str],
                scores: Mapping[str, float]) -> dict[str, str] | None:
    """Shared ranks of ``models`` by average IoU (``scores``: model -> mean avg IoU), from the
    pairwise intervals; None when a model lacks per-image figures."""
    if not all(comparable(runs_of(docs, m)) for m in models):
        return None
    better: dict[tuple[str, str], bool] = {}
    for i, a in enumerate(models):
        for b in models[i + 1:]:
            diffs = difference(docs, a, b) or {}
            # the macro average; a one-task profile has only that task
            d = diffs.get(AVG) or next(iter(diffs.values()), None)
            if d is not None and d.significant:
                better[(b, a) if d.diff > 0 else (a, b)] = True
    ranks = shared_ranks({m: scores[m] for m in models}, better)
    return {m: format_rank(r) for m, r in ranks.items()}

