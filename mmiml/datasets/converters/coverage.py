"""COVERAGE copy-move forgery database (Wen et al., ICIP 2016).

``image/N.tif`` is the original and ``image/Nt.tif`` the forgery (N = 1..100); ``mask/`` holds
three masks per forgery: ``Ncopy.tif`` (the duplicated source region), ``Npaste.tif`` (the
similar genuine object) and ``Nforged.tif`` (the forged region), which every published protocol
scores against. The forged masks are thresholded at 120 (SAFIRE's loader; the TIFFs carry a
few grey levels). The masks of nine forgeries (41, 48, 55-59, 61, 95) do not have their image's
resolution; the size policy resizes them by nearest neighbour, as SAFIRE does.
"""
from __future__ import annotations

import re
from typing import Any

from .base import ConversionContext, DatasetConverter, list_files

_TAMPERED = re.compile(r"^(?P<n>\d+)t$", re.IGNORECASE)
_ORIGINAL = re.compile(r"^\d+$")
_MASK = re.compile(r"^(?P<n>\d+)(?P<kind>forged|copy|paste)$", re.IGNORECASE)
#: the forged-region TIFF's grey levels: above this is forged (SAFIRE's threshold)
FORGED_THRESHOLD = 120


class CoverageConverter(DatasetConverter):
    """COVERAGE: ``image/{N,Nt}.tif`` with ``mask/Nforged.tif`` (``copy`` and ``paste`` masks
    are read by nobody's protocol and listed as ignored)."""

    NAME = "coverage"
    SOURCE = "COVERAGE"
    TASK = "natural"
    SPLIT = "test"
    LAYOUT = "image/{N,Nt}.tif, mask/N{forged,copy,paste}.tif"
    PROTOCOLS = ("mvss", "catnet")

    def convert(self, ctx: ConversionContext) -> list[dict[str, Any]]:
        split = self.split_of()
        image_dir, mask_dir = ctx.find_dir("image"), ctx.find_dir("mask")
        assert image_dir is not None and mask_dir is not None
        forged: dict[str, Any] = {}
        for m in list_files(mask_dir, ctx.report, ctx.root):
            match = _MASK.match(m.stem)
            if match and match["kind"].lower() == "forged":
                forged[match["n"].lstrip("0") or "0"] = m
            elif match:
                ctx.report.ignored_files.append(ctx.rel(m))
            else:
                ctx.report.unpaired_masks.append(ctx.rel(m))
        entries: list[dict[str, Any]] = []
        used: set[str] = set()
        for image in list_files(image_dir, ctx.report, ctx.root):
            tampered = _TAMPERED.match(image.stem)
            if tampered:
                n = tampered["n"].lstrip("0") or "0"
                if n not in forged:
                    ctx.report.unpaired_images.append(ctx.rel(image))
                    continue
                used.add(n)
                entry = ctx.tampered(image, forged[n], split, threshold=FORGED_THRESHOLD,
                                     encoding=f"forged-region TIFF, value > {FORGED_THRESHOLD}")
            elif _ORIGINAL.match(image.stem):
                entry = ctx.authentic(image, split)
            else:
                ctx.report.skipped.append((ctx.rel(image), "name is neither N.tif nor Nt.tif"))
                continue
            if entry:
                entries.append(entry)
        ctx.report.unpaired_masks += [ctx.rel(m) for n, m in sorted(forged.items())
                                      if n not in used]
        return entries
