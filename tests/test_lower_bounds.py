"""mmiml.evaluation.lower_bounds predictors and tools/lower_bounds.py scoring."""
from __future__ import annotations

import importlib.util
import io
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from mmiml.evaluation.lower_bounds import LOWER_BOUNDS, centre_blob, soft_threshold
from mmiml.evaluation.result_json import validate_result

ROOT = Path(__file__).resolve().parents[1]


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))


def _textured(seed: int, side: int = 96) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = ndimage.gaussian_filter(rng.uniform(0, 255, (side, side, 3)), (3, 3, 0))
    base = (base - base.mean()) * 4 + 128 + rng.normal(0, 6, base.shape)
    return np.clip(base, 0, 255).astype(np.uint8)


def _recompressed_region(seed: int, box: tuple[int, int, int, int] = (32, 64, 24, 64),
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Host saved at JPEG quality 60, a block-aligned ``box`` (y0, y1, x0, x1) at quality 98
    (lossless composite)."""
    base = _textured(seed)
    mask = np.zeros(base.shape[:2], np.uint8)
    mask[box[0]:box[1], box[2]:box[3]] = 1
    img = np.where(mask[..., None] == 1, _jpeg(base, 98), _jpeg(base, 60))
    return img, mask


@pytest.mark.parametrize("name", list(LOWER_BOUNDS))
def test_predictor_shape_range_deterministic(name: str) -> None:
    img = _textured(1, side=64)[:37, :53]
    out = LOWER_BOUNDS[name](img)
    assert out.shape == (37, 53) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_array_equal(out, LOWER_BOUNDS[name](img.copy()))


@pytest.mark.parametrize("name", list(LOWER_BOUNDS))
def test_predictor_flat_image(name: str) -> None:
    out = LOWER_BOUNDS[name](np.full((16, 24, 3), 77, np.uint8))
    assert out.shape == (16, 24) and np.isfinite(out).all()


def test_predictor_rejects_gray() -> None:
    with pytest.raises(ValueError, match="HxWx3"):
        LOWER_BOUNDS["ela"](np.zeros((8, 8), np.uint8))


def test_centre_blob_area() -> None:
    blob = centre_blob(np.zeros((200, 300, 3), np.uint8), area=0.10)
    assert (blob > 0.5).mean() == pytest.approx(0.10, abs=0.005)
    assert blob[100, 150] == pytest.approx(1.0, abs=1e-3) and blob[0, 0] < 0.01


def test_soft_threshold_keeps_otsu_split() -> None:
    x = np.zeros((20, 20))
    x[5:10, 5:10] = 1.0
    x = x + np.linspace(0, 0.05, 400).reshape(20, 20)
    for method in ("otsu", "meanstd"):
        soft = soft_threshold(x, method=method)
        # every threshold inside the gap splits alike; Otsu's may sit at the gap's lower edge
        np.testing.assert_array_equal(soft[x < 0.045] > 0.5, False)
        np.testing.assert_array_equal(soft[x > 0.5] > 0.5, True)
        assert soft.min() >= 0.0 and soft.max() <= 1.0
    assert soft_threshold(np.ones((4, 4))).max() == 0.0


def test_ela_finds_recompressed_region() -> None:
    for seed in range(3):
        img, mask = _recompressed_region(seed)
        pred = LOWER_BOUNDS["ela"](img) > 0.5
        iou = (pred & (mask == 1)).sum() / (pred | (mask == 1)).sum()
        assert iou > 0.4 > mask.mean()  # all_tampered's IoU is the mask share (0.14)


# --- scoring through tools/score.py (needs mmseg) ----------------------------------------

@pytest.fixture(scope="module")
def lb_tool() -> ModuleType:
    pytest.importorskip("mmseg")
    spec = importlib.util.spec_from_file_location("mmiml_lower_bounds_tool",
                                                  ROOT / "tools" / "lower_bounds.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _tiny_set(tmp: Path) -> tuple[Path, dict[str, float]]:
    """Two tasks: recompressed-region images (tampered), one authentic, one train image."""
    (tmp / "img").mkdir()
    (tmp / "msk").mkdir()
    lines, share = [], {}
    for i, (task, split) in enumerate([("natural", "test"), ("natural", "test"),
                                       ("face", "test"), ("face", "train")]):
        # a different mask share per task
        img, mask = _recompressed_region(i, (8, 40, 8, 32) if task == "face" else (32, 64, 24, 64))
        Image.fromarray(img).save(tmp / "img" / f"s{i}.png")
        Image.fromarray(mask * 255).save(tmp / "msk" / f"s{i}.png")
        lines.append({"image": f"img/s{i}.png", "mask": f"msk/s{i}.png", "task": task,
                      "source": "t", "split": split, "manipulation": "splice",
                      "post": {"jpeg": [98]}})
        if split == "test":
            share.setdefault(task, []).append(float(mask.mean()))
    Image.fromarray(_jpeg(_textured(9), 60)).save(tmp / "img" / "auth.png")
    lines.append({"image": "img/auth.png", "mask": None, "task": "face", "source": "t",
                  "split": "test", "manipulation": "authentic"})
    path = tmp / "manifest.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path, {t: float(np.mean(v)) for t, v in share.items()}


def test_constant_bounds_and_ela(lb_tool: ModuleType, tmp_path: Path) -> None:
    manifest, share = _tiny_set(tmp_path)
    res = lb_tool.score_lower_bounds(str(manifest), tmp_path / "out",
                      predictors=["all_tampered", "all_authentic", "ela"])
    for task, frac in share.items():
        assert res["all_authentic"]["per_task"][task]["pixel_iou_image"] == 0.0
        assert res["all_tampered"]["per_task"][task]["pixel_iou_image"] == pytest.approx(
            frac, abs=1e-6)
        assert (res["ela"]["per_task"][task]["pixel_iou_image"]
                > res["all_tampered"]["per_task"][task]["pixel_iou_image"])
    assert res["all_tampered"]["num_images"] == 4  # the train image is not scored
    assert res["all_authentic"]["per_task"]["face"]["false_alarm_rate"] == 0.0


def test_cli_end_to_end(lb_tool: ModuleType, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    manifest, _ = _tiny_set(tmp_path)
    out = tmp_path / "out"
    lb_tool.main([str(manifest), "--split", "test", "--out-dir", str(out),
                  "--predictors", "centre_blob,noise_residual"])
    printed = capsys.readouterr().out
    for name in ("centre_blob", "noise_residual"):
        result = json.loads((out / f"{name}.json").read_text())
        validate_result(result)
        assert result["predictor"] == name and result["num_images"] == 4
        assert len(list((out / name / "preds").glob("*.png"))) == 4
        assert name in printed
    assert "avg" in printed and "IoU" in printed
    with pytest.raises(ValueError, match="unknown predictor"):
        lb_tool.score_lower_bounds(str(manifest), out, predictors=["nope"])
