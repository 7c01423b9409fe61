"""The robustness protocol's degradations, each checked against a known output: the JPEG quality
read back from the file, the blur kernel's size, the noise variance measured on a flat image,
the resized shape; the degraded test split; the area score."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmiml.datasets.manifest import read_manifest, sample_id, write_manifest
from mmiml.evaluation.robustness import (
    GRID,
    Setting,
    area_under_degradation,
    degrade,
    robustness_score,
    settings,
    severity_sorted,
    write_degraded_split,
)


def _quality_from_tables(data: bytes) -> int:
    """The quality at which Pillow writes the same quantisation tables as the file has."""
    with Image.open(io.BytesIO(data)) as im:
        tables = im.quantization
    probe = np.zeros((16, 16, 3), np.uint8)
    for q in range(1, 101):
        buf = io.BytesIO()
        Image.fromarray(probe).save(buf, format="JPEG", quality=q)
        with Image.open(buf) as ref:
            if ref.quantization == tables:
                return q
    raise AssertionError("no quality gives these tables")


@pytest.mark.parametrize("quality", GRID["jpeg"])
def test_jpeg_quality_is_read_back_from_the_file(quality):
    rgb = np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    data = degrade(rgb, Setting("jpeg", quality))
    assert isinstance(data, bytes) and data[:2] == b"\xff\xd8"
    assert _quality_from_tables(data) == quality
    with Image.open(io.BytesIO(data)) as im:
        assert im.size == (56, 40)


def _gaussian_blur_reference(img: np.ndarray, k: int) -> np.ndarray:
    """Separable Gaussian of size k as OpenCV (and so albumentations) builds it with sigma 0:
    its fixed binomial-like tables up to 7, else sigma = 0.3 ((k - 1) / 2 - 1) + 0.8; reflect-101
    border; in float."""
    tables = {3: [0.25, 0.5, 0.25], 5: [1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16],
              7: [0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125]}
    if k in tables:
        g = np.asarray(tables[k])
    else:
        sigma = 0.3 * ((k - 1) * 0.5 - 1) + 0.8
        x = np.arange(k) - (k - 1) / 2
        g = np.exp(-x ** 2 / (2 * sigma ** 2))
        g /= g.sum()
    pad = (k - 1) // 2
    f = np.pad(img.astype(np.float64), ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
    rows = sum(g[i] * f[i:i + img.shape[0]] for i in range(k))
    return sum(g[i] * rows[:, i:i + img.shape[1]] for i in range(k))


@pytest.mark.parametrize("k", GRID["blur"])
def test_blur_uses_a_kernel_of_the_stated_size(k):
    rgb = np.random.default_rng(1).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    out = degrade(rgb, Setting("blur", k)).astype(np.float64)
    # OpenCV blurs uint8 in fixed point: within 2 grey levels, a third of a level on average
    err = np.abs(out - _gaussian_blur_reference(rgb, k))
    assert err.max() <= 2.0 and err.mean() < 0.4
    for other in (k - 4, k + 4):  # a kernel 4 px off is clearly another blur
        if other >= 1:
            assert np.abs(out - _gaussian_blur_reference(rgb, other)).mean() > 0.6


@pytest.mark.parametrize("var", GRID["noise"])
def test_noise_variance_measured_on_a_flat_image(var):
    flat = np.full((256, 256, 3), 128, np.uint8)
    out = degrade(flat, Setting("noise", var), "natural/flat.png").astype(np.float64) - 128
    # rounding to grey levels adds 1/12 of a level squared
    assert out.var() == pytest.approx(var + 1 / 12, rel=0.03)
    assert abs(out.mean()) < 0.02
    # channels get independent noise; the draw is fixed by the image id and the level
    assert abs(np.corrcoef(out[..., 0].ravel(), out[..., 1].ravel())[0, 1]) < 0.02
    again = degrade(flat, Setting("noise", var), "natural/flat.png")
    assert np.array_equal(again, out + 128)
    assert not np.array_equal(degrade(flat, Setting("noise", var), "natural/other.png"),
                              out + 128)


@pytest.mark.parametrize("factor", GRID["resize"])
def test_resize_gives_the_scaled_size(factor):
    rgb = np.random.default_rng(2).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    out = degrade(rgb, Setting("resize", factor))
    assert out.shape == (round(40 * factor), round(60 * factor), 3)


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="unknown degradation 'rain'"):
        Setting("rain", 1)
    with pytest.raises(ValueError, match="odd"):
        Setting("blur", 4)
    with pytest.raises(ValueError, match="quality"):
        Setting("jpeg", 101)
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        degrade(np.zeros((4, 4), np.uint8), Setting("blur", 3))
    assert len(settings()) == 21 and {s.kind for s in settings(["jpeg"])} == {"jpeg"}


def _toy_manifest(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    rows = []
    for task in ("natural", "document"):
        for i in range(3):
            img = tmp_path / "images" / task / f"{i}.jpg"
            img.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(img)
            mask = None
            if i:
                mask = tmp_path / "masks" / task / f"{i}.png"
                mask.parent.mkdir(parents=True, exist_ok=True)
                m = np.zeros((32, 32), np.uint8)
                m[4:12, 4:12] = 255
                Image.fromarray(m).save(mask)
            rows.append({"image": str(img), "mask": None if mask is None else str(mask),
                         "task": task, "source": "toy", "split": "test"})
    train = tmp_path / "images" / "natural" / "train0.jpg"
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(train)
    rows.append({**rows[0], "image": str(train), "split": "train"})
    path = tmp_path / "manifest.jsonl"
    write_manifest(rows, path)
    return path


@pytest.mark.parametrize("setting", [Setting("jpeg", 50), Setting("blur", 7),
                                     Setting("resize", 0.5)])
def test_degraded_split_keeps_ids_and_masks(tmp_path, setting):
    manifest = _toy_manifest(tmp_path)
    out = write_degraded_split(manifest, setting, tmp_path / "degraded" / setting.name,
                               per_task=2)
    src = read_manifest(manifest, split="test")
    got = read_manifest(out, split="test")
    assert [e["task"] for e in got] == ["natural", "natural", "document", "document"]
    kept = [e for e in src if int(Path(e["image"]).stem) < 2]
    for before, after in zip(kept, got, strict=True):
        if setting.kind != "resize" or before["mask"] is None:
            assert after["mask"] == before["mask"]
        else:  # resized alike, values kept
            with Image.open(after["mask"]) as m, Image.open(before["mask"]) as m0:
                assert m.size == (16, 16)
                assert set(np.unique(np.asarray(m))) == set(np.unique(np.asarray(m0)))
        assert sample_id(after["image"], out) == \
            str(Path(sample_id(before["image"], manifest)).with_suffix(setting.suffix))
        assert Path(after["image"]).suffix == setting.suffix
    with Image.open(got[0]["image"]) as im:
        size = im.size
    assert size == ((16, 16) if setting.kind == "resize" else (32, 32))
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[0]["degradation"]["kind"] == setting.kind
    # a second call reuses the finished folder
    stamp = (out.parent / "done.json").stat().st_mtime_ns
    assert write_degraded_split(manifest, setting, out.parent, per_task=2) == out
    assert (out.parent / "done.json").stat().st_mtime_ns == stamp


def test_severity_order_and_area_score():
    assert severity_sorted("jpeg", [50, 100, 70]) == [100, 70, 50]
    assert severity_sorted("blur", [11, 3, 7]) == [3, 7, 11]
    assert severity_sorted("resize", [1.5, 0.5, 0.75]) == [0.75, 1.5, 0.5]
    # a straight line from .6 (mild) to .2 (strong): mean .4
    curve = {100: 0.6, 90: 0.5, 80: 0.4, 70: 0.3, 60: 0.2}
    assert area_under_degradation("jpeg", curve) == pytest.approx(0.4)
    # a drop at the strongest level costs half a step
    assert area_under_degradation("blur", {3: 0.5, 7: 0.5, 11: 0.1}) == pytest.approx(0.4)
    assert robustness_score({"jpeg": curve, "blur": {3: 0.5, 7: 0.5, 11: 0.1}}) == \
        pytest.approx(0.4)


def test_tool_scores_clean_and_degraded_sets_end_to_end(tmp_path):
    """tools/test_robustness.py on four 32 px DemoSplices images with a random-weight model:
    the clean figures, one curve per kind with one point per level, the area and the score."""
    import torch
    from fault_harness import ROOT, run_tool
    from helpers import build_model, load_config

    from mmiml.datasets.demo_splices import make_demo_splices

    config = (ROOT / "configs/plain_convnext_uper"
              / "upernet_convnext-atto_1xb8-400_demo-splices-128x128.py")
    manifest = make_demo_splices(tmp_path / "demo", num_train=0, num_test=4, size=32, seed=0)
    ckpt = tmp_path / "random.pth"
    torch.save({"state_dict": build_model(load_config(config).model).state_dict()}, ckpt)
    out = tmp_path / "robust.json"
    run = run_tool("test_robustness", config, ckpt, "--kinds", "resize,jpeg", "--out", out,
                   "--data-dir", tmp_path / "degraded", "--work-dir", tmp_path / "work",
                   "--cfg-options", f"test_dataloader.dataset.ann_file={manifest}",
                   "test_dataloader.num_workers=0", "test_dataloader.persistent_workers=False")
    assert run.rc == 0, run.stdout[-2000:] + run.stderr[-2000:]
    doc = json.loads(out.read_text())
    assert doc["schema"] == "mmiml-robustness/1" and doc["subset"]["num_images"] == 4
    assert [p["level"] for p in doc["curves"]["resize"]] == list(GRID["resize"])
    assert [p["level"] for p in doc["curves"]["jpeg"]] == list(GRID["jpeg"])
    assert set(doc["area"]) == {"resize", "jpeg"}
    values = [p["avg"]["iou"] for p in doc["curves"]["resize"]]
    assert doc["area"]["resize"] == pytest.approx(
        area_under_degradation("resize", dict(zip(GRID["resize"], values, strict=True))))
    assert doc["score"] == pytest.approx(np.mean(list(doc["area"].values())))
    assert doc["checkpoint"]["sha256"] and "robustness: clean IoU" in run.stdout
    # the degraded files exist and were read: 6 JPEG folders at the stated qualities
    jpegs = sorted((tmp_path / "degraded").glob("jpeg_*/**/*.jpg"))
    assert len(jpegs) == 6 * 4
    assert _quality_from_tables((tmp_path / "degraded" / "jpeg_50").rglob("*.jpg").__next__()
                                .read_bytes()) == 50


def test_leaderboard_robustness_section(tmp_path):
    from helpers import benchmark_doc, load_tool, write_benchmark_docs

    from mmiml.benchmark import report
    from mmiml.benchmark.result import load_results

    def record(clean: float, drop: float) -> dict:
        curves = {}
        for kind in ("jpeg", "blur"):
            levels = GRID[kind]
            mild_first = severity_sorted(kind, list(levels))
            curves[kind] = [{"level": v, "num_images": 8, "per_task": {},
                             "avg": {"iou": clean - drop * mild_first.index(v), "f1": None}}
                            for v in levels]
        area = {k: area_under_degradation(k, {p["level"]: p["avg"]["iou"] for p in c})
                for k, c in curves.items()}
        return {"schema": "mmiml-robustness/1", "grid": {}, "subset": {"per_task": 2},
                "clean": {"num_images": 8, "per_task": {}, "avg": {"iou": clean, "f1": None}},
                "curves": curves, "area": area, "score": robustness_score(
                    {k: {p["level"]: p["avg"]["iou"] for p in c} for k, c in curves.items()})}

    robust = benchmark_doc("plain_convnext_uper")
    robust["robustness"] = record(0.5, 0.01)
    fragile = benchmark_doc("segformer")
    fragile["robustness"] = record(0.6, 0.1)
    write_benchmark_docs(tmp_path / "res" / "cpu", [robust, fragile, benchmark_doc("dtd")])
    table = report.robustness_table(load_results(tmp_path / "res" / "cpu")).set_index("model")
    assert list(table.index) == ["ConvNeXt-UPer (plain)", "SegFormer"]  # DTD has no record
    # a line from .5 falling .01 per level over 6 levels: mean .475
    assert table.loc["ConvNeXt-UPer (plain)", "area jpeg"] == "0.475"
    assert table.loc["SegFormer", "score"] == "0.350"  # .6 falling .1 per level: mean .35
    load_tool("make_leaderboard").generate(tmp_path / "res", tmp_path / "out")
    text = (tmp_path / "out" / "README.md").read_text()
    assert "### Robustness" in text and "![robustness_jpeg](cpu/robustness_jpeg.png)" in text
    assert (tmp_path / "out" / "cpu" / "robustness_blur.png").is_file()
