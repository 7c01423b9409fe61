"""Robust reading of images and tampering masks.

Every failure is an :class:`~mmiml.utils.errors.IMLDataError` whose message starts with the file
and says what is wrong, so a broken dataset can be fixed without a debugger. Formats that are
merely unusual (alpha, grayscale, 16-bit, CMYK, palette) are converted, not rejected.

No EXIF orientation is applied to images or masks (our choice): datasets draw their masks over
the stored pixel grid, and rotating only one of the two would misalign them.
"""
from __future__ import annotations

import os
import struct
from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from mmiml.utils.errors import IMLDataError

__all__ = [
    "MID_GREY_RANGE",
    "MAX_MID_GREY_SHARE",
    "load_image",
    "load_mask",
    "mask_to_boxes",
    "validate_entry",
]

# A mask counts as "binary with compression noise" when almost every pixel is near black or near
# white. JPEG ringing puts mid-grey values only along region borders (our choice of bounds).
MID_GREY_RANGE: tuple[int, int] = (64, 191)
MAX_MID_GREY_SHARE: float = 0.05
# Noisy-but-binary masks are cut in the middle of the 0..255 range: tampered = value > 127.
_DEFAULT_CUT = 127


def _header_size(path: str) -> tuple[int, int] | None:
    """Width and height declared in a PNG/GIF/BMP header, or None.

    Pillow refuses to identify zero-size images at all; reading the header ourselves lets the
    error say "zero-size" instead of the vaguer "cannot identify".
    """
    try:
        with open(path, "rb") as f:
            head = f.read(32)
    except OSError:
        return None
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR" and len(head) >= 24:
        w, h = struct.unpack(">II", head[16:24])
        return w, h
    if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        w, h = struct.unpack("<HH", head[6:10])
        return w, h
    if head[:2] == b"BM" and len(head) >= 26:
        w, h = struct.unpack("<ii", head[18:26])
        return abs(w), abs(h)
    return None


def _open(path: str | os.PathLike, what: str, max_pixels: int | None = None) -> Image.Image:
    """Open and fully decode ``path`` (first frame), raising IMLDataError on any failure.

    ``what`` ("image" or "mask") only words the messages.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise IMLDataError(path, f"{what} file not found")
    if not os.path.isfile(path):
        raise IMLDataError(path, f"{what} path is not a regular file")
    if os.path.getsize(path) == 0:
        raise IMLDataError(path, f"corrupt {what}: empty file (0 bytes)")
    try:
        img = Image.open(path)
    except Image.DecompressionBombError as e:
        raise IMLDataError(path, f"{what} is over Pillow's decompression-bomb limit: {e}") from e
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error) as e:
        size = _header_size(path)
        if size is not None and 0 in size:
            raise IMLDataError(path, f"zero-size {what} ({size[0]}x{size[1]} pixels)") from e
        if isinstance(e, UnidentifiedImageError):
            raise IMLDataError(
                path, f"unreadable {what}: not a recognised image file (corrupt or unsupported)"
            ) from e
        raise IMLDataError(path, f"unreadable {what}: truncated or corrupt file ({e})") from e
    w, h = img.size
    if w == 0 or h == 0:
        img.close()
        raise IMLDataError(path, f"zero-size {what} ({w}x{h} pixels)")
    # Checked before decoding so an oversized file never allocates its full bitmap.
    if max_pixels is not None and w * h > max_pixels:
        img.close()
        raise IMLDataError(
            path,
            f"{what} is {w}x{h} = {w * h} pixels, over the limit of max_pixels={max_pixels}",
        )
    try:
        img.load()
    except (OSError, SyntaxError, ValueError, struct.error, EOFError) as e:
        img.close()
        raise IMLDataError(
            path, f"unreadable {what}: truncated or corrupt file, decoding failed ({e})"
        ) from e
    return img


def _to_uint8(arr: np.ndarray, full_scale: float | None) -> np.ndarray:
    """Scale a one-channel integer/float array to uint8.

    ``full_scale`` is the white value of the source (65535 for 16-bit); None means "infer":
    values already in 0..255 are kept, 0..65535 treated as 16-bit, anything else min-max scaled.
    """
    a = arr.astype(np.float64)
    if full_scale is None:
        finite = a[np.isfinite(a)]
        lo = float(finite.min()) if finite.size else 0.0
        hi = float(finite.max()) if finite.size else 0.0
        if lo >= 0 and hi <= 255:
            full_scale = 255.0
        elif lo >= 0 and hi <= 65535:
            full_scale = 65535.0
        else:  # arbitrary 32-bit or float data: stretch its range (our choice)
            a = (a - lo) / max(hi - lo, 1e-12) * 255.0
            full_scale = 255.0
    a = np.nan_to_num(a, nan=0.0) * (255.0 / full_scale)
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def _float_full_scale(arr: np.ndarray) -> float | None:
    """Float images: 0..1 data is scaled by 255, others inferred like integers (our choice)."""
    finite = arr[np.isfinite(arr)]
    if finite.size and finite.min() >= 0 and finite.max() <= 1.0:
        return 1.0
    return None


def load_image(path: str | os.PathLike, *, max_pixels: int | None = None) -> np.ndarray:
    """Read an image as an ``HxWx3`` uint8 array in **RGB** order.

    The loading transform converts to BGR (OpenMMLab convention); this function does not.

    Conversions (never failures):
      * alpha (RGBA, LA, PA, palette transparency): the alpha channel is **dropped**, not
        composited (our choice: compositing would alter the pixel values forensic traces live in);
      * grayscale (L, 1) and 16-bit grayscale (I;16*): replicated to 3 channels, 16-bit scaled
        to 8-bit by ``round(v * 255 / 65535)``;
      * 32-bit integer / float: 0..1 floats scaled by 255, values in 0..255 kept, 0..65535
        scaled as 16-bit, anything else stretched min..max to 0..255;
      * CMYK, YCbCr, LAB, HSV, palette: Pillow's conversion to RGB.
    Multi-frame files (GIF, TIFF) give their first frame.

    Raises:
        IMLDataError: missing file, empty/corrupt/truncated file, zero-size image, or more than
            ``max_pixels`` pixels (the message gives the limit and the size).
    """
    path = os.fspath(path)
    with _open(path, "image", max_pixels) as img:
        mode = img.mode
        if mode == "RGB":
            out = np.asarray(img)
        elif mode.startswith("I;16"):
            out = _gray3(_to_uint8(np.asarray(img), 65535.0))
        elif mode == "I":
            out = _gray3(_to_uint8(np.asarray(img), None))
        elif mode == "F":
            a = np.asarray(img)
            out = _gray3(_to_uint8(a, _float_full_scale(a)))
        elif mode in ("RGBA", "RGBX", "RGBa"):
            out = np.asarray(img)[..., :3]  # drop alpha / padding
        elif mode in ("LA", "La"):
            out = _gray3(np.asarray(img)[..., 0])
        elif mode == "PA":
            out = np.asarray(img.convert("RGBA"))[..., :3]
        else:  # L, 1, P, CMYK, YCbCr, LAB, HSV, ...
            try:
                out = np.asarray(img.convert("RGB"))
            except (ValueError, OSError) as e:
                raise IMLDataError(
                    path, f"image mode {mode!r} cannot be converted to RGB: {e}"
                ) from e
    if out.ndim != 3 or out.shape[2] != 3 or out.dtype != np.uint8:
        raise IMLDataError(path, f"image decoded to unexpected array {out.shape} {out.dtype}")
    return np.ascontiguousarray(out)


def _gray3(a: np.ndarray) -> np.ndarray:
    return np.repeat(a[..., None], 3, axis=2)


def _mask_intensity(img: Image.Image, path: str) -> np.ndarray:
    """One-channel "tamper intensity" (uint8, 0..255) of a decoded mask image.

    Colour masks: the brightest channel, so any non-black colour counts as tampered. Masks with
    an alpha channel over constant colour channels (alpha-only masks) use the alpha channel.
    """
    mode = img.mode
    if mode == "1":
        return np.asarray(img, dtype=np.uint8) * np.uint8(255)
    if mode == "L":
        return np.asarray(img)
    if mode == "F":
        a = np.asarray(img)
        return _to_uint8(a, _float_full_scale(a))
    if mode.startswith("I"):
        a = np.asarray(img)
        if a.size and a.min() >= 0 and a.max() <= 1:
            return (a > 0).astype(np.uint8) * np.uint8(255)  # 0/1 stored at high bit depth
        return _to_uint8(a, 65535.0 if mode.startswith("I;16") else None)
    if mode == "P":
        # Colours, not indices: palette index 0 is not always black (our choice).
        img = img.convert("RGBA") if "transparency" in img.info else img.convert("RGB")
        mode = img.mode
    if mode == "PA":
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode == "LA":
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode not in ("RGB", "RGBA"):
        try:
            img = img.convert("RGB")
        except (ValueError, OSError) as e:
            raise IMLDataError(path, f"mask mode {mode!r} cannot be converted: {e}") from e
        mode = "RGB"
    a = np.asarray(img)
    colour = a[..., :3]
    if mode == "RGBA":
        alpha = a[..., 3]
        if colour.min() == colour.max() and alpha.min() != alpha.max():
            return np.ascontiguousarray(alpha)
    return colour.max(axis=2)


def _binarise(v: np.ndarray, path: str, threshold: float | None) -> np.ndarray:
    """uint8 0..255 intensity -> {0,1}; raises if it is not a mask and no threshold is given."""
    if v.size and v.max() <= 1:
        return v.astype(np.uint8)  # 0/1 masks
    if threshold is not None:
        return (v > threshold).astype(np.uint8)
    levels = np.unique(v)
    if levels.size <= 2:
        # Two clean levels (0/255, 0/38 class colours, ...): the brighter one is tampered.
        if levels.size == 2:
            return (v == levels[1]).astype(np.uint8)
        return (v > _DEFAULT_CUT).astype(np.uint8)
    lo, hi = MID_GREY_RANGE
    mid_share = float(np.count_nonzero((v >= lo) & (v <= hi))) / v.size
    if mid_share > MAX_MID_GREY_SHARE:
        raise IMLDataError(
            path,
            f"not a binary mask: {levels.size} grey levels and {mid_share:.1%} of pixels are "
            f"mid-grey ({lo}..{hi}), more than the {MAX_MID_GREY_SHARE:.0%} that compression "
            "noise explains; if it is a soft mask, pass a threshold (mask_threshold=T, "
            "--mask-threshold T) to binarise it at T",
        )
    # Values clustered near 0 and 255 (e.g. a JPEG-compressed mask): cut in the middle.
    return (v > _DEFAULT_CUT).astype(np.uint8)


def load_mask(
    path: str | os.PathLike,
    *,
    inverted: bool = False,
    threshold: float | None = None,
    expected_shape: Sequence[int] | None = None,
) -> np.ndarray:
    """Read a tampering mask as an ``HxW`` uint8 array with 1 = tampered, 0 = authentic.

    Accepted encodings: 0/255 and 0/1 grayscale (8 or 16 bit), 1-bit, palette PNGs (by colour),
    RGB/RGBA masks (any non-black channel is tampered; masks whose information is only in the
    alpha channel use the alpha channel), two-level masks of other values (the brighter level is
    tampered), and lossy (JPEG) masks whose values cluster near 0 and 255 (cut at > 127).

    Args:
        inverted: the file marks authentic pixels white (NIST style); the result is flipped
            after binarisation. Never guessed: only applied when asked.
        threshold: binarise at ``value > threshold`` on the 0..255 scale (for soft masks).
            Without it, a mask with many grey levels that is not near-binary is an error.
        expected_shape: ``(H, W, ...)`` of the image; a mask of another size is an error.

    Raises:
        IMLDataError: unreadable file, size mismatch, or not a binary mask.
    """
    path = os.fspath(path)
    with _open(path, "mask") as img:
        if expected_shape is not None:
            eh, ew = int(expected_shape[0]), int(expected_shape[1])
            mw, mh = img.size
            if (mh, mw) != (eh, ew):
                raise IMLDataError(
                    path,
                    f"mask size {mw}x{mh} (WxH) differs from the image size {ew}x{eh} (WxH)",
                )
        intensity = _mask_intensity(img, path)
    mask = _binarise(intensity, path, threshold)
    if inverted:
        mask = 1 - mask
    return np.ascontiguousarray(mask, dtype=np.uint8)


def mask_to_boxes(mask: np.ndarray, *, min_area: int = 1) -> np.ndarray:
    """Boxes of the 8-connected tampered regions of ``mask`` as ``(N, 4)`` float32 ``xyxy``.

    Tampered pixels are those equal to 1 (or True); 0 and 255 (ignore/padding in the data
    contract) are background. Box convention: ``x2 = max column + 1``, ``y2 = max row + 1``.
    Components with fewer than ``min_area`` pixels are dropped. Order: raster order of each
    component's first pixel.
    """
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"mask_to_boxes expects an HxW mask, got shape {m.shape}")
    fg = (m.astype(bool) if m.dtype == bool else (m == 1)).astype(np.uint8)
    if not fg.any():
        return np.zeros((0, 4), dtype=np.float32)
    n, _, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    stats = stats[1:n]  # label 0 is the background
    keep = stats[:, cv2.CC_STAT_AREA] >= min_area
    stats = stats[keep]
    x1 = stats[:, cv2.CC_STAT_LEFT]
    y1 = stats[:, cv2.CC_STAT_TOP]
    boxes = np.stack(
        [x1, y1, x1 + stats[:, cv2.CC_STAT_WIDTH], y1 + stats[:, cv2.CC_STAT_HEIGHT]], axis=1
    )
    return boxes.astype(np.float32).reshape(-1, 4)


def entry_errors(
    entry: Mapping[str, Any],
    *,
    max_pixels: int | None = None,
    mask_threshold: float | None = None,
    invert_masks: bool = False,
) -> list[IMLDataError]:
    """Every problem of one manifest entry, as IMLDataError objects (see :func:`validate_entry`)."""
    errors: list[IMLDataError] = []
    shape: tuple[int, ...] | None = None
    try:
        shape = load_image(entry["image"], max_pixels=max_pixels).shape
    except IMLDataError as e:
        errors.append(e)
    mask_path = entry.get("mask")
    if mask_path is not None:
        try:
            # Without a decodable image the mask is still checked on its own.
            load_mask(
                mask_path,
                inverted=bool(entry.get("mask_inverted", False)) or invert_masks,
                threshold=mask_threshold,
                expected_shape=shape,
            )
        except IMLDataError as e:
            errors.append(e)
    return errors


def validate_entry(
    entry: Mapping[str, Any],
    *,
    max_pixels: int | None = None,
    mask_threshold: float | None = None,
    invert_masks: bool = False,
) -> list[str]:
    """Return every problem of a manifest entry (``image``/``mask`` absolute paths) as messages.

    Never raises for data problems. Image and mask are decoded fully, because truncated files
    only fail when their pixels are read. Checks: files exist and decode, image size within
    ``max_pixels``, mask size equals image size, mask is binary (or ``mask_threshold`` given).
    Each message starts with the file it concerns.
    """
    return [
        str(e)
        for e in entry_errors(
            entry, max_pixels=max_pixels, mask_threshold=mask_threshold, invert_masks=invert_masks
        )
    ]
