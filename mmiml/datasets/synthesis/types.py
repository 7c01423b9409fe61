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
        mask: HxW uint8 in {0, 1} marking exactly the altered pixels; None for authentic.
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


def changed_mask(image: np.ndarray, original: np.ndarray) -> np.ndarray:
    """The exact mask of a manipulation: 1 wherever any channel differs from the original."""
    return (image != original).any(axis=-1).astype(np.uint8)
