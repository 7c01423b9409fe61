"""The result JSON ("mmiml-result/1"): schema, validator, writer and a text table.

The format is public and specified in ``shared/design/metrics.md`` ("Files that other tools
read"). ``RESULT_SCHEMA`` is written as a JSON-Schema (draft-07 subset) document so that other
tools may feed it to ``jsonschema``; :func:`validate_result` interprets that subset itself because
``jsonschema`` is not a dependency, then adds the cross-field checks JSON-Schema cannot express
(counts that must add up).
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mmiml import TASKS

SCHEMA_ID = "mmiml-result/1"

METRIC_SPEC_VERSION = "1"
"""Version of the scoring rules of ``shared/design/metrics.md`` that IMLMetric implements; it
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
"""The figures metrics.md requires for every task and for ``avg`` (null when undefined)."""

EXTRA_FIGURE_KEYS: tuple[str, ...] = (
    "pixel_precision_dataset",
    "pixel_recall_dataset",
    "pixel_auc_dataset",
)
"""Figures mmiml adds (metrics.md: "each in two aggregations, both always reported")."""

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

RESULT_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$id": SCHEMA_ID,
    "title": "mmiml result (shared/design/metrics.md)",
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
    },
}


def _type_ok(value: Any, name: str) -> bool:
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return (isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value))
    if name == "string":
        return isinstance(value, str)
    if name == "array":
        return isinstance(value, Sequence) and not isinstance(value, (str, bytes))
    if name == "object":
        return isinstance(value, Mapping)
    raise ValueError(f"schema uses unsupported type {name!r}")


def check_json_schema(value: Any, schema: Mapping[str, Any], where: str) -> None:
    """Interpret the JSON-Schema subset used by mmiml's schemas; raise naming the key path.

    Supported: type, const, enum, minimum, maximum, required, properties, propertyNames,
    additionalProperties (a schema, or ``False`` to reject unknown keys) and items.
    """
    if "const" in schema and value != schema["const"]:
        raise ValueError(f"{where}: expected {schema['const']!r}, got {value!r}")
    if "enum" in schema and value not in schema["enum"]:
        raise ValueError(f"{where}: expected one of {schema['enum']}, got {value!r}")
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_type_ok(value, t) for t in types):
            raise ValueError(f"{where}: expected {' or '.join(types)} (finite), got {value!r}")
    if _type_ok(value, "number"):
        if "minimum" in schema and value < schema["minimum"]:
            raise ValueError(f"{where}: {value} is below {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise ValueError(f"{where}: {value} is above {schema['maximum']}")
    if isinstance(value, Mapping):
        for key in schema.get("required", ()):
            if key not in value:
                raise ValueError(f"{where}.{key}: missing")
        props = schema.get("properties", {})
        for key, sub in value.items():
            path = f"{where}.{key}"
            if "propertyNames" in schema:
                check_json_schema(key, schema["propertyNames"], path)
            if key in props:
                check_json_schema(sub, props[key], path)
            elif schema.get("additionalProperties") is False:
                raise ValueError(f"{path}: unknown key (the schema does not allow it)")
            elif "additionalProperties" in schema:
                check_json_schema(sub, schema["additionalProperties"], path)
    if "items" in schema and _type_ok(value, "array"):
        for i, item in enumerate(value):
            check_json_schema(item, schema["items"], f"{where}[{i}]")


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


def write_result(d: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Validate ``d`` and write it as indented JSON (no NaN: undefined figures are null)."""
    validate_result(d)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(d, f, indent=2, allow_nan=False)
        f.write("\n")
    os.replace(tmp, out)  # a reader never sees a half-written result
    return out


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
