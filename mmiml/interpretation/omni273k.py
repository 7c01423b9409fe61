"""Omni-273k, the interpretation module's fine-tuning set: read its per-image ``.pk``
annotations safely and write fine-tuning records for multimodal chat models.

Each annotation is one pickled dict of structured descriptions of an image (what it shows,
where the edit is, which artifacts give it away). The published key names are not documented
in public, so the reader takes the fields it finds (our choice): text fields are kept in the
order of :data:`FIELD_ORDER` first, then alphabetically; lists are joined line by line; nested
dicts are flattened as ``key: value``. The pickles are loaded with no global allowed
(``load_pickle(plain_only=True)``): only plain Python types, nothing that can run code.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from mmiml.datasets.converters.safe_pickle import load_pickle
from mmiml.datasets.importers import IMAGE_EXTENSIONS
from mmiml.utils.errors import IMLDataError

from .visual_reference import visual_reference

__all__ = ["FIELD_ORDER", "PROMPT", "annotation_text", "read_annotation", "write_llava"]

#: the fields an answer lists first, when the annotation has them
FIELD_ORDER: tuple[str, ...] = ("content", "description", "position", "positions", "location",
                                "artifact", "artifacts", "reason", "reasons")
#: the question of every record (the visual reference is the image it refers to)
PROMPT = ("The first image shows the picture with the suspected manipulated regions "
          "highlighted; the second is the picture as it is. Describe what the picture shows, "
          "where it was manipulated, and which visual artifacts reveal the manipulation.")


def read_annotation(path: str | os.PathLike) -> dict[str, Any]:
    """One ``.pk`` annotation as a dict of plain Python values.

    Raises:
        IMLDataError: not a pickle, a pickle that names any global (refused unread), or not a
            dict.
    """
    doc = load_pickle(path, plain_only=True)
    if not isinstance(doc, dict):
        raise IMLDataError(str(path), f"expected a dict of descriptions, got "
                                      f"{type(doc).__name__}")
    return doc


def _text(value: Any, indent: str = "") -> str:
    if isinstance(value, dict):
        return "\n".join(f"{indent}{k}: {_text(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "\n".join(f"{indent}- {_text(v)}" for v in value)
    return str(value).strip()


def annotation_text(doc: dict[str, Any]) -> str:
    """The annotation as the answer of a fine-tuning record (see the module doc)."""
    keys = [k for k in FIELD_ORDER if k in doc] + sorted(
        (k for k in doc if k not in FIELD_ORDER), key=str)
    parts = []
    for key in keys:
        text = _text(doc[key])
        if text:
            parts.append(f"{str(key).replace('_', ' ').capitalize()}: {text}")
    if not parts:
        raise ValueError("annotation has no text")
    return "\n".join(parts)


def _image_of(pk: Path, image_dir: Path) -> Path | None:
    for ext in sorted(IMAGE_EXTENSIONS):
        for name in (pk.stem + ext, pk.stem + ext.upper()):
            if (image_dir / name).is_file():
                return image_dir / name
    return None


def write_llava(annotations: Iterable[str | os.PathLike], image_dir: str | os.PathLike,
                mask_dir: str | os.PathLike, out_dir: str | os.PathLike
                ) -> tuple[Path, list[tuple[str, str]]]:
    """LLaVA-style fine-tuning records (``records.json``: ``id``, ``image``, ``conversations``
    of a human question and the annotation as the answer) with each image's visual reference
    (``<out_dir>/images/<stem>.png``, from the image and its mask, found by stem in
    ``image_dir`` / ``mask_dir``).

    Returns the records file and the annotations left out with the reason (no image, no mask,
    unreadable, no text); none is dropped without a line there.
    """
    from mmiml.datasets.io import load_image, load_mask

    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    records, skipped = [], []
    for pk in sorted(Path(p) for p in annotations):
        image = _image_of(pk, Path(image_dir))
        mask = _image_of(pk, Path(mask_dir))
        if image is None or mask is None:
            skipped.append((str(pk), f"no {'image' if image is None else 'mask'} named "
                                     f"{pk.stem}.*"))
            continue
        try:
            answer = annotation_text(read_annotation(pk))
            rgb = load_image(image)
            reference = visual_reference(rgb, load_mask(mask, expected_shape=rgb.shape))
        except (IMLDataError, ValueError) as e:
            skipped.append((str(pk), getattr(e, "problem", str(e))))
            continue
        ref_path = out / "images" / f"{pk.stem}.png"
        cv2.imwrite(str(ref_path), np.ascontiguousarray(reference[..., ::-1]))
        records.append({"id": pk.stem, "image": f"images/{pk.stem}.png",
                        "conversations": [{"from": "human", "value": f"<image>\n{PROMPT}"},
                                          {"from": "gpt", "value": answer}]})
    path = out / "records.json"
    path.write_text(json.dumps(records, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path, skipped
