"""Tests of the DCT-aware data pipeline (mmiml/datasets/transforms, IMLDataPreProcessor).

Expected values come from jpeglib / Pillow directly (or from geometry), never from the code under
test, so a layout or decoder mistake in the transforms shows up as a mismatch.
"""

from __future__ import annotations

from pathlib import Path

import jpeglib
import numpy as np
import pytest
import torch
from PIL import Image

from mmiml.datasets.transforms.augment import (
    DCTAwareRandomFlip,
    GridAlignedRandomCrop,
    RandomJpegRecompress,
    flip_dct,
)
from mmiml.datasets.transforms.formatting import PackIMLInputs
from mmiml.datasets.transforms.loading import (
    LoadIMLAnnotations,
    LoadIMLImageFromFile,
    LoadJpegDCT,
)
from mmiml.models.data_preprocessor import IMLDataPreProcessor, stack_dct


# ----------------------------------------------------------------------------- helpers
def _texture(h: int, w: int, seed: int) -> np.ndarray:
    """Smooth-ish colour texture (HxWx3 uint8 RGB): blurred noise plus a gradient."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (h // 4 + 2, w // 4 + 2, 3), dtype=np.uint8)
    big = Image.fromarray(small).resize((w, h), Image.Resampling.BILINEAR)
    big = np.asarray(big, dtype=np.int32)
    ramp = np.linspace(0, 60, w, dtype=np.int32)[None, :, None]
    noise = rng.integers(-8, 9, (h, w, 3))
    return np.clip(big + ramp + noise, 0, 255).astype(np.uint8)


def _expected_spatial(y_blocks: np.ndarray, h: int, w: int) -> np.ndarray:
    """Contract layout written out block by block: block (i, j) at rows 8i.., cols 8j..."""
    nbh, nbw = y_blocks.shape[:2]
    out = np.zeros((nbh * 8, nbw * 8), dtype=np.int16)
    for i in range(nbh):
        for j in range(nbw):
            out[8 * i : 8 * i + 8, 8 * j : 8 * j + 8] = y_blocks[i, j]
    return out[:h, :w]


def _jpeglib_dct(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(Y blocks, Y qtable) as jpeglib reads them."""
    jpeg = jpeglib.read_dct(str(path))
    qt = np.asarray(jpeg.qt[jpeg.quant_tbl_no[0]])
    return np.asarray(jpeg.Y), qt


def _info(img_path: Path, mask_path: Path | None = None, task: str = "document") -> dict:
    """A data_info as IMLDataset produces it (docs/data_contract.md)."""
    return dict(
        img_path=str(img_path),
        seg_map_path=None if mask_path is None else str(mask_path),
        task=task,
        task_id=1,
        source="unit",
        split="train",
        img_label=0 if mask_path is None else 1,
        mask_inverted=False,
        mask_threshold=None,
        sample_idx=7,
        reduce_zero_label=False,
        seg_fields=[],
    )


def _load(info: dict) -> dict:
    results = LoadIMLImageFromFile().transform(dict(info))
    return LoadIMLAnnotations().transform(results)


@pytest.fixture()
def jpeg_sample(tmp_path: Path) -> tuple[Path, Path]:
    """A 4:2:0 quality-85 JPEG (sizes not multiples of 8) and a two-rectangle mask."""
    h, w = 61, 83
    img_path = tmp_path / "photo.jpg"
    Image.fromarray(_texture(h, w, 0)).save(img_path, quality=85)
    mask = np.zeros((h, w), np.uint8)
    mask[5:20, 10:30] = 255
    mask[35:55, 50:75] = 255
    mask_path = tmp_path / "photo_mask.png"
    Image.fromarray(mask).save(mask_path)
    return img_path, mask_path


# ----------------------------------------------------------------------------- LoadJpegDCT
def test_jpeg_file_dct_and_pixels_come_from_the_file(jpeg_sample: tuple[Path, Path]) -> None:
    img_path, mask_path = jpeg_sample
    results = _load(_info(img_path, mask_path))
    assert results["img_is_jpeg"]
    results = LoadJpegDCT().transform(results)
    assert results["dct_source"] == "file"

    y_blocks, qt = _jpeglib_dct(img_path)
    h, w = 61, 83
    dct = results["dct_coef"]
    assert dct.dtype == np.int16 and dct.shape == (h, w)
    np.testing.assert_array_equal(dct, _expected_spatial(y_blocks, h, w))
    assert results["qtable"].dtype == np.int32
    np.testing.assert_array_equal(results["qtable"], qt)
    # fed pixels = the file's decode (BGR)
    decoded = np.asarray(Image.open(img_path).convert("RGB"))
    np.testing.assert_array_equal(results["img"], decoded[..., ::-1])
    assert results["gt_seg_map"].shape == (h, w)


def test_jpeg_extension_is_not_trusted(tmp_path: Path) -> None:
    """A PNG named .jpg is re-encoded; a JPEG named .png is read from the file."""
    fake = tmp_path / "fake.jpg"
    Image.fromarray(_texture(24, 32, 1)).save(fake, format="PNG")
    real = tmp_path / "real.png"
    Image.fromarray(_texture(24, 32, 2)).save(real, format="JPEG", quality=90)
    assert LoadJpegDCT().transform(_load(_info(fake)))["dct_source"] == "reencode"
    assert LoadJpegDCT().transform(_load(_info(real)))["dct_source"] == "file"


def test_png_is_reencoded_at_q100(tmp_path: Path) -> None:
    h, w = 45, 70
    pixels = _texture(h, w, 3)
    png = tmp_path / "scan.png"
    Image.fromarray(pixels).save(png)
    results = LoadJpegDCT().transform(_load(_info(png)))
    assert results["dct_source"] == "reencode"
    np.testing.assert_array_equal(results["qtable"], np.ones((8, 8)))

    # The same encoding done here by hand: identical DCT, and img is its decode.
    ref = tmp_path / "ref.jpg"
    Image.fromarray(pixels).save(ref, quality=100, subsampling=0)
    y_blocks, _ = _jpeglib_dct(ref)
    np.testing.assert_array_equal(results["dct_coef"], _expected_spatial(y_blocks, h, w))
    decoded = np.asarray(Image.open(ref).convert("RGB"))
    np.testing.assert_array_equal(results["img"], decoded[..., ::-1])
    # q100 is near-lossless: the fed pixels differ from the PNG by a few grey levels at most.
    assert np.abs(results["img"][..., ::-1].astype(int) - pixels).max() <= 4

    # Re-encoding the fed pixels once more reproduces the DCT only up to rounding (8-bit RGB
    # after the IDCT, RGB->YCbCr, integer FDCT; at q100 every quantisation step is 1).
    # Measured on such textures: max |diff| 1 on ~6-7% of coefficients (2 on pure noise).
    again = tmp_path / "again.jpg"
    Image.fromarray(results["img"][..., ::-1].copy()).save(again, quality=100, subsampling=0)
    y2, _ = _jpeglib_dct(again)
    diff = np.abs(_expected_spatial(y2, h, w).astype(int) - results["dct_coef"])
    assert diff.max() <= 2
    assert (diff > 0).mean() < 0.10


def test_edited_jpeg_is_reencoded(jpeg_sample: tuple[Path, Path]) -> None:
    results = _load(_info(jpeg_sample[0]))
    results["img"] = results["img"].copy()
    results["img"][0, 0, 0] ^= 1  # any pixel change invalidates the file's coefficients
    results = LoadJpegDCT().transform(results)
    assert results["dct_source"] == "reencode"
    np.testing.assert_array_equal(results["qtable"], np.ones((8, 8)))


def test_cmyk_jpeg_has_no_y_channel_and_is_reencoded(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.fromarray(_texture(16, 24, 4)).convert("CMYK").save(path, quality=90)
    results = LoadJpegDCT().transform(_load(_info(path)))
    assert results["dct_source"] == "reencode"
    assert results["dct_coef"].shape == (16, 24)


def test_existing_dct_is_kept(jpeg_sample: tuple[Path, Path]) -> None:
    results = _load(_info(jpeg_sample[0]))
    marker = np.full(results["img"].shape[:2], 3, np.int16)
    results["dct_coef"] = marker
    assert LoadJpegDCT().transform(results)["dct_coef"] is marker


def test_authentic_annotations(jpeg_sample: tuple[Path, Path]) -> None:
    results = _load(_info(jpeg_sample[0]))
    assert results["gt_seg_map"].shape == results["img"].shape[:2]
    assert not results["gt_seg_map"].any()
    assert results["gt_bboxes"].shape == (0, 4) and results["img_label"] == 0
    assert results["seg_fields"] == ["gt_seg_map"]


# ----------------------------------------------------------------------------- recompression
def test_recompression_sets_qtable_per_quality(jpeg_sample: tuple[Path, Path], tmp_path) -> None:
    base = _load(_info(jpeg_sample[0]))
    tables = {}
    for q in (50, 90):
        results = RandomJpegRecompress(quality_range=(q, q), prob=1.0).transform(
            {**base, "img": base["img"].copy()}
        )
        assert results["jpeg_quality"] == q and results["dct_source"] == "recompress"
        ref = tmp_path / f"q{q}.jpg"
        Image.fromarray(base["img"][..., ::-1].copy()).save(ref, quality=q, subsampling=0)
        y_blocks, qt = _jpeglib_dct(ref)
        np.testing.assert_array_equal(results["qtable"], qt)
        np.testing.assert_array_equal(results["dct_coef"], _expected_spatial(y_blocks, 61, 83))
        decoded = np.asarray(Image.open(ref).convert("RGB"))
        np.testing.assert_array_equal(results["img"], decoded[..., ::-1])
        # LoadJpegDCT must not overwrite the recompression's coefficients
        dct = results["dct_coef"]
        assert LoadJpegDCT().transform(results)["dct_coef"] is dct
        tables[q] = results["qtable"]
    assert (tables[50] >= tables[90]).all() and (tables[50] > tables[90]).any()


def test_recompression_not_applied_leaves_results_alone(jpeg_sample) -> None:
    results = _load(_info(jpeg_sample[0]))
    img = results["img"]
    out = RandomJpegRecompress(prob=0.0).transform(results)
    assert out["img"] is img and "dct_coef" not in out and "qtable" not in out


# ----------------------------------------------------------------------------- grid crop
def test_grid_crop_offsets_and_dct_blocks(jpeg_sample: tuple[Path, Path]) -> None:
    full = LoadJpegDCT().transform(_load(_info(*jpeg_sample)))
    y_blocks, _ = _jpeglib_dct(jpeg_sample[0])
    np.random.seed(0)
    crop = GridAlignedRandomCrop(crop_size=(24, 40))
    seen = set()
    for _ in range(12):
        results = crop.transform(dict(full))
        x1, y1, x2, y2 = results["crop_bbox"]
        seen.add((x1, y1))
        assert x1 % 8 == 0 and y1 % 8 == 0 and (y2 - y1, x2 - x1) == (24, 40)
        assert results["img_shape"] == (24, 40)
        np.testing.assert_array_equal(results["img"], full["img"][y1:y2, x1:x2])
        np.testing.assert_array_equal(results["gt_seg_map"], full["gt_seg_map"][y1:y2, x1:x2])
        np.testing.assert_array_equal(results["dct_coef"], full["dct_coef"][y1:y2, x1:x2])
        # whole JPEG blocks: the crop's block (i, j) is the file's block (i + y1/8, j + x1/8)
        for i in range(3):
            for j in range(5):
                np.testing.assert_array_equal(
                    results["dct_coef"][8 * i : 8 * i + 8, 8 * j : 8 * j + 8],
                    y_blocks[i + y1 // 8, j + x1 // 8],
                )
    assert len(seen) > 1  # it is random


def test_grid_crop_pads_small_images(jpeg_sample: tuple[Path, Path]) -> None:
    full = LoadJpegDCT().transform(_load(_info(*jpeg_sample)))  # 61 x 83
    results = GridAlignedRandomCrop(crop_size=(72, 64)).transform(dict(full))
    x1, y1, x2, y2 = results["crop_bbox"]
    assert y1 == 0 and (y2, x2 - x1) == (61, 64) and x1 % 8 == 0
    assert results["img"].shape == (72, 64, 3) and results["img_shape"] == (72, 64)
    assert results["dct_coef"].shape == (72, 64) and results["gt_seg_map"].shape == (72, 64)
    assert (results["img"][61:] == 0).all()
    assert (results["gt_seg_map"][61:] == 255).all()
    assert (results["dct_coef"][61:] == 0).all()
    np.testing.assert_array_equal(results["dct_coef"][:61], full["dct_coef"][:, x1:x2])
    np.testing.assert_array_equal(results["gt_seg_map"][:61], full["gt_seg_map"][:, x1:x2])


def test_grid_crop_cat_max_ratio_finds_tampered_pixels(jpeg_sample) -> None:
    full = _load(_info(*jpeg_sample))
    np.random.seed(1)
    crop = GridAlignedRandomCrop(crop_size=(16, 16), cat_max_ratio=0.95)
    hits = sum(bool(crop.transform(dict(full))["gt_seg_map"].any()) for _ in range(10))
    assert hits >= 8  # 10 retries per sample make an all-authentic 16x16 crop rare


# ----------------------------------------------------------------------------- flip
def _dct_matrix() -> np.ndarray:
    k = np.arange(8)[:, None]
    x = np.arange(8)[None, :]
    c = np.cos((2 * x + 1) * k * np.pi / 16) * np.sqrt(2 / 8)
    c[0] /= np.sqrt(2)
    return c


def test_flip_dct_is_the_dct_of_the_flipped_image() -> None:
    """Float DCT of a 16x24 array: flip_dct(DCT(x)) == DCT(flip(x)) blockwise, both ways."""
    rng = np.random.default_rng(5)
    pixels = rng.normal(size=(16, 24))
    c = _dct_matrix()

    def block_dct(a: np.ndarray) -> np.ndarray:
        out = np.zeros_like(a)
        for i in range(0, a.shape[0], 8):
            for j in range(0, a.shape[1], 8):
                out[i : i + 8, j : j + 8] = c @ a[i : i + 8, j : j + 8] @ c.T
        return out

    coef = block_dct(pixels)
    np.testing.assert_allclose(flip_dct(coef, "horizontal"), block_dct(pixels[:, ::-1]), atol=1e-9)
    np.testing.assert_allclose(flip_dct(coef, "vertical"), block_dct(pixels[::-1]), atol=1e-9)
    # integer arrays keep their dtype, and flipping twice is the identity
    ints = np.round(coef * 10).astype(np.int16)
    assert flip_dct(ints, "horizontal").dtype == np.int16
    np.testing.assert_array_equal(flip_dct(flip_dct(ints, "vertical"), "vertical"), ints)
    with pytest.raises(ValueError):
        flip_dct(np.zeros((16, 20), np.int16), "horizontal")


def test_flip_dct_matches_libjpeg_on_a_real_encoding(tmp_path: Path) -> None:
    """Encoding the mirrored pixels gives (almost) the flipped coefficients of the original.

    Not exact because libjpeg's integer FDCT rounds asymmetrically before quantisation;
    measured: identical at q75, |diff| 1 on ~0.4% of coefficients at q100.
    """
    pixels = _texture(64, 64, 11)
    for q in (75, 100):
        refs = []
        for name, arr in (("a", pixels), ("b", np.ascontiguousarray(pixels[:, ::-1]))):
            Image.fromarray(arr).save(tmp_path / f"{name}{q}.jpg", quality=q, subsampling=0)
            refs.append(_expected_spatial(_jpeglib_dct(tmp_path / f"{name}{q}.jpg")[0], 64, 64))
        diff = np.abs(flip_dct(refs[0], "horizontal").astype(int) - refs[1])
        assert diff.max() <= 1 and (diff > 0).mean() < 0.02


def test_random_flip_respects_the_grid(jpeg_sample: tuple[Path, Path]) -> None:
    full = LoadJpegDCT().transform(_load(_info(*jpeg_sample)))  # width 83: not whole blocks
    out = DCTAwareRandomFlip(prob=1.0).transform(dict(full))
    assert out["flip"] is False and out["flip_direction"] is None
    np.testing.assert_array_equal(out["img"], full["img"])

    cropped = GridAlignedRandomCrop(crop_size=(48, 64)).transform(dict(full))
    out = DCTAwareRandomFlip(prob=1.0).transform(dict(cropped))
    assert out["flip"] is True and out["flip_direction"] == "horizontal"
    np.testing.assert_array_equal(out["img"], cropped["img"][:, ::-1])
    np.testing.assert_array_equal(out["gt_seg_map"], cropped["gt_seg_map"][:, ::-1])
    np.testing.assert_array_equal(out["dct_coef"], flip_dct(cropped["dct_coef"], "horizontal"))
    # without DCT any width may be flipped
    plain = _load(_info(*jpeg_sample))
    assert DCTAwareRandomFlip(prob=1.0).transform(plain)["flip"] is True


# ----------------------------------------------------------------------------- packing
def test_pack_carries_task_dct_qtable_and_boxes(jpeg_sample: tuple[Path, Path]) -> None:
    results = LoadJpegDCT().transform(_load(_info(*jpeg_sample)))
    # deterministic crop window: rows 8..40, cols 16..64 (grid aligned)
    crop = GridAlignedRandomCrop(crop_size=(32, 48))
    crop._random_offset = lambda mh, mw: (8, 16)  # type: ignore[method-assign]
    results = crop.transform(results)
    packed = PackIMLInputs().transform(results)

    inputs, sample = packed["inputs"], packed["data_samples"]
    assert inputs.shape == (3, 32, 48) and inputs.dtype == torch.uint8
    np.testing.assert_array_equal(inputs.numpy(), results["img"].transpose(2, 0, 1))
    assert sample.gt_sem_seg.data.shape == (1, 32, 48)
    assert sample.dct.data.dtype == torch.int16 and sample.dct.data.shape == (1, 32, 48)
    np.testing.assert_array_equal(sample.dct.data[0].numpy(), results["dct_coef"])
    assert sample.qtable.shape == (8, 8) and sample.qtable.dtype == torch.int64
    meta = sample.metainfo
    assert meta["task"] == "document" and meta["task_id"] == 1 and meta["source"] == "unit"
    assert meta["img_label"] == 1 and meta["sample_idx"] == 7 and meta["flip"] is False
    assert meta["img_shape"] == (32, 48) and meta["ori_shape"] == (61, 83)
    # mask rectangles [5:20, 10:30] and [35:55, 50:75] seen through the window rows 8..40,
    # cols 16..64, in crop coordinates (x2/y2 exclusive)
    expected = torch.tensor([[0, 0, 14, 12], [34, 27, 48, 32]], dtype=torch.float32)
    got = sample.gt_instances.bboxes
    assert got.dtype == torch.float32
    torch.testing.assert_close(got[got[:, 1].argsort()], expected)
    assert sample.gt_instances.labels.tolist() == [0, 0]


def test_pack_boxes_ignore_padding(jpeg_sample: tuple[Path, Path]) -> None:
    results = _load(_info(*jpeg_sample))
    results = GridAlignedRandomCrop(crop_size=(80, 96)).transform(results)  # pads
    sample = PackIMLInputs().transform(results)["data_samples"]
    expected = torch.tensor([[10, 5, 30, 20], [50, 35, 75, 55]], dtype=torch.float32)
    bboxes = sample.gt_instances.bboxes
    torch.testing.assert_close(bboxes[bboxes[:, 0].argsort()], expected)
    assert "dct" not in sample and "qtable" not in sample


# ----------------------------------------------------------------------------- preprocessor
def _packed(img_path: Path, mask_path: Path | None, size: tuple[int, int] | None) -> dict:
    results = LoadJpegDCT().transform(_load(_info(img_path, mask_path)))
    if size is not None:
        results = GridAlignedRandomCrop(crop_size=size).transform(results)
    return PackIMLInputs().transform(results)


def test_preprocessor_pads_dct_like_the_input(jpeg_sample, tmp_path: Path) -> None:
    other = tmp_path / "other.png"
    Image.fromarray(_texture(40, 56, 9)).save(other)
    batch = [_packed(*jpeg_sample, (48, 64)), _packed(other, None, None)]  # 48x64 and 40x56
    pre = IMLDataPreProcessor(
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        size_divisor=32,
    )
    dcts = [b["data_samples"].dct.data.clone() for b in batch]
    data = dict(
        inputs=[b["inputs"] for b in batch], data_samples=[b["data_samples"] for b in batch]
    )
    out = pre(data, training=True)
    assert out["inputs"].shape == (2, 3, 64, 64)
    dct, qtable = stack_dct(out["data_samples"])
    assert dct.shape == (2, 1, 64, 64) and dct.dtype == torch.int16
    assert qtable.shape == (2, 8, 8)
    for k, (h, w) in enumerate([(48, 64), (40, 56)]):
        assert out["data_samples"][k].metainfo["padding_size"] == (0, 64 - w, 0, 64 - h)
        torch.testing.assert_close(dct[k, :, :h, :w], dcts[k])
        assert not dct[k, :, h:, :].any() and not dct[k, :, :, w:].any()
        seg = out["data_samples"][k].gt_sem_seg.data
        assert seg.shape == (1, 64, 64) and (seg[:, h:] == 255).all()

    # testing: variable sizes with test_cfg size_divisor; gt stays at its own size
    batch = [_packed(*jpeg_sample, None), _packed(other, None, None)]  # 61x83 and 40x56
    pre.test_cfg = dict(size_divisor=32)
    data = dict(
        inputs=[b["inputs"] for b in batch], data_samples=[b["data_samples"] for b in batch]
    )
    out = pre(data, training=False)
    assert out["inputs"].shape == (2, 3, 64, 96)
    for k, (h, w) in enumerate([(61, 83), (40, 56)]):
        sample = out["data_samples"][k]
        assert sample.dct.data.shape == (1, 64, 96)
        assert tuple(sample.metainfo["img_padding_size"]) == (0, 96 - w, 0, 64 - h)
        assert sample.gt_sem_seg.data.shape == (1, h, w)
        # padded pixels of the input are exactly where the dct is padded
        assert not sample.dct.data[:, h:].any() and not sample.dct.data[:, :, w:].any()
