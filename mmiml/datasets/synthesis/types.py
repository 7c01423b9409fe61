"""What every SynthIML task generator returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class SynthSample:
    """One generated sample, before the global post-processing (resize, blur, noise, JPEG).

    Attributes:
        image: HxWx3 uint8 RGB, tampered (or authentic).
        original: HxWx3 uint8 RGB, the host before tampering (the same array for authentic
            images). Outside ``mask``, ``image`` equals ``original`` exactly: tests check it.
        mask: HxW uint8 in {0, 1} marking exactly the altered pixels (the *changed-pixel*
            mask); None for authentic.
        region: HxW uint8 in {0, 1}, the region the manipulation edited, filled as real
            datasets label it (the object pasted, the area inpainted, the word's box); the
            *primary* mask written to ``masks/``. None for authentic; required with ``mask``.
        manipulation: the kind, e.g. ``splice``, ``copy_move``, ``inpaint``, ``authentic``.
        provenance: ids of every source used (``skimage:astronaut``, ``font:DejaVuSans.ttf``,
            ``procedural:paper``), recorded in the manifest.
        details: JSON-serialisable parameters of the manipulation, recorded in the manifest.
        final_jpeg: the final storage the task allows (our choice): ``"any"`` lets the
            post-processing pick single/double JPEG; ``"high"`` keeps it at quality >= 90 or PNG
            (documents, whose evidence lies in the compression history).
    """

    image: np.ndarray
    original: np.ndarray
    mask: np.ndarray | None
    manipulation: str
    provenance: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    final_jpeg: str = "any"
    region: np.ndarray | None = None

    def __post_init__(self) -> None:
        h, w = self.image.shape[:2]
        if self.image.dtype != np.uint8 or self.image.shape != (h, w, 3):
            raise ValueError(
                f"image must be HxWx3 uint8, got {self.image.shape} {self.image.dtype}")
        if self.original.shape != self.image.shape:
            raise ValueError("original and image differ in shape")
        if self.mask is not None:
            if self.mask.shape != (h, w) or self.mask.dtype != np.uint8:
                raise ValueError(f"mask must be HxW uint8, got {self.mask.shape} {self.mask.dtype}")
            if not self.mask.any():
                raise ValueError(f"{self.manipulation}: empty mask on a tampered sample")
            if self.region is None:
                raise ValueError(f"{self.manipulation}: a tampered sample needs its region")
            if self.region.shape != (h, w):
                raise ValueError(f"{self.manipulation}: region {self.region.shape} is not "
                                 f"{(h, w)}")
            self.region = fill_region(self.region)
            if not self.region.any():
                raise ValueError(f"{self.manipulation}: empty region on a tampered sample")
        elif self.region is not None:
            raise ValueError(f"{self.manipulation}: an authentic sample has no region")


def changed_mask(image: np.ndarray, original: np.ndarray) -> np.ndarray:
    """The exact mask of a manipulation: 1 wherever any channel differs from the original."""
    return (image != original).any(axis=-1).astype(np.uint8)


def fill_region(region: np.ndarray) -> np.ndarray:
    """``region`` as HxW uint8 {0, 1} with its holes filled (a labelled region is solid)."""
    from scipy.ndimage import binary_fill_holes

    return binary_fill_holes(np.asarray(region) > 0).astype(np.uint8)


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two binary masks (1.0 when both are empty)."""
    a, b = np.asarray(a) > 0, np.asarray(b) > 0
    union = int((a | b).sum())
    return 1.0 if union == 0 else float((a & b).sum()) / union
