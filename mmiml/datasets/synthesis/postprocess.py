"""Global post-processing of SynthIML samples: resize, blur, noise, single or double JPEG.

Applied to the whole image after tampering, as a sharing platform would, and recorded per sample
in the manifest's ``post`` field. Both masks (the region and the changed pixels) follow resizing
(nearest neighbour); blur, noise and JPEG leave them as they are. Probabilities and ranges
are our choice.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from .types import SynthSample


def encode_jpeg(img: np.ndarray, quality: int) -> bytes:
    """4:2:0 baseline JPEG at ``quality`` (PIL's defaults, as most cameras and platforms)."""
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=int(quality))
    return buf.getvalue()


def decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def encode_png(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def post_process(
    sample: SynthSample, rng: np.random.Generator
) -> tuple[bytes, str, np.ndarray | None, np.ndarray | None, dict[str, Any]]:
    """Return the encoded image, its extension, the (resized) region and changed-pixel masks
    and the ``post`` record."""
    img, mask, region = sample.image, sample.mask, sample.region
    post: dict[str, Any] = {}
    if rng.random() < 0.25:
        scale = float(rng.uniform(0.7, 0.95))
        h, w = img.shape[:2]
        nh, nw = max(16, round(h * scale)), max(16, round(w * scale))
        img = np.asarray(Image.fromarray(img).resize((nw, nh), Image.BILINEAR))
        if mask is not None and region is not None:
            mask = np.asarray(Image.fromarray(mask).resize((nw, nh), Image.NEAREST))
            region = np.asarray(Image.fromarray(region).resize((nw, nh), Image.NEAREST))
            if not mask.any() or not region.any():  # a tiny region can vanish: keep it honest
                mask, region, img = sample.mask, sample.region, sample.image
                scale = 1.0
        post["resize"] = round(scale, 4)
    if rng.random() < 0.2:
        sigma = float(rng.uniform(0.3, 1.0))
        img = np.asarray(Image.fromarray(img).filter(ImageFilter.GaussianBlur(sigma)))
        post["blur"] = round(sigma, 3)
    if rng.random() < 0.25:
        sigma = float(rng.uniform(1.0, 4.0))
        noisy = img.astype(np.float32) + rng.normal(0.0, sigma, img.shape)
        img = np.clip(np.round(noisy), 0, 255).astype(np.uint8)
        post["noise"] = round(sigma, 3)
    roll = rng.random()
    if sample.final_jpeg == "high":
        qualities = [] if roll < 0.5 else [int(rng.integers(90, 101))]
    elif roll < 0.2:
        qualities = []
    elif roll < 0.7:
        qualities = [int(rng.integers(60, 101))]
    else:
        qualities = [int(rng.integers(60, 101)), int(rng.integers(60, 101))]
    post["jpeg"] = qualities
    if not qualities:
        return encode_png(img), ".png", region, mask, post
    data = encode_jpeg(img, qualities[0])
    for q in qualities[1:]:
        data = encode_jpeg(decode(data), q)
    return data, ".jpg", region, mask, post
