"""``IMLInferencer``: a checkpoint as a callable that predicts images and writes what it saw,
in the style of mmsegmentation's ``MMSegInferencer``.

    inferencer = IMLInferencer("configs/...py", "work_dirs/.../iter_1000.pth")
    out = inferencer("photos/", out_dir="results/")
    out["predictions"][0]["image_score"], out["failed"]

Per image, ``out_dir`` receives ``<stem>_heatmap.png`` (the probability map, coloured),
``<stem>_mask.png`` (0/255), ``<stem>_overlay.png`` (the image, tampered pixels tinted, regions
boxed) and ``<stem>.json`` (the summary: score, regions, gate). An image that cannot be
predicted is named with the reason and counted; the others go on.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from mmiml.utils.errors import IMLDataError
from mmiml.visualization import heatmap, mask_image, overlay

from .inference import ImageInput, IMLPrediction, expand_inputs, inference_model, init_model

__all__ = ["IMLInferencer", "conversion_note", "write_outputs"]


def _write_png(path: Path, rgb_or_gray: np.ndarray) -> None:
    arr = rgb_or_gray if rgb_or_gray.ndim == 2 else rgb_or_gray[..., ::-1]
    if not cv2.imwrite(str(path), arr):
        raise IMLDataError(str(path), "could not write the image")


def _image_rgb(item: ImageInput) -> np.ndarray:
    from mmiml.datasets.io import load_image

    return item if isinstance(item, np.ndarray) else load_image(item)


def write_outputs(pred: IMLPrediction, image_rgb: np.ndarray, out_dir: str | os.PathLike,
                  stem: str) -> dict[str, str]:
    """The four outputs of one prediction under ``out_dir``; returns their paths by kind."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"heatmap": out / f"{stem}_heatmap.png", "mask": out / f"{stem}_mask.png",
             "overlay": out / f"{stem}_overlay.png", "summary": out / f"{stem}.json"}
    _write_png(paths["heatmap"], heatmap(pred.prob))
    _write_png(paths["mask"], mask_image(pred.mask))
    _write_png(paths["overlay"], overlay(image_rgb, pred.mask, pred.regions))
    summary = {**pred.summary(), "outputs": {k: p.name for k, p in paths.items()}}
    paths["summary"].write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return {k: str(p) for k, p in paths.items()}


def _stem(item: ImageInput, index: int, seen: Counter) -> str:
    stem = f"array_{index}" if isinstance(item, np.ndarray) else Path(item).stem
    seen[stem] += 1
    return stem if seen[stem] == 1 else f"{stem}_{seen[stem]}"  # a.jpg and a.png both kept


class IMLInferencer:
    """Predict images with one checkpoint (see the module doc).

    Args:
        model: a config path (or ``Config``).
        weights: the checkpoint (loaded with the safe, strict loader).
        device: ``cpu``, ``cuda``, ``cuda:1``...
        threshold: binarisation threshold of the masks.
    """

    def __init__(self, model: Any, weights: str | os.PathLike | None = None,
                 device: str = "cpu", threshold: float = 0.5) -> None:
        self.model = init_model(model, weights, device)
        self.threshold = threshold

    def __call__(self, inputs: ImageInput | Iterable[ImageInput], out_dir: str | None = None,
                 *, task: str | None = None,
                 progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None
                 ) -> dict[str, Any]:
        """Predict ``inputs`` (paths, folders, arrays); write the outputs to ``out_dir``.

        Returns ``{"predictions": [summary per image], "outputs": [paths per image],
        "failed": [(input, reason)], "failures_by_kind": {kind: count}, "converted": [(input,
        what was converted)]}``: 16-bit, CMYK, palette and alpha images are predicted after
        the loader's conversion to 8-bit RGB, and named. ``progress`` wraps the image loop
        (``tqdm``).
        """
        items = expand_inputs(inputs)
        seen: Counter = Counter()
        result: dict[str, Any] = {"predictions": [], "outputs": [], "failed": [],
                                  "failures_by_kind": Counter(), "converted": []}
        loop = progress(list(enumerate(items))) if progress else enumerate(items)
        for index, item in loop:
            name = f"<array {index}>" if isinstance(item, np.ndarray) else str(item)
            note = None if isinstance(item, np.ndarray) else conversion_note(item)
            if note:
                result["converted"].append((name, note))
            try:
                (pred,) = inference_model(self.model, [item], threshold=self.threshold,
                                          task=task)
                if out_dir is not None:
                    result["outputs"].append(write_outputs(pred, _image_rgb(item), out_dir,
                                                           _stem(item, index, seen)))
            except IMLDataError as e:
                result["failed"].append((name, e.problem))
                result["failures_by_kind"][_kind(e.problem)] += 1
                continue
            result["predictions"].append(pred.summary())
        result["failures_by_kind"] = dict(result["failures_by_kind"])
        return result


#: PIL modes the loader converts before a model sees the image, and what it does
_CONVERSIONS = {"I;16": "16-bit grey scaled to 8-bit RGB", "I;16B": "16-bit grey scaled to "
                "8-bit RGB", "I;16L": "16-bit grey scaled to 8-bit RGB",
                "I": "32-bit integer scaled to 8-bit RGB", "F": "float image scaled to 8-bit RGB",
                "CMYK": "CMYK converted to RGB", "P": "palette image converted to RGB",
                "RGBA": "alpha channel dropped", "LA": "alpha channel dropped",
                "L": "grey replicated to RGB", "1": "1-bit image converted to RGB"}


def conversion_note(path: str | os.PathLike) -> str | None:
    """What the loader changes in the image file ``path`` before a model reads it (None: it
    is 8-bit RGB already, or it cannot be opened: then the prediction names the error)."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            mode = img.mode
    except (OSError, ValueError):
        return None
    return _CONVERSIONS.get(mode)


def _kind(problem: str) -> str:
    """A failure's kind, for the counts (words of the loaders' messages)."""
    text = problem.lower()
    if "need at least" in text:
        return "too small"
    if "unreadable" in text or "cannot identify" in text or "truncated" in text:
        return "unreadable"
    if "pixel limit" in text or "over the" in text:
        return "too large"
    return "other"
