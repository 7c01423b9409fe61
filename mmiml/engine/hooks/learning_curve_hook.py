"""Keep every validation of a training run as a learning curve on disk.

The benchmark validates at fixed iteration intervals (``mmiml.benchmark.profiles``) and puts the
curve in the run's result file, so that a budget can be chosen from curves rather than guessed
(docs/benchmark.md). mmengine's logs hold the same numbers, but scattered over log files and lost
to a resumed run's new log; this hook writes one JSON file in the work dir, merged on resume.
Our choice: the paper trains to a fixed schedule and reports no curve.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mmengine import dist
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from mmiml import TASKS

CURVE_FILE = "learning_curve.json"
#: the figures kept per validation (IMLMetric's flat keys, ``iml/<scope>/<figure>``)
CURVE_FIGURES: tuple[str, ...] = ("pixel_iou_image", "pixel_f1_image", "image_auc")


def read_curve(work_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The curve written in ``work_dir`` (empty when there is none), ordered by iteration."""
    path = Path(work_dir) / CURVE_FILE
    if not path.is_file():
        return []
    points = json.loads(path.read_text(encoding="utf-8"))
    return sorted(points, key=lambda p: p["iter"])


def curve_point(iteration: int, metrics: dict[str, Any]) -> dict[str, Any]:
    """One point: the iteration and, per task and ``avg``, the figures of CURVE_FIGURES that the
    validation gave (a figure left out when undefined)."""
    point: dict[str, Any] = {"iter": int(iteration)}
    for scope in (*TASKS, "avg"):
        figures = {f: float(metrics[key]) for f in CURVE_FIGURES
                   if (key := f"iml/{scope}/{f}") in metrics}
        if figures:
            point[scope] = figures
    return point


@HOOKS.register_module()
class LearningCurveHook(Hook):
    """After each validation, add ``{iter, <task>: {figure: value}, avg: {...}}`` to
    ``<work_dir>/learning_curve.json`` (rank 0; an existing point of the same iteration, from
    a run resumed before its last validation, is replaced)."""

    priority = "LOW"

    def after_val_epoch(self, runner: Any, metrics: dict[str, Any] | None = None) -> None:
        if not metrics or not dist.is_main_process():
            return
        point = curve_point(runner.iter, metrics)
        points = [p for p in read_curve(runner.work_dir) if p["iter"] != point["iter"]]
        points.append(point)
        points.sort(key=lambda p: p["iter"])
        path = Path(runner.work_dir) / CURVE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(points, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, path)
