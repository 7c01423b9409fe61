"""OpenForensics (Le et al., "OpenForensics: Large-Scale Challenging Dataset For Multi-Face
Forgery Detection And Segmentation In-The-Wild", ICCV 2021; repository ``ltnghia/openforensics``,
data on Zenodo, record 5528418, version 1.0.0).

MS-COCO annotations ``{Train,Val,Test-Dev,Test-Challenge}_poly.json`` with polygon
segmentations; ``visualization.py`` reads ``Release/1.0.0/Val_poly.json`` with ``file_name``
relative to that release root and names the categories ``['real', 'fake']`` by
``category_id`` (0 = real face, 1 = fake face). Every face is annotated, real ones too.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mmiml.utils.errors import IMLDataError

from .base import ConversionContext, DatasetConverter
from .regions import (
    coco_polygons,
    decode_uncompressed_rle,
    fill_polygons,
    find_image,
    image_size,
    load_coco,
    report_unlisted,
)

__all__ = ["OPENFORENSICS_FAKE_CATEGORY", "OPENFORENSICS_SUBSETS", "OpenForensicsConverter"]

#: annotation file stem (``<stem>_poly.json``) -> split
OPENFORENSICS_SUBSETS: dict[str, str] = {
    "Train": "train", "Val": "val", "Test-Dev": "test", "Test-Challenge": "test"}
#: ``category_id`` of a fake face when the categories do not name one
OPENFORENSICS_FAKE_CATEGORY = 1


class OpenForensicsConverter(DatasetConverter):
    """OpenForensics: ``{Train,Val,Test-Dev,Test-Challenge}_poly.json`` at the root or under
    ``Release/1.0.0/``, images at ``file_name`` relative to that folder (``Images/<file_name>``
    is tried too: third-party copies name ``Images/Train/...`` or drop the ``Images/``).

    Splits: Train = train, Val = val, Test-Dev and Test-Challenge = test; each entry records
    its ``subset``. The fake category is the one named ``fake`` (any case) when the file lists
    categories by name, else ``category_id`` 1. The mask is the union of the fake faces'
    polygons (COCO: a list of flat ``[x1, y1, ...]`` lists) and of their crowd RLEs when
    uncompressed (``{"counts": [runs], "size": [h, w]}``); an image with a compressed RLE on a
    fake face is reported as skipped (decoding it needs pycocotools). An image with no fake
    face (only real faces) is authentic. Reported: annotation files absent (skipped), images
    listed but missing (unpaired masks, ``<json>#image_id=<id> (<file_name>)``), images beside
    the listed ones that no file lists (unpaired images).
    """

    NAME = "openforensics"
    SOURCE = "OpenForensics"
    TASK = "face"
    SPLIT = "test"
    LAYOUT = ("{Train,Val,Test-Dev,Test-Challenge}_poly.json (COCO, category 1 = fake) at the "
              "root or Release/1.0.0/, images at file_name (or Images/<file_name>)")
    PROTOCOLS = ("omni",)

    @staticmethod
    def _jsons(folder: Path) -> dict[str, Path]:
        wanted = {f"{s}_poly.json".lower(): s for s in OPENFORENSICS_SUBSETS}
        return {wanted[p.name.lower()]: p for p in sorted(folder.iterdir())
                if p.is_file() and p.name.lower() in wanted}

    def _release(self, ctx: ConversionContext) -> tuple[Path, dict[str, Path]]:
        folders = [ctx.root]
        release = ctx.find_dir("Release", required=False)
        if release is not None:
            folders += [d for d in [ctx.find_dir("1.0.0", base=release, required=False)]
                        if d is not None] + [release]
        for folder in folders:
            found = self._jsons(folder)
            if found:
                return folder, found
        raise IMLDataError(str(ctx.root), "no {Train,Val,Test-Dev,Test-Challenge}_poly.json here "
                                          "or under Release/1.0.0/: is this the OpenForensics "
                                          "root?")

    @staticmethod
    def _fake_id(ctx: ConversionContext, path: Path, categories: Any) -> Any:
        if not isinstance(categories, list) or not categories:
            return OPENFORENSICS_FAKE_CATEGORY
        named = [c for c in categories if isinstance(c, dict) and "id" in c
                 and str(c.get("name", "")).strip().lower() == "fake"]
        if len(named) > 1:
            raise IMLDataError(str(path), f"several categories are named fake: "
                                          f"{[c['id'] for c in named]}")
        if named:
            return named[0]["id"]
        ctx.report.defects.append(f"{ctx.rel(path)}: no category named 'fake' in {categories!r};"
                                  f" category_id {OPENFORENSICS_FAKE_CATEGORY} taken as fake")
        return OPENFORENSICS_FAKE_CATEGORY

    def convert(self, ctx: ConversionContext) -> list[dict[str, Any]]:
        base, found = self._release(ctx)
        entries: list[dict[str, Any]] = []
        used: set[Path] = set()
        folders: set[Path] = set()
        for subset, own_split in OPENFORENSICS_SUBSETS.items():
            path = found.get(subset)
            if path is None:
                where = "the root" if base == ctx.root else ctx.rel(base)
                ctx.report.skipped.append((f"{subset}_poly.json", f"not present under {where}"))
                continue
            entries += self._subset(ctx, path, base, subset, self.split_of(own_split), used,
                                    folders)
        report_unlisted(ctx, folders, used)
        return entries

    def _subset(self, ctx: ConversionContext, path: Path, base: Path, subset: str, split: str,
                used: set[Path], folders: set[Path]) -> list[dict[str, Any]]:
        images, by_image, orphans, categories = load_coco(path)
        fake = self._fake_id(ctx, path, categories)
        name = ctx.rel(path)
        for j, ann in orphans:
            ctx.report.skipped.append((f"{name}#annotation={ann.get('id', j)}",
                                       f"its image_id {ann['image_id']!r} is not in 'images'"))
        bases = [base, base / "Images"] + ([ctx.root] if base != ctx.root else [])
        entries: list[dict[str, Any]] = []
        for rec in images:
            label = f"{name}#image_id={rec['id']}"
            image = find_image(rec["file_name"], bases)
            if image is None:
                ctx.report.unpaired_masks.append(f"{label} ({rec['file_name']})")
                continue
            if image.resolve() in used:
                ctx.report.skipped.append((label, f"{ctx.rel(image)} is listed more than once"))
                continue
            used.add(image.resolve())
            folders.add(image.parent)
            regions = self._regions(ctx, path, rec, by_image.get(rec["id"], []), fake, image)
            if regions is None:
                continue
            polygons, rles = regions
            if not polygons and not rles:
                entry = ctx.authentic(image, split, subset=subset, orig_annotation=label)
            else:
                size = image_size(ctx, image)
                if size is None:
                    continue
                mask = fill_polygons(size, polygons)
                wrong = [r.shape for r in rles if r.shape != mask.shape]
                if wrong:
                    (rh, rw), (iw, ih) = wrong[0], size
                    ctx.report.skipped.append((ctx.rel(image), f"a fake face's crowd RLE is "
                                                               f"{rw}x{rh}, the image {iw}x{ih}"))
                    continue
                for r in rles:
                    mask |= r
                encoding = f"polygon fill of category {fake} (fake face)"
                if rles:
                    encoding += "; its uncompressed crowd RLEs decoded"
                entry = ctx.tampered(image, mask, split, encoding=encoding, orig_mask=label,
                                     mask_name=ctx.rel(image), subset=subset)
            if entry:
                entries.append(entry)
        return entries

    @staticmethod
    def _regions(ctx: ConversionContext, path: Path, rec: dict[str, Any],
                 anns: list[dict[str, Any]], fake: Any, image: Path
                 ) -> tuple[list[np.ndarray], list[np.ndarray]] | None:
        """The fake faces' polygons and decoded RLEs; None (reported) when one cannot be read."""
        polygons: list[np.ndarray] = []
        rles: list[np.ndarray] = []
        for j, ann in enumerate(anns):
            if ann["category_id"] != fake:
                continue
            aid = ann.get("id", j)
            where = f"{path}#image_id={rec['id']}, annotation {aid}"
            seg = ann.get("segmentation")
            if isinstance(seg, dict):
                decoded = decode_uncompressed_rle(seg, where)
                if decoded is None:
                    ctx.report.skipped.append((ctx.rel(image), f"annotation {aid} (fake face) "
                                                               f"is a compressed RLE, which "
                                                               f"needs pycocotools to decode"))
                    return None
                rles.append(decoded)
            elif seg in (None, []):
                ctx.report.skipped.append((ctx.rel(image), f"annotation {aid} (fake face) has "
                                                           f"no segmentation"))
                return None
            else:
                polygons += coco_polygons(seg, where)
        return polygons, rles
