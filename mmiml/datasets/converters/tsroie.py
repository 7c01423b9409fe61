"""T-SROIE (tampered receipts; Qu et al., CVPR 2023, distributed with ``qcf-568/DocTamper``,
``models/tsroie/Readme.md``).

COCO-style annotations ``sroie_train_1011.json`` / ``sroie_test_1011.json`` beside the image
folders ``train/`` and ``test/``. ``models/tsroie/data.py`` reads ``images[i].file_name`` and
``id``, ``annotations[i].image_id``, ``category_id`` (2 = tampered text) and ``segmentation``
(one quadrilateral ``[x1, y1, ..., x4, y4]``) and fills the tampered quads with ``cv2.fillPoly``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from mmiml.utils.errors import IMLDataError

from .base import ConversionContext, DatasetConverter
from .regions import (
    coco_polygons,
    fill_polygons,
    find_image,
    image_size,
    load_coco,
    report_unlisted,
)

__all__ = ["TSROIE_JSONS", "TSROIE_TAMPERED_CATEGORY", "TSROIEConverter"]

#: split -> the annotation file as shipped
TSROIE_JSONS: dict[str, str] = {"train": "sroie_train_1011.json", "test": "sroie_test_1011.json"}
#: ``category_id`` of tampered text (``models/tsroie/data.py``); the other texts are real
TSROIE_TAMPERED_CATEGORY = 2


class TSROIEConverter(DatasetConverter):
    """T-SROIE: ``sroie_{train,test}_1011.json`` and ``{train,test}/`` under the root.

    Variants accepted (our choice, the raw archive was not seen): any one ``*train*.json`` /
    ``*test*.json`` at the root when the exact names are absent, and image folders
    ``train_img`` / ``test_img``; ``file_name`` is looked up in the split's folder, then at the
    root. The mask is the union of the ``category_id == 2`` segmentations, each a flat
    polygon (8 numbers: a quad) or a list of them, filled. An image whose annotations hold no
    tampered text (only real text, category 1) is authentic. Splits: the file's own (train,
    test). Reported: images listed in a JSON but missing on disk (unpaired masks, named
    ``<json>#image_id=<id> (<file_name>)``), images on disk that no JSON lists (unpaired
    images), annotations of an ``image_id`` no image has (skipped), a JSON absent (skipped).
    """

    NAME = "tsroie"
    SOURCE = "T-SROIE"
    TASK = "document"
    SPLIT = "test"
    LAYOUT = "sroie_{train,test}_1011.json (COCO, category 2 = tampered text), {train,test}/*.jpg"
    PROTOCOLS = ("omni",)

    def _json(self, ctx: ConversionContext, split: str) -> Path | None:
        files = [p for p in sorted(ctx.root.iterdir()) if p.is_file()
                 and p.suffix.lower() == ".json"]
        exact = [p for p in files if p.name.lower() == TSROIE_JSONS[split]]
        if exact:
            return exact[0]
        loose = [p for p in files if split in p.stem.lower()]
        if len(loose) > 1:
            raise IMLDataError(str(ctx.root), f"no {TSROIE_JSONS[split]} and several "
                                              f"*{split}*.json: {', '.join(p.name for p in loose)}"
                                              f"; keep one")
        return loose[0] if loose else None

    def convert(self, ctx: ConversionContext) -> list[dict[str, Any]]:
        found = {split: self._json(ctx, split) for split in TSROIE_JSONS}
        if not any(found.values()):
            raise IMLDataError(str(ctx.root), "no sroie_train_1011.json or sroie_test_1011.json "
                                              "(nor *train*.json / *test*.json): is this the "
                                              "T-SROIE root?")
        entries: list[dict[str, Any]] = []
        used: set[Path] = set()
        folders: list[Path] = []
        for own_split, json_path in found.items():
            if json_path is None:
                ctx.report.skipped.append((TSROIE_JSONS[own_split], "not present under the "
                                                                    "root"))
                continue
            folder = ctx.find_dir(own_split, f"{own_split}_img", f"{own_split}_images",
                                  required=False)
            if folder is None:
                raise IMLDataError(str(ctx.root), f"{json_path.name} is here but no image "
                                                  f"folder {own_split}/ or {own_split}_img/")
            folders.append(folder)
            entries += self._split(ctx, json_path, folder, self.split_of(own_split), used)
        report_unlisted(ctx, folders, used)
        return entries

    def _split(self, ctx: ConversionContext, json_path: Path, folder: Path, split: str,
               used: set[Path]) -> list[dict[str, Any]]:
        images, by_image, orphans, _ = load_coco(json_path)
        name = ctx.rel(json_path)
        for j, ann in orphans:
            ctx.report.skipped.append((f"{name}#annotation={ann.get('id', j)}",
                                       f"its image_id {ann['image_id']!r} is not in 'images'"))
        entries: list[dict[str, Any]] = []
        for rec in images:
            label = f"{name}#image_id={rec['id']}"
            image = find_image(rec["file_name"], [folder, ctx.root])
            if image is None:
                ctx.report.unpaired_masks.append(f"{label} ({rec['file_name']})")
                continue
            if image.resolve() in used:
                ctx.report.skipped.append((label, f"{ctx.rel(image)} is listed more than once"))
                continue
            used.add(image.resolve())
            polygons = []
            for j, ann in enumerate(by_image.get(rec["id"], [])):
                if ann["category_id"] == TSROIE_TAMPERED_CATEGORY:
                    where = f"{json_path}#image_id={rec['id']}, annotation {ann.get('id', j)}"
                    if "segmentation" not in ann:
                        raise IMLDataError(where, "a tampered-text annotation without "
                                                  "'segmentation'")
                    polygons += coco_polygons(ann["segmentation"], where)
            if not polygons:
                entry = ctx.authentic(image, split, orig_annotation=label)
            else:
                size = image_size(ctx, image)
                if size is None:
                    continue
                entry = ctx.tampered(image, fill_polygons(size, polygons), split,
                                     encoding=f"quad fill of category {TSROIE_TAMPERED_CATEGORY} "
                                              f"(tampered text)", orig_mask=label,
                                     mask_name=ctx.rel(image))
            if entry:
                entries.append(entry)
        return entries
