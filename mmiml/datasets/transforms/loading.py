"""Loading transforms: image, tampering mask and JPEG DCT (docs/data_contract.md).

Pipeline order matters for ``LoadJpegDCT``: put it (and ``RandomJpegRecompress``) before any
transform that changes pixels (crop, flip, photometric), so a JPEG's own coefficients can be
used; ``GridAlignedRandomCrop`` and ``DCTAwareRandomFlip`` then keep the DCT exact.
"""

from __future__ import annotations

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from mmiml import IGNORE_INDEX
from mmiml.datasets.io import load_image, load_mask, mask_to_boxes, resolve_max_pixels
from mmiml.datasets.transforms.jpeg import (
    JpegPlanes,
    img_digest,
    is_jpeg_file,
    jpeg_roundtrip,
    read_jpeg,
)
from mmiml.utils.errors import IMLDataError

__all__ = ["LoadIMLAnnotations", "LoadIMLImageFromFile", "LoadJpegDCT", "boxes_from_seg_map"]


def boxes_from_seg_map(
    seg_map: np.ndarray, ignore_index: int = IGNORE_INDEX
) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (N,4) float32 xyxy and labels (N,) int64 zeros of the tampered regions of a mask.

    Ignore pixels (padding) count as authentic, so padding never creates or grows a box.
    """
    binary = ((seg_map != ignore_index) & (seg_map > 0)).astype(np.uint8)
    boxes = np.asarray(mask_to_boxes(binary), dtype=np.float32).reshape(-1, 4)
    return boxes, np.zeros(len(boxes), dtype=np.int64)


@TRANSFORMS.register_module()
class LoadIMLImageFromFile(BaseTransform):
    """Load ``results['img_path']`` as HxWx3 uint8 BGR (OpenMMLab convention).

    Added keys: ``img``, ``img_shape``, ``ori_shape``, ``img_is_jpeg`` (decided by the file's
    content, not its extension) and, for JPEGs, ``img_digest`` (a fingerprint of the loaded
    pixels that lets ``LoadJpegDCT`` tell whether a later transform changed them). Our choice.

    Args:
        max_pixels: pixel limit checked from the file's header before decoding (guard against
            huge images and decompression bombs); None means the default limit
            (``$MMIML_MAX_PIXELS`` or ``mmiml.datasets.io.DEFAULT_MAX_PIXELS``), 0 means none.
    """

    def __init__(self, max_pixels: int | None = None) -> None:
        resolve_max_pixels(max_pixels)  # a bad value fails when the pipeline is built
        self.max_pixels = max_pixels

    def transform(self, results: dict) -> dict:
        path = results["img_path"]
        rgb = load_image(path, max_pixels=self.max_pixels)
        img = np.ascontiguousarray(rgb[..., ::-1])
        is_jpeg = is_jpeg_file(path)
        results["img"] = img
        results["img_shape"] = img.shape[:2]
        results["ori_shape"] = img.shape[:2]
        results["img_is_jpeg"] = is_jpeg
        results["img_digest"] = img_digest(img) if is_jpeg else None
        return results

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(max_pixels={self.max_pixels})"


@TRANSFORMS.register_module()
class LoadIMLImageFromNDArray(BaseTransform):
    """Take ``results['img']``, an HxWx3 uint8 **RGB** array given in memory (the inference
    API), as :class:`LoadIMLImageFromFile` would have loaded it: BGR, with the same keys.

    There is no file, so there is no compression history: ``img_is_jpeg`` is False and a DCT
    model's ``LoadJpegDCT`` re-encodes the pixels (as for a PNG).
    """

    def transform(self, results: dict) -> dict:
        rgb = np.asarray(results["img"])
        where = results.get("img_path", "<array>")
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise IMLDataError(where, f"expected an HxWx3 uint8 RGB array, got shape "
                                      f"{rgb.shape} and dtype {rgb.dtype}")
        img = np.ascontiguousarray(rgb[..., ::-1])
        results.update(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2],
                       img_is_jpeg=False, img_digest=None)
        return results


@TRANSFORMS.register_module()
class LoadIMLAnnotations(BaseTransform):
    """Load the tampering mask as ``gt_seg_map`` (HxW uint8, 0 authentic / 1 tampered).

    Authentic samples (``seg_map_path`` None) get an all-zero mask of the image's size. Uses the
    data_info keys ``mask_inverted`` and ``mask_threshold`` and checks the mask against the
    loaded image's shape. Adds ``seg_fields``, ``gt_bboxes`` (N,4 float32 xyxy of connected
    tampered regions), ``gt_bboxes_labels`` (int64 zeros) and ``img_label`` (kept if the dataset
    set it, else 1 when a mask file exists). Mask values are read under the mask policy of
    docs/data_contract.md; the entry checks (a tampered entry's mask is not empty) run when
    ``IMLDataset`` validates its samples.

    Args:
        max_pixels: pixel limit of the mask file, as in ``LoadIMLImageFromFile`` (None: the
            default limit, 0: none); set both when raising it, or use ``$MMIML_MAX_PIXELS``.
    """

    def __init__(self, max_pixels: int | None = None) -> None:
        resolve_max_pixels(max_pixels)
        self.max_pixels = max_pixels

    def transform(self, results: dict) -> dict:
        img = results.get("img")
        if img is not None:
            shape = tuple(img.shape[:2])
        elif results.get("ori_shape") is not None:
            shape = tuple(results["ori_shape"][:2])
        else:
            shape = None
        path = results.get("seg_map_path")
        if path is None:
            if shape is None:
                raise IMLDataError(
                    results.get("img_path", "<unknown image>"),
                    "authentic sample: load the image before LoadIMLAnnotations "
                    "(the empty mask needs its size)",
                )
            mask = np.zeros(shape, dtype=np.uint8)
        else:
            mask = load_mask(
                path,
                inverted=bool(results.get("mask_inverted", False)),
                threshold=results.get("mask_threshold"),
                expected_shape=shape,
                max_pixels=self.max_pixels,
            )
        results["gt_seg_map"] = np.ascontiguousarray(mask, dtype=np.uint8)
        seg_fields = results.setdefault("seg_fields", [])
        if "gt_seg_map" not in seg_fields:
            seg_fields.append("gt_seg_map")
        results["gt_bboxes"], results["gt_bboxes_labels"] = boxes_from_seg_map(mask)
        if results.get("img_label") is None:
            results["img_label"] = int(path is not None)
        return results

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(max_pixels={self.max_pixels})"


@TRANSFORMS.register_module()
class LoadJpegDCT(BaseTransform):
    """Y-channel quantised DCT and Y quantisation table for the Frequency Perception Head.

    docs/design/omni_iml.md section 1: the FPH reads Y quantised DCT + the 8x8 quant table; non-JPEG
    input is re-encoded at quality 100 and the DCT must come from the pixels actually fed.

    * JPEG file, pixels untouched since loading: coefficients and table are read from the file
      and ``img`` becomes the pixels decoded from that same file.
    * Otherwise (PNG/TIFF, a loader-side change such as EXIF rotation, or pixels edited by an
      earlier transform): ``img`` is re-encoded at ``reencode_quality`` (4:4:4) and both the DCT
      and ``img`` are taken from that encoding.
    * If ``dct_coef`` is already present (e.g. set by ``RandomJpegRecompress``) nothing happens.

    Adds ``dct_coef`` (HxW int16, spatial block layout), ``qtable`` (8x8 int32) and
    ``dct_source`` ('file' or 'reencode'). "Untouched" means: the loader's fingerprint still
    matches and the file decodes to the same shape with at most ``decode_tolerance`` grey levels
    of difference (two libjpeg builds may round a few pixels differently; our choice).

    Args:
        reencode_quality: quality of the re-encoding of non-JPEG / edited images (100 in
            docs/design/omni_iml.md section 1).
        decode_tolerance: max abs pixel difference between loaded and re-decoded JPEG pixels
            still treated as the same image.
    """

    def __init__(self, reencode_quality: int = 100, decode_tolerance: int = 1) -> None:
        if not 1 <= reencode_quality <= 100:
            raise ValueError(f"reencode_quality must be in 1..100, got {reencode_quality}")
        self.reencode_quality = int(reencode_quality)
        self.decode_tolerance = int(decode_tolerance)

    def _planes_from_file(self, results: dict) -> JpegPlanes | None:
        """The file's own planes if ``img`` is still the untouched decode of a JPEG file."""
        img = results["img"]
        digest = results.get("img_digest")
        if not results.get("img_is_jpeg") or digest is None or digest != img_digest(img):
            return None
        try:
            planes = read_jpeg(results["img_path"])
        except IMLDataError:
            # CMYK / RGB-coded JPEGs have no Y channel to read: treat like a PNG.
            return None
        if planes.rgb.shape != img.shape:
            return None
        diff = np.abs(planes.rgb[..., ::-1].astype(np.int16) - img.astype(np.int16))
        if int(diff.max(initial=0)) > self.decode_tolerance:
            return None
        return planes

    def transform(self, results: dict) -> dict:
        if "dct_coef" in results:
            return results
        planes = self._planes_from_file(results)
        source = "file"
        if planes is None:
            planes = jpeg_roundtrip(results["img"][..., ::-1], self.reencode_quality)
            source = "reencode"
        results["img"] = np.ascontiguousarray(planes.rgb[..., ::-1])
        results["dct_coef"] = planes.dct
        results["qtable"] = planes.qtable
        results["dct_source"] = source
        return results

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(reencode_quality={self.reencode_quality}, "
            f"decode_tolerance={self.decode_tolerance})"
        )
