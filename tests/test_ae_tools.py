"""Anomaly Enhancement tools: tools/analysis_tools/box_stats.py (boxes and anchors) and
tools/analysis_tools/ae_box_recall.py (does the detection branch learn?)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from helpers import ROOT, build_model, load_config

from mmiml.datasets.manifest import read_manifest
from mmiml.utils.errors import CheckpointError, ConfigError

TINY = "configs/omni_iml/omni-iml_convnext-atto_1xb8-1k_synthiml-cpu-joint-128x128.py"
BOX_OFF = ("configs/omni_iml/ablations/"
           "omni-iml-ae-box-off_convnext-atto_1xb8-1k_synthiml-cpu-joint-128x128.py")


def _tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"mmiml_{name}_tool", ROOT / "tools" / "analysis_tools" / f"{name}.py")
    tool = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = tool  # dataclasses look their module up
    spec.loader.exec_module(tool)
    return tool


box_stats = _tool("box_stats")
ae_box_recall = _tool("ae_box_recall")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> Path:
    """SynthIML `smoke` (64 px, 8/2/6 images per task and split) in a tmp root, as
    ``python tools/make_synthetic.py --profile smoke --out ROOT`` writes it."""
    from mmiml.datasets.synthesis.generator import PROFILES, make_synthiml

    profile = PROFILES["smoke"]
    return make_synthiml(tmp_path_factory.mktemp("synthiml_smoke"),
                         per_split=dict(profile.per_split), size=profile.size, workers=1,
                         progress=False)


# ------------------------------------------------------------------------------ box_stats
def test_training_boxes_follow_the_mask_the_crop_and_the_scale():
    mask = np.zeros((40, 48), np.uint8)
    mask[2:6, 3:9] = 1
    mask[20:30, 30:31] = 1
    np.random.seed(0)
    assert box_stats.training_boxes(mask, (64, 64)).tolist() == [[3, 2, 9, 6], [30, 20, 31, 30]]
    np.random.seed(0)
    assert box_stats.training_boxes(mask, (128, 128), 2.0).tolist() == [
        [6, 4, 18, 12], [60, 40, 62, 60]]
    # an 8 px crop on the 8x8 grid keeps only what falls inside it
    np.random.seed(0)
    cropped = box_stats.training_boxes(mask, (8, 8))
    assert len(cropped) <= 1 and np.all(cropped <= 8)


def _grid_max_iou(boxes, scales, ratios, strides, size):
    """Brute force: IoU with every anchor mmdet's AnchorGenerator puts on the grid."""
    from mmdet.models.task_modules.prior_generators import AnchorGenerator
    from mmdet.structures.bbox import bbox_overlaps

    gen = AnchorGenerator(strides=list(strides), ratios=list(ratios), scales=list(scales))
    sizes = [(-(-size[0] // s), -(-size[1] // s)) for s in strides]
    anchors = torch.cat(gen.grid_priors(sizes, device="cpu"))
    return bbox_overlaps(torch.as_tensor(boxes, dtype=torch.float32), anchors).max(1).values


@pytest.mark.parametrize("scales,ratios", [((8,), (0.5, 1.0, 2.0)),
                                           ((1.41, 2.0, 2.83, 4.0), (0.5, 1.0, 2.0)),
                                           ((3,), (0.25, 1.0))])
def test_nearest_grid_point_gives_the_exact_best_anchor(scales, ratios):
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 120, (300, 2))
    wh = np.exp(rng.uniform(np.log(2), np.log(100), (300, 2)))
    boxes = np.concatenate([xy, np.minimum(xy + wh, 128)], axis=1)
    fast = box_stats.max_anchor_iou(boxes, scales, ratios, (4, 8, 16, 32), (128, 128))
    slow = _grid_max_iou(boxes, scales, ratios, (4, 8, 16, 32), (128, 128)).numpy()
    np.testing.assert_allclose(fast, slow, atol=1e-5)


def test_coverage_and_suggestion_on_boxes_that_one_anchor_set_fits():
    # 12 px squares centred on stride-4 grid points: scale 3 fits them exactly, scale 8 does not
    centres = np.arange(8, 120, 4.0)
    boxes = np.array([[c - 6, c - 6, c + 6, c + 6] for c in centres])
    exact = box_stats.AnchorSet("x", (3.0,), (1.0,))
    big = box_stats.AnchorSet("x", (8.0,), (0.5, 1.0, 2.0))
    strides, size = (4, 8, 16, 32), (128, 128)
    assert box_stats.coverage(boxes, exact, strides, size, (0.7, 0.3)) == [1.0, 1.0]
    assert box_stats.coverage(boxes, big, strides, size, (0.7, 0.3)) == [0.0, 0.0]
    best = box_stats.suggest(boxes, box_stats.candidate_sets([(1.0,)], 12), strides, size,
                             0.7, 0.3)
    assert box_stats.coverage(boxes, best, strides, size, (0.7,)) == [1.0]
    assert best.per_location == 1  # the fewest anchors among the equally good


def test_range_rule_and_roi_levels():
    spanning = box_stats.range_rule(6.7, 69.3, (4, 8, 16, 32), (0.5, 1.0, 2.0))
    assert 4 * spanning.scales[0] <= 6.7 and 32 * spanning.scales[-1] >= 69.3
    assert box_stats.range_rule(1.0, 1000.0, (4, 8), (1.0,)) is None
    boxes = np.array([[0, 0, 50, 50], [0, 0, 120, 120], [0, 0, 500, 500]])
    assert box_stats.roi_levels(boxes, 56, 4).tolist() == [0, 1, 3]


def test_box_stats_cli_on_smoke(smoke, tmp_path, capsys):
    out = tmp_path / "stats.json"
    box_stats.main([str(smoke), "--config", str(ROOT / TINY), "--crop", "64", "--out", str(out)])
    text = capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert "| configured | 1.41, 2, 2.83, 4 | 0.5, 1, 2 | 12 |" in text
    assert "| Faster R-CNN | 8 |" in text and "suggested: neck=dict(anchor_scales=" in text
    # the per-task counts are the masks' components of side >= 4 (the config's min_box_side)
    entries = read_manifest(smoke, split="train")
    assert doc["settings"]["min_side"] == 4 and doc["settings"]["pos_iou"] == 0.5
    assert doc["boxes"]["all"]["images"] == len(entries)
    assert doc["boxes"]["all"]["tampered"] == sum(e["mask"] is not None for e in entries)
    total = doc["boxes"]["all"]["boxes"] + doc["boxes"]["all"]["dropped_small"]
    assert total == sum(doc["boxes"][t]["boxes"] + doc["boxes"][t]["dropped_small"]
                        for t in doc["boxes"] if t != "all")
    assert [a["label"] for a in doc["anchors"]][0] == "configured"


# -------------------------------------------------------------------------- ae_box_recall
def test_recall_is_one_for_the_boxes_themselves_and_zero_for_disjoint_ones():
    gt = np.array([[0, 0, 10, 10], [20, 20, 40, 30]], dtype=float)
    assert ae_box_recall.recalled(gt, gt).all()
    assert not ae_box_recall.recalled(gt, gt + 100).any()
    assert not ae_box_recall.recalled(gt, np.zeros((0, 4))).any()
    half = np.array([[0, 0, 10, 5]], dtype=float)  # IoU 0.5 with the first box
    assert ae_box_recall.recalled(gt, half, 0.5).tolist() == [True, False]
    assert ae_box_recall.recalled(gt, half, 0.51).tolist() == [False, False]


def test_recall_counter_tallies_per_task():
    counter = ae_box_recall.RecallCounter()
    gt = np.array([[0, 0, 10, 10], [20, 20, 40, 30]], dtype=float)
    counter.add("natural", gt, 1, proposals=gt, detections=gt[:1], iou_thr=0.5)
    counter.add("natural", np.zeros((0, 4)), 0, proposals=gt, detections=gt, iou_thr=0.5)
    counter.add("face", gt[:1], 0, proposals=gt + 50, detections=np.zeros((0, 4)), iou_thr=0.5)
    rows = counter.summary()
    assert list(rows) == ["natural", "face", "all"]
    nat = rows["natural"]
    assert (nat["images"], nat["images_without_box"], nat["gt_boxes"]) == (2, 1, 2)
    assert nat["recall_proposals"] == 1.0 and nat["recall_detections"] == 0.5
    assert nat["small_boxes_left_out"] == 1 and nat["detections_per_image_without_box"] == 2.0
    assert rows["face"]["recall_proposals"] == 0.0
    assert rows["all"]["gt_boxes"] == 3 and rows["all"]["recall_proposals"] == 2 / 3
    md = ae_box_recall.summary_markdown(rows, 100, 0.5, 0.5)
    assert "| natural | 2 | 1 | 2 | 1 | 100.0 | 50.0 | 2.00 |" in md


@pytest.fixture(scope="module")
def fresh_checkpoint(tmp_path_factory) -> Path:
    """A freshly initialised tiny Omni-IML, detection branch included, saved as a checkpoint."""
    model = build_model(load_config(ROOT / TINY).model)
    path = tmp_path_factory.mktemp("ckpt") / "fresh.pth"
    torch.save({"state_dict": model.state_dict(), "meta": {}}, path)
    return path


def _data_options(smoke: Path) -> list[str]:
    return ["--cfg-options", f"test_dataloader.dataset.ann_file={smoke}",
            "test_dataloader.dataset.synthiml=None"]


def test_ae_box_recall_runs_on_smoke_images_and_counts_their_boxes(smoke, fresh_checkpoint,
                                                                   tmp_path, capsys):
    from mmiml.datasets.io import load_mask
    from mmiml.datasets.transforms.loading import boxes_from_seg_map

    out = tmp_path / "recall.json"
    ae_box_recall.main([str(ROOT / TINY), str(fresh_checkpoint), "--max-images", "3",
                        "--device", "cpu", "--out", str(out), *_data_options(smoke)])
    assert "Recall at IoU >= 0.5" in capsys.readouterr().out
    doc = json.loads(out.read_text())
    entries = read_manifest(smoke, split="test")[:3]
    expected = {"images": 3, "gt_boxes": 0, "small_boxes_left_out": 0, "images_without_box": 0}
    for e in entries:
        boxes = boxes_from_seg_map(load_mask(e["mask"]))[0] if e["mask"] else np.zeros((0, 4))
        side = np.sqrt((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))
        expected["gt_boxes"] += int((side >= 4).sum())
        expected["small_boxes_left_out"] += int((side < 4).sum())
        expected["images_without_box"] += int(not (side >= 4).any())
    assert {k: doc["tasks"]["all"][k] for k in expected} == expected
    for row in doc["tasks"].values():
        for key in ("recall_proposals", "recall_detections"):
            assert row[key] is None or 0.0 <= row[key] <= 1.0


def test_ae_box_recall_refuses_a_model_without_branch_and_a_checkpoint_without_it(
        smoke, tmp_path):
    with pytest.raises(ConfigError, match="with_detection"):
        ae_box_recall.main([str(ROOT / BOX_OFF), "unused.pth", *_data_options(smoke)])
    # a deployed (stripped) checkpoint lacks the branch: strict loading says so
    model = build_model(load_config(ROOT / TINY).model)
    model.neck.strip_detection()
    stripped = tmp_path / "stripped.pth"
    torch.save({"state_dict": model.state_dict()}, stripped)
    with pytest.raises(CheckpointError, match="missing keys.*neck.det_proj"):
        ae_box_recall.main([str(ROOT / TINY), str(stripped), "--max-images", "1",
                            "--device", "cpu", *_data_options(smoke)])


def test_ae_box_recall_init_is_a_seeded_fresh_model(smoke, capsys):
    """'init' in place of a checkpoint: the chance level, reproducible per seed."""
    cfg = load_config(ROOT / TINY)

    def weights(seed: int) -> torch.Tensor:
        torch.manual_seed(seed)
        model = ae_box_recall.build_detecting_model(cfg, str(TINY), ae_box_recall.INIT, "cpu")
        return model.neck.rpn_head.rpn_conv.weight.detach().clone()

    assert torch.equal(weights(0), weights(0))
    assert not torch.equal(weights(0), weights(1))
    capsys.readouterr()
    ae_box_recall.main([str(ROOT / TINY), "init", "--seed", "1", "--max-images", "2",
                        "--device", "cpu", *_data_options(smoke)])
    out = capsys.readouterr().out
    assert "Recall at IoU >= 0.5" in out
    assert "init_weights" not in out  # the per-tensor init log stays out of the table
