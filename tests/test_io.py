"""Tests for mmiml.datasets.io: image/mask loading, conversions and named errors."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmiml.datasets.io import load_image, load_mask, mask_to_boxes, validate_entry
from mmiml.utils.errors import IMLDataError


def rand_rgb(h: int = 24, w: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def square_mask(h: int = 24, w: int = 32) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    m[5:15, 8:20] = 1
    return m


def save(arr: np.ndarray, path: Path, **kw) -> Path:
    Image.fromarray(arr).save(path, **kw)
    return path


def png_with_size(path: Path, width: int, height: int) -> Path:
    """A PNG whose (valid, CRC-checked) IHDR declares ``width x height``."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )
    return path


def assert_named(err: pytest.ExceptionInfo, path: Path, *words: str) -> None:
    msg = str(err.value)
    assert msg.startswith(str(path)), msg
    for w in words:
        assert w in msg, (w, msg)


# ---------------------------------------------------------------- load_image: good inputs


def test_rgb_png_roundtrip_is_rgb(tmp_path: Path) -> None:
    arr = rand_rgb()
    out = load_image(save(arr, tmp_path / "a.png"))
    assert out.dtype == np.uint8 and out.shape == (24, 32, 3)
    np.testing.assert_array_equal(out, arr)  # RGB order, not BGR


def test_alpha_is_dropped_not_composited(tmp_path: Path) -> None:
    arr = rand_rgb()
    rgba = np.dstack([arr, np.zeros((24, 32), np.uint8)])  # fully transparent
    rgba[:, :5, 3] = 128
    out = load_image(save(rgba, tmp_path / "a.png"))
    assert out.shape == (24, 32, 3)
    np.testing.assert_array_equal(out, arr)


def test_la_and_grayscale_become_three_equal_channels(tmp_path: Path) -> None:
    g = rand_rgb()[..., 0]
    for name, img in (("l.png", Image.fromarray(g)),
                      ("la.png", Image.fromarray(np.dstack([g, g // 2]), mode="LA"))):
        img.save(tmp_path / name)
        out = load_image(tmp_path / name)
        assert out.shape == (24, 32, 3) and out.dtype == np.uint8
        for c in range(3):
            np.testing.assert_array_equal(out[..., c], g)


def test_16bit_grayscale_is_scaled_not_clipped(tmp_path: Path) -> None:
    a = np.array([[0, 257, 257 * 100], [257 * 200, 65535, 128]], dtype=np.uint16)
    p = tmp_path / "g16.png"
    Image.fromarray(a).save(p)
    assert Image.open(p).mode.startswith("I;16")
    out = load_image(p)
    assert out.shape == (2, 3, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., 0], [[0, 1, 100], [200, 255, 0]])


def test_32bit_int_and_float_images(tmp_path: Path) -> None:
    a = np.array([[0, 1000, 65535]], dtype=np.int32)
    Image.fromarray(a, mode="I").save(tmp_path / "i.tif")
    np.testing.assert_array_equal(load_image(tmp_path / "i.tif")[0, :, 0], [0, 4, 255])
    f = np.array([[0.0, 0.5, 1.0]], dtype=np.float32)
    Image.fromarray(f, mode="F").save(tmp_path / "f.tif")
    np.testing.assert_array_equal(load_image(tmp_path / "f.tif")[0, :, 1], [0, 128, 255])


def test_cmyk_is_converted(tmp_path: Path) -> None:
    p = tmp_path / "c.tif"
    Image.new("CMYK", (6, 4), (0, 255, 255, 0)).save(p)  # pure red in CMYK
    out = load_image(p)
    assert out.shape == (4, 6, 3) and out.dtype == np.uint8
    assert (out == [255, 0, 0]).all()


def test_palette_and_bilevel_images(tmp_path: Path) -> None:
    idx = np.array([[0, 1], [1, 0]], np.uint8)
    pal = Image.fromarray(idx, mode="P")
    pal.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
    pal.save(tmp_path / "p.png")
    out = load_image(tmp_path / "p.png")
    np.testing.assert_array_equal(out[0, 0], [10, 20, 30])
    np.testing.assert_array_equal(out[0, 1], [200, 100, 50])
    Image.fromarray(idx.astype(bool)).save(tmp_path / "b.png")
    np.testing.assert_array_equal(load_image(tmp_path / "b.png")[..., 2], idx * 255)


# ---------------------------------------------------------------- load_image: named errors


def test_missing_image(tmp_path: Path) -> None:
    p = tmp_path / "nope.jpg"
    with pytest.raises(IMLDataError) as e:
        load_image(p)
    assert_named(e, p, "not found")


def test_truncated_jpeg(tmp_path: Path) -> None:
    p = save(rand_rgb(64, 64), tmp_path / "t.jpg", quality=90)
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    with pytest.raises(IMLDataError) as e:
        load_image(p)
    assert_named(e, p, "truncated")


def test_corrupt_and_empty_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"this is not an image at all" * 10)
    with pytest.raises(IMLDataError) as e:
        load_image(junk)
    assert_named(e, junk, "not a recognised image")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(IMLDataError) as e:
        load_image(empty)
    assert_named(e, empty, "empty file")


def test_zero_size_image(tmp_path: Path) -> None:
    # Pillow cannot write a 0-wide image, so the file is crafted: a valid PNG header, width 0.
    p = png_with_size(tmp_path / "zero.png", 0, 5)
    with pytest.raises(IMLDataError) as e:
        load_image(p)
    assert_named(e, p, "zero-size", "0x5")


def test_image_over_pixel_limit(tmp_path: Path) -> None:
    p = save(rand_rgb(10, 20), tmp_path / "big.png")
    with pytest.raises(IMLDataError) as e:
        load_image(p, max_pixels=199)
    assert_named(e, p, "20x10", "200 pixels", "max_pixels=199")
    assert load_image(p, max_pixels=200).shape == (10, 20, 3)


# ---------------------------------------------------------------- load_mask: encodings


@pytest.mark.parametrize("scale", [255, 1])
def test_mask_0_255_and_0_1(tmp_path: Path, scale: int) -> None:
    m = square_mask()
    p = save(m * scale, tmp_path / "m.png")
    out = load_mask(p)
    assert out.dtype == np.uint8 and out.shape == m.shape
    np.testing.assert_array_equal(out, m)


def test_palette_mask_by_colour(tmp_path: Path) -> None:
    m = square_mask()
    img = Image.fromarray(m, mode="P")
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)  # index 1 = red
    img.save(tmp_path / "m.png")
    assert Image.open(tmp_path / "m.png").mode == "P"
    np.testing.assert_array_equal(load_mask(tmp_path / "m.png"), m)


def test_rgb_mask_any_non_black_channel(tmp_path: Path) -> None:
    m = square_mask()
    rgb = np.zeros(m.shape + (3,), np.uint8)
    rgb[m == 1] = (0, 0, 255)  # blue region
    np.testing.assert_array_equal(load_mask(save(rgb, tmp_path / "m.png")), m)


def test_rgba_masks_colour_and_alpha_only(tmp_path: Path) -> None:
    m = square_mask()
    rgba = np.zeros(m.shape + (4,), np.uint8)
    rgba[..., 3] = m * 255  # alpha-only: colour channels all black
    np.testing.assert_array_equal(load_mask(save(rgba, tmp_path / "a.png")), m)
    rgba2 = np.zeros(m.shape + (4,), np.uint8)
    rgba2[..., 3] = 255
    rgba2[m == 1, 1] = 255  # opaque, green region
    np.testing.assert_array_equal(load_mask(save(rgba2, tmp_path / "c.png")), m)


def test_16bit_and_two_level_masks(tmp_path: Path) -> None:
    m = square_mask()
    Image.fromarray(m.astype(np.uint16) * 65535).save(tmp_path / "m16.png")
    np.testing.assert_array_equal(load_mask(tmp_path / "m16.png"), m)
    np.testing.assert_array_equal(load_mask(save(m * 38, tmp_path / "m38.png")), m)


def test_jpeg_compressed_mask_recovered_near_boundaries(tmp_path: Path) -> None:
    h, w = 64, 80
    m = np.zeros((h, w), np.uint8)
    m[10:40, 12:50] = 1
    yy, xx = np.mgrid[:h, :w]
    m[(yy - 48) ** 2 + (xx - 60) ** 2 < 100] = 1  # a disc: curved borders
    p = save(m * 255, tmp_path / "m.jpg", quality=75)
    raw = np.asarray(Image.open(p))
    assert len(np.unique(raw)) > 2  # the file really is noisy
    out = load_mask(p)
    wrong = out != m
    # Every disagreement lies within 2 pixels of a region border.
    border = np.zeros_like(m, bool)
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            border |= np.roll(np.roll(m, dy, 0), dx, 1) != m
    assert not (wrong & ~border).any()
    assert wrong.sum() <= 0.02 * m.size


def test_inverted_mask_only_with_flag(tmp_path: Path) -> None:
    m = square_mask()
    p = save((1 - m) * 255, tmp_path / "nist.png")  # white = authentic
    np.testing.assert_array_equal(load_mask(p, inverted=True), m)
    np.testing.assert_array_equal(load_mask(p), 1 - m)  # never guessed


# ---------------------------------------------------------------- load_mask: named errors


def test_photo_is_not_a_mask_without_threshold(tmp_path: Path) -> None:
    gy, gx = np.mgrid[:48, :64]
    photo = ((gx * 4 + gy * 2) % 256).astype(np.uint8)  # smooth ramp: many grey levels
    p = save(photo, tmp_path / "photo.png")
    with pytest.raises(IMLDataError) as e:
        load_mask(p)
    assert_named(e, p, "not a binary mask", "threshold")
    out = load_mask(p, threshold=100)
    np.testing.assert_array_equal(out, (photo > 100).astype(np.uint8))


def test_unreadable_mask(tmp_path: Path) -> None:
    p = tmp_path / "m.png"
    p.write_bytes(b"\x89PNG garbage")
    with pytest.raises(IMLDataError) as e:
        load_mask(p)
    assert_named(e, p, "unreadable mask")
    missing = tmp_path / "none.png"
    with pytest.raises(IMLDataError) as e:
        load_mask(missing)
    assert_named(e, missing, "mask file not found")


def test_mask_size_mismatch(tmp_path: Path) -> None:
    p = save(square_mask(24, 32) * 255, tmp_path / "m.png")
    with pytest.raises(IMLDataError) as e:
        load_mask(p, expected_shape=(30, 40, 3))
    assert_named(e, p, "32x24", "40x30")


# ---------------------------------------------------------------- mask_to_boxes


def test_mask_to_boxes_8_connected_xyxy() -> None:
    m = np.zeros((10, 12), np.uint8)
    m[1:3, 1:4] = 1  # rows 1-2, cols 1-3
    m[3, 4] = 1  # touches the first block diagonally: same component
    m[7, 9] = 1  # single pixel
    m[8:10, 0:2] = 255  # ignore label: not tampered
    boxes = mask_to_boxes(m)
    assert boxes.dtype == np.float32 and boxes.shape == (2, 4)
    np.testing.assert_array_equal(boxes, [[1, 1, 5, 4], [9, 7, 10, 8]])
    np.testing.assert_array_equal(mask_to_boxes(m, min_area=2), [[1, 1, 5, 4]])
    assert mask_to_boxes(np.zeros((4, 4), np.uint8)).shape == (0, 4)
    np.testing.assert_array_equal(mask_to_boxes(m == 1), boxes)


# ---------------------------------------------------------------- validate_entry


def test_validate_entry_reports_every_problem(tmp_path: Path) -> None:
    img = save(rand_rgb(), tmp_path / "a.png")
    mask = save(square_mask() * 255, tmp_path / "a_gt.png")
    assert validate_entry({"image": str(img), "mask": str(mask)}) == []
    assert validate_entry({"image": str(img), "mask": None}) == []

    trunc = save(rand_rgb(64, 64), tmp_path / "t.jpg")
    trunc.write_bytes(trunc.read_bytes()[:300])
    bad_mask = tmp_path / "bad.png"
    bad_mask.write_bytes(b"nope")
    problems = validate_entry({"image": str(trunc), "mask": str(bad_mask)})
    assert len(problems) == 2
    assert problems[0].startswith(str(trunc)) and "truncated" in problems[0]
    assert problems[1].startswith(str(bad_mask)) and "unreadable mask" in problems[1]

    small = save(square_mask(10, 10) * 255, tmp_path / "small.png")
    (p,) = validate_entry({"image": str(img), "mask": str(small)})
    assert p.startswith(str(small)) and "differs from the image size" in p
    (p,) = validate_entry({"image": str(img), "mask": None}, max_pixels=100)
    assert "max_pixels=100" in p


# ---------------------------------------------------------------- pixel limit


def test_default_pixel_limit_env_and_override(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from mmiml.datasets.io import DEFAULT_MAX_PIXELS, MAX_PIXELS_ENV, resolve_max_pixels
    from mmiml.utils.errors import ConfigError

    monkeypatch.delenv(MAX_PIXELS_ENV, raising=False)
    assert resolve_max_pixels(None) == DEFAULT_MAX_PIXELS == 8192 * 8192
    assert resolve_max_pixels(0) == 0 and resolve_max_pixels(50) == 50
    p = save(rand_rgb(10, 20), tmp_path / "a.png")
    monkeypatch.setenv(MAX_PIXELS_ENV, "199")  # None follows the environment ...
    with pytest.raises(IMLDataError) as e:
        load_image(p)
    assert_named(e, p, "20x10", "max_pixels=199", MAX_PIXELS_ENV)
    with pytest.raises(IMLDataError, match="max_pixels=199"):
        load_mask(save(square_mask(10, 20) * 255, tmp_path / "m.png"))
    assert load_image(p, max_pixels=0).shape == (10, 20, 3)  # ... an explicit value wins
    monkeypatch.setenv(MAX_PIXELS_ENV, "0")  # 0 = no limit
    assert load_image(p).shape == (10, 20, 3)
    monkeypatch.setenv(MAX_PIXELS_ENV, "-3")
    with pytest.raises(ConfigError, match=MAX_PIXELS_ENV):
        load_image(p)
    with pytest.raises(ConfigError, match="max_pixels"):
        load_image(p, max_pixels=-1)


def test_huge_png_refused_from_its_header_without_pillow_warning(tmp_path: Path) -> None:
    import time
    import warnings

    p = tmp_path / "huge.png"
    Image.new("1", (13000, 13000)).save(p)  # 169 Mpx, ~20 KB
    assert p.stat().st_size < 100_000
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        for read in (load_image, load_mask):
            with pytest.raises(IMLDataError) as e:
                read(p)
            assert_named(e, p, "13000x13000 = 169000000 pixels", "max_pixels=67108864",
                         "MMIML_MAX_PIXELS")
    assert time.perf_counter() - start < 2.0  # nothing was decoded


def test_pillow_bomb_cap_cannot_preempt_our_limit(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import warnings

    p = save(rand_rgb(20, 20), tmp_path / "a.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 400 px > 2 x Pillow's cap
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        assert load_image(p).shape == (20, 20, 3)  # our (default) limit decides
        with pytest.raises(IMLDataError, match="max_pixels=399"):
            load_image(p, max_pixels=399)
    assert Image.MAX_IMAGE_PIXELS == 100  # Pillow's setting is left as it was


# ---------------------------------------------------------------- mask policy


def test_mask_policy_readings(tmp_path: Path) -> None:
    from mmiml.datasets.io import read_mask

    m = square_mask()
    r = read_mask(save(m * 255, tmp_path / "a.png"))
    assert (r.rule, r.tolerated, r.warnings) == ("two levels 0/255", 0, ())
    assert r.tampered == int(m.sum())
    # uniform 0 and 255 are read (the entry checks judge them); other greys are refused
    assert read_mask(save(np.zeros_like(m), tmp_path / "z.png")).tampered == 0
    assert read_mask(save(np.full_like(m, 255), tmp_path / "f.png")).tampered == m.size
    for level in (1, 128, 254):
        p = save(np.full_like(m, level), tmp_path / f"u{level}.png")
        with pytest.raises(IMLDataError) as e:
            read_mask(p)
        assert_named(e, p, "uniform mask", f"value {level}", "threshold")
    # anti-aliased 0/255 edges in a lossless file: tolerated and counted
    aa = m * 255
    aa[4, 8:20] = 40
    aa[15, 8:20] = 220
    r = read_mask(save(aa, tmp_path / "aa.png"))
    assert r.rule == "near-binary 0/255" and r.tolerated == 24
    np.testing.assert_array_equal(r.mask[5:15], m[5:15])
    assert r.mask[15, 8:20].all() and not r.mask[4].any()


def test_01_mask_with_strays_is_refused_with_counts(tmp_path: Path) -> None:
    m = square_mask()
    stray = m.copy()
    stray[0, 0] = 255
    stray[0, 1] = 255
    stray[23, 31] = 2
    p = save(stray, tmp_path / "s.png")
    with pytest.raises(IMLDataError) as e:
        load_mask(p)
    assert_named(e, p, "0/1 mask with 3 stray pixels above 1", "255: 2 px", "2: 1 px",
                 f"1: {int(m.sum())} px", "threshold")
    # the caller may decide: every non-zero pixel is tampered
    np.testing.assert_array_equal(load_mask(p, threshold=0), (stray > 0).astype(np.uint8))
    # 16-bit: a stray 65535 in a 0/1 mask is not scaled away
    s16 = m.astype(np.uint16)
    s16[0, 0] = 65535
    Image.fromarray(s16).save(tmp_path / "s16.png")
    with pytest.raises(IMLDataError, match="1 stray pixel above 1"):
        load_mask(tmp_path / "s16.png")


@pytest.mark.parametrize("quality", [90, 95])
def test_jpeg_01_mask_read_on_the_01_scale_with_warning(tmp_path: Path, quality: int) -> None:
    from mmiml.datasets.io import read_mask

    h, w = 64, 80
    m = np.zeros((h, w), np.uint8)
    m[10:40, 12:50] = 1
    p = save(m, tmp_path / "m01.jpg", quality=quality)
    r = read_mask(p)
    assert r.rule == "lossy 0/1" and len(r.warnings) == 1 and "store masks as PNG" in r.warnings[0]
    assert r.tolerated == int((np.asarray(Image.open(p)) > 1).sum())
    assert (r.mask & m).sum() >= 0.97 * m.sum()  # not cut at 127
    assert (r.mask != m).sum() <= 0.02 * m.size


def test_masks_neither_01_nor_0255_are_refused(tmp_path: Path) -> None:
    m = square_mask()
    dim = (m * 20).astype(np.uint8)
    dim[0] = 40
    p = save(dim, tmp_path / "dim.png")
    with pytest.raises(IMLDataError) as e:
        load_mask(p)
    assert_named(e, p, "not a binary mask", "values 0:", "20:", "40:", "nothing is above 127")
    # a JPEG with values up to ~10: too bright for a 0/1 mask, too dark for a 0/255 one
    q = save((m * 10).astype(np.uint8), tmp_path / "dim.jpg", quality=90)
    with pytest.raises(IMLDataError, match="not a binary mask"):
        load_mask(q)


def test_empty_and_full_masks_on_tampered_entries(tmp_path: Path) -> None:
    from mmiml.datasets.io import check_entry

    img = save(rand_rgb(), tmp_path / "a.png")
    black = save(np.zeros((24, 32), np.uint8), tmp_path / "black.png")
    found = check_entry({"image": str(img), "mask": str(black)})
    (err,) = found.errors
    assert str(err).startswith(str(black)) and "no tampered pixel" in str(err)
    assert '"mask": null' in str(err)
    white = save(np.full((24, 32), 255, np.uint8), tmp_path / "white.png")
    # NIST style: all white means all authentic once inverted
    (err,) = check_entry({"image": str(img), "mask": str(white), "mask_inverted": True}).errors
    assert "no tampered pixel" in str(err) and "inverted" in str(err)
    found = check_entry({"image": str(img), "mask": str(white)})
    assert found.errors == [] and len(found.warnings) == 1
    assert "every pixel (768) is tampered" in str(found.warnings[0])
    assert validate_entry({"image": str(img), "mask": str(white)}) == []  # warnings are not
