"""Per-source camera simulation: the traces a real camera leaves, different for every source.

A crop of a source photo is treated as the scene and taken again by that source's simulated
camera (our choice, after the usual pipeline of camera-model forensics):

1. linearise with the camera's gamma;
2. sample through a colour filter array (one of the four Bayer layouts);
3. add sensor noise (signal-dependent shot noise plus read noise);
4. demosaic (OpenCV's bilinear, edge-aware or VNG interpolation);
5. re-apply the gamma and quantise to 8 bits;
6. optionally store as in-camera JPEG, with the crop's 8x8 grid offset from the final image's
   grid (the photo was cropped after it was taken).

The camera's settings are a function of the source id alone (:func:`camera_profile`), so every
crop of one photo shares its camera, and a splice from another photo brings another camera's
CFA, noise level, gamma and JPEG grid into the host. The noise and the grid offset are drawn from
the sample's own random stream.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from .postprocess import decode, encode_jpeg

#: Bayer layout -> OpenCV demosaicing codes (bilinear, edge-aware, VNG)
_BAYER = {
    "RGGB": (cv2.COLOR_BayerRGGB2RGB, cv2.COLOR_BayerRGGB2RGB_EA, cv2.COLOR_BayerRGGB2RGB_VNG),
    "BGGR": (cv2.COLOR_BayerBGGR2RGB, cv2.COLOR_BayerBGGR2RGB_EA, cv2.COLOR_BayerBGGR2RGB_VNG),
    "GRBG": (cv2.COLOR_BayerGRBG2RGB, cv2.COLOR_BayerGRBG2RGB_EA, cv2.COLOR_BayerGRBG2RGB_VNG),
    "GBRG": (cv2.COLOR_BayerGBRG2RGB, cv2.COLOR_BayerGBRG2RGB_EA, cv2.COLOR_BayerGBRG2RGB_VNG),
}
DEMOSAIC = ("bilinear", "edge_aware", "vng")
#: (row, col) of the red and blue samples in each 2x2 Bayer tile; green fills the rest
_SITES = {"RGGB": ((0, 0), (1, 1)), "BGGR": ((1, 1), (0, 0)), "GRBG": ((0, 1), (1, 0)),
          "GBRG": ((1, 0), (0, 1))}


@dataclass(frozen=True)
class CameraProfile:
    """One simulated camera (all values our choice, spanning phones to older compacts)."""

    cfa: str
    demosaic: str
    gamma: float
    #: shot-noise gain (variance per unit of linear signal) and read-noise sigma, both on a
    #: 0-1 linear scale
    shot: float
    read: float
    #: in-camera JPEG quality, or None for a camera that stores raw/PNG
    jpeg_quality: int | None

    def record(self) -> dict[str, Any]:
        return {k: (round(v, 5) if isinstance(v, float) else v)
                for k, v in asdict(self).items()}


def camera_profile(source_id: str) -> CameraProfile:
    """The camera of a source: a pure function of its id (the same on every machine)."""
    seed = int.from_bytes(hashlib.sha256(source_id.encode()).digest()[:8], "little")
    rng = np.random.default_rng(seed)
    cfa = ("RGGB", "BGGR", "GRBG", "GBRG")[int(rng.integers(4))]
    demosaic = DEMOSAIC[int(rng.integers(len(DEMOSAIC)))]
    gamma = float(rng.uniform(1.8, 2.4))
    shot = float(np.exp(rng.uniform(np.log(2e-5), np.log(4e-4))))
    read = float(np.exp(rng.uniform(np.log(5e-4), np.log(6e-3))))
    quality = None if rng.random() < 0.2 else int(rng.integers(75, 99))
    return CameraProfile(cfa, demosaic, gamma, shot, read, quality)


def mosaic(img: np.ndarray, cfa: str) -> np.ndarray:
    """The single-channel Bayer image a sensor with layout ``cfa`` records of ``img``."""
    (ry, rx), (by, bx) = _SITES[cfa]
    out = img[..., 1].copy()
    out[ry::2, rx::2] = img[ry::2, rx::2, 0]
    out[by::2, bx::2] = img[by::2, bx::2, 2]
    return out


def simulate_camera(img: np.ndarray, profile: CameraProfile, rng: np.random.Generator
                    ) -> tuple[np.ndarray, dict[str, Any]]:
    """``img`` (HxWx3 uint8, the scene) as the camera of ``profile`` records it; returns the
    image and the record of what was done (profile, noise drawn, JPEG grid offset)."""
    h, w = img.shape[:2]
    linear = (img.astype(np.float32) / 255.0) ** profile.gamma
    raw = mosaic(linear, profile.cfa)
    sigma = np.sqrt(profile.shot * raw + profile.read ** 2)
    raw = np.clip(raw + rng.standard_normal(raw.shape).astype(np.float32) * sigma, 0.0, 1.0)
    # demosaic on 16 bits, then back to the display gamma and 8 bits
    raw16 = np.round(raw * 65535.0).astype(np.uint16)
    code = _BAYER[profile.cfa][DEMOSAIC.index(profile.demosaic)]
    if profile.demosaic == "vng":  # OpenCV's VNG takes 8 bits only
        rgb = cv2.demosaicing(np.round(raw * 255.0).astype(np.uint8), code).astype(np.float32)
        rgb /= 255.0
    else:
        rgb = cv2.demosaicing(raw16, code).astype(np.float32) / 65535.0
    out = np.clip(np.round(np.clip(rgb, 0, 1) ** (1.0 / profile.gamma) * 255.0), 0, 255)
    out = out.astype(np.uint8)
    record: dict[str, Any] = {"camera": profile.record()}
    if profile.jpeg_quality is not None:
        dy, dx = (int(v) for v in rng.integers(0, 8, 2))
        out = jpeg_with_grid_offset(out, profile.jpeg_quality, dy, dx)
        record["camera_grid"] = [dy, dx]
    return out, record


def jpeg_with_grid_offset(img: np.ndarray, quality: int, dy: int, dx: int) -> np.ndarray:
    """A JPEG round trip whose 8x8 grid starts ``(dy, dx)`` pixels before the image's corner:
    the image is padded by reflection, compressed and cropped back (a crop after compression).
    """
    if dy == 0 and dx == 0:
        return decode(encode_jpeg(img, quality))
    padded = cv2.copyMakeBorder(img, dy, 0, dx, 0, cv2.BORDER_REFLECT)
    return np.ascontiguousarray(decode(encode_jpeg(padded, quality))[dy:, dx:])
