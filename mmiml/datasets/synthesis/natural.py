"""Natural-image tampering for SynthIML: splicing, copy-move, inpainting and resampling.

Each manipulation is made the way a forger would make it, so that the traces are the ones real
detectors rely on:

* every host is a crop of a real photograph at a random position and scale, taken again by its
  source's simulated camera (:mod:`.camera`: CFA and demosaicing, sensor noise, gamma, in-camera
  JPEG on a shifted grid);
* ``splice``: the donor comes from another photograph, so through another camera (another CFA,
  noise level, gamma and JPEG grid), cropped at another scale, colour-matched towards the host
  and pasted with a hard, feathered, semi-transparent (alpha) or Poisson-blended
  (``cv2.seamlessClone``) edge;
* ``copy_move``: a region of the same image, rotated, scaled and, half the time, relit (gain and
  offset), pasted elsewhere;
* ``inpaint``: an object removed by OpenCV's Telea or Navier-Stokes inpainting;
* ``resample``: a region enlarged or shrunk in place (an object made bigger or smaller),
  bilinear or bicubic.

Regions are placed anywhere in the frame, and may be cut by its border (our choice: no
location prior). Two masks come out (:class:`~.types.SynthSample`): the *region* the edit
covered, filled (the primary mask, as real datasets label it), and the *changed pixels*.

The helpers (:func:`blob_region`, :func:`feather_alpha`, :func:`colour_match`,
:func:`composite`, :func:`changed_mask`) are shared with the face generator.
"""

from __future__ import annotations

import cv2
import numpy as np

from .camera import camera_profile, simulate_camera
from .sources import Sources, procedural_background, random_crop
from .types import SynthSample, changed_mask

NATURAL_KINDS = ("splice", "copy_move", "inpaint", "resample")
# Attempts before giving up on a non-empty mask (a draw can change nothing, e.g. a flat region).
MAX_TRIES = 10


# ----------------------------------------------------------------------------- shared helpers
def blob_region(rng: np.random.Generator, shape: tuple[int, int], area: float,
                centre: tuple[float, float] | None = None) -> np.ndarray:
    """An object-like region: a smoothed random star polygon of about ``area`` x H x W pixels.

    Radii around the centre are random values smoothed circularly (our choice: 3 passes of a
    [1, 2, 1] filter over 24 vertices), giving irregular but plausible outlines. The centre is
    drawn so the blob mostly fits. Returns an HxW bool array.
    """
    h, w = shape
    r0 = np.sqrt(area * h * w / np.pi)
    n = 24
    radii = rng.uniform(0.55, 1.45, n)
    for _ in range(3):
        radii = 0.25 * np.roll(radii, 1) + 0.5 * radii + 0.25 * np.roll(radii, -1)
    # elongation: real objects are rarely round
    aspect = rng.uniform(0.6, 1.0)
    theta0 = rng.uniform(0, 2 * np.pi)
    angles = np.sort(rng.uniform(0, 2 * np.pi, n)) if rng.random() < 0.5 else \
        np.linspace(0, 2 * np.pi, n, endpoint=False)
    if centre is None:
        my, mx = min(r0, h / 2 - 1), min(r0, w / 2 - 1)
        centre = (rng.uniform(my, h - my), rng.uniform(mx, w - mx))
    cy, cx = centre
    ux, uy = np.cos(angles) * radii * r0 / np.sqrt(aspect), np.sin(angles) * radii * r0 * \
        np.sqrt(aspect)
    c, s = np.cos(theta0), np.sin(theta0)
    xs, ys = cx + c * ux - s * uy, cy + s * ux + c * uy
    pts = np.round(np.stack([xs, ys], 1) * 16).astype(np.int32)  # 4 fractional bits
    region = np.zeros((h, w), np.uint8)
    cv2.fillPoly(region, [pts], 1, lineType=cv2.LINE_8, shift=4)
    return region.astype(bool)


def feather_alpha(region: np.ndarray, feather: float) -> np.ndarray:
    """Blend weights in [0, 1] (HxW float32): the region itself for ``feather`` 0 (hard edge),
    otherwise the region blurred by a Gaussian of sigma ``feather`` (soft edge both sides)."""
    alpha = region.astype(np.float32)
    if feather > 0:
        alpha = cv2.GaussianBlur(alpha, (0, 0), sigmaX=float(feather),
                                 borderType=cv2.BORDER_REFLECT)
    return alpha


def colour_match(donor: np.ndarray, target: np.ndarray, strength: float,
                 donor_px: np.ndarray | None = None,
                 target_px: np.ndarray | None = None) -> np.ndarray:
    """Moves the donor's per-channel mean/std towards the target's by ``strength`` in [0, 1].

    Statistics come from the pixels selected by ``donor_px`` / ``target_px`` (HxW bool) when
    given, else from the whole image. Returns a float32 image (not clipped).
    """
    d = donor.astype(np.float32)
    dsel = d[donor_px] if donor_px is not None and donor_px.any() else d.reshape(-1, 3)
    t = target.astype(np.float32)
    tsel = t[target_px] if target_px is not None and target_px.any() else t.reshape(-1, 3)
    dm, ds = dsel.mean(0), dsel.std(0) + 1e-3
    tm, ts = tsel.mean(0), tsel.std(0) + 1e-3
    # partial match: interpolate the statistics, then renormalise
    gain = (1 - strength) + strength * np.clip(ts / ds, 0.25, 4.0)
    mean = (1 - strength) * dm + strength * tm
    return (d - dm) * gain + mean


def composite(host: np.ndarray, donor: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``alpha * donor + (1 - alpha) * host``, rounded to uint8; where alpha is 0 the host
    comes back bit-exact."""
    hf = host.astype(np.float32)
    out = hf + alpha[..., None] * (np.asarray(donor, np.float32) - hf)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def draw_area(rng: np.random.Generator, lo: float = 0.03, hi: float = 0.30) -> float:
    """A region area fraction, log-uniform in [lo, hi] (our choice: small objects as common
    as large ones)."""
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def draw_feather(rng: np.random.Generator, size: int) -> float:
    """Hard edge half the time, else a Gaussian feather of sigma 0.5..2.5 % of the side
    (our choice)."""
    if rng.random() < 0.5:
        return 0.0
    return float(rng.uniform(0.005, 0.025) * size + 0.5)


# ----------------------------------------------------------------------------- host and kinds
#: edge treatments of a splice, drawn uniformly (our choice)
SPLICE_EDGES = ("hard", "feather", "alpha", "poisson")
# a placed region keeps at least this share of its drawn area inside the frame
MIN_INSIDE = 0.35


def placed_region(rng: np.random.Generator, shape: tuple[int, int], area: float
                  ) -> np.ndarray:
    """A :func:`blob_region` whose centre is uniform over the whole frame, clipped by the
    border (redrawn until at least :data:`MIN_INSIDE` of it is inside)."""
    h, w = shape
    for _ in range(20):
        centre = (float(rng.uniform(0, h)), float(rng.uniform(0, w)))
        region = blob_region(rng, shape, area, centre=centre)
        if region.mean() >= MIN_INSIDE * area:
            return region
    return blob_region(rng, shape, area)


def camera_crop(rng: np.random.Generator, sid: str, photo: np.ndarray, size: int,
                scale_range: tuple[float, float]) -> tuple[np.ndarray, dict]:
    """A crop of ``photo`` at a random position and scale, through the camera of ``sid``."""
    crop = random_crop(photo, size, rng, scale_range)
    return simulate_camera(crop, camera_profile(sid), rng)


def _host(rng: np.random.Generator, size: int, sources: Sources
          ) -> tuple[str, np.ndarray, dict]:
    """A random photo crop (rescaled 1..3x of the fitted size) through its camera; a
    procedural background only when there are no photos."""
    if not sources.photos:
        sid, img = procedural_background(rng, size)
        return sid, img, {}
    sid, photo = sources.photo(rng)
    img, record = camera_crop(rng, sid, photo, size, (1.0, 3.0))
    return sid, img, record


def _poisson(host: np.ndarray, donor: np.ndarray, region: np.ndarray, mixed: bool
             ) -> np.ndarray | None:
    """Poisson blending of ``donor`` into ``host`` inside ``region`` (``cv2.seamlessClone``;
    None where OpenCV cannot solve). The images are padded by reflection first, so a region cut
    by the frame's border still has a boundary to solve against."""
    pad = 4
    host_p = cv2.copyMakeBorder(host, pad, pad, pad, pad, cv2.BORDER_REFLECT)
    donor_p = cv2.copyMakeBorder(donor, pad, pad, pad, pad, cv2.BORDER_REFLECT)
    mask = cv2.copyMakeBorder((region * 255).astype(np.uint8), pad, pad, pad, pad,
                              cv2.BORDER_CONSTANT, value=0)
    ys, xs = np.nonzero(mask)
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())
    # seamlessClone centres the mask's bounding box on ``p``: this keeps the donor in place
    p = ((x0 + x1 + 1) // 2, (y0 + y1 + 1) // 2)
    flag = cv2.MIXED_CLONE if mixed else cv2.NORMAL_CLONE
    try:
        out = cv2.seamlessClone(donor_p, host_p, mask, p, flag)
    except cv2.error:
        return None
    out = np.ascontiguousarray(out[pad:-pad, pad:-pad])
    # outside the region the host comes back unchanged (the solver may touch a 1 px seam)
    outside = ~region.astype(bool)
    out[outside] = host[outside]
    return out


def _splice(rng: np.random.Generator, size: int, sources: Sources, host_id: str,
            host: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str], dict]:
    # donor: another photo, cropped at another scale, through its own camera
    others = [i for i, (sid, _) in enumerate(sources.photos) if sid != host_id]
    details: dict = {}
    if others:
        donor_id, donor_img = sources.photos[others[int(rng.integers(len(others)))]]
        donor_scale = float(rng.uniform(0.7, 4.0))
        donor, cam = camera_crop(rng, donor_id, donor_img, size, (donor_scale, donor_scale))
        details["donor_camera"] = cam
    else:
        donor_id, donor = procedural_background(rng, size)
        donor_scale = 1.0
    area = draw_area(rng)
    region = placed_region(rng, (size, size), area)
    strength = float(rng.uniform(0.0, 1.0))
    matched = np.clip(colour_match(donor, host, strength, region, None), 0, 255)
    edge = SPLICE_EDGES[int(rng.integers(len(SPLICE_EDGES)))]
    image = None
    if edge == "poisson":
        image = _poisson(host, matched.astype(np.uint8), region, bool(rng.random() < 0.3))
        if image is None:
            edge = "feather"
    feather = 0.0
    opacity = 1.0
    if image is None:
        if edge in ("feather", "alpha"):
            feather = draw_feather(rng, size) or float(0.01 * size + 0.5)
        if edge == "alpha":
            opacity = float(rng.uniform(0.6, 0.95))
        image = composite(host, matched, opacity * feather_alpha(region, feather))
    details.update({"area": float(region.mean()), "target_area": area, "edge": edge,
                    "feather": feather, "opacity": opacity, "donor_scale": donor_scale,
                    "colour_match": strength})
    return image, region, [donor_id], details


def _copy_move(rng: np.random.Generator, size: int, host: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, list[str], dict]:
    area = draw_area(rng, 0.03, 0.20)
    scale = float(rng.uniform(0.7, 1.4))
    angle = float(rng.uniform(-45.0, 45.0)) if rng.random() < 0.7 else 0.0
    r = np.sqrt(area / np.pi) * size
    # source centre anywhere the blob fits; target centre anywhere in the frame, at least one
    # radius away
    margin = min(r, size / 2 - 1)
    src = rng.uniform(margin, size - margin, 2)
    dst = rng.uniform(0, size, 2)
    for _ in range(8):
        if np.hypot(*(dst - src)) >= r:
            break
        dst = rng.uniform(0, size, 2)
    region = blob_region(rng, (size, size), area, centre=(float(src[0]), float(src[1])))
    # rotation + scaling about the source centre, then translation to the target (x, y order)
    m = cv2.getRotationMatrix2D((float(src[1]), float(src[0])), angle, scale)
    m[:, 2] += (dst[1] - src[1], dst[0] - src[0])
    interp = cv2.INTER_LINEAR if rng.random() < 0.7 else cv2.INTER_CUBIC
    warped = cv2.warpAffine(host, m, (size, size), flags=interp, borderMode=cv2.BORDER_REFLECT)
    gain, offset = 1.0, 0.0
    if rng.random() < 0.5:  # relit: the copy is brighter or darker than where it came from
        gain, offset = float(rng.uniform(0.8, 1.2)), float(rng.uniform(-15, 15))
        warped = np.clip(warped.astype(np.float32) * gain + offset, 0, 255)
    target = cv2.warpAffine(region.astype(np.float32), m, (size, size),
                            flags=cv2.INTER_LINEAR) > 0.5
    if not target.any():  # moved out of the frame: keep the copy at its source's scale
        target = region
    feather = draw_feather(rng, size)
    image = composite(host, warped, feather_alpha(target, feather))
    details = {"area": float(target.mean()), "scale": scale, "angle": angle, "feather": feather,
               "gain": gain, "offset": offset,
               "source_centre": [float(v) for v in src], "target_centre": [float(v) for v in dst],
               "interpolation": "linear" if interp == cv2.INTER_LINEAR else "cubic"}
    return image, target, [], details


def _inpaint(rng: np.random.Generator, size: int, host: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, list[str], dict]:
    area = draw_area(rng, 0.02, 0.15)
    region = placed_region(rng, (size, size), area)
    # a forger's brush overshoots the object a little
    grow = int(rng.integers(0, 3))
    region_u8 = region.astype(np.uint8)
    if grow:
        region_u8 = cv2.dilate(region_u8, np.ones((2 * grow + 1,) * 2, np.uint8))
    method = "telea" if rng.random() < 0.5 else "ns"
    radius = float(rng.uniform(2.0, 8.0))
    image = cv2.inpaint(host, region_u8, radius,
                        cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS)
    details = {"area": float(region_u8.mean()), "method": method, "radius": radius,
               "grow": grow}
    return image, region_u8, [], details


def _resample(rng: np.random.Generator, size: int, host: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, list[str], dict]:
    """An object enlarged or shrunk in place: the content inside a region, warped about the
    region's centre by a scale away from 1 and a small rotation."""
    area = draw_area(rng, 0.03, 0.20)
    region = placed_region(rng, (size, size), area)
    ys, xs = np.nonzero(region)
    cy, cx = float(ys.mean()), float(xs.mean())
    scale = float(rng.uniform(1.15, 1.5)) if rng.random() < 0.5 else float(rng.uniform(0.7, 0.87))
    angle = float(rng.uniform(-10.0, 10.0))
    m = cv2.getRotationMatrix2D((cx, cy), angle, scale)
    interp = cv2.INTER_LINEAR if rng.random() < 0.5 else cv2.INTER_CUBIC
    warped = cv2.warpAffine(host, m, (size, size), flags=interp, borderMode=cv2.BORDER_REFLECT)
    feather = draw_feather(rng, size)
    image = composite(host, warped, feather_alpha(region, feather))
    details = {"area": float(region.mean()), "scale": scale, "angle": angle, "feather": feather,
               "interpolation": "linear" if interp == cv2.INTER_LINEAR else "cubic"}
    return image, region, [], details


def generate_natural(rng: np.random.Generator, size: int, sources: Sources, authentic: bool,
                     kind: str | None = None) -> SynthSample:
    """One natural-image sample: authentic, or tampered by ``kind`` (random when None) among
    :data:`NATURAL_KINDS`. The region is the edited area (filled), the mask exactly the changed
    pixels; ``details['host_camera']`` records the host's camera."""
    if kind is not None and kind not in NATURAL_KINDS:
        raise ValueError(f"unknown natural kind {kind!r}; expected one of {NATURAL_KINDS}")
    host_id, host, camera = _host(rng, size, sources)
    if authentic:
        return SynthSample(image=host, original=host, mask=None, manipulation="authentic",
                           provenance=[host_id], details={"host_camera": camera})
    if kind is None:
        kind = NATURAL_KINDS[int(rng.integers(len(NATURAL_KINDS)))]
    for attempt in range(MAX_TRIES):
        if kind == "splice":
            image, region, donors, details = _splice(rng, size, sources, host_id, host)
        elif kind == "copy_move":
            image, region, donors, details = _copy_move(rng, size, host)
        elif kind == "inpaint":
            image, region, donors, details = _inpaint(rng, size, host)
        else:
            image, region, donors, details = _resample(rng, size, host)
        mask = changed_mask(image, host)
        if mask.any():
            details["changed_area"] = float(mask.mean())
            details["attempts"] = attempt + 1
            details["host_camera"] = camera
            return SynthSample(image=image, original=host, mask=mask, manipulation=kind,
                               provenance=[host_id, *donors], details=details,
                               region=np.asarray(region, np.uint8))
    raise RuntimeError(f"{kind}: no pixel changed after {MAX_TRIES} attempts on {host_id}")
