"""The result JSON ("mmiml-result/1"): schema, validator, writer and a text table.

The format is public and specified in ``docs/metrics.md`` ("Public
formats"). ``RESULT_SCHEMA`` is a JSON-Schema (draft-07) document that other tools may feed to
``jsonschema`` too; :func:`validate_result` checks it with ``jsonschema``, then adds the
cross-field checks JSON-Schema cannot express (counts that must add up, one shape for every
``dwd_mix``, a ``dwd_mix_spread`` that its tasks give).

Every key added since the first version is optional, so result files written before it stay
valid.
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np

from mmiml import TASKS

SCHEMA_ID = "mmiml-result/1"

METRIC_SPEC_VERSION = "1"
"""Version of the scoring rules of ``docs/metrics.md`` that IMLMetric implements; it
goes into every benchmark result's provenance and changes when a rule changes."""

AUTHENTIC_POLICIES = ("exclude", "empty_is_one")

COUNT_KEYS: tuple[str, ...] = ("num_images", "num_tampered", "num_authentic")
"""Per-task counts; in ``avg`` they are summed over tasks, not averaged."""

FIGURE_KEYS: tuple[str, ...] = (
    "pixel_f1_image",
    "pixel_iou_image",
    "pixel_precision_image",
    "pixel_recall_image",
    "pixel_f1_dataset",
    "pixel_iou_dataset",
    "pixel_auc_image",
    "best_f1",
    "image_auc",
    "image_bacc",
    "image_f1",
    "false_alarm_rate",
    "false_alarm_area",
)
"""The figures docs/metrics.md requires for every task and for ``avg`` (null when undefined)."""

EXTRA_FIGURE_KEYS: tuple[str, ...] = (
    "pixel_precision_dataset",
    "pixel_recall_dataset",
    "pixel_auc_dataset",
)
"""Figures mmiml adds (docs/metrics.md: every pixel figure in both aggregations)."""

_FIGURE = {"type": ["number", "null"], "minimum": 0.0, "maximum": 1.0}

PER_IMAGE_KEYS: tuple[str, ...] = ("id", "tampered", "iou", "f1", "score")
"""``per_image.<task>``: parallel lists in test-set order. ``id``: the image's path relative to
its manifest; ``iou``/``f1``: the image's pixel figures (null where the image is not in the pixel
set: authentic images under ``exclude``); ``score``: its image-level score."""

PER_IMAGE_DIGITS = 6
"""Per-image figures are rounded to this many decimals (the file stays small; the means of the
task are computed before rounding)."""
_COUNT = {"type": "integer", "minimum": 0}
_UNIT = {"type": "number", "minimum": 0.0, "maximum": 1.0}

MECHANISM_KEYS: tuple[str, ...] = (
    "gate_fused_share", "gate_num_images", "gate_prob_mean", "dwd_mix", "dwd_mix_spread")
"""Omni-IML's keys (docs/metrics.md "Omni-IML's mechanisms"): present only for a model that
records its Modal Gate's routing or its Dynamic Weight Filters' mixing weights."""

_SCORES = {
    "type": "object",
    "required": ["num_images", *FIGURE_KEYS],
    "properties": {
        **{k: _COUNT for k in COUNT_KEYS},
        **{k: _FIGURE for k in FIGURE_KEYS + EXTRA_FIGURE_KEYS},
        "best_f1_threshold": {"type": ["number", "null"], "minimum": 0.0, "maximum": 1.0},
        # Omni-IML only: share of images the Modal Gate routed to the frequency path, and the
        # gate's mean probability of that path
        "gate_fused_share": _FIGURE,
        "gate_num_images": _COUNT,
        "gate_prob_mean": _FIGURE,
        # Omni-IML only: mean mixing weights of the Dynamic Weight Filters, (filters, K); in
        # ``avg``, how far apart the tasks' means lie
        "dwd_mix": {"type": "array", "minItems": 1,
                    "items": {"type": "array", "minItems": 1, "items": _UNIT}},
        "dwd_mix_spread": _FIGURE,
    },
}

CHECKPOINT_COUNT_KEYS: tuple[str, ...] = (
    "missing_keys", "unexpected_keys", "mismatched_keys", "ignored_keys")
"""Key counts of a checkpoint's loading (mmiml.engine.load_model_weights)."""

_CHECKPOINT = {
    # tools/test.py and the benchmark: which checkpoint produced the figures, how it loaded.
    # Optional: tools/score.py and the lower bounds score maps, not a checkpoint.
    "type": "object",
    "required": ["path", "sha256", "size_bytes", "strict"],
    "properties": {
        "path": {"type": "string"},
        "abs_path": {"type": "string"},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "size_bytes": _COUNT,
        "strict": {"type": "boolean"},
        "loaded_keys": _COUNT,
        **{k: _COUNT for k in CHECKPOINT_COUNT_KEYS},
    },
}

RESULT_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$id": SCHEMA_ID,
    "title": "mmiml result (docs/metrics.md)",
    "type": "object",
    "required": ["schema", "num_images", "num_tampered", "num_authentic", "spec", "per_task",
                 "avg"],
    "properties": {
        "schema": {"const": SCHEMA_ID},
        "num_images": _COUNT,
        "num_tampered": _COUNT,
        "num_authentic": _COUNT,
        "num_skipped": _COUNT,
        "skipped": {"type": "array", "items": {"type": "string"}},
        "spec": {
            "type": "object",
            "required": ["threshold", "authentic_policy", "resolution"],
            "properties": {
                "threshold": {"type": "number", "minimum": 0.0, "maximum": 1.0},
                "authentic_policy": {"enum": list(AUTHENTIC_POLICIES)},
                "resolution": {"type": "string"},
                "image_pooling": {"type": "string"},
                # "model" (the predictions carry a detection head's score) or the pooling
                "image_score": {"type": "string"},
                "aggregations": {"type": "array", "items": {"type": "string"}},
            },
        },
        "per_task": {
            "type": "object",
            "propertyNames": {"enum": list(TASKS)},
            "additionalProperties": _SCORES,
        },
        "avg": _SCORES,
        # samples that carry a ``group`` in their metainfo (a probe set): the same scores per
        # group; ``num_ungrouped`` counts the images without one (in no group)
        "per_group": {
            "type": "object",
            "propertyNames": {"minLength": 1},
            "additionalProperties": _SCORES,
        },
        "num_ungrouped": _COUNT,
        # every test image's own figures, per task, for paired statistics across result files
        # (mmiml.evaluation.bootstrap); optional: files written before it lack it
        "per_image": {
            "type": "object",
            "propertyNames": {"enum": list(TASKS)},
            "additionalProperties": {
                "type": "object",
                "required": list(PER_IMAGE_KEYS),
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "array", "items": {"type": "string", "minLength": 1}},
                    "tampered": {"type": "array", "items": {"type": "boolean"}},
                    **{k: {"type": "array", "items": _FIGURE} for k in ("iou", "f1")},
                    "score": {"type": "array", "items": {"type": "number"}},
                },
            },
        },
        "checkpoint": _CHECKPOINT,
    },
}


def _is_finite_number(checker: Any, value: Any) -> bool:
    # JSON has no NaN or infinity: a figure that is one is a bug, not a number
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


#: Draft-07 validation (the schemas' ``$schema``) where "number" means a finite number.
_Validator = jsonschema.validators.extend(
    jsonschema.Draft7Validator,
    type_checker=jsonschema.Draft7Validator.TYPE_CHECKER.redefine("number", _is_finite_number))


def _key_path(where: str, path: Iterable[Any]) -> str:
    return where + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in path)


def _describe(error: jsonschema.ValidationError, where: str) -> str:
    """``<where>.<key path>: <what is wrong>`` for a jsonschema error."""
    path = list(error.absolute_path)
    value, rule = error.instance, error.validator_value
    if error.validator == "required":
        missing = next(k for k in rule if k not in value and repr(k) in error.message)
        return f"{_key_path(where, [*path, missing])}: missing"
    if error.validator == "additionalProperties" and rule is False:
        allowed = error.schema.get("properties", {})
        extra = next(k for k in value if k not in allowed)
        return f"{_key_path(where, [*path, extra])}: unknown key (the schema does not allow it)"
    if "propertyNames" in error.schema_path:  # the offending key itself is the instance
        path.append(value)
    detail = {
        "const": lambda: f"expected {rule!r}, got {value!r}",
        "enum": lambda: f"expected one of {rule}, got {value!r}",
        "type": lambda: (f"expected {' or '.join(rule if isinstance(rule, list) else [rule])}"
                         f" (finite), got {value!r}"),
        "minimum": lambda: f"{value} is below {rule}",
        "maximum": lambda: f"{value} is above {rule}",
    }.get(error.validator, lambda: error.message)()
    return f"{_key_path(where, path)}: {detail}"


def check_json_schema(value: Any, schema: Mapping[str, Any], where: str) -> None:
    """Validate ``value`` against a draft-07 JSON-Schema with ``jsonschema`` (numbers must be
    finite); raise ``ValueError`` naming the key path from ``where`` (e.g.
    ``result.per_task.natural.image_auc: expected number or null (finite), got 'high'``)."""
    error = jsonschema.exceptions.best_match(_Validator(schema).iter_errors(value))
    if error is not None:
        raise ValueError(_describe(error, where))


def write_json(doc: Mapping[str, Any], path: str | os.PathLike[str], indent: int = 2) -> Path:
    """Write ``doc`` as indented JSON (no NaN) through a temporary file and ``os.replace``, so
    that a reader never sees a half-written file; return the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=indent, allow_nan=False)
        f.write("\n")
    os.replace(tmp, out)
    return out


def dwd_mix_spread(mixes: Sequence[Any]) -> float:
    """How far apart several mean mixing weights lie (docs/metrics.md; our choice, the paper
    defines no such figure): for every (filter, kernel) the largest minus the smallest weight
    over ``mixes``, averaged over the filters and kernels. 0 when they are identical; at most 1.

    Args:
        mixes: at least two arrays (or nested lists) of one shape ``(num_filters, K)``.
    """
    if len(mixes) < 2:
        raise ValueError(f"dwd_mix_spread needs at least two mixes, got {len(mixes)}")
    stacked = np.stack([np.asarray(m, dtype=np.float64) for m in mixes])
    return float(np.mean(stacked.max(axis=0) - stacked.min(axis=0)))


def _mix_shape(mix: Sequence[Sequence[float]], where: str) -> tuple[int, int]:
    """The (filters, K) shape of a nested-list ``dwd_mix``; it must be rectangular."""
    widths = {len(row) for row in mix}
    if len(widths) != 1:
        raise ValueError(f"{where}.dwd_mix: rows of different lengths {sorted(widths)}; "
                         "expected (num_filters, K)")
    return len(mix), widths.pop()


def _check_scores(scores: Mapping[str, Any], where: str) -> None:
    """Counts of one task or group add up."""
    if "num_tampered" in scores and "num_authentic" in scores:
        if scores["num_tampered"] + scores["num_authentic"] != scores["num_images"]:
            raise ValueError(f"{where}.num_images: does not equal num_tampered + num_authentic")
    if scores.get("gate_num_images", 0) > scores["num_images"]:
        raise ValueError(f"{where}.gate_num_images: {scores['gate_num_images']} is more than "
                         f"num_images {scores['num_images']}")


def _check_mixes(d: Mapping[str, Any]) -> None:
    """One (filters, K) shape for every ``dwd_mix``; ``avg.dwd_mix_spread`` is what the tasks'
    ``dwd_mix`` give (only with two or more of them)."""
    shape: tuple[tuple[int, int], str] | None = None
    blocks = [(f"result.per_task.{t}", s) for t, s in d["per_task"].items()]
    blocks += [(f"result.per_group.{g}", s) for g, s in d.get("per_group", {}).items()]
    for where, scores in blocks:
        if "dwd_mix" not in scores:
            continue
        this = _mix_shape(scores["dwd_mix"], where)
        if shape is not None and this != shape[0]:
            raise ValueError(f"{where}.dwd_mix: shape {this}, but {shape[1]}.dwd_mix has "
                             f"{shape[0]}; one model has one set of filters")
        shape = shape or (this, where)
    spread = d["avg"].get("dwd_mix_spread")
    if spread is None:
        return
    mixes = [s["dwd_mix"] for s in d["per_task"].values() if "dwd_mix" in s]
    if len(mixes) < 2:
        raise ValueError(f"result.avg.dwd_mix_spread: {spread}, but {len(mixes)} task(s) have "
                         "dwd_mix (the spread needs two)")
    expected = dwd_mix_spread(mixes)
    if abs(expected - spread) > 1e-9:
        raise ValueError(f"result.avg.dwd_mix_spread: {spread:.6g}, but the tasks' dwd_mix "
                         f"give {expected:.6g}")


def _check_per_image(d: Mapping[str, Any]) -> None:
    """Each task's per-image lists: one entry per test image of the task, unique ids, figures
    exactly where the image is in the pixel set, and means that give the task's figures."""
    per_image = d.get("per_image")
    if per_image is None:
        return
    policy = d["spec"]["authentic_policy"]
    for task, rec in per_image.items():
        where = f"result.per_image.{task}"
        scores = d["per_task"].get(task)
        if scores is None:
            raise ValueError(f"{where}: task not in per_task")
        n = scores["num_images"]
        for key in PER_IMAGE_KEYS:
            if len(rec[key]) != n:
                raise ValueError(f"{where}.{key}: {len(rec[key])} entries for {n} images")
        if len(set(rec["id"])) != n:
            dup = next(i for i in rec["id"] if rec["id"].count(i) > 1)
            raise ValueError(f"{where}.id: {dup!r} appears twice")
        if sum(rec["tampered"]) != scores.get("num_tampered", sum(rec["tampered"])):
            raise ValueError(f"{where}.tampered: {sum(rec['tampered'])} tampered, but "
                             f"num_tampered is {scores['num_tampered']}")
        for key in ("iou", "f1"):
            for i, (value, tampered) in enumerate(zip(rec[key], rec["tampered"], strict=True)):
                in_pixel_set = tampered or policy != "exclude"
                if (value is None) == in_pixel_set:
                    state = "null" if value is None else "a figure"
                    raise ValueError(f"{where}.{key}[{i}]: {state} for "
                                     f"{'a tampered' if tampered else 'an authentic'} image "
                                     f"under authentic_policy {policy!r}")
            values = [v for v in rec[key] if v is not None]
            mean = scores.get(f"pixel_{key}_image")
            if values and mean is not None and abs(float(np.mean(values)) - mean) > \
                    10 ** -(PER_IMAGE_DIGITS - 1):
                raise ValueError(f"{where}.{key}: mean {np.mean(values):.6f}, but "
                                 f"per_task.{task}.pixel_{key}_image is {mean:.6f}")


def validate_result(d: Mapping[str, Any]) -> None:
    """Validate a result dict against RESULT_SCHEMA and its cross-field rules.

    Raises:
        ValueError: the message starts with the offending key path (e.g.
            ``result.per_task.natural.image_auc``).
    """
    check_json_schema(d, RESULT_SCHEMA, "result")
    if d["num_tampered"] + d["num_authentic"] != d["num_images"]:
        raise ValueError(
            f"result.num_images: {d['num_images']} != num_tampered {d['num_tampered']} "
            f"+ num_authentic {d['num_authentic']}")
    per_task = d["per_task"]
    total = sum(t["num_images"] for t in per_task.values())
    if total != d["num_images"]:
        raise ValueError(f"result.num_images: {d['num_images']} != sum over per_task {total}")
    for task, scores in per_task.items():
        _check_scores(scores, f"result.per_task.{task}")
    if "per_group" in d:
        for group, scores in d["per_group"].items():
            _check_scores(scores, f"result.per_group.{group}")
        grouped = sum(s["num_images"] for s in d["per_group"].values())
        ungrouped = d.get("num_ungrouped", 0)
        if grouped + ungrouped != d["num_images"]:
            raise ValueError(f"result.num_images: {d['num_images']} != sum over per_group "
                             f"{grouped} + num_ungrouped {ungrouped}")
    elif "num_ungrouped" in d:
        raise ValueError("result.num_ungrouped: given without per_group")
    _check_mixes(d)
    _check_per_image(d)
    if "skipped" in d and "num_skipped" in d and len(d["skipped"]) != d["num_skipped"]:
        raise ValueError(f"result.num_skipped: {d['num_skipped']} != len(skipped) "
                         f"{len(d['skipped'])}")
    ckpt = d.get("checkpoint")
    if ckpt is not None and ckpt["strict"]:
        # ignored_keys (left-out training-only branches) are allowed under strict loading
        misfit = [k for k in CHECKPOINT_COUNT_KEYS[:3] if ckpt.get(k)]
        if misfit:
            raise ValueError(f"result.checkpoint.{misfit[0]}: {ckpt[misfit[0]]}, but a strictly "
                             "loaded checkpoint fits the model exactly")


def write_result(d: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Validate ``d`` and write it as indented JSON (no NaN: undefined figures are null)."""
    validate_result(d)
    return write_json(d, path, indent=2)


TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("num_images", "n"),
    ("num_tampered", "tamp"),
    ("num_authentic", "auth"),
    ("pixel_f1_image", "F1"),
    ("pixel_iou_image", "IoU"),
    ("pixel_precision_image", "P"),
    ("pixel_recall_image", "R"),
    ("pixel_f1_dataset", "F1_ds"),
    ("pixel_iou_dataset", "IoU_ds"),
    ("pixel_auc_image", "pAUC"),
    ("best_f1", "bestF1*"),
    ("image_auc", "iAUC"),
    ("image_bacc", "iBAcc"),
    ("image_f1", "iF1"),
    ("false_alarm_rate", "FA"),
    ("false_alarm_area", "FA_area"),
)


def format_task_table(d: Mapping[str, Any]) -> str:
    """Readable text table: one row per task plus ``avg``, then one per group (``group
    <name>``) when the samples carry groups; the main figures as columns."""
    import pandas as pd  # imported here: only reports need pandas

    rows = {task: scores for task, scores in d["per_task"].items()}
    rows["avg"] = d["avg"]
    rows.update({f"group {g}": scores for g, scores in d.get("per_group", {}).items()})
    columns = list(TABLE_COLUMNS)
    for key, name in (("gate_fused_share", "gate"), ("gate_prob_mean", "gate p"),
                      ("dwd_mix_spread", "dwd spread")):
        if any(key in scores for scores in rows.values()):
            columns.append((key, name))
    data = {name: [scores.get(key) for scores in rows.values()] for key, name in columns}
    df = pd.DataFrame(data, index=list(rows), dtype=object)

    def fmt(v: Any) -> str:
        if v is None:
            return "-"
        if isinstance(v, int):
            return str(v)
        return f"{v:.4f}"

    df = df.map(fmt) if hasattr(df, "map") else df.applymap(fmt)
    spec = d.get("spec", {})
    header = (f"threshold={spec.get('threshold')} authentic_policy={spec.get('authentic_policy')} "
              f"resolution={spec.get('resolution')} image_pooling={spec.get('image_pooling')} "
              f"images={d.get('num_images')} (tampered {d.get('num_tampered')}, "
              f"authentic {d.get('num_authentic')})")
    if "per_group" in d:
        header += (f"; groups {len(d['per_group'])}, ungrouped images "
                   f"{d.get('num_ungrouped', 0)}")
    footer = ("F1/IoU/P/R: per-image mean ('image'); _ds: one confusion matrix ('dataset'); "
              "* oracle threshold; gate: share routed to the frequency path; gate p: mean gate "
              "probability of that path; dwd spread: docs/metrics.md; '-' undefined")
    return "\n".join([header, df.to_string(), footer])
