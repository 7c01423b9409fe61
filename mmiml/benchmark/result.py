"""Benchmark result files ("mmiml-benchmark/1"): one per (profile, model, training set, seed).

A benchmark result wraps the metric result of ``tools/test.py`` ("mmiml-result/1", validated by
its own schema) with what the leaderboard needs to say where the figures come from: the run's
identity, its budget, complexity, throughput, wall time and provenance (code, config, data,
metric spec, packages). ``sha256`` is a checksum of the rest of the document: a hand-edited file
fails validation, so every figure on the leaderboard is one a command printed.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mmiml.evaluation.result_json import check_json_schema, validate_result, write_json
from mmiml.utils.errors import IMLDataError
from mmiml.utils.fileio import read_json

from .zoo import JOINT, TRAIN_SETS

BENCHMARK_SCHEMA_ID = "mmiml-benchmark/1"

#: training set of a training-free reference (the lower bounds)
NO_TRAINING = "none"

_NUM = {"type": ["number", "null"], "minimum": 0.0}
_STR = {"type": "string"}
_HASH = {"type": "string"}

BENCHMARK_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$id": BENCHMARK_SCHEMA_ID,
    "title": "mmiml benchmark result (docs/metrics.md)",
    "type": "object",
    "additionalProperties": False,
    "required": ["schema", "profile", "model", "model_name", "train_set", "seed", "kind",
                 "config", "budget", "result", "complexity", "throughput", "wall_time_s",
                 "provenance", "sha256"],
    "properties": {
        "schema": {"const": BENCHMARK_SCHEMA_ID},
        "profile": _STR,
        "model": _STR,
        "model_name": _STR,
        "train_set": {"enum": [*TRAIN_SETS, NO_TRAINING]},
        "seed": {"type": "integer", "minimum": 0},
        "kind": {"enum": ["model", "ablation", "lower_bound"]},
        "ablation_of": {"type": ["string", "null"]},
        "note": _STR,
        "config": {"type": ["string", "null"]},
        "cfg_options": {"type": "array", "items": _STR},
        "budget": {
            "type": "object",
            "additionalProperties": False,
            "required": ["max_iters", "batch_size", "crop", "description"],
            "properties": {
                "max_iters": {"type": ["integer", "null"], "minimum": 0},
                "batch_size": {"type": ["integer", "null"], "minimum": 0},
                "crop": {"type": ["integer", "null"], "minimum": 0},
                "description": _STR,
            },
        },
        "result": {"type": "object"},  # mmiml-result/1, checked by validate_result
        # validations during training (LearningCurveHook): iteration, then per task and avg
        # the figures of that validation; optional (runs without curve_points have none)
        # a real-data protocol's datasets: found, missing, training draw, entries per task
        "protocol": {
            "type": "object",
            "required": ["protocol", "present", "missing", "task_weights", "counts"],
            "properties": {"protocol": _STR,
                           "present": {"type": "array", "items": _STR},
                           "missing": {"type": "array", "items": _STR},
                           "task_weights": {"type": "object"},
                           "counts": {"type": "object"}},
        },
        "learning_curve": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["iter"],
                "properties": {"iter": {"type": "integer", "minimum": 0}},
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": {"type": "number", "minimum": 0, "maximum": 1},
                },
            },
        },
        # the robustness protocol (mmiml.evaluation.robustness), joint runs of seed 0
        "robustness": {
            "type": "object",
            "required": ["schema", "grid", "subset", "clean", "curves", "area", "score"],
            "properties": {
                "schema": {"const": "mmiml-robustness/1"},
                "area": {"type": "object", "additionalProperties": _NUM},
                "score": _NUM,
            },
        },
        "complexity": {
            "type": "object",
            "additionalProperties": False,
            "required": ["params_m", "params_train_m", "gflops", "flops_input"],
            "properties": {"params_m": _NUM, "params_train_m": _NUM, "gflops": _NUM,
                           "flops_input": {"type": ["string", "null"]}},
        },
        "throughput": {
            "type": "object",
            "additionalProperties": False,
            "required": ["train_images_per_s", "test_images_per_s"],
            "properties": {"train_images_per_s": _NUM, "test_images_per_s": _NUM},
        },
        "wall_time_s": {
            "type": "object",
            "additionalProperties": False,
            "required": ["train", "test", "total"],
            "properties": {"train": _NUM, "test": _NUM, "total": _NUM},
        },
        "provenance": {
            "type": "object",
            "additionalProperties": False,
            "required": ["git_commit", "code_hash", "code_dirty", "config_hash", "test_data",
                         "metric_schema", "metric_spec_version", "packages", "machine",
                         "finished_at", "resumed"],
            "properties": {
                "git_commit": _STR,
                "code_hash": _HASH,
                "code_dirty": {"type": "boolean"},
                "config_hash": {"type": ["string", "null"]},
                "test_data": {"type": "object", "additionalProperties": _HASH},
                "metric_schema": _STR,
                "metric_spec_version": _STR,
                "packages": {"type": "object", "additionalProperties": _STR},
                "machine": _STR,
                "finished_at": _STR,
                "resumed": {"type": "boolean"},
            },
        },
        "sha256": _HASH,
    },
}


def checksum(doc: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of ``doc`` without its ``sha256`` key."""
    body = {k: v for k, v in doc.items() if k != "sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def validate_benchmark_result(doc: Mapping[str, Any], where: str = "result file") -> None:
    """Schema, embedded metric result, cross-field rules and checksum; ``ValueError`` names
    ``where`` (the file) and the key path."""
    try:
        check_json_schema(doc, BENCHMARK_SCHEMA, "benchmark")
        validate_result(doc["result"])
        if doc["kind"] == "lower_bound" and doc["train_set"] != NO_TRAINING:
            raise ValueError("benchmark.train_set: a lower bound is not trained")
        if doc["kind"] == "ablation" and not doc.get("ablation_of"):
            raise ValueError("benchmark.ablation_of: an ablation names the model it ablates")
        if doc["train_set"] not in (JOINT, NO_TRAINING):
            if doc["train_set"] not in doc["result"]["per_task"]:
                raise ValueError(f"benchmark.result.per_task: the model trained on "
                                 f"{doc['train_set']!r} was not tested on it")
        if checksum(doc) != doc["sha256"]:
            raise ValueError("benchmark.sha256: checksum mismatch: the file was edited after "
                             "the benchmark wrote it (rerun the run instead)")
    except ValueError as exc:
        raise IMLDataError(where, str(exc)) from None


def write_benchmark_result(doc: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Add the checksum, validate and write ``doc`` atomically."""
    doc["sha256"] = checksum(doc)
    validate_benchmark_result(doc, str(path))
    return write_json(doc, path, indent=1)


def load_benchmark_result(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate one result file; errors name the file."""
    path = Path(path)
    doc = read_json(path, "result file")
    if not isinstance(doc, dict):
        raise IMLDataError(path, f"expected a JSON object, got {type(doc).__name__}")
    validate_benchmark_result(doc, str(path))
    return doc


def result_filename(model: str, train_set: str, seed: int) -> str:
    return f"{model}__{train_set}__seed{seed}.json"


def load_results(folder: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every ``*.json`` under ``folder`` (sorted by path), each validated; the first bad file
    raises naming it. Duplicate (model, train set, seed) entries are an error too."""
    docs, seen = [], {}
    for path in sorted(Path(folder).rglob("*.json")):
        doc = load_benchmark_result(path)
        key = (doc["profile"], doc["model"], doc["train_set"], doc["seed"])
        if key in seen:
            raise IMLDataError(path, f"duplicates {seen[key]} ({'/'.join(map(str, key))})")
        seen[key] = path
        doc["_path"] = str(path)
        docs.append(doc)
    return docs


def load_result_paths(paths: Sequence[str | os.PathLike[str]]) -> list[dict[str, Any]]:
    """The validated result files named on a command line (a folder: every ``*.json`` under
    it, sorted), each with its path under ``_path``; a missing path or no file at all is an
    :class:`IMLDataError` naming them."""
    docs: list[dict[str, Any]] = []
    for arg in paths:
        path = Path(arg)
        if path.is_dir():
            files = sorted(path.rglob("*.json"))
        elif path.is_file():
            files = [path]
        else:
            raise IMLDataError(path, "no such file or folder")
        for f in files:
            doc = load_benchmark_result(f)
            doc["_path"] = str(f)
            docs.append(doc)
    if not docs:
        raise IMLDataError(", ".join(map(str, paths)), "no result files (*.json) found")
    return docs
