"""DCT-consistent augmentations (docs/design/omni_iml.md sections 1 and 5).

Each transform keeps ``dct_coef`` an exact description of ``img``: recompression takes both from
one encoding, crops stay on the 8x8 JPEG grid, flips map coefficients by the DCT's symmetry.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmseg.registry import TRANSFORMS

from mmiml import IGNORE_INDEX
from mmiml.datasets.transforms.jpeg import jpeg_roundtrip
from mmiml.datasets.transforms.loading import boxes_from_seg_map

__all__ = ["DCTAwareRandomFlip", "GridAlignedRandomCrop", "RandomJpegRecompress", "flip_dct"]


def _seg_keys(results: dict) -> list[str]:
    """Keys of all segmentation maps to move with the image."""
    keys = list(results.get("seg_fields", []))
    if "gt_seg_map" in results and "gt_seg_map" not in keys:
        keys.append("gt_seg_map")
    return keys


def _refresh_boxes(results: dict) -> None:
    """Recompute box annotations from the (cropped / flipped) mask so they stay in sync."""
    if "gt_seg_map" in results:
        results["gt_bboxes"], results["gt_bboxes_labels"] = boxes_from_seg_map(
            results["gt_seg_map"]
        )


@TRANSFORMS.register_module()
class RandomJpegRecompress(BaseTransform):
    """With probability ``prob``, JPEG-compress ``img`` at a random quality.

    docs/design/omni_iml.md section 5: random JPEG Q50-100. ``img`` becomes the decoded pixels and
    ``dct_coef`` / ``qtable`` come from that same encoding, so a following ``LoadJpegDCT`` skips.
    When not applied the results are left untouched. Adds ``jpeg_quality`` when applied.

    Args:
        quality_range: inclusive (low, high) IJG quality range.
        prob: probability of recompressing.
    """

    def __init__(self, quality_range: Sequence[int] = (50, 100), prob: float = 0.5) -> None:
        low, high = (int(q) for q in quality_range)
        if not 1 <= low <= high <= 100:
            raise ValueError(
                f"quality_range must satisfy 1 <= low <= high <= 100, got {quality_range}"
            )
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"prob must be in [0, 1], got {prob}")
        self.quality_range = (low, high)
        self.prob = float(prob)

    @cache_randomness
    def _draw(self) -> int | None:
        """Quality to use, or None to skip this sample."""
        if np.random.rand() >= self.prob:
            return None
        return int(np.random.randint(self.quality_range[0], self.quality_range[1] + 1))

    def transform(self, results: dict) -> dict:
        quality = self._draw()
        if quality is None:
            return results
        planes = jpeg_roundtrip(results["img"][..., ::-1], quality)
        results["img"] = np.ascontiguousarray(planes.rgb[..., ::-1])
        results["dct_coef"] = planes.dct
        results["qtable"] = planes.qtable
        results["dct_source"] = "recompress"
        results["jpeg_quality"] = quality
        return results

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(quality_range={self.quality_range}, prob={self.prob})"


@TRANSFORMS.register_module()
class GridAlignedRandomCrop(BaseTransform):
    """Random crop whose offsets are multiples of ``grid`` so DCT blocks stay whole.

    docs/design/omni_iml.md section 1: crops stay on the 8x8 grid. Crops ``img``, every seg
    field and ``dct_coef``. Images smaller than ``crop_size`` are padded at the bottom/right
    (img 0, masks 255 = ignore, dct 0) so every output is exactly ``crop_size``. Like mmseg's
    ``RandomCrop``, ``cat_max_ratio < 1`` retries (up to 10 times) until no single class covers
    more than that fraction of the valid pixels. Updates ``img_shape`` and ``pad_shape`` (both the
    output size, as mmcv's ``Pad`` does) and recomputes ``gt_bboxes`` from the cropped mask.

    Args:
        crop_size: (h, w) of the output.
        cat_max_ratio: max share of one class in the crop (1.0 disables the check).
        grid: offset granularity; 8 for JPEG blocks.
        ignore_index: mask value used for padding and excluded from ``cat_max_ratio``.
    """

    def __init__(
        self,
        crop_size: Sequence[int] | int = (512, 512),
        cat_max_ratio: float = 1.0,
        grid: int = 8,
        ignore_index: int = IGNORE_INDEX,
    ) -> None:
        if isinstance(crop_size, int):
            crop_size = (crop_size, crop_size)
        crop_h, crop_w = (int(s) for s in crop_size)
        if crop_h <= 0 or crop_w <= 0 or grid <= 0:
            raise ValueError(f"crop_size {crop_size} and grid {grid} must be positive")
        self.crop_size = (crop_h, crop_w)
        self.cat_max_ratio = float(cat_max_ratio)
        self.grid = int(grid)
        self.ignore_index = int(ignore_index)

    @cache_randomness
    def _random_offset(self, margin_h: int, margin_w: int) -> tuple[int, int]:
        """Top-left corner on the grid, uniformly among grid positions inside the margins."""
        off_h = int(np.random.randint(0, margin_h // self.grid + 1)) * self.grid
        off_w = int(np.random.randint(0, margin_w // self.grid + 1)) * self.grid
        return off_h, off_w

    def _crop_box(self, height: int, width: int) -> tuple[int, int, int, int]:
        """(y1, y2, x1, x2) of a grid-aligned crop inside a height x width image."""
        crop_h, crop_w = min(self.crop_size[0], height), min(self.crop_size[1], width)
        off_h, off_w = self._random_offset(height - crop_h, width - crop_w)
        return off_h, off_h + crop_h, off_w, off_w + crop_w

    def _class_ratio_ok(self, seg: np.ndarray) -> bool:
        labels, counts = np.unique(seg, return_counts=True)
        counts = counts[labels != self.ignore_index]
        return len(counts) > 1 and counts.max() / counts.sum() < self.cat_max_ratio

    def _pad(self, arr: np.ndarray, value: int) -> np.ndarray:
        """Pad bottom/right up to crop_size."""
        pad_h = self.crop_size[0] - arr.shape[0]
        pad_w = self.crop_size[1] - arr.shape[1]
        if pad_h <= 0 and pad_w <= 0:
            return np.ascontiguousarray(arr)
        widths = [(0, max(pad_h, 0)), (0, max(pad_w, 0))] + [(0, 0)] * (arr.ndim - 2)
        return np.pad(arr, widths, mode="constant", constant_values=value)

    def transform(self, results: dict) -> dict:
        img = results["img"]
        height, width = img.shape[:2]
        box = self._crop_box(height, width)
        if self.cat_max_ratio < 1.0 and "gt_seg_map" in results:
            for _ in range(10):
                y1, y2, x1, x2 = box
                if self._class_ratio_ok(results["gt_seg_map"][y1:y2, x1:x2]):
                    break
                box = self._crop_box(height, width)
        y1, y2, x1, x2 = box

        results["img"] = self._pad(img[y1:y2, x1:x2], 0)
        for key in _seg_keys(results):
            results[key] = self._pad(results[key][y1:y2, x1:x2], self.ignore_index)
        if "dct_coef" in results:
            results["dct_coef"] = self._pad(results["dct_coef"][y1:y2, x1:x2], 0)
        results["img_shape"] = results["img"].shape[:2]
        results["pad_shape"] = results["img"].shape[:2]
        results["crop_bbox"] = (x1, y1, x2, y2)
        _refresh_boxes(results)
        return results

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(crop_size={self.crop_size}, "
            f"cat_max_ratio={self.cat_max_ratio}, grid={self.grid})"
        )


def flip_dct(dct: np.ndarray, direction: str) -> np.ndarray:
    """Exact DCT of the mirrored image, from the DCT in spatial block layout.

    The 8-point DCT basis satisfies cos((2(7-x)+1) k pi/16) = (-1)^k cos((2x+1) k pi/16), so
    mirroring pixels inside a block negates the odd frequencies along that axis; mirroring the
    whole image also reverses the block order. For a horizontal flip block column j goes to
    nbw-1-j and coefficient (u, v) becomes (-1)^v (u, v) (v = horizontal frequency, the column
    inside the block); vertical is the same along rows with u. Quantisation is sign-symmetric, so
    the quantised coefficients and the table carry over unchanged.

    Raises:
        ValueError: the flipped dimension is not a multiple of 8 (blocks would not map to blocks).
    """
    if direction not in ("horizontal", "vertical"):
        raise ValueError(f"direction must be 'horizontal' or 'vertical', got {direction!r}")
    axis = 1 if direction == "horizontal" else 0
    length = dct.shape[axis]
    if length % 8:
        raise ValueError(
            f"cannot flip a DCT of {length} pixels along {direction}: not whole 8x8 blocks"
        )
    sign = np.where(np.arange(8) % 2 == 0, 1, -1).astype(dct.dtype)
    if axis == 1:
        blocks = dct.reshape(dct.shape[0], length // 8, 8)
        out = blocks[:, ::-1, :] * sign
    else:
        blocks = dct.reshape(length // 8, 8, dct.shape[1])
        out = blocks[::-1, :, :] * sign[:, None]
    return np.ascontiguousarray(out.reshape(dct.shape), dtype=dct.dtype)


@TRANSFORMS.register_module()
class DCTAwareRandomFlip(BaseTransform):
    """Random flip that keeps ``dct_coef`` exact (docs/design/omni_iml.md section 5: flips).

    Flips ``img``, all seg fields and, via :func:`flip_dct`, ``dct_coef``. A sample that carries
    ``dct_coef`` is only flipped when the flipped dimension is a multiple of 8 (otherwise blocks
    would not map to blocks); such a sample is left unflipped. Sets ``flip`` and
    ``flip_direction`` like mmcv's ``RandomFlip`` and recomputes ``gt_bboxes`` from the mask.

    Args:
        prob: probability of flipping.
        direction: 'horizontal' or 'vertical'.
    """

    def __init__(self, prob: float = 0.5, direction: str = "horizontal") -> None:
        if direction not in ("horizontal", "vertical"):
            raise ValueError(f"direction must be 'horizontal' or 'vertical', got {direction!r}")
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"prob must be in [0, 1], got {prob}")
        self.prob = float(prob)
        self.direction = direction

    @cache_randomness
    def _draw(self) -> bool:
        return bool(np.random.rand() < self.prob)

    def transform(self, results: dict) -> dict:
        flip = self._draw()
        axis = 1 if self.direction == "horizontal" else 0
        if flip and "dct_coef" in results and results["img"].shape[axis] % 8:
            flip = False
        if flip:
            results["img"] = np.ascontiguousarray(np.flip(results["img"], axis=axis))
            for key in _seg_keys(results):
                results[key] = np.ascontiguousarray(np.flip(results[key], axis=axis))
            if "dct_coef" in results:
                results["dct_coef"] = flip_dct(results["dct_coef"], self.direction)
            _refresh_boxes(results)
        results["flip"] = flip
        results["flip_direction"] = self.direction if flip else None
        return results

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(prob={self.prob}, direction={self.direction!r})"
