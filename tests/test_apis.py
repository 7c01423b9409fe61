"""The inference API and the image demo: maps at the original size, masks, scores and regions
that agree with each other, the DCT of the file given, safe strict checkpoints, and bad
inputs named and counted."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from helpers import ROOT

from mmiml.apis import IMLInferencer, expand_inputs, inference_model, init_model
from mmiml.apis.inference import region_position
from mmiml.evaluation import functional as F
from mmiml.utils.errors import CheckpointError, IMLDataError

PLAIN = (ROOT / "configs/plain_convnext_uper/"
         "upernet_convnext-atto_1xb8-1k_synthiml-cpu-joint-128x128.py")
OMNI = ROOT / "configs/omni_iml/omni-iml_convnext-atto_1xb8-1k_synthiml-cpu-joint-128x128.py"


@pytest.fixture(scope="module")
def plain_ckpt(tmp_path_factory) -> tuple[torch.nn.Module, Path]:
    model = init_model(PLAIN)
    path = tmp_path_factory.mktemp("ckpt") / "plain.pth"
    torch.save({"state_dict": model.state_dict(), "meta": {"note": "test"}}, path)
    return init_model(PLAIN, path), path


def _png(path: Path, w: int = 70, h: int = 50, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    cv2.imwrite(str(path), img)
    return path


def test_prediction_parts_agree_and_keep_the_original_size(plain_ckpt, tmp_path: Path):
    model, _ = plain_ckpt
    (pred,) = inference_model(model, _png(tmp_path / "a.png"), threshold=0.5)
    assert pred.prob.shape == pred.mask.shape == (50, 70)
    assert np.array_equal(pred.mask, (pred.prob > 0.5).astype(np.uint8))
    assert sum(r["area"] for r in pred.regions) == int(pred.mask.sum())
    for r in pred.regions:
        x1, y1, x2, y2 = r["box"]
        assert pred.mask[y1:y2, x1:x2].sum() >= r["area"] > 0
    pooled = F.pool_scores(pred.prob[None], mode="topk_mean")[0]
    assert pred.score == pytest.approx(pooled) and pred.score_source == "topk_mean"
    low = inference_model(model, tmp_path / "a.png", threshold=0.0)[0]
    assert low.mask.all() and len(low.regions) == 1 and low.regions[0]["area_share"] == 1.0
    summary = json.loads(json.dumps(pred.summary()))
    assert summary["width"] == 70 and summary["height"] == 50 and summary["gate"] is None


def test_arrays_files_and_folders(plain_ckpt, tmp_path: Path):
    model, _ = plain_ckpt
    b, a = _png(tmp_path / "imgs" / "b.png", seed=2), _png(tmp_path / "imgs" / "a.png", seed=1)
    (tmp_path / "imgs" / "notes.txt").write_text("x")
    assert expand_inputs(tmp_path / "imgs") == [str(a), str(b)]
    from_file = inference_model(model, tmp_path / "imgs")
    array = cv2.imread(str(a))[..., ::-1].copy()
    (from_array,) = inference_model(model, [array])
    assert from_array.source == "<array 0>"
    assert np.array_equal(from_array.prob, from_file[0].prob)  # a PNG has no DCT to differ
    with pytest.raises(IMLDataError, match="no such file"):
        inference_model(model, tmp_path / "missing.png")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IMLDataError, match="no image file"):
        expand_inputs(tmp_path / "empty")
    with pytest.raises(IMLDataError, match="at least 8 px"):
        inference_model(model, _png(tmp_path / "tiny.png", 1, 1))
    with pytest.raises(IMLDataError, match="uint8 RGB"):
        inference_model(model, [np.zeros((20, 20), np.uint8)])


def test_dct_model_reads_the_dct_of_the_file_given(tmp_path: Path, monkeypatch):
    from mmiml.datasets.transforms.loading import LoadJpegDCT

    sources: list[str] = []
    original = LoadJpegDCT.transform

    def spy(self, results):
        out = original(self, results)
        sources.append(out["dct_source"])
        return out

    monkeypatch.setattr(LoadJpegDCT, "transform", spy)
    model = init_model(OMNI)
    jpg = tmp_path / "a.jpg"
    img = np.random.default_rng(3).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    cv2.imwrite(str(jpg), img, [cv2.IMWRITE_JPEG_QUALITY, 70])
    preds = inference_model(model, [jpg, cv2.imread(str(jpg))[..., ::-1].copy()])
    assert sources == ["file", "reencode"]
    assert all(p.gate is not None and p.gate["route"] in ("rgb", "rgb+dct") for p in preds)


def test_checkpoints_load_strictly_and_safely(plain_ckpt, tmp_path: Path):
    _, path = plain_ckpt
    state = torch.load(path, weights_only=True)["state_dict"]
    state.pop(next(iter(state)))
    torch.save({"state_dict": state}, tmp_path / "partial.pth")
    with pytest.raises(CheckpointError, match="strict"):
        init_model(PLAIN, tmp_path / "partial.pth")
    assert init_model(PLAIN, tmp_path / "partial.pth", strict=False).checkpoint_report[
        "missing_keys"]

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"state_dict": {"x": torch.zeros(1)}, "evil": Evil()}, tmp_path / "evil.pth")
    with pytest.raises(CheckpointError):
        init_model(PLAIN, tmp_path / "evil.pth")


def test_region_positions_in_words():
    assert region_position(5, 5, 90, 90) == "upper left"
    assert region_position(45, 45, 90, 90) == "centre"
    assert region_position(85, 45, 90, 90) == "middle right"
    assert region_position(45, 85, 90, 90) == "lower centre"


def test_demo_writes_four_outputs_and_counts_bad_inputs(plain_ckpt, tmp_path: Path):
    from PIL import Image

    _, ckpt = plain_ckpt
    images = tmp_path / "in"
    _png(images / "good.png")
    cv2.imwrite(str(images / "photo.jpg"), cv2.imread(str(images / "good.png")))
    (images / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    _png(images / "dot.png", 1, 1)
    Image.fromarray(np.arange(40 * 60, dtype=np.uint16).reshape(40, 60) * 20).save(
        images / "deep.png")
    Image.new("CMYK", (60, 40), (10, 200, 30, 0)).save(images / "print.jpg")
    import importlib.util

    spec = importlib.util.spec_from_file_location("image_demo", ROOT / "demo" / "image_demo.py")
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    out = tmp_path / "out"
    code = demo.main([str(images), str(PLAIN), str(ckpt), "--out-dir", str(out)])
    assert code == 1  # some images failed, the others were predicted
    for stem in ("good", "photo", "deep", "print"):
        for suffix in ("_heatmap.png", "_mask.png", "_overlay.png", ".json"):
            assert (out / f"{stem}{suffix}").is_file(), (stem, suffix)
        summary = json.loads((out / f"{stem}.json").read_text())
        mask = cv2.imread(str(out / f"{stem}_mask.png"), cv2.IMREAD_GRAYSCALE)
        assert mask.shape == (summary["height"], summary["width"])
        assert set(np.unique(mask)) <= {0, 255}
    report = json.loads((out / "demo_summary.json").read_text())
    assert report["predicted"] == 4
    assert report["failures_by_kind"] == {"unreadable": 1, "too small": 1}
    assert {Path(f["input"]).name for f in report["failed"]} == {"broken.jpg", "dot.png"}
    converted = {Path(c["input"]).name: c["what"] for c in report["converted"]}
    assert converted == {"deep.png": "16-bit grey scaled to 8-bit RGB",
                         "print.jpg": "CMYK converted to RGB"}


def test_inferencer_keeps_both_files_of_one_stem(plain_ckpt, tmp_path: Path):
    _, ckpt = plain_ckpt
    _png(tmp_path / "in" / "x.png")
    cv2.imwrite(str(tmp_path / "in" / "x.jpg"), cv2.imread(str(tmp_path / "in" / "x.png")))
    out = IMLInferencer(PLAIN, ckpt)(tmp_path / "in", str(tmp_path / "out"))
    assert len(out["outputs"]) == 2
    assert (tmp_path / "out" / "x.json").is_file() and (tmp_path / "out" / "x_2.json").is_file()
