"""Reading and writing mmiml manifests (JSON lines, one sample per line).

Format (public, see docs/metrics.md)::

    {"image": path, "mask": path or null, "task": "natural"|"document"|"face"|"scene_text",
     "source": dataset name, "split": "train"|"val"|"test", ...more keys allowed}

Relative paths resolve against the manifest's folder. The optional key ``mask_inverted`` (bool)
marks NIST-style masks (white = authentic); the optional key ``group`` (non-empty string) names a
subset that the metric scores on its own (e.g. the SynthIML probe's ``compression`` / ``pixel``).
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from mmiml import TASKS
from mmiml.utils.errors import IMLDataError
from mmiml.utils.fileio import parse_json

__all__ = ["SPLITS", "REQUIRED_KEYS", "read_manifest", "write_manifest", "check_entry_fields"]

SPLITS: tuple[str, ...] = ("train", "val", "test")
REQUIRED_KEYS: tuple[str, ...] = ("image", "mask", "task", "source", "split")
# Keys that read_manifest adds to each entry; never written back.
_INTERNAL_KEYS = ("line",)
#: optional file paths, relative to the manifest like ``image`` and ``mask``: the
#: changed-pixel mask beside a region mask (SynthIML, docs/synthiml/README.md)
OPTIONAL_PATH_KEYS: tuple[str, ...] = ("mask_changed",)


def check_entry_fields(obj: Any) -> list[str]:
    """Schema problems of one decoded manifest line (empty list = valid).

    Schema: a JSON object; ``image`` non-empty string; ``mask`` non-empty string or null;
    ``task`` one of :data:`mmiml.TASKS`; ``source`` non-empty string; ``split`` one of
    :data:`SPLITS`; optional ``mask_inverted`` boolean; optional ``mask_threshold`` number
    (binarise this entry's soft mask at ``value > T``, docs/data_contract.md); optional
    ``group`` non-empty string (a subset scored on its own); optional ``mask_changed``
    non-empty string or null (a second mask: exactly the changed pixels); any other key allowed.
    """
    if not isinstance(obj, dict):
        return [f"expected a JSON object, got {type(obj).__name__}"]
    problems = []
    missing = [k for k in REQUIRED_KEYS if k not in obj]
    if missing:
        problems.append("missing key" + ("s " if len(missing) > 1 else " ") + ", ".join(missing))
    for key in ("image", "source"):
        if key in obj and not (isinstance(obj[key], str) and obj[key]):
            problems.append(f"'{key}' must be a non-empty string, got {obj[key]!r}")
    if "mask" in obj and obj["mask"] is not None and not (
        isinstance(obj["mask"], str) and obj["mask"]
    ):
        problems.append(f"'mask' must be a non-empty string or null, got {obj['mask']!r}")
    for key in OPTIONAL_PATH_KEYS:
        if obj.get(key) is not None and not (isinstance(obj[key], str) and obj[key]):
            problems.append(f"'{key}' must be a non-empty string or null, got {obj[key]!r}")
    if "task" in obj and obj["task"] not in TASKS:
        problems.append(f"unknown task {obj['task']!r} (valid tasks: {', '.join(TASKS)})")
    if "split" in obj and obj["split"] not in SPLITS:
        problems.append(f"unknown split {obj['split']!r} (valid splits: {', '.join(SPLITS)})")
    if "mask_inverted" in obj and not isinstance(obj["mask_inverted"], bool):
        problems.append(f"'mask_inverted' must be true or false, got {obj['mask_inverted']!r}")
    if "group" in obj and not (isinstance(obj["group"], str) and obj["group"]):
        problems.append(f"'group' must be a non-empty string, got {obj['group']!r}")
    threshold = obj.get("mask_threshold")
    if threshold is not None and (isinstance(threshold, bool)
                                  or not isinstance(threshold, (int, float))):
        problems.append(f"'mask_threshold' must be a number (0..255) or null, got {threshold!r}")
    return problems


def _resolve(folder: str, p: str) -> str:
    # normpath, not realpath: keep symlinked dataset folders as the user named them.
    return os.path.normpath(os.path.join(folder, os.path.expanduser(p)))


def sample_id(image: str, manifest: str | os.PathLike[str]) -> str:
    """An image's id: its path relative to the manifest's folder, with ``/`` (the same on every
    machine and checkout; the absolute path where no relative one exists, another drive)."""
    folder = os.path.dirname(os.path.abspath(manifest))
    try:
        return os.path.relpath(os.path.abspath(image), folder).replace(os.sep, "/")
    except ValueError:
        return os.path.abspath(image)


def read_manifest(
    path: str | os.PathLike,
    *,
    split: str | None = None,
    collect_problems: list[IMLDataError] | None = None,
    allow_empty: bool = True,
) -> list[dict[str, Any]]:
    """Read and validate a manifest.

    Returns one dict per sample with absolute ``image`` and ``mask`` (or None), ``task``,
    ``source``, ``split``, ``mask_inverted`` (bool, default False), ``line`` (1-based line
    number) and every extra key of the line. Blank lines are ignored.

    The whole file is validated before ``split`` filters it (our choice: a broken line makes
    the manifest wrong whatever split is asked for). Duplicates (the same image path twice,
    after resolution) are errors in any split, since they inflate or leak samples.

    Collect mode: pass a list as ``collect_problems`` and nothing is raised for bad lines; each
    problem is appended as an IMLDataError (path ``manifest:line``) and only the valid lines
    are returned (for duplicates, the first occurrence is kept).

    ``allow_empty=False`` makes a manifest without a single entry line (an empty file, or only
    blank lines) an error; tools that check or describe a manifest ask for it, since "nothing
    checked" must not read as "nothing wrong".

    Raises:
        IMLDataError: manifest missing, not UTF-8 text, empty (with ``allow_empty=False``), or
            (without ``collect_problems``) the first bad line: invalid or too deeply nested
            JSON, missing key, wrong type, unknown task (valid ones listed) or split, duplicate.
    """
    path = os.fspath(path)
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS} or None, got {split!r}")
    if not os.path.isfile(path):
        raise IMLDataError(path, "manifest file not found")
    folder = os.path.dirname(os.path.abspath(path))

    def report(line_no: int, problem: str) -> None:
        err = IMLDataError(f"{path}:{line_no}", problem)
        if collect_problems is None:
            raise err
        collect_problems.append(err)

    entries: list[dict[str, Any]] = []
    first_line: dict[str, int] = {}
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise IMLDataError(path, f"cannot read manifest: {e.strerror or e}") from e
    try:
        lines = data.decode("utf-8-sig").splitlines()  # a leading BOM is tolerated
    except UnicodeDecodeError as e:
        line_no = data[:e.start].count(b"\n") + 1
        raise IMLDataError(path, f"manifest is not UTF-8 text (byte {e.start}, line {line_no}); "
                                 f"save it as UTF-8") from None
    if not allow_empty and not any(raw.strip() for raw in lines):
        raise IMLDataError(path, "manifest has no entries ("
                           + ("empty file" if not data else "only blank lines")
                           + "); a manifest lists one JSON object per line")
    for line_no, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            obj = parse_json(raw, f"{path}:{line_no}")
        except IMLDataError as e:
            report(line_no, e.problem)
            continue
        bad = check_entry_fields(obj)
        if bad:
            report(line_no, "; ".join(bad))
            continue
        entry = dict(obj)
        entry["image"] = _resolve(folder, obj["image"])
        entry["mask"] = None if obj["mask"] is None else _resolve(folder, obj["mask"])
        for key in OPTIONAL_PATH_KEYS:
            if obj.get(key) is not None:
                entry[key] = _resolve(folder, obj[key])
        entry["mask_inverted"] = bool(obj.get("mask_inverted", False))
        entry["line"] = line_no
        if entry["image"] in first_line:
            report(
                line_no,
                f"duplicate entry: image {entry['image']} is listed on lines "
                f"{first_line[entry['image']]} and {line_no}",
            )
            continue
        first_line[entry["image"]] = line_no
        entries.append(entry)
    if split is not None:
        entries = [e for e in entries if e["split"] == split]
    return entries


def write_manifest(entries: Iterable[Mapping[str, Any]], path: str | os.PathLike) -> int:
    """Write ``entries`` as a manifest at ``path``; returns the number of lines written.

    Paths are written relative to the manifest's folder (absolute when no relative path exists,
    e.g. another drive). Relative input paths are taken relative to the current directory.
    ``mask_inverted`` is written only when true and ``line`` never (our choice: minimal lines).
    Entries are schema-checked first; nothing is written if one is invalid.

    Raises:
        IMLDataError: an entry is invalid (named by its 0-based index) or two share an image.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))

    def rel(p: str) -> str:
        p = os.path.abspath(os.path.expanduser(p))
        try:
            return os.path.relpath(p, folder).replace(os.sep, "/")
        except ValueError:
            return p

    lines: list[str] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        bad = check_entry_fields(dict(entry))
        if bad:
            raise IMLDataError(path, f"entry {i}: " + "; ".join(bad))
        image = os.path.abspath(os.path.expanduser(entry["image"]))
        if image in seen:
            raise IMLDataError(
                path, f"entry {i}: duplicate image {image} (also entry {seen[image]})"
            )
        seen[image] = i
        out: dict[str, Any] = {
            "image": rel(entry["image"]),
            "mask": None if entry["mask"] is None else rel(entry["mask"]),
        }
        for key in REQUIRED_KEYS[2:]:
            out[key] = entry[key]
        for key, value in entry.items():
            if key in out or key in _INTERNAL_KEYS:
                continue
            if key == "mask_inverted" and not value:
                continue
            out[key] = rel(value) if key in OPTIONAL_PATH_KEYS and value is not None else value
        lines.append(json.dumps(out, ensure_ascii=False))
    os.makedirs(folder, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))
    return len(lines)
