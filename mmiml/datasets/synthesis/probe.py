"""SynthIML ``probe``: two groups of natural images that tell apart a model which *chooses* its
evidence (Omni-IML's Modal Gate) from one that always reads the same input.

* ``compression``: the edit exists only in the compression history. The host is JPEG-compressed
  at Q1 in [50, 75] and decoded; a region is replaced by the same content that was never
  compressed (or compressed at Q 92..100), and the whole image is saved once more as JPEG at
  Q2 in [85, 95], on the 8x8 grid, with no resize. Outside the region the pixels are double
  JPEG (Q1 then Q2), inside single JPEG: the RGB difference is at the level of JPEG noise, while
  the DCT history is decisive.
* ``pixel``: a visible RGB edit (a splice from another photo, or a copy-move, each with a colour
  and brightness shift), after which the compression history carries nothing about the edit:
  the image is either resized off the 8x8 grid, noised and JPEG-compressed once
  (``resize_noise_jpeg``), or saved as PNG (``png``, never compressed). Half of the PNG images
  carry a *decoy*: an unedited region with another compression history (JPEG at Q 50..70), which
  a frequency-only detector mistakes for the edit.

Every draw comes from the sample's own random stream and every encoder is deterministic, so a
sample is byte-identical on every machine. Each sample also records how visible its edit is in
RGB: ``rgb_diff_edit`` (mean absolute difference, in grey levels, between the edited and the
unedited image inside the mask, before storage) and ``rgb_diff_final`` (the same between the
stored image and its authentic twin, the unedited image stored exactly the same way). Ranges and
probabilities are our choice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from PIL import Image

from .natural import blob_region, composite, draw_area, draw_feather, feather_alpha
from .postprocess import decode, encode_jpeg, encode_png
from .sources import Sources, procedural_background, random_crop
from .types import changed_mask

GROUPS: tuple[str, ...] = ("compression", "pixel")
#: edited region: share of the image (log-uniform) and the chance of a rectangle over a blob
REGION_AREA = (0.05, 0.30)
RECT_P = 0.5
#: compression group: host quality, final quality, and the replacing content's history
HOST_QUALITY = (50, 75)
FINAL_QUALITY = (85, 95)
RAW_REGION_P = 0.6  # else the region comes from a JPEG at REGION_QUALITY
REGION_QUALITY = (92, 100)
#: pixel group: laundering, resize factor (canvas = size / factor), noise sigma, decoy
RESIZE_NOISE_JPEG_P = 0.6  # else PNG
RESIZE_FACTOR = (0.6, 0.9)
NOISE_SIGMA = (3.0, 6.0)
DECOY_P = 0.5  # of the PNG images
DECOY_AREA = (0.05, 0.20)
DECOY_QUALITY = (50, 70)
#: the visible edit: per-channel gain and a brightness offset of at least this many levels
GAIN = (0.8, 1.2)
OFFSET = (15.0, 40.0)
#: redraw an edit whose mean RGB change inside the mask falls below this (grey levels): a
#: shift clipped away on a saturated region would not be a visible edit
MIN_VISIBLE = 12.0
MAX_TRIES = 10


@dataclass
class ProbeSample:
    """One stored probe sample: the encoded file and what the manifest records about it.

    Attributes:
        data: the encoded image file (JPEG or PNG bytes), ``ext`` its extension.
        mask: HxW uint8 in {0, 1} for a tampered image, None for an authentic one.
        group: ``compression`` or ``pixel``.
        manipulation: ``history_splice`` (compression group), ``splice`` or ``copy_move``
            (pixel group), or ``authentic``.
        details: edit and compression history (JSON-ready), including the RGB-difference figures.
        post: what happened to the whole image after the edit, in the ``post`` format of the
            other SynthIML tasks (``resize``, ``noise``, ``jpeg`` list of qualities).
        twin: HxWx3 uint8, the authentic twin as stored (decoded): the same image without the
            edit, through the same storage. Not written; ``rgb_diff_final`` compares with it.
    """

    data: bytes
    ext: str
    mask: np.ndarray | None
    group: str
    manipulation: str
    provenance: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    post: dict[str, Any] = field(default_factory=dict)
    twin: np.ndarray | None = None


def probe_group(index: int) -> str:
    """Groups alternate by index: every split holds both groups, balanced to one image."""
    return GROUPS[index % len(GROUPS)]


def probe_authentic(index: int, ratio: float) -> bool:
    """Exactly ``ratio`` of each group is authentic (to one image), spread evenly over the
    indices: the k-th image of a group is authentic when ``floor((k + 1) * ratio)`` steps up."""
    k = index // len(GROUPS)
    return int((k + 1) * ratio + 1e-9) > int(k * ratio + 1e-9)


def draw_region(rng: np.random.Generator, shape: tuple[int, int],
                area_range: tuple[float, float] = REGION_AREA) -> tuple[np.ndarray, dict]:
    """A rectangle or a blob of a log-uniform share of the image, anywhere (no location prior).
    Returns an HxW bool array and its description."""
    h, w = shape
    target = draw_area(rng, *area_range)
    if rng.random() < RECT_P:
        aspect = float(np.exp(rng.uniform(np.log(0.5), np.log(2.0))))  # height / width
        rh = int(np.clip(round(np.sqrt(target * h * w * aspect)), 4, h - 1))
        rw = int(np.clip(round(target * h * w / rh), 4, w - 1))
        y, x = int(rng.integers(0, h - rh + 1)), int(rng.integers(0, w - rw + 1))
        region = np.zeros((h, w), bool)
        region[y:y + rh, x:x + rw] = True
        kind = "rect"
    else:
        region = blob_region(rng, (h, w), target)
        kind = "blob"
    ys, xs = np.nonzero(region)
    bbox = [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]
    return region, {"shape": kind, "target_area": target, "area": float(region.mean()),
                    "bbox": bbox}


def _photo(rng: np.random.Generator, size: int, sources: Sources) -> tuple[str, np.ndarray]:
    """A photo crop (textured content keeps compression traces; procedural only without
    photos)."""
    if not sources.photos:
        return procedural_background(rng, size)
    sid, photo = sources.photo(rng)
    return sid, random_crop(photo, size, rng, (1.0, 3.0))


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """``img`` after one JPEG round trip at ``quality``."""
    return decode(encode_jpeg(img, quality))


def _mean_abs_in(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None) -> float | None:
    if mask is None:
        return None
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16)).mean(axis=-1)
    return round(float(diff[mask > 0].mean()), 3)


def _quality(rng: np.random.Generator, bounds: tuple[int, int]) -> int:
    return int(rng.integers(bounds[0], bounds[1] + 1))


# ----------------------------------------------------------------------------- compression
def generate_compression(rng: np.random.Generator, size: int, sources: Sources,
                         authentic: bool) -> ProbeSample:
    """A ``compression`` sample: double JPEG outside the edited region, single inside."""
    host_id, raw = _photo(rng, size, sources)
    q1 = _quality(rng, HOST_QUALITY)
    host = _jpeg(raw, q1)
    q2 = _quality(rng, FINAL_QUALITY)
    details: dict[str, Any] = {"host_jpeg": q1}
    mask = None
    image = host
    if not authentic:
        region, details["region"] = draw_region(rng, (size, size))
        if rng.random() < RAW_REGION_P:
            patch, details["region_source"], details["region_jpeg"] = raw, "never_compressed", None
        else:
            rq = _quality(rng, REGION_QUALITY)
            patch, details["region_source"], details["region_jpeg"] = _jpeg(raw, rq), "jpeg", rq
        # hard edge: a feather would blend histories at the border and add a visible seam
        image = np.where(region[..., None], patch, host)
        mask = region.astype(np.uint8)
    data = encode_jpeg(image, q2)
    twin = _jpeg(host, q2)
    details["rgb_diff_edit"] = _mean_abs_in(image, host, mask)
    details["rgb_diff_final"] = _mean_abs_in(decode(data), twin, mask)
    return ProbeSample(data=data, ext=".jpg", mask=mask, group="compression",
                       manipulation="authentic" if authentic else "history_splice",
                       provenance=[host_id], details=details, post={"jpeg": [q2]}, twin=twin)


# ----------------------------------------------------------------------------- pixel
def _visible_edit(rng: np.random.Generator, size: int, sources: Sources, host_id: str,
                  host: np.ndarray) -> tuple[np.ndarray, str, list[str], dict]:
    """A splice or copy-move whose content differs visibly from the host (colour and
    brightness shift). Returns the edited image, the kind, the donors and the details."""
    kind = "splice" if rng.random() < 0.5 else "copy_move"
    for attempt in range(MAX_TRIES):
        region, region_details = draw_region(rng, (size, size))
        details: dict[str, Any] = {"region": region_details}
        donors: list[str] = []
        if kind == "splice":
            # another photo (procedural when the host is the only one)
            others = Sources(photos=[p for p in sources.photos if p[0] != host_id])
            donor_id, donor = _photo(rng, size, others)
            donors = [donor_id]
        else:
            # the same image translated by at least a quarter of its side (reflected borders)
            dy, dx = (rng.choice([-1, 1], 2) * rng.uniform(0.25, 0.5, 2) * size).round()
            m = np.float32([[1, 0, dx], [0, 1, dy]])
            donor = cv2.warpAffine(host, m, (size, size), flags=cv2.INTER_NEAREST,
                                   borderMode=cv2.BORDER_REFLECT)
            details["offset"] = [int(dy), int(dx)]
        gain = rng.uniform(*GAIN, 3)
        offset = float(rng.choice([-1.0, 1.0]) * rng.uniform(*OFFSET))
        shifted = donor.astype(np.float32) * gain + offset
        feather = draw_feather(rng, size)
        image = composite(host, shifted, feather_alpha(region, feather))
        mask = changed_mask(image, host)
        details.update(gain=[round(float(g), 4) for g in gain], brightness=round(offset, 3),
                       feather=feather, attempts=attempt + 1)
        if mask.any() and _mean_abs_in(image, host, mask) >= MIN_VISIBLE:
            return image, kind, donors, details
    raise RuntimeError(f"{kind}: no visible edit after {MAX_TRIES} attempts on {host_id}")


def _decoy(rng: np.random.Generator, host: np.ndarray, mask: np.ndarray | None
           ) -> tuple[np.ndarray | None, np.ndarray | None, dict | None]:
    """An unedited region with another compression history, kept 4 px off the edit: its
    pixels (HxWx3) and where they go (HxW bool), or None when nothing is left of it."""
    size = host.shape[0]
    region, details = draw_region(rng, (size, size), DECOY_AREA)
    if mask is not None:
        near_edit = cv2.dilate(mask.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
        region &= ~near_edit
    if not region.any():
        return None, None, None
    quality = _quality(rng, DECOY_QUALITY)
    details.update(jpeg=quality, area=float(region.mean()))
    return _jpeg(host, quality), region, details


def generate_pixel(rng: np.random.Generator, size: int, sources: Sources,
                   authentic: bool) -> ProbeSample:
    """A ``pixel`` sample: a visible edit whose compression history says nothing."""
    laundering = "resize_noise_jpeg" if rng.random() < RESIZE_NOISE_JPEG_P else "png"
    factor = float(rng.uniform(*RESIZE_FACTOR)) if laundering != "png" else 1.0
    canvas = size if laundering == "png" else round(size / factor)
    host_id, raw = _photo(rng, canvas, sources)
    details: dict[str, Any] = {"laundering": laundering, "host_jpeg": None, "decoy": None}
    host = raw
    if laundering != "png":  # a history of its own, which the resize then wipes out
        details["host_jpeg"] = _quality(rng, HOST_QUALITY)
        host = _jpeg(raw, details["host_jpeg"])
    image, mask, kind, donors = host, None, "authentic", []
    if not authentic:
        image, kind, donors, edit = _visible_edit(rng, canvas, sources, host_id, host)
        mask = changed_mask(image, host)
        details.update(edit)
    twin = host  # the same image without the edit, stored the same way
    post: dict[str, Any]
    if laundering == "png":
        if rng.random() < DECOY_P:
            pixels, where, details["decoy"] = _decoy(rng, host, mask)
            if where is not None:
                image = np.where(where[..., None], pixels, image)
                twin = np.where(where[..., None], pixels, twin)
        details["rgb_diff_edit"] = _mean_abs_in(image, twin, mask)
        data, ext, final, stored_twin = encode_png(image), ".png", image, twin
        post = {"jpeg": []}
    else:
        details["rgb_diff_edit"] = _mean_abs_in(image, twin, mask)
        image, twin = (np.asarray(Image.fromarray(a).resize((size, size), Image.BILINEAR))
                       for a in (image, twin))
        if mask is not None:  # exactly the pixels the resized edit reaches
            mask = changed_mask(image, twin)
        sigma = float(rng.uniform(*NOISE_SIGMA))
        noise = rng.normal(0.0, sigma, image.shape)
        image, twin = (np.clip(np.round(a.astype(np.float32) + noise), 0, 255).astype(np.uint8)
                       for a in (image, twin))
        quality = _quality(rng, FINAL_QUALITY)
        data, ext = encode_jpeg(image, quality), ".jpg"
        final, stored_twin = decode(data), _jpeg(twin, quality)
        post = {"resize": round(size / canvas, 4), "noise": round(sigma, 3), "jpeg": [quality]}
    details["rgb_diff_final"] = _mean_abs_in(final, stored_twin, mask)
    return ProbeSample(data=data, ext=ext, mask=mask, group="pixel", manipulation=kind,
                       provenance=[host_id, *donors], details=details, post=post,
                       twin=stored_twin)


def generate_probe(rng: np.random.Generator, size: int, sources: Sources, group: str,
                   authentic: bool) -> ProbeSample:
    """One probe sample of ``group`` (``compression`` or ``pixel``)."""
    if group == "compression":
        return generate_compression(rng, size, sources, authentic)
    if group == "pixel":
        return generate_pixel(rng, size, sources, authentic)
    raise ValueError(f"unknown probe group {group!r}; expected one of {GROUPS}")


__all__ = ["GROUPS", "ProbeSample", "draw_region", "generate_probe", "probe_authentic",
           "probe_group"]
