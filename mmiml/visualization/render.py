"""Pictures of a prediction: the heat map, the mask and the overlay (RGB uint8 arrays).

Shared by the inference API, ``demo/image_demo.py`` and the test panels, so every tool draws
a prediction the same way.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

__all__ = ["TAMPERED_RGB", "heatmap", "mask_image", "overlay"]

#: the colour tampered pixels are highlighted with (our choice: pure red, as IML papers draw)
TAMPERED_RGB: tuple[int, int, int] = (255, 0, 0)


def heatmap(prob: np.ndarray, colormap: str = "inferno") -> np.ndarray:
    """HxWx3 uint8 RGB: the probability map through a matplotlib colour map (0 dark, 1
    bright), on a fixed 0..1 scale so that maps of different images compare."""
    from matplotlib import colormaps

    p = np.clip(np.asarray(prob, dtype=np.float32), 0.0, 1.0)
    rgba = colormaps[colormap](p)
    return (rgba[..., :3] * 255.0 + 0.5).astype(np.uint8)


def mask_image(mask: np.ndarray) -> np.ndarray:
    """HxW uint8: 255 where tampered, 0 elsewhere (what the mask policy reads back)."""
    return (np.asarray(mask) > 0).astype(np.uint8) * 255


def overlay(image: np.ndarray, mask: np.ndarray, regions: Sequence[dict[str, Any]] = (),
            alpha: float = 0.5) -> np.ndarray:
    """The image with its tampered pixels tinted (``alpha`` of :data:`TAMPERED_RGB`), the
    mask's outline drawn, and each region's box; HxWx3 uint8 RGB."""
    img = np.asarray(image, dtype=np.uint8)
    m = np.asarray(mask) > 0
    out = img.astype(np.float32)
    tint = np.array(TAMPERED_RGB, dtype=np.float32)
    out[m] = (1.0 - alpha) * out[m] + alpha * tint
    out = out.round().astype(np.uint8)
    thickness = max(1, round(min(img.shape[:2]) / 256))
    contours, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, (255, 255, 0), thickness)
    for region in regions:
        x1, y1, x2, y2 = region["box"]
        cv2.rectangle(out, (x1, y1), (x2 - 1, y2 - 1), (0, 255, 255), thickness)
    return out
