"""tools/test.py --save-pred / --show-dir: the saved maps, scored again by tools/score.py, give
the very figures of the test; the panels show the image, the ground truth, the heat map and the
overlay."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import torch
from fault_harness import ROOT, run_tool

from mmiml.visualization import image_iou, panel_row

CONFIG = (ROOT / "configs/plain_convnext_uper/"
          "upernet_convnext-atto_1xb8-400_demo-splices-128x128.py")


def test_saved_maps_score_to_identical_figures_and_panels_are_drawn(tmp_path: Path):
    from helpers import build_model, load_config

    from mmiml.datasets.demo_splices import make_demo_splices

    manifest = make_demo_splices(tmp_path / "demo", num_train=0, num_test=5, size=48, seed=1)
    ckpt = tmp_path / "model.pth"
    torch.save({"state_dict": build_model(load_config(CONFIG).model).state_dict()}, ckpt)
    pred, show = tmp_path / "pred", tmp_path / "show"
    run = run_tool("test", CONFIG, ckpt, "--work-dir", tmp_path / "work", "--out",
                   tmp_path / "test.json", "--save-pred", pred, "--show-dir", show,
                   "--cfg-options", f"test_dataloader.dataset.ann_file={manifest}",
                   "test_dataloader.num_workers=0", "test_dataloader.persistent_workers=False")
    assert run.rc == 0, run.stderr[-2000:]
    maps = sorted(pred.glob("*.npy"))
    assert len(maps) == 5 and all(np.load(m).dtype == np.float32 for m in maps)
    score = run_tool("score", "--pred", pred, "--manifest", manifest, "--out",
                     tmp_path / "score.json")
    assert score.rc == 0, score.stderr[-2000:]
    tested = json.loads((tmp_path / "test.json").read_text())
    rescored = json.loads((tmp_path / "score.json").read_text())
    for task, figures in tested["per_task"].items():
        for key, value in figures.items():
            if isinstance(value, float):
                assert rescored["per_task"][task][key] == value, (task, key)
    panels = sorted(show.glob("*.png"))
    assert [p.stem for p in panels] == [m.stem for m in maps]
    panel = cv2.imread(str(panels[0]))
    image = cv2.imread(str(Path(manifest).parent / "images" / "test" / f"{panels[0].stem}.png"))
    if image is None:
        image = next(cv2.imread(str(p)) for p in Path(manifest).parent.rglob(
            f"{panels[0].stem}.*") if "mask" not in str(p))
    h, w = image.shape[:2]
    # a title row, then four titled panels side by side with 4 px gaps
    assert panel.shape[1] == 4 * w + 3 * 4 and panel.shape[0] == h + 2 * 22


def test_panel_row_layout_and_iou():
    image = np.zeros((10, 12, 3), np.uint8)
    prob = np.zeros((10, 12), np.float32)
    prob[2:6, 3:9] = 0.9
    mask = (prob > 0.5).astype(np.uint8)
    gt = np.zeros((10, 12), np.uint8)
    gt[2:6, 3:6] = 1
    assert image_iou(mask, gt) == 0.5
    assert image_iou(np.zeros_like(mask), np.zeros_like(gt)) is None
    gt_ignored = gt.copy()
    gt_ignored[2:6, 6:9] = 255
    assert image_iou(mask, gt_ignored) == 1.0
    row = panel_row(image, prob, mask, gt, title="x")
    assert row.shape == (10 + 44, 4 * 12 + 12, 3)
    assert panel_row(image, prob, mask).shape == (10 + 22, 3 * 12 + 8, 3)


def test_browse_dataset_draws_a_grid_per_task_and_counts_unreadable(tmp_path: Path):
    from helpers import load_tool

    from mmiml.datasets.demo_splices import make_demo_splices
    from mmiml.datasets.manifest import read_manifest, write_manifest

    manifest = make_demo_splices(tmp_path / "demo", num_train=0, num_test=5, size=48, seed=2)
    entries = read_manifest(manifest)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    entries.append({**entries[0], "image": str(broken)})
    write_manifest([{k: v for k, v in e.items() if k != "line"} for e in entries],
                   tmp_path / "m.jsonl")
    tool = load_tool("browse_dataset")
    code = tool.main([str(tmp_path / "m.jsonl"), "--out-dir", str(tmp_path / "grid"),
                      "--cols", "3", "--size", "64"])
    assert code == 1  # one entry unreadable, drawn grey and counted
    task = entries[0]["task"]
    n = sum(e["task"] == task for e in entries)
    assert {p.stem for p in (tmp_path / "grid").glob("*.png")} == {e["task"] for e in entries}
    grid = cv2.imread(str(tmp_path / "grid" / f"{task}.png"))
    rows = -(-n // 3)
    assert grid.shape == (rows * (64 + 30 + 4), min(3, n) * (64 + 4), 3)
    assert (grid[..., 2] > 200).any()  # red tint of a tampered region (BGR on disk)
