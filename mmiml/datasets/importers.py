"""Importers that turn dataset layouts users already have into manifest entries.

Both importers return ``(entries, report)``: entries are manifest dicts with absolute paths
(write them with :func:`mmiml.datasets.manifest.write_manifest`), and the report lists every
file that could not be used, so nothing is dropped silently. Files are only listed and
checked for existence here; decoding is the job of ``tools/check_dataset.py``.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mmiml import TASKS
from mmiml.datasets.manifest import SPLITS
from mmiml.utils.errors import IMLDataError
from mmiml.utils.fileio import read_json

__all__ = [
    "DEFAULT_MASK_SUFFIXES",
    "IMAGE_EXTENSIONS",
    "ImportReport",
    "import_benco_json",
    "import_tp_gt",
]

# Matched case-insensitively against the end of a mask's stem (our choice: "_gt", "_GT" and
# "_Gt" all occur in the wild).
DEFAULT_MASK_SUFFIXES: tuple[str, ...] = ("_gt", "_mask", "_groundtruth")
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp", ".gif"}
)
# IMDL-BenCo's marker for an authentic image in its JSON lists.
BENCO_NEGATIVE = "Negative"


@dataclass
class ImportReport:
    """What an importer did and every file it could not use."""

    num_tampered: int = 0
    num_authentic: int = 0
    unpaired_images: list[str] = field(default_factory=list)
    unpaired_masks: list[str] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def num_unpaired(self) -> int:
        return len(self.unpaired_images) + len(self.unpaired_masks)

    def lines(self) -> list[str]:
        """Human-readable report: counts, then every unpaired/ignored file and problem."""
        out = [
            f"tampered (paired): {self.num_tampered}",
            f"authentic: {self.num_authentic}",
            f"unpaired images: {len(self.unpaired_images)}",
            f"unpaired masks: {len(self.unpaired_masks)}",
        ]
        out += [f"  unpaired image: {p}" for p in self.unpaired_images]
        out += [f"  unpaired mask: {p}" for p in self.unpaired_masks]
        if self.ignored_files:
            out.append(f"ignored (not images): {len(self.ignored_files)}")
            out += [f"  ignored: {p}" for p in self.ignored_files]
        if self.problems:
            out.append(f"problems: {len(self.problems)}")
            out += [f"  {p}" for p in self.problems]
        return out


def _check_labels(task: str, source: str, split: str) -> None:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r} (valid tasks: {', '.join(TASKS)})")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} (valid splits: {', '.join(SPLITS)})")
    if not source:
        raise ValueError("source must be a non-empty dataset name")


def _entry(image: str, mask: str | None, task: str, source: str, split: str) -> dict[str, Any]:
    return {"image": image, "mask": mask, "task": task, "source": source, "split": split}


def import_benco_json(
    json_path: str | os.PathLike, *, task: str, source: str, split: str
) -> tuple[list[dict[str, Any]], ImportReport]:
    """Import an IMDL-BenCo JSON list ``[[image, mask or "Negative"], ...]``.

    Relative paths resolve against the JSON file's folder. Items whose files are missing, that
    are not ``[image, mask]`` string pairs, or that repeat an image are reported as problems and
    left out.

    Raises:
        IMLDataError: the JSON file is missing, not JSON, or not a list.
    """
    _check_labels(task, source, split)
    json_path = os.fspath(json_path)
    items = read_json(json_path, "IMDL-BenCo JSON file")
    if not isinstance(items, list):
        raise IMLDataError(
            json_path, f"expected a JSON list of [image, mask] pairs, got {type(items).__name__}"
        )
    folder = os.path.dirname(os.path.abspath(json_path))
    report = ImportReport()
    entries: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        where = f"{json_path}[{i}]"
        if not (
            isinstance(item, (list, tuple))
            and len(item) == 2
            and all(isinstance(x, str) and x for x in item)
        ):
            report.problems.append(f"{where}: expected [image, mask or \"Negative\"], got {item!r}")
            continue
        image = os.path.normpath(os.path.join(folder, item[0]))
        mask = (
            None if item[1] == BENCO_NEGATIVE else os.path.normpath(os.path.join(folder, item[1]))
        )
        missing = [p for p in (image, mask) if p is not None and not os.path.isfile(p)]
        if missing:
            report.problems += [f"{where}: file not found: {p}" for p in missing]
            continue
        if image in seen:
            report.problems.append(f"{where}: duplicate image {image} (also item {seen[image]})")
            continue
        seen[image] = i
        entries.append(_entry(image, mask, task, source, split))
        if mask is None:
            report.num_authentic += 1
        else:
            report.num_tampered += 1
    return entries, report


def _find_subdir(root: str, name: str) -> str | None:
    """``root/name`` matched case-insensitively (``Tp``, ``tp`` and ``TP`` all occur)."""
    exact = os.path.join(root, name)
    if os.path.isdir(exact):
        return exact
    for d in sorted(os.listdir(root)):
        if d.lower() == name.lower() and os.path.isdir(os.path.join(root, d)):
            return os.path.join(root, d)
    return None


def _list_images(folder: str, report: ImportReport) -> list[str]:
    """Image files directly in ``folder`` (sorted); other files go to ``report.ignored_files``."""
    out = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.startswith(".") or not os.path.isfile(path):
            continue  # hidden files (.DS_Store) and sub-folders are not samples
        if os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
            out.append(os.path.abspath(path))
        else:
            report.ignored_files.append(os.path.abspath(path))
    return out


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def _strip_suffix(stem: str, suffixes: Sequence[str]) -> str | None:
    """``stem`` without the longest matching mask suffix (case-insensitive), or None."""
    for suf in sorted(suffixes, key=len, reverse=True):
        if suf and len(stem) > len(suf) and stem.lower().endswith(suf.lower()):
            return stem[: -len(suf)]
    return None


def import_tp_gt(
    root: str | os.PathLike,
    *,
    task: str,
    source: str,
    split: str,
    mask_suffixes: Sequence[str] = DEFAULT_MASK_SUFFIXES,
) -> tuple[list[dict[str, Any]], ImportReport]:
    """Import a ``root/Tp`` (tampered images) + ``root/Gt`` (masks) layout, optional ``root/Au``.

    Images and masks are paired by file **stem**, never by sorted order. A mask's stem matches
    an image's stem either exactly or after removing one of ``mask_suffixes`` (compared
    case-insensitively; an exact match wins). Every image without a mask and every mask without
    an image is reported; so are ambiguous cases (two masks for one image, or two images with
    the same stem), which are left unpaired rather than guessed. Each image file in ``Au`` is an
    authentic sample. Folder names are matched case-insensitively; only files directly inside
    them are read.

    Raises:
        IMLDataError: ``root``, ``root/Tp`` or ``root/Gt`` is missing.
    """
    _check_labels(task, source, split)
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise IMLDataError(root, "dataset folder not found")
    tp_dir, gt_dir = _find_subdir(root, "Tp"), _find_subdir(root, "Gt")
    for name, d in (("Tp", tp_dir), ("Gt", gt_dir)):
        if d is None:
            raise IMLDataError(root, f"no '{name}' folder (expected {root}/Tp and {root}/Gt)")
    assert tp_dir is not None and gt_dir is not None
    report = ImportReport()
    images = _list_images(tp_dir, report)
    masks = _list_images(gt_dir, report)

    # Images by stem; a stem shared by two images (x.jpg, x.png) cannot be paired safely.
    by_stem: dict[str, list[str]] = {}
    for p in images:
        by_stem.setdefault(_stem(p), []).append(p)
    # Candidate images of each mask: exact stem first, suffix-stripped stem otherwise.
    mask_target: dict[str, str] = {}
    for m in masks:
        stem = _stem(m)
        if stem in by_stem:
            mask_target[m] = stem
        else:
            stripped = _strip_suffix(stem, mask_suffixes)
            if stripped is not None and stripped in by_stem:
                mask_target[m] = stripped
    masks_of: dict[str, list[str]] = {}
    for m, stem in mask_target.items():
        masks_of.setdefault(stem, []).append(m)

    entries: list[dict[str, Any]] = []
    used_masks: set[str] = set()
    for stem in sorted(by_stem):
        imgs, ms = by_stem[stem], sorted(masks_of.get(stem, []))
        if len(imgs) == 1 and len(ms) == 1:
            entries.append(_entry(imgs[0], ms[0], task, source, split))
            used_masks.add(ms[0])
            report.num_tampered += 1
            continue
        if len(imgs) > 1:
            report.problems.append(
                f"ambiguous: {len(imgs)} images share the stem {stem!r}: " + ", ".join(imgs)
            )
        if len(ms) > 1:
            report.problems.append(
                f"ambiguous: {len(ms)} masks match the stem {stem!r}: " + ", ".join(ms)
            )
        report.unpaired_images += imgs
    report.unpaired_masks = [m for m in masks if m not in used_masks]

    au_dir = _find_subdir(root, "Au")
    if au_dir is not None:
        for p in _list_images(au_dir, report):
            entries.append(_entry(p, None, task, source, split))
            report.num_authentic += 1
    return entries, report
