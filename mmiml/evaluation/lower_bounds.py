"""Training-free lower-bound localizers: what a benchmark gives for free.

Each predictor maps an RGB uint8 ``HxWx3`` image to an ``HxW`` float32 tampering probability in
[0, 1] and is deterministic. A learned model that does not beat these on a task has learnt
nothing that task-agnostic priors (constant maps, a centred blob) or classic forensic cues (error
level analysis, local noise inconsistency) do not already give.
"""
from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.filters import threshold_otsu

__all__ = [
    "LOWER_BOUNDS",
    "all_authentic",
    "all_tampered",
    "centre_blob",
    "ela",
    "noise_residual",
    "score_lower_bounds",
    "soft_threshold",
]

Predictor = Callable[[np.ndarray], np.ndarray]


def _check(img: np.ndarray) -> tuple[int, int]:
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 RGB image, got shape {img.shape}")
    return img.shape[0], img.shape[1]


def all_tampered(img: np.ndarray) -> np.ndarray:
    """Every pixel tampered (probability 1): IoU equals the mask's share of the image."""
    return np.ones(_check(img), np.float32)


def all_authentic(img: np.ndarray) -> np.ndarray:
    """Every pixel authentic (probability 0): pixel F1/IoU 0, no false alarm."""
    return np.zeros(_check(img), np.float32)


def centre_blob(img: np.ndarray, area: float = 0.10) -> np.ndarray:
    """A centred Gaussian ellipse (image aspect) whose > 0.5 part covers ``area`` of the image.

    ``area`` 0.10 is close to the mean mask area of typical splicing sets; the map is 1 at the
    centre and exactly 0.5 on the ellipse boundary.
    """
    h, w = _check(img)
    if not 0.0 < area < 1.0:
        raise ValueError(f"area must be in (0, 1), got {area}")
    # ellipse with semi-axes r*w/2 and r*h/2 has area pi * r^2 * w*h/4 = area * w*h
    r = np.sqrt(4.0 * area / np.pi)
    y = (np.arange(h, dtype=np.float64) + 0.5 - h / 2) / (r * h / 2)
    x = (np.arange(w, dtype=np.float64) + 0.5 - w / 2) / (r * w / 2)
    d2 = y[:, None] ** 2 + x[None, :] ** 2
    return np.exp(-np.log(2.0) * d2).astype(np.float32)  # 0.5 where d2 == 1


def _normalise(x: np.ndarray, upper_pct: float = 99.5) -> np.ndarray:
    """Scale to [0, 1] per image: minimum -> 0, the ``upper_pct`` percentile -> 1 (clipped), so
    a few extreme pixels do not squash the rest of the map. A flat map gives zeros."""
    lo = float(x.min())
    hi = float(np.percentile(x, upper_pct))
    if hi - lo < 1e-12:
        hi = float(x.max())
    if hi - lo < 1e-12:
        return np.zeros(x.shape, np.float32)
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def soft_threshold(x: np.ndarray, *, method: str = "otsu", k: float = 2.0) -> np.ndarray:
    """Turn a [0, 1] score map into a soft map that is > 0.5 exactly where ``x`` > threshold.

    The threshold is chosen per image: Otsu's (``method='otsu'``) or mean + k*std
    (``'meanstd'``). A logistic with a slope from the map's spread keeps the map soft, so the
    threshold-free metrics (pixel AUC) keep the ranking of ``x``.
    """
    x = x.astype(np.float64)
    spread = float(x.std())
    if spread < 1e-9:
        return np.zeros(x.shape, np.float32)
    if method == "otsu":
        t = float(threshold_otsu(x))
    elif method == "meanstd":
        t = float(x.mean() + k * spread)
    else:
        raise ValueError(f"method must be 'otsu' or 'meanstd', got {method!r}")
    z = np.clip((x - t) / (0.25 * spread), -60.0, 60.0)
    return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)


def ela(img: np.ndarray, quality: int = 90, sigma: float | None = None) -> np.ndarray:
    """Error level analysis: |img - JPEG(img, quality)|, smoothed, normalised per image.

    Regions compressed differently from the rest of the image (e.g. pasted from a source saved at
    another quality, or never compressed) change by a different amount when resaved. The error
    is the channel maximum, Gaussian-smoothed (default sigma: 1/64 of the shorter side, at least
    1 pixel) because the raw error is dominated by 8x8 block edges and texture.
    """
    h, w = _check(img)
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(img, dtype=np.uint8)).save(buf, "JPEG", quality=quality)
    buf.seek(0)
    resaved = np.asarray(Image.open(buf).convert("RGB"), dtype=np.float32)
    err = np.abs(img.astype(np.float32) - resaved).max(axis=2)
    sigma = max(1.0, min(h, w) / 64.0) if sigma is None else sigma
    return _normalise(ndimage.gaussian_filter(err, sigma))


def noise_residual(img: np.ndarray, window: int | None = None) -> np.ndarray:
    """Local noise inconsistency: where the high-pass residual's local level departs from the
    image's typical level, thresholded per image (Otsu) into a soft map.

    Residual = gray - 3x3 median (removes content, keeps sensor/processing noise). Its local
    standard deviation in a ``window`` (default 1/16 of the shorter side, at least 5) is compared
    in log space with the image median, in both directions, because a splice can be noisier
    (added noise) or cleaner (resampled, blurred) than its host.
    """
    h, w = _check(img)
    gray = img.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    residual = gray - ndimage.median_filter(gray, size=3, mode="reflect")
    win = max(5, min(h, w) // 16) if window is None else window
    mean = ndimage.uniform_filter(residual, win, mode="reflect")
    sq = ndimage.uniform_filter(residual * residual, win, mode="reflect")
    std = np.sqrt(np.maximum(sq - mean * mean, 0.0))
    logstd = np.log(std + 0.5)  # +0.5: flat areas (saturated, synthetic) do not explode
    deviation = np.abs(logstd - np.median(logstd))
    return soft_threshold(_normalise(deviation))


LOWER_BOUNDS: dict[str, Predictor] = {
    "all_tampered": all_tampered,
    "all_authentic": all_authentic,
    "centre_blob": centre_blob,
    "ela": ela,
    "noise_residual": noise_residual,
}
"""Name -> predictor; the names are those of ``tools/lower_bounds.py --predictors``."""


def write_predictions(entries: Sequence[Mapping[str, Any]], name: str, pred_dir: Path) -> int:
    """Run predictor ``name`` on every entry; save ``<stem>.png`` (probability * 255)."""
    from mmiml.datasets.io import load_image

    fn = LOWER_BOUNDS[name]
    pred_dir.mkdir(parents=True, exist_ok=True)
    for entry in entries:
        prob = fn(load_image(entry["image"]))
        png = np.round(np.clip(prob, 0.0, 1.0) * 255.0).astype(np.uint8)
        Image.fromarray(png).save(pred_dir / f"{Path(entry['image']).stem}.png")
    return len(entries)


def score_lower_bounds(
    manifest: str,
    out_dir: str | Path,
    *,
    split: str | None = "test",
    predictors: Sequence[str] = tuple(LOWER_BOUNDS),
    threshold: float = 0.5,
    group_by: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Predict, score and write DIR/<name>.json for each predictor; returns name -> result.

    The maps go to DIR/<name>/preds as 8-bit PNGs and are scored by
    ``mmiml.evaluation.score_predictions.score``, the path of any saved prediction.
    ``group_by`` (e.g. ``manipulation``) also scores each ``<task>/<value>`` group.
    """
    from mmiml.datasets.manifest import read_manifest
    from mmiml.evaluation.result_json import write_result
    from mmiml.evaluation.score_predictions import score
    from mmiml.utils.errors import IMLDataError

    unknown = [p for p in predictors if p not in LOWER_BOUNDS]
    if unknown:
        raise ValueError(f"unknown predictor(s) {', '.join(unknown)} "
                         f"(known: {', '.join(LOWER_BOUNDS)})")
    entries = read_manifest(manifest, split=split)
    if not entries:
        raise IMLDataError(manifest, f"no manifest entries for split {split!r}")
    out = Path(out_dir)
    results = {}
    for name in predictors:
        pred_dir = out / name / "preds"
        write_predictions(entries, name, pred_dir)
        result = score(pred_dir, manifest, split=split, threshold=threshold,
                       group_by=group_by)
        result["predictor"] = name
        write_result(result, out / f"{name}.json")
        results[name] = result
    return results
