"""tools/score.py: scoring saved prediction maps (PNG / npy) against a manifest."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("mmseg")

from mmiml.evaluation.result_json import validate_result  # noqa: E402
from mmiml.utils.errors import IMLDataError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def score_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mmiml_score_tool", ROOT / "tools" / "score.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def ref_f1_iou(prob: np.ndarray, gt: np.ndarray) -> tuple[float, float]:
    p = prob.astype(np.float32) > 0.5
    g = gt == 1
    tp, fp, fn = np.sum(p & g), np.sum(p & ~g), np.sum(~p & g)
    pr, rc = tp / (tp + fp + 1e-8), tp / (tp + fn + 1e-8)
    return 2 * pr * rc / (pr + rc + 1e-8), tp / (tp + fp + fn + 1e-8)


def build(tmp: Path, *, fmt: dict[str, str] | None = None, size: dict[str, tuple] | None = None,
          missing: tuple[str, ...] = ()) -> dict:
    """A manifest with 3 tampered + 1 authentic test images (and one train image), masks as
    0/255 PNGs, and predictions saved as 8-bit PNG or float npy maps (``fmt`` per stem)."""
    rng = np.random.default_rng(0)
    fmt = fmt or {}
    size = size or {}
    (tmp / "images").mkdir()
    (tmp / "masks").mkdir()
    pred_dir = tmp / "pred"
    pred_dir.mkdir()
    lines, truth = [], {}
    specs = [("t0", 20, 24, True), ("t1", 16, 16, True), ("t2", 18, 30, True),
             ("a0", 12, 14, False), ("train0", 10, 10, True)]
    for stem, h, w, tampered in specs:
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(
            tmp / "images" / f"{stem}.jpg")
        gt = np.zeros((h, w), np.uint8)
        mask = None
        if tampered:
            gt[h // 4:h // 2, w // 4:w // 2 + 2] = 1
            Image.fromarray(gt * 255).save(tmp / "masks" / f"{stem}.png")
            mask = f"masks/{stem}.png"
        lines.append(json.dumps({"image": f"images/{stem}.jpg", "mask": mask, "task": "natural",
                                 "source": "unit", "split": "train" if "train" in stem
                                 else "test"}))
        prob = np.clip(gt * 0.55 + rng.random((h, w)) * 0.5, 0, 1)
        ph, pw = size.get(stem, (h, w))
        if (ph, pw) != (h, w):
            prob = np.asarray(Image.fromarray(prob.astype(np.float32)).resize((pw, ph)))
        if stem in missing:
            continue
        if fmt.get(stem, "png") == "png":
            png = np.round(prob * 255).astype(np.uint8)
            Image.fromarray(png).save(pred_dir / f"{stem}.png")
            prob = png / 255.0
        else:
            np.save(pred_dir / f"{stem}.npy", prob.astype(np.float32))
        truth[stem] = (prob, gt)
    (tmp / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return {"pred": str(pred_dir), "manifest": str(tmp / "manifest.jsonl"), "truth": truth}


def test_png_and_npy_predictions_score_like_the_metric(tmp_path: Path, score_tool,
                                                       capsys) -> None:
    d = build(tmp_path, fmt={"t1": "npy", "a0": "npy"})
    out = tmp_path / "result.json"
    result = score_tool.run(["--pred", d["pred"], "--manifest", d["manifest"],
                             "--out", str(out)])
    printed = capsys.readouterr().out
    assert "natural" in printed and "avg" in printed
    on_disk = json.loads(out.read_text())
    validate_result(on_disk)
    assert on_disk == json.loads(json.dumps(result))
    assert on_disk["num_images"] == 4 and on_disk["num_authentic"] == 1  # test split only
    assert on_disk["num_skipped"] == 0 and on_disk["skipped"] == []
    refs = [ref_f1_iou(*d["truth"][s]) for s in ("t0", "t1", "t2")]
    scores = on_disk["per_task"]["natural"]
    assert scores["pixel_f1_image"] == pytest.approx(np.mean([r[0] for r in refs]), abs=1e-6)
    assert scores["pixel_iou_image"] == pytest.approx(np.mean([r[1] for r in refs]), abs=1e-6)


def test_missing_prediction_is_a_named_error(tmp_path: Path, score_tool) -> None:
    d = build(tmp_path, missing=("t2",))
    with pytest.raises(IMLDataError, match=r"t2\.jpg.*no prediction named t2"):
        score_tool.main(["--pred", d["pred"], "--manifest", d["manifest"]])


def test_skip_missing_counts_and_stores_skipped(tmp_path: Path, score_tool, capsys) -> None:
    d = build(tmp_path, missing=("t2", "a0"))
    out = tmp_path / "r.json"
    score_tool.main(["--pred", d["pred"], "--manifest", d["manifest"], "--out", str(out),
                     "--skip-missing"])
    assert "skipped 2 image(s)" in capsys.readouterr().out
    res = json.loads(out.read_text())
    validate_result(res)
    assert res["num_skipped"] == 2 and sorted(res["skipped"]) == ["a0", "t2"]
    assert res["num_images"] == 2


def test_wrong_size_is_a_named_error_unless_resize(tmp_path: Path, score_tool) -> None:
    d = build(tmp_path, size={"t1": (8, 8)}, fmt={"t1": "npy"})
    with pytest.raises(IMLDataError, match=r"t1\.npy.*8x8.*16x16"):
        score_tool.main(["--pred", d["pred"], "--manifest", d["manifest"]])
    res = score_tool.run(["--pred", d["pred"], "--manifest", d["manifest"], "--resize",
                          "--out", str(tmp_path / "r.json")])
    assert res["num_images"] == 4


def test_ambiguous_prediction_stems_are_an_error(tmp_path: Path, score_tool) -> None:
    d = build(tmp_path)
    sub = Path(d["pred"]) / "again"
    sub.mkdir()
    np.save(sub / "t0.npy", np.zeros((20, 24), np.float32))
    with pytest.raises(IMLDataError, match="ambiguous prediction stem 't0'"):
        score_tool.main(["--pred", d["pred"], "--manifest", d["manifest"]])


def test_cli_exit_code_and_message(tmp_path: Path) -> None:
    import subprocess

    d = build(tmp_path, missing=("t0",))
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "score.py"), "--pred", d["pred"],
                           "--manifest", d["manifest"]], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 2
    assert "t0.jpg" in proc.stderr and "no prediction" in proc.stderr
