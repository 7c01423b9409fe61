"""Robust reading of images and tampering masks.

Every failure is an :class:`~mmiml.utils.errors.IMLDataError` whose message starts with the file
and says what is wrong, so a broken dataset can be fixed without a debugger. Formats that are
merely unusual (alpha, grayscale, 16-bit, CMYK, palette) are converted, not rejected.

No EXIF orientation is applied to images or masks (our choice): datasets draw their masks over
the stored pixel grid, and rotating only one of the two would misalign them.

Two policies live here and nowhere else (docs/data_contract.md explains both to users):

* **Pixel limit.** Every image, mask and prediction image is checked against a pixel limit from
  its header, before a pixel is decoded: :data:`DEFAULT_MAX_PIXELS`, or the environment variable
  :data:`MAX_PIXELS_ENV` (read by :func:`default_max_pixels` only), or the caller's
  ``max_pixels``. ``max_pixels=None`` means "the default"; ``0`` means "no limit".
* **Mask policy.** :func:`read_mask` decides how a mask file's values are read (binary, 0/1,
  lossy, soft with a threshold) and refuses, by name, everything it cannot read unambiguously.
  :func:`tampered_mask_findings` adds the checks that need the entry (a tampered entry's mask
  must have a tampered pixel; a full mask is a warning).
"""
from __future__ import annotations

import os
import struct
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from mmiml.utils.errors import ConfigError, IMLDataError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "LOSSY_01_MAX",
    "MAX_PIXELS_ENV",
    "MID_GREY_RANGE",
    "MAX_MID_GREY_SHARE",
    "EntryCheck",
    "MaskReading",
    "check_entry",
    "check_pixels",
    "default_max_pixels",
    "entry_errors",
    "image_size",
    "load_image",
    "load_mask",
    "mask_to_boxes",
    "open_image",
    "read_mask",
    "resolve_max_pixels",
    "tampered_mask_findings",
    "validate_entry",
]

# ---------------------------------------------------------------- pixel limit

# 8192 x 8192 = 67,108,864 pixels (our choice): admits 8K photos (7680 x 4320 = 33 Mpx) and the
# largest images of the standard IML sets with room to spare, while an RGB decode stays under
# 200 MB. It is also below Pillow's own decompression-bomb warning (89.5 Mpx).
DEFAULT_MAX_PIXELS: int = 8192 * 8192
# Environment variable that replaces DEFAULT_MAX_PIXELS everywhere (0 = no limit).
MAX_PIXELS_ENV: str = "MMIML_MAX_PIXELS"
_OVERRIDE_HINT = (f"raise it with max_pixels=N, --max-pixels N or the environment variable "
                  f"{MAX_PIXELS_ENV}=N (0 = no limit)")


def default_max_pixels() -> int:
    """The pixel limit that ``max_pixels=None`` stands for: ``$MMIML_MAX_PIXELS`` if set, else
    :data:`DEFAULT_MAX_PIXELS`; 0 means no limit. This is the only place the variable is read.

    Raises:
        ConfigError: the variable is set but is not a whole number >= 0.
    """
    raw = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(MAX_PIXELS_ENV, f"must be a whole number of pixels (0 = no limit), "
                                          f"got {raw!r}") from None
    if value < 0:
        raise ConfigError(MAX_PIXELS_ENV, f"must be >= 0 (0 = no limit), got {value}")
    return value


def resolve_max_pixels(max_pixels: int | None) -> int:
    """The limit to apply: ``None`` -> :func:`default_max_pixels`; ``0`` -> 0 (no limit).

    Raises:
        ConfigError: ``max_pixels`` is negative or not an integer.
    """
    if max_pixels is None:
        return default_max_pixels()
    if isinstance(max_pixels, float) and max_pixels.is_integer():  # e.g. 1e8 in a config
        max_pixels = int(max_pixels)
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)):
        raise ConfigError("max_pixels", f"must be a whole number of pixels (0 = no limit), "
                                        f"got {max_pixels!r}")
    if max_pixels < 0:
        raise ConfigError("max_pixels", f"must be >= 0 (0 = no limit), got {max_pixels}")
    return int(max_pixels)


def check_pixels(path: str | os.PathLike, what: str, w: int, h: int,
                 max_pixels: int | None) -> None:
    """Raise IMLDataError naming ``path`` when ``w * h`` is over the pixel limit
    (``max_pixels`` as in :func:`resolve_max_pixels`); the message says how to raise it."""
    limit = resolve_max_pixels(max_pixels)
    if limit and w * h > limit:
        raise IMLDataError(path, f"{what} is {w}x{h} = {w * h} pixels, over the limit of "
                                 f"max_pixels={limit}; {_OVERRIDE_HINT}")


# ---------------------------------------------------------------- opening files

# Pillow's own decompression-bomb check reads the module global Image.MAX_IMAGE_PIXELS in
# Image.open: it would warn (over 89.5 Mpx) or refuse (over 179 Mpx) before our limit is
# consulted, with a message that names no file and ignores the user's setting. Our limit
# replaces it, so Image.open runs with Pillow's cap lifted; the lock keeps two of our threads
# from restoring each other's value (our choice).
_PIL_CAP_LOCK = threading.Lock()


def _pil_open(path: str) -> Image.Image:
    with _PIL_CAP_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            return Image.open(path)
        finally:
            Image.MAX_IMAGE_PIXELS = saved


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


def _open_header(path: str, what: str, max_pixels: int | None) -> Image.Image:
    """Open ``path`` without decoding its pixels; size and pixel limit checked from the header."""
    if not os.path.exists(path):
        raise IMLDataError(path, f"{what} file not found")
    if not os.path.isfile(path):
        raise IMLDataError(path, f"{what} path is not a regular file")
    if os.path.getsize(path) == 0:
        raise IMLDataError(path, f"corrupt {what}: empty file (0 bytes)")
    try:
        img = _pil_open(path)
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
    try:
        # Checked before decoding so an oversized file never allocates its full bitmap.
        check_pixels(path, what, w, h, max_pixels)
    except BaseException:
        img.close()
        raise
    return img


def image_size(path: str | os.PathLike, what: str = "image", *,
               max_pixels: int | None = None) -> tuple[int, int]:
    """``(width, height)`` of an image file from its header, within the pixel limit.

    Nothing is decoded. Raises IMLDataError like :func:`open_image`.
    """
    with _open_header(os.fspath(path), what, max_pixels) as img:
        return img.size


def open_image(path: str | os.PathLike, what: str = "image", *,
               max_pixels: int | None = None) -> Image.Image:
    """Open and fully decode ``path`` (first frame), raising IMLDataError on any failure.

    The one reader of image files (images, masks, prediction images). ``what`` ("image",
    "mask", "prediction") only words the messages. ``max_pixels``: None = the default limit
    (:func:`default_max_pixels`), 0 = no limit; it is checked from the header before decoding.
    """
    path = os.fspath(path)
    img = _open_header(path, what, max_pixels)
    try:
        img.load()
    except (OSError, SyntaxError, ValueError, struct.error, EOFError,
            Image.DecompressionBombError) as e:
        img.close()
        if isinstance(e, Image.DecompressionBombError):  # a GIF frame larger than its header
            raise IMLDataError(path, f"{what} has a frame over Pillow's decompression-bomb "
                                     f"limit: {e}") from e
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
            ``max_pixels`` pixels (None: the default limit, :func:`default_max_pixels`; 0: no
            limit), checked from the header before decoding; the message gives the size, the
            limit and how to raise it.
    """
    path = os.fspath(path)
    with open_image(path, "image", max_pixels=max_pixels) as img:
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
    High-bit-depth masks whose values fit in 0..255 (0/1, 0/255 stored at 16 bit) keep their
    values; others are scaled to 0..255 with every non-zero value kept non-zero, so that stray
    values stay visible to the mask policy (our choice).
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
        if a.size and a.min() >= 0 and a.max() <= 255:
            return a.astype(np.uint8)
        v = _to_uint8(a, 65535.0 if mode.startswith("I;16") else None)
        return np.maximum(v, (a > 0).astype(np.uint8)) if a.min() >= 0 else v
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


# ---------------------------------------------------------------- mask policy

# A mask counts as "binary with noise" when almost every pixel is near black or near white:
# JPEG ringing and anti-aliasing put mid-grey values only along region borders (our bounds).
MID_GREY_RANGE: tuple[int, int] = (64, 191)
MAX_MID_GREY_SHARE: float = 0.05
# Lossy 0/1 masks (a 0/1 mask saved as JPEG): every value is at most this (our choice: JPEG
# moves 0/1 values by one or two levels; anything brighter is not a 0/1 mask).
LOSSY_01_MAX: int = 3
# 0/255 masks are cut in the middle of the 0..255 range: tampered = value > 127.
_DEFAULT_CUT = 127
# Pillow formats whose pixel values may differ from what was written.
_LOSSY_FORMATS = frozenset({"JPEG", "MPO", "WEBP", "JPEG2000"})
_THRESHOLD_HINT = ("pass a threshold (mask_threshold=T, --mask-threshold T) to binarise it at "
                   "value > T")


@dataclass(frozen=True)
class MaskReading:
    """A mask file as the mask policy read it.

    Attributes:
        mask: ``HxW`` uint8, 1 = tampered, 0 = authentic (after inversion, if asked).
        rule: how the values were read, for messages (e.g. ``"0/255"``, ``"lossy 0/1"``).
        values: summary of the file's values (the histogram), for messages.
        tolerated: pixels that were on neither of the mask's two levels and were assigned by
            the tolerance rule (compression noise, anti-aliased edges).
        warnings: findings that do not stop the mask from being used (e.g. a lossy 0/1 mask).
    """

    mask: np.ndarray
    rule: str
    values: str
    tolerated: int = 0
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def tampered(self) -> int:
        """Number of tampered pixels."""
        return int(np.count_nonzero(self.mask))


def _values_summary(hist: np.ndarray, max_listed: int = 6) -> str:
    """The value histogram in words: every value when there are few, else the main groups."""
    levels = np.flatnonzero(hist)
    if levels.size <= max_listed:
        return "values " + ", ".join(f"{v}: {int(hist[v])} px" for v in levels)
    lo, hi = MID_GREY_RANGE
    return (f"{levels.size} grey levels from {levels[0]} to {levels[-1]} (0: {int(hist[0])} px, "
            f"255: {int(hist[255])} px, mid-grey {lo}..{hi}: {int(hist[lo:hi + 1].sum())} px)")


def _listed(hist: np.ndarray, values: np.ndarray, max_listed: int = 5) -> str:
    parts = [f"{v}: {int(hist[v])} px" for v in values[:max_listed]]
    if values.size > max_listed:
        parts.append(f"... {values.size - max_listed} more values")
    return ", ".join(parts)


def _binarise(v: np.ndarray, path: str, threshold: float | None, lossy: bool,
              fmt: str) -> MaskReading:
    """uint8 0..255 intensity -> {0,1} under the mask policy (docs/data_contract.md).

    Raises IMLDataError naming the file and what was found when the values cannot be read
    without a guess.
    """
    hist = np.bincount(v.ravel(), minlength=256)
    values = _values_summary(hist)
    levels = np.flatnonzero(hist)
    if threshold is not None:  # documented soft masks: the caller decides
        return MaskReading((v > threshold).astype(np.uint8), f"threshold {threshold:g}", values)
    if levels.size == 1:
        level = int(levels[0])
        if level in (0, 255):
            return MaskReading(np.full(v.shape, level // 255, np.uint8), f"uniform {level}",
                               values)
        raise IMLDataError(
            path, f"uniform mask: every pixel has value {level}; one grey level other than 0 "
                  f"(authentic) or 255 (tampered) cannot be read either way; fix the file or "
                  f"{_THRESHOLD_HINT}")
    top = int(levels[-1])
    if lossy and top <= LOSSY_01_MAX and levels[0] == 0:
        # A 0/1 mask saved lossily: cut in the middle of ITS scale (>= 1), not at 127. Even when
        # it decodes to two clean levels its borders may have moved, hence the warning.
        tolerated = int(hist[2:].sum())
        warning = (f"0/1 mask stored as {fmt} ({values}): read as tampered = value >= 1, "
                   f"{tolerated} pixel(s) above 1 needed tolerance; lossy compression moves the "
                   f"borders of a 0/1 mask and can shift whole 8x8 blocks by one level, so "
                   f"store masks as PNG")
        return MaskReading((v >= 1).astype(np.uint8), "lossy 0/1", values, tolerated,
                           (warning,))
    if levels.size == 2:
        # Two clean levels (0/255, 0/1, 0/38 class colours, ...): the brighter one is tampered.
        lo, hi = int(levels[0]), int(levels[1])
        return MaskReading((v == hi).astype(np.uint8), f"two levels {lo}/{hi}", values)

    # Three or more levels: compression noise, anti-aliasing, stray values or a soft mask.
    lo_mid, hi_mid = MID_GREY_RANGE
    mid_share = float(hist[lo_mid:hi_mid + 1].sum()) / v.size
    if mid_share > MAX_MID_GREY_SHARE:
        raise IMLDataError(
            path, f"not a binary mask: {values}; {mid_share:.1%} of pixels are mid-grey "
                  f"({lo_mid}..{hi_mid}), more than the {MAX_MID_GREY_SHARE:.0%} that compression "
                  f"noise or anti-aliasing explains; if it is a soft mask, {_THRESHOLD_HINT}")
    if not lossy and hist[1] > 0 and hist[1] >= hist[_DEFAULT_CUT + 1:].sum():
        # More pixels at exactly 1 than bright pixels, in a file that stores values exactly:
        # a 0/1 mask with stray values. As 0/1 the strays are tampered, as 0/255 only they are.
        stray = levels[levels > 1]
        n = int(hist[2:].sum())
        raise IMLDataError(
            path, f"0/1 mask with {n} stray pixel{'s' if n != 1 else ''} above 1 "
                  f"({_listed(hist, stray)}; 0: {int(hist[0])} px, 1: {int(hist[1])} px): a 0/1 "
                  f"mask with brighter values cannot be read both ways; fix the file, or "
                  f"{_THRESHOLD_HINT} (T=0 reads every non-zero pixel as tampered)")
    if top <= _DEFAULT_CUT:
        raise IMLDataError(
            path, f"not a binary mask: {values}; nothing is above {_DEFAULT_CUT} as in a 0/255 "
                  f"mask, and {'values above ' + str(LOSSY_01_MAX) if lossy else 'values above 1'}"
                  f" do not fit a 0/1 mask; {_THRESHOLD_HINT}")
    # Values clustered near 0 and 255 (a JPEG-compressed or anti-aliased 0/255 mask).
    tolerated = int(v.size - hist[0] - hist[255])
    return MaskReading((v > _DEFAULT_CUT).astype(np.uint8),
                       "lossy 0/255" if lossy else "near-binary 0/255", values, tolerated)


def _is_lossy(img: Image.Image) -> bool:
    if img.format in _LOSSY_FORMATS:
        return True
    return img.format == "TIFF" and str(img.info.get("compression", "")).lower() in (
        "jpeg", "tiff_jpeg", "webp")


def read_mask(
    path: str | os.PathLike,
    *,
    inverted: bool = False,
    threshold: float | None = None,
    expected_shape: Sequence[int] | None = None,
    max_pixels: int | None = None,
) -> MaskReading:
    """Read a tampering mask under the mask policy; see :func:`load_mask` for the arguments.

    Returns the mask with how it was read (rule, value summary, pixels that needed tolerance,
    warnings). Entry-level checks (a tampered entry's mask must not be empty) are in
    :func:`tampered_mask_findings`.
    """
    path = os.fspath(path)
    with open_image(path, "mask", max_pixels=max_pixels) as img:
        if expected_shape is not None:
            eh, ew = int(expected_shape[0]), int(expected_shape[1])
            mw, mh = img.size
            if (mh, mw) != (eh, ew):
                raise IMLDataError(
                    path,
                    f"mask size {mw}x{mh} (WxH) differs from the image size {ew}x{eh} (WxH)",
                )
        lossy = _is_lossy(img)
        fmt = str(img.format or "a lossy format")
        intensity = _mask_intensity(img, path)
    reading = _binarise(intensity, path, threshold, lossy, fmt)
    if inverted:
        reading = MaskReading(1 - reading.mask, reading.rule + ", inverted", reading.values,
                              reading.tolerated, reading.warnings)
    return reading


def load_mask(
    path: str | os.PathLike,
    *,
    inverted: bool = False,
    threshold: float | None = None,
    expected_shape: Sequence[int] | None = None,
    max_pixels: int | None = None,
) -> np.ndarray:
    """Read a tampering mask as an ``HxW`` uint8 array with 1 = tampered, 0 = authentic.

    The mask policy (docs/data_contract.md, "Mask policy"), without a threshold:

    * one level: 0 = all authentic, 255 = all tampered; any other uniform grey is refused;
    * two levels (0/255, 0/1, 1-bit, 16-bit 0/65535, class colours such as 0/38): the brighter
      level is tampered;
    * three or more levels, at most 5% of pixels mid-grey (64..191):
        - lossy file (JPEG, WebP, JPEG 2000) with every value <= 3: a 0/1 mask, tampered =
          value >= 1 (with a warning: JPEG damages 0/1 masks);
        - lossless file with at least as many pixels at exactly 1 as above 127: a 0/1 mask with
          stray values, refused with the stray count and values;
        - otherwise a 0/255 mask with compression noise or anti-aliased edges: tampered =
          value > 127, provided some pixel is above 127;
    * more mid-grey pixels: a soft mask, refused unless a threshold is given.
    Colour masks use their brightest channel; palette masks their colours; masks whose
    information is only in the alpha channel use the alpha channel.

    Args:
        inverted: the file marks authentic pixels white (NIST style); the result is flipped
            after binarisation. Never guessed: only applied when asked.
        threshold: binarise at ``value > threshold`` on the 0..255 scale (for soft masks).
        expected_shape: ``(H, W, ...)`` of the image; a mask of another size is an error.
        max_pixels: pixel limit (None: the default, 0: none), checked before decoding.

    Raises:
        IMLDataError: unreadable file, over the pixel limit, size mismatch, or values the
            policy cannot read (message: the file, what was found and what to do).
    """
    return read_mask(path, inverted=inverted, threshold=threshold,
                     expected_shape=expected_shape, max_pixels=max_pixels).mask


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


def tampered_mask_findings(
    reading: MaskReading, path: str | os.PathLike
) -> tuple[list[IMLDataError], list[IMLDataError]]:
    """``(errors, warnings)`` of a mask given for a manifest entry (so: a tampered image).

    * No tampered pixel is an **error**: the data contract says ``"mask": null`` marks an
      authentic image, so an empty mask file is a broken annotation (often a 0/1 mask that lost
      its values, or a mask drawn on the wrong file), and scoring it as authentic would hide it.
    * Every pixel tampered is a **warning** (our choice): fully generated images are tampered
      everywhere, but a full mask is more often a blank or inverted file.
    * The reading's own warnings (e.g. a lossy 0/1 mask) are passed on.
    """
    path = os.fspath(path)
    errors: list[IMLDataError] = []
    warnings: list[IMLDataError] = []
    n = int(reading.mask.size)
    if reading.tampered == 0:
        errors.append(IMLDataError(
            path, f"mask has no tampered pixel (read as {reading.rule}: {reading.values}); a mask "
                  f"file marks a tampered image, so either fix the mask or, for an authentic "
                  f"image, set \"mask\": null in the manifest"))
    elif reading.tampered == n:
        warnings.append(IMLDataError(
            path, f"full mask: every pixel ({n}) is tampered (read as {reading.rule}: "
                  f"{reading.values}); check that the mask is not blank or inverted"))
    warnings += [IMLDataError(path, w) for w in reading.warnings]
    return errors, warnings


@dataclass
class EntryCheck:
    """Everything :func:`check_entry` found about one manifest entry.

    Attributes:
        errors: problems that make the entry unusable (each names its file).
        warnings: findings worth a look that do not stop the entry from being used.
        tolerated_pixels: mask pixels read by a tolerance rule (see :class:`MaskReading`).
        mask: how the mask was read (None: no mask, or it could not be read).
    """

    errors: list[IMLDataError] = field(default_factory=list)
    warnings: list[IMLDataError] = field(default_factory=list)
    tolerated_pixels: int = 0
    mask: MaskReading | None = None


def check_entry(
    entry: Mapping[str, Any],
    *,
    max_pixels: int | None = None,
    mask_threshold: float | None = None,
    invert_masks: bool = False,
) -> EntryCheck:
    """Decode the image and mask of one manifest entry and check them against the data contract.

    Image and mask are decoded fully, because truncated files only fail when their pixels are
    read. Checks: files exist and decode, sizes within the pixel limit (``max_pixels``: None =
    the default, 0 = none), mask size equals image size, mask values readable under the mask
    policy (``mask_threshold``, else the entry's own ``"mask_threshold"``, binarises soft
    masks), and :func:`tampered_mask_findings`.
    """
    found = EntryCheck()
    shape: tuple[int, ...] | None = None
    try:
        shape = load_image(entry["image"], max_pixels=max_pixels).shape
    except IMLDataError as e:
        found.errors.append(e)
    mask_path = entry.get("mask")
    if mask_path is not None:
        try:
            # Without a decodable image the mask is still checked on its own.
            reading = read_mask(
                mask_path,
                inverted=bool(entry.get("mask_inverted", False)) or invert_masks,
                threshold=mask_threshold if mask_threshold is not None
                else entry.get("mask_threshold"),
                expected_shape=shape,
                max_pixels=max_pixels,
            )
        except IMLDataError as e:
            found.errors.append(e)
        else:
            found.mask = reading
            found.tolerated_pixels = reading.tolerated
            errors, warnings = tampered_mask_findings(reading, mask_path)
            found.errors += errors
            found.warnings += warnings
    return found


def entry_errors(
    entry: Mapping[str, Any],
    *,
    max_pixels: int | None = None,
    mask_threshold: float | None = None,
    invert_masks: bool = False,
) -> list[IMLDataError]:
    """Every problem of one manifest entry, as IMLDataError objects (see :func:`check_entry`)."""
    return check_entry(entry, max_pixels=max_pixels, mask_threshold=mask_threshold,
                       invert_masks=invert_masks).errors


def validate_entry(
    entry: Mapping[str, Any],
    *,
    max_pixels: int | None = None,
    mask_threshold: float | None = None,
    invert_masks: bool = False,
) -> list[str]:
    """Return every problem of a manifest entry (``image``/``mask`` absolute paths) as messages.

    Never raises for data problems (see :func:`check_entry` for what is checked; warnings are
    not problems). Each message starts with the file it concerns.
    """
    return [str(e) for e in entry_errors(entry, max_pixels=max_pixels,
                                         mask_threshold=mask_threshold,
                                         invert_masks=invert_masks)]
