"""CASIA v1.0 and v2.0 (Dong et al., ChinaSIP 2013), with the community ground truth.

CASIA ships no masks; the masks everyone uses are Pham et al.'s (Symmetry 2019), distributed
as ``CASIA 1.0 groundtruth`` and ``CASIA 2 Groundtruth``. White marks tampered pixels.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mmiml.utils.errors import IMLDataError

from .base import ConversionContext, DatasetConverter, list_files, pair_by_stem

#: the one CASIA v1.0 tampered image without a ground-truth mask (Pham's README)
CASIA1_NO_MASK = "Sp_D_NRN_A_cha0011_sec0011_0542"
#: CASIA v2.0's masks named ``<stem>_gt<N>.png`` instead of ``<stem>_gt.png`` (one: ``_gt3``)
_GT_SLIP = re.compile(r"^(?P<stem>.+)_gt(?P<n>\d+)$", re.IGNORECASE)
#: CAT-Net's split lists, relative to the dataset root: split -> (tampered list, authentic list)
CATNET_LISTS: dict[str, tuple[str, str]] = {
    "train": ("CASIA_v2_train_list.txt", "CASIA_v2_auth_train_list.txt"),
    "val": ("CASIA_v2_valid_list.txt", "CASIA_v2_auth_valid_list.txt"),
    "test": ("CASIA_v2_test_list.txt", "CASIA_v2_auth_test_list.txt"),
}


class CASIAv1Converter(DatasetConverter):
    """CASIA v1.0: ``Modified Tp/Tp/{Sp,CM}`` (or ``Tp/{Sp,CM}``), ``Au/``, masks in
    ``CASIA 1.0 groundtruth/{Sp,CM}/<stem>_gt.png``.

    Copy-move images also start with ``Sp_`` (their second field is ``S``); the folder says
    which is which and is recorded as ``manipulation`` (``splice`` / ``copy-move``). The known
    image without a mask (:data:`CASIA1_NO_MASK`) is reported as a defect and left out.
    """

    NAME = "casia1"
    SOURCE = "CASIAv1"
    TASK = "natural"
    SPLIT = "test"
    LAYOUT = ("Modified Tp/Tp/{Sp,CM}/*.jpg (or Tp/{Sp,CM}), Au/*.jpg, "
              "CASIA 1.0 groundtruth/{Sp,CM}/<stem>_gt.png")
    PROTOCOLS = ("mvss", "catnet")

    def convert(self, ctx: ConversionContext) -> list[dict[str, Any]]:
        split = self.split_of()
        tp = ctx.find_dir("Modified Tp", "Tp", required=False)
        if tp is not None and tp.name.lower() == "modified tp":
            tp = ctx.find_dir("Tp", base=tp, required=False) or tp
        if tp is None:
            raise IMLDataError(str(ctx.root), "no 'Modified Tp' or 'Tp' folder: is this the "
                                              "CASIA 1.0 root?")
        gt = ctx.find_dir("CASIA 1.0 groundtruth", "groundtruth", "Gt")
        assert gt is not None
        entries: list[dict[str, Any]] = []
        for sub, kind in (("Sp", "splice"), ("CM", "copy-move")):
            tp_sub = ctx.find_dir(sub, base=tp)
            gt_sub = ctx.find_dir(sub, base=gt)
            assert tp_sub is not None and gt_sub is not None
            images = list_files(tp_sub, ctx.report, ctx.root)
            masks = list_files(gt_sub, ctx.report, ctx.root)
            pairs, lonely = pair_by_stem(images, masks, lambda p: [f"{p.stem}_gt"], ctx)
            for image in lonely:
                if image.stem == CASIA1_NO_MASK:
                    ctx.report.defects.append(f"{ctx.rel(image)}: the known CASIA v1.0 image "
                                              "without a ground-truth mask; left out")
                    ctx.report.skipped.append((ctx.rel(image), "no ground-truth mask exists"))
                else:
                    ctx.report.unpaired_images.append(ctx.rel(image))
            for image, mask in pairs:
                entry = ctx.tampered(image, mask, split, encoding="binary png (white = tampered)",
                                     manipulation=kind)
                if entry:
                    entries.append(entry)
        return entries + ctx.authentic_folder(ctx.find_dir("Au", required=False), split, "Au")


class CASIAv2Converter(DatasetConverter):
    """CASIA v2.0: ``CASIA 2.0/{Tp,Au}`` (or ``Tp``/``Au`` at the root) and
    ``CASIA 2 Groundtruth/<stem>_gt.png``.

    Handles the ``_gt3`` naming slip (any ``_gt<N>`` mask pairs with its image when no
    ``_gt`` mask exists), the 17 image/mask pairs of different sizes (the size policy decides;
    transposed masks are always skipped) and, with ``lists=FOLDER`` (CLI ``--catnet-lists``),
    CAT-Net's train/valid/test lists (``CASIA_v2_{,auth_}{train,valid,test}_list.txt``): each
    image gets the split its list names, images in no list are reported.
    """

    NAME = "casia2"
    SOURCE = "CASIAv2"
    TASK = "natural"
    SPLIT = "train"
    LAYOUT = "CASIA 2.0/{Tp,Au}/*.{jpg,tif,bmp}, CASIA 2 Groundtruth/<stem>_gt.png"
    PROTOCOLS = ("mvss", "catnet")

    def _splits(self, ctx: ConversionContext) -> dict[str, str] | None:
        folder = self.options.get("lists")
        if not folder:
            return None
        folder = Path(folder)
        out: dict[str, str] = {}
        for split, names in CATNET_LISTS.items():
            for name in names:
                path = folder / name
                if not path.is_file():
                    expected = ", ".join(n for pair in CATNET_LISTS.values() for n in pair)
                    raise IMLDataError(str(path), f"CAT-Net split list not found (expected "
                                                  f"{expected} in {folder})")
                for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                    if not line.strip():
                        continue
                    fields = line.strip().split(",")
                    if len(fields) < 2:
                        raise IMLDataError(f"{path}:{i}", f"expected 'image,mask,jpeg', got "
                                                          f"{line!r}")
                    out[Path(fields[0]).name] = split
        return out

    def convert(self, ctx: ConversionContext) -> list[dict[str, Any]]:
        base = ctx.find_dir("CASIA 2.0", "CASIA2.0", "CASIA2", required=False) or ctx.root
        tp = ctx.find_dir("Tp", base=base)
        au = ctx.find_dir("Au", base=base, required=False)
        gt = ctx.find_dir("CASIA 2 Groundtruth", "CASIA 2.0 Groundtruth", "Groundtruth", "Gt",
                          required=False) or ctx.find_dir("Gt", base=base)
        assert tp is not None and gt is not None
        listed = self._splits(ctx)
        default = self.split_of()

        def split_of(image: Path) -> str | None:
            if listed is None:
                return default
            if image.name in listed:
                return self.split or listed[image.name]
            ctx.report.skipped.append((ctx.rel(image), "in none of CAT-Net's split lists"))
            return None

        images = list_files(tp, ctx.report, ctx.root)
        masks = list_files(gt, ctx.report, ctx.root)
        slips = {m for m in masks if _GT_SLIP.match(m.stem)}

        def candidates(image: Path) -> list[str]:
            return [f"{image.stem}_gt", image.stem,
                    *[m.stem for m in slips if _GT_SLIP.match(m.stem)["stem"] == image.stem]]

        pairs, lonely = pair_by_stem(images, masks, candidates, ctx)
        ctx.report.unpaired_images += [ctx.rel(p) for p in lonely]
        entries: list[dict[str, Any]] = []
        for image, mask in pairs:
            if mask in slips:
                ctx.report.defects.append(f"{ctx.rel(mask)}: mask named '_gt"
                                          f"{_GT_SLIP.match(mask.stem)['n']}' instead of '_gt'; "
                                          f"paired with {ctx.rel(image)}")
            split = split_of(image)
            if split is None:
                continue
            entry = ctx.tampered(image, mask, split, encoding="binary png (white = tampered)")
            if entry:
                entries.append(entry)
        if au is None:
            ctx.report.defects.append("no Au/ folder: no authentic images")
        else:
            for image in list_files(au, ctx.report, ctx.root):
                split = split_of(image)
                if split is None:
                    continue
                entry = ctx.authentic(image, split)
                if entry:
                    entries.append(entry)
        return entries
