"""The result JSON ("mmiml-result/1"): schema, validator, writer and a text table.

The format is public and specified in ``docs/metrics.md`` ("Public
formats"). ``RESULT_SCHEMA`` is a JSON-Schema (draft-07) document that other tools may feed to
``jsonschema`` too; :func:`validate_result` checks it with ``jsonschema``, then adds the
cross-field checks JSON-Schema cannot express (counts that must add up).
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jsonschema

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
_COUNT = {"type": "integer", "minimum": 0}

_SCORES = {
    "type": "object",
    "required": ["num_images", *FIGURE_KEYS],
    "properties": {
        **{k: _COUNT for k in COUNT_KEYS},
        **{k: _FIGURE for k in FIGURE_KEYS + EXTRA_FIGURE_KEYS},
        "best_f1_threshold": {"type": ["number", "null"], "minimum": 0.0, "maximum": 1.0},
        # Omni-IML only: share of images the Modal Gate routed to the frequency path
        "gate_fused_share": _FIGURE,
        "gate_num_images": _COUNT,
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
                "aggregations": {"type": "array", "items": {"type": "string"}},
            },
        },
        "per_task": {
            "type": "object",
            "propertyNames": {"enum": list(TASKS)},
            "additionalProperties": _SCORES,
        },
        "avg": _SCORES,
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
        if "num_tampered" in scores and "num_authentic" in scores:
            if scores["num_tampered"] + scores["num_authentic"] != scores["num_images"]:
                raise ValueError(f"result.per_task.{task}.num_images: does not equal "
                                 "num_tampered + num_authentic")
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
    """Readable text table: one row per task plus ``avg``, the main figures as columns."""
    import pandas as pd  # imported here: only reports need pandas

    rows = {task: scores for task, scores in d["per_task"].items()}
    rows["avg"] = d["avg"]
    columns = list(TABLE_COLUMNS)
    if any("gate_fused_share" in scores for scores in rows.values()):
        columns.append(("gate_fused_share", "gate"))
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
    footer = ("F1/IoU/P/R: per-image mean ('image'); _ds: one confusion matrix ('dataset'); "
              "* oracle threshold; gate: share routed to the frequency path; '-' undefined")
    return "\n".join([header, df.to_string(), footer])
