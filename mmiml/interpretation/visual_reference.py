"""The visual reference the interpretation module's prompt holds (Omni-IML, interpretation
module): the image blended 50/50 with the predicted mask drawn as a highlight, concatenated with
the untouched image along the image's longer side."""
from __future__ import annotations

import numpy as np

__all__ = ["HIGHLIGHT_RGB", "blend_highlight", "visual_reference"]

#: colour of the highlighted (tampered) pixels; our choice, the paper shows red
HIGHLIGHT_RGB: tuple[int, int, int] = (255, 0, 0)


def blend_highlight(image: np.ndarray, mask: np.ndarray,
                    highlight: tuple[int, int, int] = HIGHLIGHT_RGB) -> np.ndarray:
    """``round(0.5 * image + 0.5 * M)``, M the mask drawn as an image (``highlight`` where
    tampered, black elsewhere): tampered pixels turn towards the highlight colour, the rest is
    dimmed to half, so the edit stands out without hiding the content."""
    img = np.asarray(image, dtype=np.uint8)
    m = np.asarray(mask) > 0
    if img.ndim != 3 or img.shape[2] != 3 or m.shape != img.shape[:2]:
        raise ValueError(f"expected an HxWx3 image and an HxW mask, got {img.shape} and "
                         f"{m.shape}")
    drawn = np.zeros_like(img)
    drawn[m] = highlight
    # integer arithmetic: (a + b + 1) // 2 is round-half-up of the 50/50 mean
    return ((img.astype(np.uint16) + drawn.astype(np.uint16) + 1) // 2).astype(np.uint8)


def visual_reference(image: np.ndarray, mask: np.ndarray,
                     highlight: tuple[int, int, int] = HIGHLIGHT_RGB,
                     along: str = "longer") -> np.ndarray:
    """The highlighted image and the original joined into one picture, the highlighted copy
    first.

    ``along="longer"`` (the paper's words, read as numpy's axis: our choice) joins them along
    the image's longer side: side by side for a landscape or square image, one above the other
    for a portrait one. ``along="shorter"`` joins them the other way, which keeps the picture
    closer to square.
    """
    if along not in ("longer", "shorter"):
        raise ValueError(f"along must be 'longer' or 'shorter', got {along!r}")
    blended = blend_highlight(image, mask, highlight)
    h, w = blended.shape[:2]
    axis = 1 if w >= h else 0
    if along == "shorter":
        axis = 1 - axis
    return np.concatenate([blended, np.asarray(image, dtype=np.uint8)], axis=axis)
