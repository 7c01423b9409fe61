"""Tampered-IC13 (Wang et al., "Detecting tampered scene text in the wild", ECCV 2022;
repository ``wangyuxin87/Tampered-IC13``).

README: "The annotation is box + x, where x=1 means the real-world text, and x=2 means the
tampered text." The folder layout ``{train_img,train_gt,test_img,test_gt}`` with one
``<stem>.txt`` per image, lines ``x1,y1,x2,y2,label``, is the one its consumers (UPOCR's data
loader) read.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mmiml.utils.errors import IMLDataError

from .base import ConversionContext, DatasetConverter, list_files, pair_by_stem
from .regions import fill_boxes, image_size

__all__ = ["IC13_REAL", "IC13_TAMPERED", "TamperedIC13Converter", "read_ic13_gt"]

IC13_REAL, IC13_TAMPERED = 1, 2
_INT = re.compile(r"^[+-]?\d+(\.0*)?$")


def read_ic13_gt(path: Path) -> list[tuple[tuple[int, int, int, int], int]]:
    """The boxes ``(x1, y1, x2, y2)`` and labels (1 real, 2 tampered) of one GT file.

    Lines are ``x1,y1,x2,y2,label``; fields after the label (a transcription, which may hold
    commas) are ignored; a line without commas is split on whitespace (the original ICDAR 2013
    train GT style, our choice); blank lines are skipped. Anything else raises IMLDataError
    naming ``file:line``.
    """
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_bytes().decode("latin-1")  # a transcription in another code page
    out = []
    for no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = [f.strip() for f in (line.split(",") if "," in line else line.split())]
        if len(fields) < 5 or not all(_INT.match(f) for f in fields[:5]):
            raise IMLDataError(f"{path}:{no}", f"expected 'x1,y1,x2,y2,label' with integer "
                                               f"fields, got {line.strip()[:80]!r}")
        x1, y1, x2, y2, label = (int(float(f)) for f in fields[:5])
        if label not in (IC13_REAL, IC13_TAMPERED):
            raise IMLDataError(f"{path}:{no}", f"label must be {IC13_REAL} (real text) or "
                                               f"{IC13_TAMPERED} (tampered text), got {label}")
        out.append(((x1, y1, x2, y2), label))
    return out


class TamperedIC13Converter(DatasetConverter):
    """Tampered-IC13: ``{train,test}_img/`` and ``{train,test}_gt/`` under the root (matched
    case-insensitively).

    The GT of ``<stem>.jpg`` is ``<stem>.txt`` or ``gt_<stem>.txt`` (the raw naming was not
    seen; the IC15 evaluation zips use ``gt_img_<N>.txt``, so both are accepted, our choice).
    The mask is the union of the label-2 (tampered text) boxes; an image whose GT has no
    label-2 box (only real text, or no text) is authentic. Splits: the folders' own. Reported:
    images without GT (unpaired images), GT files without image (unpaired masks), files that
    are neither (ignored). A malformed GT line stops the conversion, naming ``file:line``.
    """

    NAME = "tampered_ic13"
    SOURCE = "Tampered-IC13"
    TASK = "scene_text"
    SPLIT = "test"
    LAYOUT = ("{train,test}_img/*.jpg, {train,test}_gt/<stem>.txt or gt_<stem>.txt "
              "(x1,y1,x2,y2,label)")
    PROTOCOLS = ("omni",)

    def convert(self, ctx: ConversionContext) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        found = False
        for own_split in ("train", "test"):
            img_dir = ctx.find_dir(f"{own_split}_img", required=False)
            gt_dir = ctx.find_dir(f"{own_split}_gt", required=False)
            if img_dir is None and gt_dir is None:
                ctx.report.skipped.append((f"{own_split}_img, {own_split}_gt",
                                           "not present under the root"))
                continue
            if img_dir is None or gt_dir is None:
                have, lacks = ((img_dir, f"{own_split}_gt") if gt_dir is None
                               else (gt_dir, f"{own_split}_img"))
                raise IMLDataError(str(ctx.root), f"{have.name}/ is here but not {lacks}/")
            found = True
            entries += self._split(ctx, img_dir, gt_dir, self.split_of(own_split))
        if not found:
            raise IMLDataError(str(ctx.root), "no train_img/ + train_gt/ or test_img/ + "
                                              "test_gt/: is this the Tampered-IC13 root?")
        return entries

    def _split(self, ctx: ConversionContext, img_dir: Path, gt_dir: Path, split: str
               ) -> list[dict[str, Any]]:
        images = list_files(img_dir, ctx.report, ctx.root)
        gts: list[Path] = []
        for path in sorted(gt_dir.iterdir()):
            if not path.is_file() or path.name.startswith("."):
                continue
            if path.suffix.lower() == ".txt":
                gts.append(path)
            else:
                ctx.report.ignored_files.append(ctx.rel(path))
        pairs, lonely = pair_by_stem(images, gts, lambda p: [p.stem, f"gt_{p.stem}"], ctx)
        ctx.report.unpaired_images += [ctx.rel(p) for p in lonely]
        entries: list[dict[str, Any]] = []
        for image, gt in pairs:
            boxes = [box for box, label in read_ic13_gt(gt) if label == IC13_TAMPERED]
            if not boxes:
                entry = ctx.authentic(image, split, orig_annotation=ctx.rel(gt))
            else:
                size = image_size(ctx, image)
                if size is None:
                    continue
                entry = ctx.tampered(image, fill_boxes(size, boxes), split,
                                     encoding=f"box fill of label {IC13_TAMPERED} (tampered text)",
                                     orig_mask=ctx.rel(gt), mask_name=ctx.rel(image))
            if entry:
                entries.append(entry)
        return entries
