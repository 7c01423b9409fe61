"""OSTF, Open-Set Text Forensics (Qu et al., AAAI 2025; repository ``qcf-568/OSTF``).

README: the images of each text-editing method in ``mmacc/<method>/`` and its annotations in
``mmacc/<method>_train.pk`` / ``mmacc/<method>_test.pk`` ("Move all the 18 *.pk files from the
mmacc_pks dir into the mmacc dir"). ``mmdet/datasets/our_dataset.py`` reads each pk as a dict
``img_path -> {'w': W, 'h': H, 'b': [[x1, y1, x2, y2, label], ...]}`` with mmdet's classes
``('authentic', 'tampered')``: label 1 = tampered text, 0 = real text
(``mmdet/evaluation/metrics/ftic15pk.py`` agrees).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from mmiml.utils.errors import IMLDataError

from .base import ConversionContext, DatasetConverter
from .regions import fill_boxes, image_size, report_unlisted
from .safe_pickle import load_pickle

__all__ = ["OSTF_REAL", "OSTF_TAMPERED", "OSTFConverter"]

OSTF_REAL, OSTF_TAMPERED = 0, 1
_PK = re.compile(r"^(?P<method>.+)_(?P<split>train|test)\.pk$", re.IGNORECASE)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _boxes(pk: Path, img_path: str, record: Any) -> tuple[tuple[int, int], list[list[float]],
                                                          int]:
    """``((w, h), tampered boxes, number of real boxes)`` of one pk record; a malformed record
    raises IMLDataError naming the pk and the record."""
    where = str(pk)
    if not isinstance(record, dict) or not {"w", "h", "b"} <= set(record):
        raise IMLDataError(where, f"record {img_path!r}: expected a dict with 'w', 'h' and "
                                  f"'b', got {str(record)[:80]!r}")
    w, h = record["w"], record["h"]
    if not (_number(w) and _number(h) and int(w) == w and int(h) == h and w > 0 and h > 0):
        raise IMLDataError(where, f"record {img_path!r}: 'w' and 'h' must be positive integers, "
                                  f"got {w!r}, {h!r}")
    rows = record["b"]
    rows = rows.tolist() if isinstance(rows, np.ndarray) else rows
    if not isinstance(rows, (list, tuple)):
        raise IMLDataError(where, f"record {img_path!r}: 'b' must be a list of "
                                  f"[x1, y1, x2, y2, label], got {str(rows)[:80]!r}")
    tampered, real = [], 0
    for k, row in enumerate(rows):
        row = row.tolist() if isinstance(row, np.ndarray) else row
        if not isinstance(row, (list, tuple)) or len(row) < 5 \
                or not all(_number(v) for v in row[:5]):
            raise IMLDataError(where, f"record {img_path!r}, box {k}: expected [x1, y1, x2, y2, "
                                      f"label], got {str(row)[:80]!r}")
        if row[4] == OSTF_TAMPERED:
            tampered.append([float(v) for v in row[:4]])
        elif row[4] == OSTF_REAL:
            real += 1
        else:
            raise IMLDataError(where, f"record {img_path!r}, box {k}: label must be "
                                      f"{OSTF_REAL} (real text) or {OSTF_TAMPERED} (tampered "
                                      f"text), got {row[4]!r}")
    return (int(w), int(h)), tampered, real


def _find(img_path: str, folder: Path, base: Path) -> Path | None:
    """The image a pk key names: relative to the method folder or to ``mmacc/``; else the part
    after the method folder's name in a longer (e.g. absolute) path; else its file name in the
    method folder."""
    p = Path(img_path.replace("\\", "/"))
    candidates = [folder / p, base / p]
    lower = [part.lower() for part in p.parts]
    if folder.name.lower() in lower[:-1]:
        at = len(lower) - 1 - lower[::-1].index(folder.name.lower())
        candidates.append(folder.joinpath(*p.parts[at + 1:]))
    candidates.append(folder / p.name)
    return next((c for c in candidates if c.is_file()), None)


class OSTFConverter(DatasetConverter):
    """OSTF: ``mmacc/<method>_{train,test}.pk`` and ``mmacc/<method>/`` (``mmacc/`` may be the
    root itself; pks left in ``mmacc_pks/`` are read too, our choice).

    Each entry records its ``method`` (srnet, stefann, mostel, derend, diffste, anytext,
    udifftext, textocr, ...). The mask is the union of the label-1 (tampered text) boxes; an
    image whose record has no label-1 box (only real text) is authentic. Splits: the pk's
    own. A pk key may be relative to ``<method>/`` or to ``mmacc/`` (both tried; the shipped
    form was not seen) or a longer path through ``<method>/``. Reported: records whose image
    is missing (unpaired masks, ``<pk>#<img_path>``), records whose ``w``/``h`` differ from the
    image's size (skipped, both sizes named: the boxes cannot be placed), pks without an image
    folder and folders without a pk (skipped), images no pk lists (unpaired images). The pks
    are read with :func:`~mmiml.datasets.converters.safe_pickle.load_pickle` (data only).
    """

    NAME = "ostf"
    SOURCE = "OSTF"
    TASK = "scene_text"
    SPLIT = "test"
    LAYOUT = "mmacc/<method>_{train,test}.pk ({img_path: {w, h, b: [[x1,y1,x2,y2,label]]}}), " \
             "mmacc/<method>/"
    PROTOCOLS = ("omni",)

    def convert(self, ctx: ConversionContext) -> list[dict[str, Any]]:
        base = ctx.find_dir("mmacc", required=False) or ctx.root
        pk_dirs = [base] + [d for d in (ctx.find_dir("mmacc_pks", base=b, required=False)
                                        for b in {base, ctx.root}) if d is not None]
        pks: list[tuple[Path, str, str]] = []
        seen: dict[str, str] = {}
        for d in pk_dirs:
            for path in sorted(d.iterdir()):
                m = _PK.match(path.name)
                if path.is_file() and m:
                    if path.name.lower() in seen:  # a copy also left in mmacc_pks/
                        ctx.report.skipped.append((ctx.rel(path), f"same name as "
                                                                  f"{seen[path.name.lower()]}, "
                                                                  f"which is read"))
                        continue
                    seen[path.name.lower()] = ctx.rel(path)
                    pks.append((path, m["method"], m["split"].lower()))
                elif path.is_file() and d == base and not path.name.startswith("."):
                    ctx.report.ignored_files.append(ctx.rel(path))
        if not pks:
            raise IMLDataError(str(base), "no <method>_train.pk or <method>_test.pk: is this the "
                                          "OSTF mmacc folder?")
        methods = {method.lower() for _, method, _ in pks}
        for d in sorted(p for p in base.iterdir() if p.is_dir() and p not in pk_dirs):
            if d.name.lower() not in methods:
                ctx.report.skipped.append((ctx.rel(d), "no <name>_train.pk or _test.pk for "
                                                       "this folder; not read"))
        entries: list[dict[str, Any]] = []
        used: set[Path] = set()
        folders: list[Path] = []
        for pk, method, own_split in pks:
            records = load_pickle(pk)
            if not isinstance(records, dict):
                raise IMLDataError(str(pk), f"expected a dict img_path -> {{'w', 'h', 'b'}}, got "
                                            f"{type(records).__name__}")
            folder = ctx.find_dir(method, base=base, required=False)
            if folder is None:
                ctx.report.skipped.append((ctx.rel(pk), f"no image folder {method}/: its "
                                                        f"{len(records)} records left out"))
                continue
            folders.append(folder)
            entries += self._pk(ctx, pk, records, folder, base, method,
                                self.split_of(own_split), used)
        report_unlisted(ctx, folders, used, recursive=True)
        return entries

    def _pk(self, ctx: ConversionContext, pk: Path, records: dict[Any, Any], folder: Path,
            base: Path, method: str, split: str, used: set[Path]) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        for img_path, record in records.items():
            if not isinstance(img_path, str) or not img_path:
                raise IMLDataError(str(pk), f"record keys must be image paths, got "
                                            f"{img_path!r}")
            size, boxes, _ = _boxes(pk, img_path, record)
            label = f"{ctx.rel(pk)}#{img_path}"
            image = _find(img_path, folder, base)
            if image is None:
                ctx.report.unpaired_masks.append(label)
                continue
            if image.resolve() in used:
                ctx.report.skipped.append((label, f"{ctx.rel(image)} is listed more than once"))
                continue
            used.add(image.resolve())
            actual = image_size(ctx, image)
            if actual is None:
                continue
            if actual != size:
                ctx.report.skipped.append((ctx.rel(image), f"the pk gives {size[0]}x{size[1]}, "
                                                           f"the image is {actual[0]}x"
                                                           f"{actual[1]}: the boxes cannot be "
                                                           f"placed"))
                continue
            if not boxes:
                entry = ctx.authentic(image, split, method=method, orig_annotation=label)
            else:
                entry = ctx.tampered(image, fill_boxes(size, boxes), split,
                                     encoding=f"box fill of label {OSTF_TAMPERED} (tampered text)",
                                     orig_mask=label, mask_name=ctx.rel(image), method=method)
            if entry:
                entries.append(entry)
        return entries
