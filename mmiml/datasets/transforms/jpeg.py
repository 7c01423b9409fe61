"""JPEG helpers shared by the DCT-producing transforms (docs/design/omni_iml.md section 1).

One implementation of "encode pixels as a JPEG" and "read a JPEG's Y-channel quantised DCT,
its Y quantisation table and its decoded pixels", used by ``LoadJpegDCT`` and
``RandomJpegRecompress`` so the two can never disagree on layout or decoder.

Choices (ours, where docs/design/omni_iml.md is silent):

* Encoding uses Pillow (libjpeg-turbo) with 4:4:4 chroma sampling: it is several times faster than
  jpeglib's encoder and writes the standard IJG tables, so quality ``q`` means the same as in
  DTD's pipeline. Chroma sampling does not change the Y coefficients; 4:4:4 keeps the decoded
  colours closest to the input.
* DCT coefficients and the quantisation table are read with jpeglib (libjpeg's coefficient
  reader, no decompression). jpeglib only reads files (it has no in-memory API; it even copies
  the bytes to its own temp file), so encodings go through a ``TemporaryDirectory``.
* Pixels are decoded with Pillow from the same file, i.e. by the decoder that ``load_image``
  uses, so an untouched JPEG decodes to exactly the pixels loaded first.
"""

from __future__ import annotations

import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import jpeglib
import numpy as np
from PIL import Image

from mmiml.utils.errors import IMLDataError

__all__ = [
    "JpegPlanes",
    "blocks_to_spatial",
    "encode_jpeg",
    "img_digest",
    "is_jpeg_file",
    "jpeg_roundtrip",
    "read_jpeg",
    "spatial_to_blocks",
]

#: Every JPEG stream starts with SOI (FF D8) followed by another marker (FF xx).
_JPEG_MAGIC = b"\xff\xd8\xff"
#: JPEG colour spaces whose first component is luminance.
_LUMA_SPACES = ("JCS_YCbCr", "JCS_GRAYSCALE")


@dataclass(frozen=True)
class JpegPlanes:
    """What a JPEG encoding tells the model, all describing the same pixels.

    Attributes:
        dct: HxW int16, Y-channel quantised DCT coefficients in the spatial block layout of
            docs/data_contract.md (block (i, j) at rows 8i..8i+7, cols 8j..8j+7; within a block
            row = vertical frequency u, column = horizontal frequency v).
        qtable: 8x8 int32 quantisation table of the Y component.
        rgb: HxWx3 uint8 RGB pixels decoded from that encoding.
    """

    dct: np.ndarray
    qtable: np.ndarray
    rgb: np.ndarray


def is_jpeg_file(path: str | Path) -> bool:
    """True if the file's content (not its extension) is a JPEG stream."""
    try:
        with open(path, "rb") as f:
            return f.read(len(_JPEG_MAGIC)) == _JPEG_MAGIC
    except OSError:
        return False


def img_digest(img: np.ndarray) -> tuple[tuple[int, ...], str, int]:
    """Cheap fingerprint of a pixel array, to tell later whether a transform changed it.

    CRC-32 is not cryptographic, but it only has to notice edits made by our own augmentations.
    """
    arr = np.ascontiguousarray(img)
    return tuple(arr.shape), str(arr.dtype), zlib.crc32(memoryview(arr).cast("B"))


def blocks_to_spatial(blocks: np.ndarray, height: int, width: int) -> np.ndarray:
    """(nbh, nbw, 8, 8) coefficient blocks -> HxW int16 spatial layout, cropped to HxW.

    Partial blocks at the bottom/right edge are kept as far as they cover pixels.
    """
    nbh, nbw = blocks.shape[:2]
    if nbh * 8 < height or nbw * 8 < width:
        raise ValueError(f"{nbh}x{nbw} DCT blocks cannot cover a {height}x{width} image")
    spatial = blocks.transpose(0, 2, 1, 3).reshape(nbh * 8, nbw * 8)
    return np.ascontiguousarray(spatial[:height, :width], dtype=np.int16)


def spatial_to_blocks(dct: np.ndarray) -> np.ndarray:
    """HxW spatial layout (H, W multiples of 8) -> (H/8, W/8, 8, 8) blocks (a view)."""
    height, width = dct.shape
    if height % 8 or width % 8:
        raise ValueError(f"spatial DCT of shape {dct.shape} is not made of whole 8x8 blocks")
    return dct.reshape(height // 8, 8, width // 8, 8).transpose(0, 2, 1, 3)


def _decode_rgb(path: Path) -> np.ndarray:
    """Decode a JPEG file to HxWx3 uint8 RGB with Pillow (no EXIF rotation, no ICC conversion)."""
    with Image.open(path) as im:
        im.load()
        if im.mode == "L":
            gray = np.asarray(im)
            return np.ascontiguousarray(np.repeat(gray[..., None], 3, axis=2))
        if im.mode != "RGB":
            raise IMLDataError(path, f"JPEG decodes to mode {im.mode!r}, expected RGB or L")
        return np.asarray(im).copy()


def read_jpeg(path: str | Path) -> JpegPlanes:
    """Read Y DCT, Y quantisation table and decoded pixels of one JPEG file.

    Raises:
        IMLDataError: the file is not a readable JPEG, or its first component is not luminance
            (CMYK/YCCK, Adobe RGB-coded JPEGs): there is no Y channel DCT to read.
    """
    path = Path(path)
    try:
        jpeg = jpeglib.read_dct(str(path))
        color_space = jpeg.jpeg_color_space
        space_name = getattr(color_space, "name", str(color_space))
        if space_name not in _LUMA_SPACES:
            raise IMLDataError(path, f"JPEG colour space {space_name} has no Y channel")
        y_blocks = np.asarray(jpeg.Y)
        qtable = np.asarray(jpeg.get_component_qt(0), dtype=np.int32).reshape(8, 8)
        height, width = int(jpeg.height), int(jpeg.width)
    except IMLDataError:
        raise
    except Exception as exc:  # jpeglib raises OSError/RuntimeError/ValueError variously
        raise IMLDataError(path, f"cannot read JPEG DCT coefficients: {exc}") from exc
    rgb = _decode_rgb(path)
    if rgb.shape[:2] != (height, width):
        raise IMLDataError(
            path, f"decoded size {rgb.shape[:2]} differs from JPEG header {(height, width)}"
        )
    dct = blocks_to_spatial(y_blocks, height, width)
    return JpegPlanes(dct=dct, qtable=np.ascontiguousarray(qtable), rgb=rgb)


def encode_jpeg(rgb: np.ndarray, path: str | Path, quality: int) -> None:
    """Write HxWx3 uint8 RGB as a baseline 4:4:4 JPEG at IJG quality ``quality`` (1..100)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected HxWx3 uint8 RGB, got {rgb.shape} {rgb.dtype}")
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"JPEG quality must be in 1..100, got {quality}")
    Image.fromarray(np.ascontiguousarray(rgb)).save(
        path, format="JPEG", quality=int(quality), subsampling=0, optimize=False
    )


def jpeg_roundtrip(rgb: np.ndarray, quality: int) -> JpegPlanes:
    """Encode ``rgb`` at ``quality`` and return DCT, qtable and decoded pixels of that encoding."""
    with tempfile.TemporaryDirectory(prefix="mmiml_jpeg_") as tmp:
        path = Path(tmp) / "roundtrip.jpg"
        encode_jpeg(rgb, path, quality)
        return read_jpeg(path)
