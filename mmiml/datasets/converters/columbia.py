"""Columbia Uncompressed Image Splicing Detection (Hsu and Chang, ICME 2006).

``4cam_splc/`` holds 180 spliced TIFFs with colour edge masks in ``4cam_splc/edgemask/``;
``4cam_auth/`` 183 authentic ones. No binary mask ships: the edge mask colours each image half by
the camera it came from, red for the host and green for the spliced-in part, each in a bright
shade near the splicing boundary and a darker one away from it (CAT-Net's and SAFIRE's loaders
take the green channel above 120 as tampered; so does IML-ViT's maintainer). The masks are
JPEGs, so the colours carry compression noise; each pixel is assigned to the nearer of the two
hues.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mmiml.datasets.io import load_image
from mmiml.utils.errors import IMLDataError

from .base import ConversionContext, DatasetConverter, list_files, pair_by_stem

#: green above this (on 0..255) marks the spliced region (the shades are 200 and 255)
GREEN_MIN = 120


def columbia_mask(rgb: np.ndarray) -> np.ndarray:
    """0/1 spliced-region mask of a Columbia edge mask (``HxWx3`` RGB): green dominant and
    above :data:`GREEN_MIN`. Red and black (the host image, borders) are authentic."""
    r, g = rgb[..., 0].astype(np.int16), rgb[..., 1].astype(np.int16)
    return ((g > GREEN_MIN) & (g > r)).astype(np.uint8)


class ColumbiaConverter(DatasetConverter):
    """Columbia: ``4cam_splc/*.tif`` with ``4cam_splc/edgemask/<stem>_edgemask.jpg``,
    ``4cam_auth/*.tif``.

    The ``<stem>_edgemask_3.jpg`` files beside some masks are a second rendering with the
    boundary band drawn in; they are not used (reported as ignored). Copies unpacked one level
    deeper (``4cam_splc/4cam_splc``) are found too.
    """

    NAME = "columbia"
    SOURCE = "Columbia"
    TASK = "natural"
    SPLIT = "test"
    LAYOUT = "4cam_splc/*.tif, 4cam_splc/edgemask/<stem>_edgemask.jpg, 4cam_auth/*.tif"
    PROTOCOLS = ("mvss", "catnet")

    def convert(self, ctx: ConversionContext) -> list[dict[str, Any]]:
        split = self.split_of()
        splc = self._nested(ctx, "4cam_splc")
        auth = self._nested(ctx, "4cam_auth", required=False)
        edge = ctx.find_dir("edgemask", base=splc)
        assert edge is not None
        images = list_files(splc, ctx.report, ctx.root)
        masks = []
        for m in list_files(edge, ctx.report, ctx.root):
            if m.stem.lower().endswith("_edgemask"):
                masks.append(m)
            else:  # _edgemask_3 and the like: another rendering of the same mask
                ctx.report.ignored_files.append(ctx.rel(m))
        pairs, lonely = pair_by_stem(images, masks, lambda p: [f"{p.stem}_edgemask"], ctx)
        ctx.report.unpaired_images += [ctx.rel(p) for p in lonely]
        entries: list[dict[str, Any]] = []
        for image, mask in pairs:
            try:
                rgb = load_image(mask)
            except IMLDataError as e:
                ctx.report.undecodable.append((ctx.rel(mask), e.problem))
                continue
            entry = ctx.tampered(image, columbia_mask(rgb), split, orig_mask=ctx.rel(mask),
                                 encoding="columbia edge mask: green (spliced part) > 120",
                                 mask_name=ctx.rel(image))
            if entry:
                entries.append(entry)
        return entries + ctx.authentic_folder(auth, split, "4cam_auth")

    @staticmethod
    def _nested(ctx: ConversionContext, name: str, required: bool = True) -> Path | None:
        folder = ctx.find_dir(name, required=required)
        if folder is None:
            return None
        inner = ctx.find_dir(name, base=folder, required=False)
        return inner or folder
