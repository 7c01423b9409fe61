"""SynthIML's forgery traces do what they say: cameras differ by source and leave their CFA, the
in-camera JPEG grid is where it is recorded, region masks are solid and cover the edit, re-typed
text is spaced differently, and no task rewards a location prior."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mmiml.datasets.synthesis.camera import (
    CameraProfile,
    camera_profile,
    jpeg_with_grid_offset,
    simulate_camera,
)
from mmiml.datasets.synthesis.face import generate_face
from mmiml.datasets.synthesis.natural import NATURAL_KINDS, generate_natural
from mmiml.datasets.synthesis.scene_text import generate_scene_text
from mmiml.datasets.synthesis.sources import Sources, load_sources
from mmiml.datasets.synthesis.types import fill_region
from mmiml.datasets.synthesis.typography import draw_text


@pytest.fixture(scope="module")
def sources() -> Sources:
    return load_sources()


def test_camera_is_a_function_of_the_source_and_differs_between_sources():
    assert camera_profile("pkg:a.jpg") == camera_profile("pkg:a.jpg")
    profiles = {camera_profile(f"pkg:{i}.jpg") for i in range(40)}
    assert len({p.cfa for p in profiles}) == 4
    assert len({p.demosaic for p in profiles}) == 3
    assert len({p.jpeg_quality for p in profiles}) > 5 and None in {p.jpeg_quality
                                                                    for p in profiles}


@pytest.mark.parametrize("cfa,red_site", [("RGGB", (0, 0)), ("BGGR", (1, 1)),
                                          ("GRBG", (0, 1)), ("GBRG", (1, 0))])
def test_cfa_layout_keeps_red_only_at_its_red_sites(cfa, red_site):
    """Noise-free, bilinear, no JPEG: the red channel survives (to rounding) at the layout's
    red sites and is interpolated everywhere else."""
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (32, 32, 3), np.uint8)
    cam = CameraProfile(cfa, "bilinear", 2.2, 0.0, 0.0, None)
    out, record = simulate_camera(img, cam, rng)
    assert record["camera"]["cfa"] == cfa and "camera_grid" not in record
    err = np.abs(out[..., 0].astype(int) - img[..., 0].astype(int))[2:-2, 2:-2]
    ry, rx = red_site
    at_sites = err[(ry - 2) % 2::2, (rx - 2) % 2::2]
    assert at_sites.max() <= 1
    elsewhere = np.ones_like(err, bool)
    elsewhere[(ry - 2) % 2::2, (rx - 2) % 2::2] = False
    assert err[elsewhere].mean() > 20


@pytest.mark.parametrize("dy,dx", [(0, 0), (3, 5), (7, 1)])
def test_in_camera_jpeg_grid_sits_at_the_recorded_offset(dy, dx):
    """The block boundaries of the compressed crop fall where the grid offset says."""
    rng = np.random.default_rng(1)
    import cv2

    noise = rng.integers(0, 256, (96, 96, 3), np.uint8).astype(np.float32)
    smooth = np.clip(cv2.GaussianBlur(noise, (0, 0), 2.5) * 3 - 256, 0, 255).astype(np.uint8)
    out = jpeg_with_grid_offset(smooth, 30, dy, dx).astype(np.float32)
    col_jump = np.abs(np.diff(out, axis=1)).mean((0, 2))  # jump between column x and x+1
    row_jump = np.abs(np.diff(out, axis=0)).mean((1, 2))
    col_phase = [col_jump[p::8].mean() for p in range(8)]
    row_phase = [row_jump[p::8].mean() for p in range(8)]
    # a boundary lies between x and x+1 where (x + 1 + dx) % 8 == 0
    assert int(np.argmax(col_phase)) == (-dx - 1) % 8
    assert int(np.argmax(row_phase)) == (-dy - 1) % 8


@pytest.mark.parametrize("kind", NATURAL_KINDS)
def test_natural_region_is_solid_and_covers_the_edit(sources, kind):
    for seed in range(4):
        s = generate_natural(np.random.default_rng(seed), 96, sources, False, kind=kind)
        region, changed = s.region.astype(bool), s.mask.astype(bool)
        assert np.array_equal(fill_region(region), region)
        # feathered tails may leave the region (it is the object, not its halo), but the
        # two masks overlap for most of the smaller one
        assert (changed & region).sum() >= 0.5 * min(changed.sum(), region.sum()), (kind, seed)
        assert "host_camera" in s.details


def test_splices_bring_another_camera(sources):
    seen_edges = set()
    for seed in range(16):
        s = generate_natural(np.random.default_rng(seed), 96, sources, False, kind="splice")
        seen_edges.add(s.details["edge"])
        donor, host = s.details.get("donor_camera"), s.details["host_camera"]
        assert donor is not None and s.provenance[1] != s.provenance[0]
        assert donor["camera"] == camera_profile(s.provenance[1]).record()
        assert host["camera"] == camera_profile(s.provenance[0]).record()
    assert seen_edges == {"hard", "feather", "alpha", "poisson"}


def _centre_blob_vs_all_tampered(regions: list[np.ndarray]) -> tuple[float, float]:
    size = regions[0].shape[0]
    yy, xx = np.mgrid[0:size, 0:size]
    disc = (yy - (size - 1) / 2) ** 2 + (xx - (size - 1) / 2) ** 2 <= 0.1 * size * size / np.pi
    ious = [(r & disc).sum() / (r | disc).sum() for r in regions]
    return float(np.mean(ious)), float(np.mean([r.mean() for r in regions]))


@pytest.mark.parametrize("gen", [generate_face, generate_scene_text, generate_natural])
def test_no_location_prior(sources, gen):
    """A centred disc scores no better than "all tampered" (within 3 IoU points)."""
    regions = [gen(np.random.default_rng(seed), 64, sources, False).region.astype(bool)
               for seed in range(120)]
    centre, everything = _centre_blob_vs_all_tampered(regions)
    assert centre <= everything + 0.03, (centre, everything)


def test_faces_land_anywhere_in_the_frame(sources):
    centres = np.array([
        [v + w / 2 for v, w in zip(s.details["face_box"][:2], s.details["face_box"][2:])]
        for s in (generate_face(np.random.default_rng(seed), 64, sources, True)
                  for seed in range(80))])
    for axis in (0, 1):
        # every quarter of each axis holds face centres
        counts = np.histogram(centres[:, axis], bins=4, range=(0, 64))[0]
        assert counts.min() >= 8, counts


def test_tracking_spreads_the_letters():
    from pathlib import Path

    import matplotlib
    from PIL import ImageFont

    font = ImageFont.truetype(str(Path(matplotlib.get_data_path())
                                  / "fonts/ttf/DejaVuSans.ttf"), 20)

    def ink_width(tracking: float) -> int:
        img = Image.new("L", (300, 40), 0)
        draw_text(ImageDraw.Draw(img), 10, 30, "FORGERY", font, 255, tracking)
        xs = np.nonzero(np.asarray(img).max(0))[0]
        return int(xs.max() - xs.min())

    plain = ink_width(0.0)
    assert abs(ink_width(3.0) - (plain + 18)) <= 1  # 6 gaps x 3 px
    assert abs(ink_width(-1.0) - (plain - 6)) <= 1
