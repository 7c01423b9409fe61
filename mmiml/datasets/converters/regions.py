"""Region annotations (boxes, polygons, COCO RLE) turned into 0/1 masks, for the converters of
datasets that annotate text or faces instead of shipping masks (T-SROIE, Tampered-IC13, OSTF,
OpenForensics), and the COCO reading and image look-ups they share."""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from mmiml.utils.errors import IMLDataError
from mmiml.utils.fileio import read_json

from .base import ConversionContext, list_files

__all__ = ["coco_polygons", "decode_uncompressed_rle", "fill_boxes", "fill_polygons",
           "find_image", "image_size", "load_coco", "report_unlisted"]


def image_size(ctx: ConversionContext, path: Path) -> tuple[int, int] | None:
    """``(W, H)`` of an image from its header (the mask is drawn at this size before the entry
    decodes the image in full); an unreadable file is reported as undecodable and gives None."""
    try:
        with Image.open(path) as img:
            return img.size
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        # the context's own check words the report line as for every other converter
        return ctx.decodes(path, "image")


def fill_polygons(size: tuple[int, int], polygons: Iterable[np.ndarray]) -> np.ndarray:
    """A 0/1 uint8 mask of ``size`` (W, H) with every polygon (an (N, 2) array of x, y) filled."""
    w, h = size
    mask = np.zeros((h, w), np.uint8)
    pts = [np.round(np.asarray(p, np.float64)).astype(np.int32).reshape(-1, 1, 2)
           for p in polygons]
    if pts:
        cv2.fillPoly(mask, pts, 1)
    return mask


def fill_boxes(size: tuple[int, int], boxes: Iterable[Sequence[float]]) -> np.ndarray:
    """A 0/1 uint8 mask of ``size`` (W, H) with every ``(x1, y1, x2, y2)`` box filled.

    Our choice: a box covers the half-open pixel range ``[floor(x1), ceil(x2))`` (so an integer
    box of width ``x2 - x1`` covers that many columns); swapped corners are put in order and
    the box is clipped to the image.
    """
    w, h = size
    mask = np.zeros((h, w), np.uint8)
    for x1, y1, x2, y2 in boxes:
        x1, x2 = sorted((float(x1), float(x2)))
        y1, y2 = sorted((float(y1), float(y2)))
        c0, c1 = max(0, math.floor(x1)), min(w, math.ceil(x2))
        r0, r1 = max(0, math.floor(y1)), min(h, math.ceil(y2))
        if c1 > c0 and r1 > r0:
            mask[r0:r1, c0:c1] = 1
    return mask


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def coco_polygons(segmentation: Any, where: str) -> list[np.ndarray]:
    """The polygons of a COCO polygon segmentation: one flat ``[x1, y1, x2, y2, ...]`` list or
    a list of such lists (at least three points each); anything else raises IMLDataError
    naming ``where`` (the file and the record)."""
    if isinstance(segmentation, (list, tuple)) and segmentation and all(
            _is_number(v) for v in segmentation):
        flat_lists = [segmentation]
    elif isinstance(segmentation, (list, tuple)) and segmentation and all(
            isinstance(p, (list, tuple)) for p in segmentation):
        flat_lists = list(segmentation)
    else:
        raise IMLDataError(where, f"segmentation must be a flat list of x, y numbers or a list "
                                  f"of such lists, got {str(segmentation)[:80]!r}")
    out = []
    for poly in flat_lists:
        if len(poly) < 6 or len(poly) % 2 or not all(_is_number(v) for v in poly):
            raise IMLDataError(where, f"a polygon needs an even number (>= 6) of x, y numbers, "
                                      f"got {str(poly)[:80]!r}")
        out.append(np.asarray(poly, np.float64).reshape(-1, 2))
    return out


def decode_uncompressed_rle(rle: Any, where: str) -> np.ndarray | None:
    """The 0/1 mask of a COCO uncompressed RLE ``{"counts": [n0, n1, ...], "size": [h, w]}``
    (runs alternate 0, 1, 0, ... in column-major order, as pycocotools writes them); None for
    a compressed RLE (``counts`` a string), which needs pycocotools. A malformed RLE raises
    IMLDataError naming ``where``."""
    if not isinstance(rle, dict) or "counts" not in rle or "size" not in rle:
        raise IMLDataError(where, "an RLE segmentation needs 'counts' and 'size'")
    counts, size = rle["counts"], rle["size"]
    if isinstance(counts, (str, bytes)):
        return None
    if (not isinstance(size, (list, tuple)) or len(size) != 2
            or not all(isinstance(v, int) and v > 0 for v in size)):
        raise IMLDataError(where, f"RLE 'size' must be [height, width], got {size!r}")
    h, w = size
    if (not isinstance(counts, (list, tuple))
            or not all(isinstance(c, int) and c >= 0 for c in counts)
            or sum(counts) != h * w):
        raise IMLDataError(where, f"RLE 'counts' must be non-negative run lengths summing to "
                                  f"height x width = {h * w}")
    values = np.zeros(len(counts), np.uint8)
    values[1::2] = 1
    flat = np.repeat(values, counts)
    return flat.reshape((w, h)).T.copy()  # column-major runs


def report_unlisted(ctx: ConversionContext, folders: Iterable[Path], used: set[Path], *,
                    recursive: bool = False) -> None:
    """Images in ``folders`` that no annotation named: reported as unpaired images (non-image
    files as ignored)."""
    for folder in sorted(set(folders)):
        for path in list_files(folder, ctx.report, ctx.root, recursive=recursive):
            if path.resolve() not in used:
                ctx.report.unpaired_images.append(ctx.rel(path))


def load_coco(path: Path) -> tuple[list[dict[str, Any]], dict[Any, list[dict[str, Any]]],
                                   list[tuple[int, dict[str, Any]]], Any]:
    """A COCO-style file's images, its annotations by ``image_id``, the annotations whose
    ``image_id`` no image has (with their index) and its ``categories`` (None when absent);
    structural problems raise IMLDataError naming the file and the record."""
    data = read_json(path, "annotation file")
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("annotations"), list):
        raise IMLDataError(str(path), "expected a COCO-style object with the lists 'images' "
                                      "and 'annotations'")
    images: list[dict[str, Any]] = []
    ids: set[Any] = set()
    for i, rec in enumerate(data["images"]):
        if not isinstance(rec, dict) or not isinstance(rec.get("id"), (int, str)) \
                or not isinstance(rec.get("file_name"), str) or not rec["file_name"]:
            raise IMLDataError(str(path), f"images[{i}]: expected an object with an 'id' "
                                          f"(number or string) and a non-empty 'file_name', "
                                          f"got {str(rec)[:80]!r}")
        if rec["id"] in ids:
            raise IMLDataError(str(path), f"images[{i}]: id {rec['id']!r} is used twice")
        ids.add(rec["id"])
        images.append(rec)
    by_image: dict[Any, list[dict[str, Any]]] = {}
    orphans: list[tuple[int, dict[str, Any]]] = []
    for j, ann in enumerate(data["annotations"]):
        if not isinstance(ann, dict) or not isinstance(ann.get("image_id"), (int, str)) \
                or "category_id" not in ann:
            raise IMLDataError(str(path), f"annotations[{j}]: expected an object with "
                                          f"'image_id' and 'category_id', got "
                                          f"{str(ann)[:80]!r}")
        if ann["image_id"] in ids:
            by_image.setdefault(ann["image_id"], []).append(ann)
        else:
            orphans.append((j, ann))
    return images, by_image, orphans, data.get("categories")


def find_image(file_name: str, bases: list[Path]) -> Path | None:
    """The first existing ``base / file_name``, then ``base / <its last part>``."""
    for name in (file_name, Path(file_name).name):
        for base in bases:
            path = base / name
            if path.is_file():
                return path
    return None
