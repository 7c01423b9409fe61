"""Realism statistics of a manifest: the measurable traces that tie a set to real forgeries.

Per tampered sample, measured on the stored image and its (region) mask:

* ``noise_log2``: log2 of the noise level inside the region over the noise level outside it.
  The noise level is Immerkaer's estimate (the mean absolute response of the grey image to a
  3x3 Laplacian-difference kernel that cancels linear structure, times sqrt(pi/2)/6); a splice
  from another camera or a smoothed inpainting moves it away from 0.
* ``edge_ratio``: the mean gradient magnitude on the region's boundary (a 1 px ring each side)
  over the image's mean gradient magnitude: hard pastes give sharp boundaries (> 1), feathered
  or Poisson-blended ones soft boundaries.
* ``grid_mismatch``: whether the image carries two JPEG compressions on different 8x8 grids,
  read from the manifest record (SynthIML's ``host_camera.camera_grid``, a document's
  ``grid_shift``) together with a final JPEG (``post.jpeg``); ``None`` when the record does not
  say (a real dataset).
* ``mask_iou``: the IoU of the region mask and the changed-pixel mask, where the record has both.

The summary gives, per task and manipulation kind, the count and the median (and 10th-90th
percentiles) of each figure, and the share of grid mismatches among the samples that record it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
from PIL import Image

from .manifest import read_manifest

__all__ = ["noise_sigma", "realism_table", "sample_realism", "summarise_realism"]


_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def noise_sigma(grey: np.ndarray, where: np.ndarray) -> float:
    """Immerkaer's noise sigma of ``grey`` (float32) over the pixels ``where`` (NaN if
    none)."""
    response = np.abs(cv2.filter2D(grey, cv2.CV_32F, _IMMERKAER,
                                   borderType=cv2.BORDER_REFLECT))
    values = response[where]
    if values.size == 0:
        return float("nan")
    return float(np.sqrt(np.pi / 2) / 6 * values.mean())


def _grid_mismatch(rec: Mapping[str, Any]) -> bool | None:
    details = rec.get("details") or {}
    post = rec.get("post") or {}
    final = bool(post.get("jpeg")) if isinstance(post, Mapping) else False
    grid = None
    camera = details.get("host_camera") if isinstance(details, Mapping) else None
    if isinstance(camera, Mapping) and "camera" in camera:
        grid = camera.get("camera_grid")
        if grid is None:  # a raw camera: no first compression
            return False
    elif isinstance(details, Mapping) and "grid_shift" in details:
        grid, final = details["grid_shift"], True  # documents are recompressed in the edit
    if grid is None:
        return None
    return bool(final and any(int(v) % 8 for v in grid))


def sample_realism(rec: Mapping[str, Any]) -> dict[str, Any]:
    """The figures of one tampered record (see the module doc)."""
    with Image.open(rec["image"]) as im:
        grey = np.asarray(im.convert("L"), np.float32)
    with Image.open(rec["mask"]) as im:
        region = np.asarray(im.convert("L")) > 127
    if region.shape != grey.shape:
        region = cv2.resize(region.astype(np.uint8), grey.shape[::-1],
                            interpolation=cv2.INTER_NEAREST) > 0
    inside, outside = noise_sigma(grey, region), noise_sigma(grey, ~region)
    noise_log2 = float(np.log2((inside + 0.1) / (outside + 0.1)))
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    magnitude = np.hypot(gx, gy)
    kernel = np.ones((3, 3), np.uint8)
    u8 = region.astype(np.uint8)
    ring = (cv2.dilate(u8, kernel) - cv2.erode(u8, kernel)) > 0
    edge_ratio = float(magnitude[ring].mean() / (magnitude.mean() + 1e-6)) if ring.any() \
        else float("nan")
    return {"task": rec["task"], "kind": rec.get("manipulation") or "unknown",
            "noise_log2": noise_log2, "edge_ratio": edge_ratio,
            "grid_mismatch": _grid_mismatch(rec), "mask_iou": rec.get("mask_iou")}


def realism_table(manifest: str | Path, split: str | None = "test") -> pd.DataFrame:
    """One row per tampered record of ``split``."""
    rows = [sample_realism(rec) for rec in read_manifest(manifest, split=split)
            if rec["mask"] is not None]
    return pd.DataFrame(rows, columns=["task", "kind", "noise_log2", "edge_ratio",
                                       "grid_mismatch", "mask_iou"])


def _spread(values: pd.Series) -> str:
    v = pd.to_numeric(values, errors="coerce").dropna()
    if v.empty:
        return "-"
    p10, p50, p90 = np.percentile(v, [10, 50, 90])
    return f"{p50:.2f} ({p10:.2f}..{p90:.2f})"


def summarise_realism(table: pd.DataFrame) -> pd.DataFrame:
    """Per task and kind: n, medians (10th..90th percentiles), grid-mismatch share."""
    out = []
    for (task, kind), g in table.groupby(["task", "kind"], sort=True):
        known = g["grid_mismatch"].dropna()
        out.append({"task": task, "kind": kind, "n": len(g),
                    "mask IoU (region vs changed)": _spread(g["mask_iou"]),
                    "noise log2 in/out": _spread(g["noise_log2"]),
                    "abs(noise log2) > 0.5": f"{(g['noise_log2'].abs() > 0.5).mean():.0%}",
                    "edge ratio": _spread(g["edge_ratio"]),
                    "double-JPEG grid mismatch": (f"{known.astype(bool).mean():.0%}"
                                                  if len(known) else "-")})
    return pd.DataFrame(out)
