"""IMD2020, the real-life manipulated images (Novozámský et al., WACV Workshops 2020).

One folder per Reddit post (``1bl55t/``) holds the original ``<post>_orig.jpg`` and the
manipulated versions ``<comment>_0.{jpg,png}``, each with ``<stem>_mask.png`` (white =
manipulated); the ``z<NN>/`` folders hold ``NNNNN_orig.jpg`` with ``NNNNN_fake[_NN].{jpg,png}``
and their masks. This is CAT-Net's reading of the layout: every image without ``mask`` or
``orig`` in its name is a manipulated one. ``z14/00030_fake.jpg``'s mask is known not to match
its image; the size policy decides.
"""
from __future__ import annotations

from typing import Any

from mmiml.utils.errors import IMLDataError

from .base import ConversionContext, DatasetConverter, list_files, pair_by_stem


class IMD2020Converter(DatasetConverter):
    """IMD2020: ``<folder>/<stem>.{jpg,png}`` with ``<folder>/<stem>_mask.png``, originals
    ``*_orig.*`` as authentic images; ``folder`` is recorded per entry."""

    NAME = "imd2020"
    SOURCE = "IMD2020"
    TASK = "natural"
    SPLIT = "test"
    LAYOUT = "<post>/<post>_orig.jpg, <post>/<stem>.{jpg,png}, <post>/<stem>_mask.png"
    PROTOCOLS = ("mvss", "catnet")

    def convert(self, ctx: ConversionContext) -> list[dict[str, Any]]:
        split = self.split_of()
        folders = sorted(d for d in ctx.root.iterdir() if d.is_dir()
                         and not d.name.startswith("."))
        if not folders:
            raise IMLDataError(str(ctx.root), "no sub-folders: IMD2020 keeps one folder per "
                                              "post (e.g. 1bl55t/, z14/)")
        entries: list[dict[str, Any]] = []
        for folder in folders:
            files = list_files(folder, ctx.report, ctx.root)
            masks = [f for f in files if f.stem.lower().endswith("_mask")]
            originals = [f for f in files if "_orig" in f.stem.lower() and f not in masks]
            images = [f for f in files if f not in masks and f not in originals]
            pairs, lonely = pair_by_stem(images, masks, lambda p: [f"{p.stem}_mask"], ctx)
            ctx.report.unpaired_images += [ctx.rel(p) for p in lonely]
            for image, mask in pairs:
                entry = ctx.tampered(image, mask, split, folder=folder.name,
                                     encoding="binary png (white = manipulated)")
                if entry:
                    entries.append(entry)
            for image in originals:
                entry = ctx.authentic(image, split, folder=folder.name)
                if entry:
                    entries.append(entry)
        loose = [p for p in ctx.root.iterdir() if p.is_file() and not p.name.startswith(".")]
        ctx.report.skipped += [(ctx.rel(p), "file at the root, outside every post folder")
                               for p in sorted(loose)]
        return entries
