"""Face tampering for SynthIML: part swap, local retouching and generator-like resampling.

The host is a face from :class:`Sources` resized to ``size`` x ``size`` (centre square crop,
bicubic; the LFW crops are 25 x 25 grey, so they are strongly upscaled). Facial regions come
from the face's label map when it has one (the pixels of one class), otherwise from a fixed
facial geometry of aligned crops (our choice, relative boxes):

========  ==============  ===========================
part      rows            columns
========  ==============  ===========================
eyes      0.30 - 0.48     0.18 - 0.46 and 0.54 - 0.82
nose      0.45 - 0.68     0.38 - 0.62
mouth     0.65 - 0.85     0.28 - 0.72
cheeks    0.48 - 0.72     0.15 - 0.38 and 0.62 - 0.85
forehead  0.12 - 0.30     0.25 - 0.75
face      0.12 - 0.90     0.15 - 0.85
========  ==============  ===========================

Each box holds a jittered ellipse. As for natural images, the mask is computed after
compositing as exactly the pixels whose value changed.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from .natural import colour_match, composite, feather_alpha
from .sources import Face, Sources
from .types import SynthSample, changed_mask

FACE_KINDS = ("part_swap", "retouch", "resample")
# (row0, row1, col0, col1) boxes relative to the face crop; several boxes make one region.
FACE_PARTS: dict[str, tuple[tuple[float, float, float, float], ...]] = {
    "eyes": ((0.30, 0.48, 0.18, 0.46), (0.30, 0.48, 0.54, 0.82)),
    "nose": ((0.45, 0.68, 0.38, 0.62),),
    "mouth": ((0.65, 0.85, 0.28, 0.72),),
    "cheeks": ((0.48, 0.72, 0.15, 0.38), (0.48, 0.72, 0.62, 0.85)),
    "forehead": ((0.12, 0.30, 0.25, 0.75),),
    "face": ((0.12, 0.90, 0.15, 0.85),),
}
SWAP_PARTS = ("eyes", "nose", "mouth")
RETOUCH_PARTS = ("eyes", "nose", "mouth", "cheeks", "forehead", "face")
RESAMPLE_PARTS = ("eyes", "nose", "mouth", "face")
# label-map classes usable as a region: present and covering this fraction of the face
LABEL_AREA = (0.002, 0.5)
MAX_TRIES = 10


def _square(img: np.ndarray, size: int, resample: int) -> np.ndarray:
    """Centre square crop, resized to ``size`` x ``size``."""
    h, w = img.shape[:2]
    s = min(h, w)
    y, x = (h - s) // 2, (w - s) // 2
    crop = np.ascontiguousarray(img[y:y + s, x:x + s])
    if s == size:
        return crop
    return np.asarray(Image.fromarray(crop).resize((size, size), resample))


def _face_image(face: Face, size: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The face at ``size`` px (bicubic) and its label map (nearest), if any."""
    img = _square(face.image, size, Image.BICUBIC)
    labels = None
    if face.labels is not None:
        lab = face.labels[..., 0] if face.labels.ndim == 3 else face.labels
        labels = _square(np.asarray(lab).astype(np.uint8), size, Image.NEAREST)
    return img, labels


def _is_grey(img: np.ndarray) -> bool:
    return bool((img[..., 0] == img[..., 1]).all() and (img[..., 1] == img[..., 2]).all())


def _geometry_region(rng: np.random.Generator, size: int, part: str) -> np.ndarray:
    """The union of jittered ellipses inscribed in the part's boxes (HxW bool)."""
    region = np.zeros((size, size), np.uint8)
    # one jitter for the whole part (both eyes move together)
    sy, sx = rng.uniform(-0.03, 0.03, 2)
    scale = rng.uniform(0.85, 1.1)
    for r0, r1, c0, c1 in FACE_PARTS[part]:
        cy, cx = (r0 + r1) / 2 + sy, (c0 + c1) / 2 + sx
        ay, ax = (r1 - r0) / 2 * scale, (c1 - c0) / 2 * scale
        centre = (int(round(cx * size)), int(round(cy * size)))
        axes = (max(1, int(round(ax * size))), max(1, int(round(ay * size))))
        cv2.ellipse(region, centre, axes, float(rng.uniform(-8, 8)), 0, 360, 1, -1)
    return region.astype(bool)


def _region(rng: np.random.Generator, size: int, labels: np.ndarray | None,
            parts: tuple[str, ...]) -> tuple[np.ndarray, str]:
    """A facial region and its name: one label-map class when the face has a usable label
    map, else a part of the fixed geometry."""
    if labels is not None:
        classes, counts = np.unique(labels, return_counts=True)
        frac = counts / labels.size
        ok = classes[(classes != 0) & (frac >= LABEL_AREA[0]) & (frac <= LABEL_AREA[1])]
        if len(ok):
            cls = int(ok[int(rng.integers(len(ok)))])
            return labels == cls, f"label:{cls}"
    part = parts[int(rng.integers(len(parts)))]
    return _geometry_region(rng, size, part), part


def _part_swap(rng: np.random.Generator, size: int, sources: Sources, face: Face,
               host: np.ndarray, labels: np.ndarray | None
               ) -> tuple[np.ndarray, list[str], dict]:
    others = [f for f in sources.faces if f.source != face.source] or sources.faces
    donor_face = others[int(rng.integers(len(others)))]
    donor, _ = _face_image(donor_face, size)
    region, part = _region(rng, size, labels, SWAP_PARTS)
    # the donor is aligned roughly, not exactly: small scale/shift, resampled again (bilinear)
    scale = float(rng.uniform(0.92, 1.08))
    shift = rng.uniform(-0.03, 0.03, 2) * size
    m = cv2.getRotationMatrix2D((size / 2, size / 2), float(rng.uniform(-5, 5)), scale)
    m[:, 2] += shift
    donor = cv2.warpAffine(donor, m, (size, size), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT)
    if _is_grey(host) and not _is_grey(donor):
        donor = np.repeat(cv2.cvtColor(donor, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    strength = float(rng.uniform(0.5, 1.0))
    # match the donor part to the host's skin around/under the part
    matched = colour_match(donor, host, strength, region, region)
    feather = float(rng.uniform(0.01, 0.03) * size + 0.5)
    image = composite(host, matched, feather_alpha(region, feather))
    details = {"part": part, "area": float(region.mean()), "feather": feather,
               "donor_scale": scale, "donor_shift": [float(v) for v in shift],
               "colour_match": strength}
    return image, [donor_face.source], details


def _retouch(rng: np.random.Generator, size: int, host: np.ndarray, labels: np.ndarray | None,
             boost: float, force_shift: bool) -> tuple[np.ndarray, list[str], dict]:
    """Smoothing (bilateral or Gaussian) or a colour shift inside a facial region; ``boost``
    strengthens retries, ``force_shift`` makes the last one a colour shift (always visible)."""
    region, part = _region(rng, size, labels, RETOUCH_PARTS)
    op = "colour_shift" if force_shift else \
        ("bilateral", "gaussian", "colour_shift")[int(rng.integers(3))]
    params: dict = {}
    hf = host.astype(np.float32)
    if op == "bilateral":
        sigma_space = float(rng.uniform(0.01, 0.04) * size * boost + 1.0)
        sigma_colour = float(rng.uniform(15, 60) * boost)
        d = min(9, 2 * int(round(sigma_space)) + 1)
        edited = cv2.bilateralFilter(host, d, sigma_colour, sigma_space).astype(np.float32)
        params = {"sigma_space": sigma_space, "sigma_colour": sigma_colour, "d": d}
    elif op == "gaussian":
        sigma = float(rng.uniform(0.01, 0.03) * size * boost + 0.8)
        edited = cv2.GaussianBlur(hf, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)
        params = {"sigma": sigma}
    else:
        # a tint (lipstick, blush, whitening) on colour faces, a brightness shift on grey ones
        mag = float(rng.uniform(6, 30) * boost)
        direction = rng.normal(size=3)
        if _is_grey(host):
            direction = np.full(3, np.sign(direction.sum()) or 1.0)
        direction = direction / (np.abs(direction).max() + 1e-6)
        # push away from saturation so the shift shows
        mean = hf[region].mean(0) if region.any() else hf.reshape(-1, 3).mean(0)
        direction = np.where((mean > 200) & (direction > 0), -direction, direction)
        direction = np.where((mean < 55) & (direction < 0), -direction, direction)
        edited = hf + (mag * direction).astype(np.float32)
        params = {"offset": [float(v) for v in mag * direction]}
    feather = float(rng.uniform(0.01, 0.03) * size + 0.5) if rng.random() < 0.8 else 0.0
    image = composite(host, np.clip(edited, 0, 255), feather_alpha(region, feather))
    details = {"part": part, "op": op, **params, "area": float(region.mean()),
               "feather": feather, "boost": boost}
    return image, [], details


def _resample(rng: np.random.Generator, size: int, host: np.ndarray, labels: np.ndarray | None
              ) -> tuple[np.ndarray, list[str], dict]:
    """Down by 2..4x and back up (bilinear or nearest) inside a region: the blocky/blurry
    texture that face generators and upsamplers leave."""
    region, part = _region(rng, size, labels, RESAMPLE_PARTS)
    factor = float(rng.uniform(2.0, 4.0))
    small = max(2, int(round(size / factor)))
    down = cv2.INTER_AREA if rng.random() < 0.5 else cv2.INTER_LINEAR
    up = cv2.INTER_LINEAR if rng.random() < 0.6 else cv2.INTER_NEAREST
    edited = cv2.resize(cv2.resize(host, (small, small), interpolation=down), (size, size),
                        interpolation=up)
    feather = float(rng.uniform(0.005, 0.02) * size + 0.5) if rng.random() < 0.5 else 0.0
    image = composite(host, edited, feather_alpha(region, feather))
    details = {"part": part, "factor": factor, "down": "area" if down == cv2.INTER_AREA
               else "linear", "up": "linear" if up == cv2.INTER_LINEAR else "nearest",
               "area": float(region.mean()), "feather": feather}
    return image, [], details


def generate_face(rng: np.random.Generator, size: int, sources: Sources, authentic: bool,
                  kind: str | None = None) -> SynthSample:
    """One face sample: authentic, or tampered by ``kind`` (random when None) among
    ``part_swap``, ``retouch``, ``resample``. The mask is exactly the changed pixels."""
    if kind is not None and kind not in FACE_KINDS:
        raise ValueError(f"unknown face kind {kind!r}; expected one of {FACE_KINDS}")
    face = sources.face(rng)
    host, labels = _face_image(face, size)
    if authentic:
        return SynthSample(image=host, original=host, mask=None, manipulation="authentic",
                           provenance=[face.source], details={})
    if kind is None:
        kind = FACE_KINDS[int(rng.integers(len(FACE_KINDS)))]
    for attempt in range(MAX_TRIES):
        if kind == "part_swap":
            image, donors, details = _part_swap(rng, size, sources, face, host, labels)
        elif kind == "retouch":
            # stronger on each retry; the last try is a colour shift, which always shows
            image, donors, details = _retouch(rng, size, host, labels, 1.0 + 0.5 * attempt,
                                              attempt == MAX_TRIES - 1)
        else:
            image, donors, details = _resample(rng, size, host, labels)
        mask = changed_mask(image, host)
        if mask.any():
            details["changed_area"] = float(mask.mean())
            details["attempts"] = attempt + 1
            return SynthSample(image=image, original=host, mask=mask, manipulation=kind,
                               provenance=[face.source, *donors], details=details)
    raise RuntimeError(f"{kind}: no pixel changed after {MAX_TRIES} attempts on {face.source}")
