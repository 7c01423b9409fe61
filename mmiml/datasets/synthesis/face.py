"""Face tampering for SynthIML: part swap, local retouching and generator-like resampling.

The host is a real face photo (the catalog's face boxes, see :mod:`.source_catalog`) framed at
random: the face box spans 15-50 % of the image side and sits anywhere in the frame (the frame
is a window of the photo around the face, at a uniform offset), half the time mirrored, then
taken by the source's simulated camera (:mod:`.camera`). Edits fall on the face, so they move
with it: there is no fixed place in the image where faces are edited.

Facial regions come from the face's label map when it has one (the pixels of one class),
otherwise from a facial geometry relative to the face box (our choice, fractions of the box read
off the catalog's faces; each box holds a jittered ellipse), or, for ``patch`` regions, a blob of
random size at a random place on the face:

========  ==============  ===========================
part      rows            columns
========  ==============  ===========================
eyes      0.22 - 0.42     0.12 - 0.45 and 0.55 - 0.88
nose      0.38 - 0.68     0.35 - 0.65
mouth     0.66 - 0.90     0.25 - 0.75
cheeks    0.45 - 0.75     0.08 - 0.35 and 0.65 - 0.92
forehead  0.00 - 0.22     0.15 - 0.85
face      0.00 - 1.00     0.05 - 0.95
========  ==============  ===========================

The region (filled) is the primary mask; the changed pixels are the second.
"""

from __future__ import annotations

import cv2
import numpy as np

from .camera import camera_profile, simulate_camera
from .natural import blob_region, colour_match, composite, feather_alpha
from .sources import Face, Sources
from .types import SynthSample, changed_mask

FACE_KINDS = ("part_swap", "retouch", "resample")
# (row0, row1, col0, col1) boxes relative to the face box; several boxes make one region.
FACE_PARTS: dict[str, tuple[tuple[float, float, float, float], ...]] = {
    "eyes": ((0.22, 0.42, 0.12, 0.45), (0.22, 0.42, 0.55, 0.88)),
    "nose": ((0.38, 0.68, 0.35, 0.65),),
    "mouth": ((0.66, 0.90, 0.25, 0.75),),
    "cheeks": ((0.45, 0.75, 0.08, 0.35), (0.45, 0.75, 0.65, 0.92)),
    "forehead": ((0.00, 0.22, 0.15, 0.85),),
    "face": ((0.00, 1.00, 0.05, 0.95),),
}
SWAP_PARTS = ("eyes", "nose", "mouth", "patch")
RETOUCH_PARTS = ("eyes", "nose", "mouth", "cheeks", "forehead", "face", "patch")
RESAMPLE_PARTS = ("eyes", "nose", "mouth", "face", "patch")
#: share of the image side the face box spans (our choice)
FACE_SPAN = (0.15, 0.50)
# label-map classes usable as a region: present and covering this fraction of the face
LABEL_AREA = (0.002, 0.5)
MAX_TRIES = 10

Box = tuple[float, float, float, float]  # x, y, w, h in output pixels


def frame_face(rng: np.random.Generator, size: int, face: Face
               ) -> tuple[np.ndarray, np.ndarray | None, Box, dict]:
    """The face framed at random (see the module doc): image, label map (or None), the face
    box in the output and the framing record."""
    img = face.image
    h, w = img.shape[:2]
    bx, by, bw, bh = face.box if face.box is not None else (0, 0, w, h)
    side = max(bw, bh)
    cx, cy = bx + bw / 2, by + bh / 2
    for _ in range(20):
        # where the face's centre lands in the frame (fractions of the side), uniform: a face
        # near the border is cut by it, as in real photos; the frame's size comes from the
        # drawn span, shrunk (never below the face) to fit in the photo
        u, v = (float(t) for t in rng.uniform(0.02, 0.98, 2))
        span = float(rng.uniform(*FACE_SPAN))
        fits = min(cx / u, (w - cx) / (1 - u), cy / v, (h - cy) / (1 - v))
        holds = float(side)
        if holds <= fits:
            window = float(np.clip(side / span, holds, fits))
            x0, y0 = cx - u * window, cy - v * window
            break
    else:  # no room anywhere: the largest square frame in the photo, at a uniform offset
        window = float(min(h, w))
        xs = sorted((max(0.0, bx + bw - window), max(0.0, min(bx, w - window))))
        ys = sorted((max(0.0, by + bh - window), max(0.0, min(by, h - window))))
        x0, y0 = float(rng.uniform(*xs)), float(rng.uniform(*ys))
    span = side / window
    scale = size / window
    m = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], np.float64)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    out = cv2.warpAffine(img, m, (size, size), flags=interp, borderMode=cv2.BORDER_REFLECT)
    labels = None
    if face.labels is not None:
        lab = face.labels[..., 0] if face.labels.ndim == 3 else face.labels
        labels = cv2.warpAffine(np.asarray(lab, np.uint8), m, (size, size),
                                flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT)
    box: Box = ((bx - x0) * scale, (by - y0) * scale, bw * scale, bh * scale)
    flip = bool(rng.random() < 0.5)
    if flip:
        out = np.ascontiguousarray(out[:, ::-1])
        labels = None if labels is None else np.ascontiguousarray(labels[:, ::-1])
        box = (size - box[0] - box[2], box[1], box[2], box[3])
    record = {"face_box": [round(v, 2) for v in box], "span": round(span, 4), "mirrored": flip}
    return out, labels, box, record


def _is_grey(img: np.ndarray) -> bool:
    return bool((img[..., 0] == img[..., 1]).all() and (img[..., 1] == img[..., 2]).all())


def _geometry_region(rng: np.random.Generator, size: int, box: Box, part: str) -> np.ndarray:
    """The union of jittered ellipses inscribed in the part's boxes (HxW bool); a ``patch`` is
    a blob of 3-25 % of the face box's area at a random place on it."""
    bx, by, bw, bh = box
    if part == "patch":
        area = float(np.exp(rng.uniform(np.log(0.03), np.log(0.25)))) * bw * bh / size ** 2
        centre = (by + float(rng.uniform(0.15, 0.85)) * bh,
                  bx + float(rng.uniform(0.15, 0.85)) * bw)
        return blob_region(rng, (size, size), area, centre=centre)
    region = np.zeros((size, size), np.uint8)
    # one jitter for the whole part (both eyes move together)
    sy, sx = rng.uniform(-0.03, 0.03, 2)
    scale = rng.uniform(0.85, 1.1)
    for r0, r1, c0, c1 in FACE_PARTS[part]:
        cy, cx = by + ((r0 + r1) / 2 + sy) * bh, bx + ((c0 + c1) / 2 + sx) * bw
        ay, ax = (r1 - r0) / 2 * scale * bh, (c1 - c0) / 2 * scale * bw
        centre = (int(round(cx * 16)), int(round(cy * 16)))
        axes = (max(16, int(round(ax * 16))), max(16, int(round(ay * 16))))
        cv2.ellipse(region, centre, axes, float(rng.uniform(-8, 8)), 0, 360, 1, -1,
                    cv2.LINE_8, 4)
    return region.astype(bool)


def _region(rng: np.random.Generator, size: int, box: Box, labels: np.ndarray | None,
            parts: tuple[str, ...]) -> tuple[np.ndarray, str]:
    """A facial region and its name: one label-map class when the face has a usable label
    map, else a part of the geometry (or a patch)."""
    if labels is not None:
        classes, counts = np.unique(labels, return_counts=True)
        frac = counts / labels.size
        ok = classes[(classes != 0) & (frac >= LABEL_AREA[0]) & (frac <= LABEL_AREA[1])]
        if len(ok):
            cls = int(ok[int(rng.integers(len(ok)))])
            return labels == cls, f"label:{cls}"
    part = parts[int(rng.integers(len(parts)))]
    region = _geometry_region(rng, size, box, part)
    if not region.any():  # a part outside the frame: the whole face instead
        region, part = _geometry_region(rng, size, box, "face"), "face"
    return region, part


def _part_swap(rng: np.random.Generator, size: int, sources: Sources, face: Face,
               host: np.ndarray, box: Box, labels: np.ndarray | None
               ) -> tuple[np.ndarray, np.ndarray, list[str], dict]:
    """Another person's face part, aligned onto this face's box (roughly, as a forger would)
    and through the donor photo's own camera."""
    others = [f for f in sources.faces if f.identity != face.identity] or sources.faces
    donor_face = others[int(rng.integers(len(others)))]
    dx, dy, dw, dh = donor_face.box if donor_face.box is not None else \
        (0, 0, donor_face.image.shape[1], donor_face.image.shape[0])
    bx, by, bw, bh = box
    scale = float(rng.uniform(0.92, 1.08))
    sx, sy = bw / dw * scale, bh / dh * scale
    shift = rng.uniform(-0.04, 0.04, 2) * np.array([bw, bh])
    m = np.array([[sx, 0, bx - dx * sx + shift[0]], [0, sy, by - dy * sy + shift[1]]])
    donor = cv2.warpAffine(donor_face.image, m, (size, size), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT)
    donor, _ = simulate_camera(donor, camera_profile(donor_face.source), rng)
    if _is_grey(host) and not _is_grey(donor):
        donor = np.repeat(cv2.cvtColor(donor, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    region, part = _region(rng, size, box, labels, SWAP_PARTS)
    strength = float(rng.uniform(0.5, 1.0))
    # match the donor part to the host's skin around/under the part
    matched = colour_match(donor, host, strength, region, region)
    feather = float(rng.uniform(0.01, 0.03) * size + 0.5)
    image = composite(host, matched, feather_alpha(region, feather))
    details = {"part": part, "area": float(region.mean()), "feather": feather,
               "donor_scale": scale, "donor_shift": [float(v) for v in shift],
               "colour_match": strength}
    return image, region, [donor_face.source], details


def _retouch(rng: np.random.Generator, size: int, host: np.ndarray, box: Box,
             labels: np.ndarray | None, boost: float, force_shift: bool
             ) -> tuple[np.ndarray, np.ndarray, list[str], dict]:
    """Smoothing (bilateral or Gaussian) or a colour shift inside a facial region; ``boost``
    strengthens retries, ``force_shift`` makes the last one a colour shift (always visible)."""
    region, part = _region(rng, size, box, labels, RETOUCH_PARTS)
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
    return image, region, [], details


def _resample(rng: np.random.Generator, size: int, host: np.ndarray, box: Box,
              labels: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, list[str], dict]:
    """Down by 2..4x and back up (bilinear or nearest) inside a region: the blocky/blurry
    texture that face generators and upsamplers leave."""
    region, part = _region(rng, size, box, labels, RESAMPLE_PARTS)
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
    return image, region, [], details


def generate_face(rng: np.random.Generator, size: int, sources: Sources, authentic: bool,
                  kind: str | None = None) -> SynthSample:
    """One face sample: authentic, or tampered by ``kind`` (random when None) among
    ``part_swap``, ``retouch``, ``resample``. The region is the edited facial region (filled),
    the mask exactly the changed pixels."""
    if kind is not None and kind not in FACE_KINDS:
        raise ValueError(f"unknown face kind {kind!r}; expected one of {FACE_KINDS}")
    face = sources.face(rng)
    framed, labels, box, framing = frame_face(rng, size, face)
    host, camera = simulate_camera(framed, camera_profile(face.source), rng)
    base = {**framing, "host_camera": camera, "identity": face.identity}
    if authentic:
        return SynthSample(image=host, original=host, mask=None, manipulation="authentic",
                           provenance=[face.source], details=base)
    if kind is None:
        kind = FACE_KINDS[int(rng.integers(len(FACE_KINDS)))]
    for attempt in range(MAX_TRIES):
        if kind == "part_swap":
            image, region, donors, details = _part_swap(rng, size, sources, face, host, box,
                                                        labels)
        elif kind == "retouch":
            # stronger on each retry; the last try is a colour shift, which always shows
            image, region, donors, details = _retouch(rng, size, host, box, labels,
                                                      1.0 + 0.5 * attempt,
                                                      attempt == MAX_TRIES - 1)
        else:
            image, region, donors, details = _resample(rng, size, host, box, labels)
        mask = changed_mask(image, host)
        if mask.any():
            details.update(base, changed_area=float(mask.mean()), attempts=attempt + 1)
            return SynthSample(image=image, original=host, mask=mask, manipulation=kind,
                               provenance=[face.source, *donors], details=details,
                               region=np.asarray(region, np.uint8))
    raise RuntimeError(f"{kind}: no pixel changed after {MAX_TRIES} attempts on {face.source}")
