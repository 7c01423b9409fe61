"""IMLMetric behaviour (docs/metrics.md): per-task + macro average, resizing to the
original size, null for undefined figures, authentic policies, false alarms, image-level and
threshold-free figures, and "every image scored exactly once" over uneven batches and 2 processes.
"""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("mmseg")
sklearn_metrics = pytest.importorskip("sklearn.metrics")

from mmengine.evaluator import Evaluator  # noqa: E402
from mmengine.structures import PixelData  # noqa: E402
from mmseg.registry import METRICS  # noqa: E402
from mmseg.structures import SegDataSample  # noqa: E402

from mmiml.evaluation.metrics.iml_metric import IMLMetric  # noqa: E402
from mmiml.evaluation.result_json import (  # noqa: E402
    FIGURE_KEYS,
    format_task_table,
    validate_result,
)
from mmiml.utils.errors import IMLDataError  # noqa: E402


def make_sample(gt: np.ndarray, prob: np.ndarray | None = None, *, task: str = "natural",
                name: str = "img", logits: np.ndarray | None = None) -> SegDataSample:
    sample = SegDataSample(metainfo={"img_path": f"/data/{task}/{name}.png", "task": task})
    sample.gt_sem_seg = PixelData(data=torch.from_numpy(np.asarray(gt, np.uint8))[None])
    if prob is not None:
        sample.pred_prob = PixelData(data=torch.from_numpy(np.asarray(prob, np.float32))[None])
    if logits is not None:
        sample.seg_logits = PixelData(data=torch.from_numpy(np.asarray(logits, np.float32)))
    return sample


def run(samples: list, batch: int | None = None, **kwargs) -> dict:
    metric = IMLMetric(**kwargs)
    batch = batch or len(samples)
    for s in range(0, len(samples), batch):
        metric.process(None, samples[s:s + batch])
    metric.evaluate(len(samples))
    return metric.last_result


def ref_f1_iou(prob: np.ndarray, gt: np.ndarray, thr: float = 0.5) -> tuple[float, float]:
    keep = gt != 255
    p = np.asarray(prob, np.float32)[keep] > thr
    g = gt[keep] == 1
    tp, fp, fn = np.sum(p & g), np.sum(p & ~g), np.sum(~p & g)
    pr, rc = tp / (tp + fp + 1e-8), tp / (tp + fn + 1e-8)
    return 2 * pr * rc / (pr + rc + 1e-8), tp / (tp + fp + fn + 1e-8)


def assert_same(a: dict, b: dict) -> None:
    """Equal result blocks (``per_task``: dict of dicts, or ``avg``), floats to 1e-9."""
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], dict):
            assert_same(a[key], b[key])
        else:
            assert a[key] == pytest.approx(b[key], abs=1e-9), key


def dataset(n: int = 11, seed: int = 0) -> list[SegDataSample]:
    """Mixed tasks, tampered and authentic images of several sizes."""
    rng = np.random.default_rng(seed)
    tasks = ("natural", "document", "face")
    out = []
    for i in range(n):
        h, w = int(rng.integers(10, 24)), int(rng.integers(10, 24))
        gt = np.zeros((h, w), np.uint8)
        if i % 4 != 3:
            y, x = rng.integers(0, h - 4), rng.integers(0, w - 4)
            gt[y:y + 4, x:x + 5] = 1
        prob = np.clip(rng.random((h, w)) * 0.6 + gt * rng.random() * 0.6, 0, 1)
        out.append(make_sample(gt, prob, task=tasks[i % 3], name=f"s{i}"))
    return out


# ------------------------------------------------------------------------------ structure
def test_registered_with_prefix_and_flat_logging_dict() -> None:
    metric = METRICS.build(dict(type="IMLMetric"))
    assert isinstance(metric, IMLMetric)
    samples = dataset()
    metric.process(None, samples)
    flat = metric.evaluate(len(samples))
    assert flat["iml/num_images"] == len(samples)
    assert "iml/avg/pixel_iou_image" in flat and "iml/natural/pixel_f1_image" in flat
    assert all(v is not None for v in flat.values())
    validate_result(metric.last_result)


def test_per_task_breakdown_and_macro_average() -> None:
    samples = dataset(12)
    res = run(samples)
    assert list(res["per_task"]) == ["natural", "document", "face"]  # mmiml.TASKS order
    for task, scores in res["per_task"].items():
        own = [s for s in samples if s.metainfo["task"] == task]
        assert scores["num_images"] == len(own)
        refs = [ref_f1_iou(s.pred_prob.data[0].numpy(), s.gt_sem_seg.data[0].numpy())
                for s in own if (s.gt_sem_seg.data == 1).any()]
        assert scores["pixel_f1_image"] == pytest.approx(np.mean([r[0] for r in refs]), abs=1e-9)
        assert scores["pixel_iou_image"] == pytest.approx(np.mean([r[1] for r in refs]), abs=1e-9)
        # a task result equals scoring that task alone
        alone = run(own)["per_task"][task]
        assert_same(alone, scores)
    for key in FIGURE_KEYS:
        vals = [s[key] for s in res["per_task"].values() if s[key] is not None]
        assert res["avg"][key] == (pytest.approx(np.mean(vals)) if vals else None), key
    assert res["avg"]["num_images"] == res["num_images"] == 12
    assert res["num_tampered"] + res["num_authentic"] == 12
    assert res["spec"]["resolution"] == "original"
    assert res["spec"]["authentic_policy"] == "exclude" and res["spec"]["threshold"] == 0.5


def test_macro_average_skips_undefined() -> None:
    gt = np.zeros((8, 8), np.uint8)
    gt[2:5, 2:5] = 1
    res = run([make_sample(gt, gt * 0.9, task="natural"),
               make_sample(np.zeros((8, 8)), np.zeros((8, 8)), task="face")])
    assert res["per_task"]["face"]["pixel_f1_image"] is None
    assert res["avg"]["pixel_f1_image"] == pytest.approx(
        res["per_task"]["natural"]["pixel_f1_image"])
    # no task has both classes: image AUC undefined everywhere, avg too
    assert res["avg"]["image_auc"] is None


# ------------------------------------------------------------------------------- resizing
def test_prediction_is_resized_to_ground_truth_size() -> None:
    rng = np.random.default_rng(4)
    low = (rng.random((9, 7)) > 0.5).astype(np.float32)  # binary map at half resolution
    gt = (rng.random((18, 14)) > 0.5).astype(np.uint8)
    # 2x bilinear (half-pixel centres) of a binary map is > 0.5 exactly where the nearest
    # source pixel is 1, i.e. on the nearest-neighbour upsampling
    up = np.repeat(np.repeat(low, 2, axis=0), 2, axis=1)
    f1, iou = ref_f1_iou(up, gt)
    res = run([make_sample(gt, low)])
    scores = res["per_task"]["natural"]
    assert scores["pixel_f1_image"] == pytest.approx(f1, abs=1e-9)
    assert scores["pixel_iou_image"] == pytest.approx(iou, abs=1e-9)
    metric = IMLMetric()
    metric.process(None, [make_sample(gt, low)])
    assert metric.results[0]["counts"].sum() == 18 * 14  # scored at the original size


def test_logits_paths() -> None:
    rng = np.random.default_rng(5)
    gt = (rng.random((12, 10)) > 0.7).astype(np.uint8)
    lg = rng.normal(size=(1, 12, 10))
    prob = 1 / (1 + np.exp(-lg[0]))
    a = run([make_sample(gt, logits=lg)])
    b = run([make_sample(gt, prob)])
    assert_same(a["per_task"], b["per_task"])
    two = np.concatenate([np.zeros_like(lg), lg])  # softmax([0, l])[1] == sigmoid(l)
    c = run([make_sample(gt, logits=two)])
    assert_same(c["per_task"], b["per_task"])


# ------------------------------------------------------------------ undefined and policies
def test_undefined_figures_are_null(tmp_path: Path) -> None:
    gt = np.zeros((8, 8), np.uint8)
    gt[1:4, 1:4] = 1
    out = tmp_path / "res.json"
    res = run([make_sample(gt, gt * 0.8, name="a"), make_sample(gt, gt * 0.3, name="b")],
              out_file=str(out))
    s = res["per_task"]["natural"]
    assert s["image_auc"] is None and s["image_bacc"] is None  # only tampered images
    assert s["false_alarm_rate"] is None and s["false_alarm_area"] is None  # no authentic
    assert s["image_f1"] == pytest.approx(2 / 3)  # one of two detected
    on_disk = json.loads(out.read_text())
    assert on_disk["per_task"]["natural"]["image_auc"] is None
    validate_result(on_disk)
    # only authentic images: pixel figures undefined, false alarms defined
    res = run([make_sample(np.zeros((8, 8)), np.zeros((8, 8)), task="document")])
    s = res["per_task"]["document"]
    for key in ("pixel_f1_image", "pixel_iou_image", "pixel_precision_image",
                "pixel_recall_image", "pixel_f1_dataset", "pixel_iou_dataset",
                "pixel_auc_image", "best_f1", "image_auc", "image_bacc", "image_f1"):
        assert s[key] is None, key
    assert s["false_alarm_rate"] == 0.0 and s["false_alarm_area"] == 0.0


def test_authentic_policies() -> None:
    gt = np.zeros((10, 10), np.uint8)
    gt[2:6, 2:6] = 1
    prob = np.zeros((10, 10))
    prob[2:6, 2:8] = 0.9
    f1, iou = ref_f1_iou(prob, gt)
    empty_auth = np.zeros((10, 10))
    noisy_auth = np.zeros((10, 10))
    noisy_auth[0, 0] = 0.7
    samples = [make_sample(gt, prob, name="t"), make_sample(np.zeros((10, 10)), empty_auth,
                                                           name="a0"),
               make_sample(np.zeros((10, 10)), noisy_auth, name="a1")]
    ex = run(samples)["per_task"]["natural"]
    assert ex["pixel_f1_image"] == pytest.approx(f1, abs=1e-9)
    one = run(samples, authentic_policy="empty_is_one")
    assert one["spec"]["authentic_policy"] == "empty_is_one"
    s = one["per_task"]["natural"]
    assert s["pixel_f1_image"] == pytest.approx((f1 + 1.0 + 0.0) / 3, abs=1e-9)
    assert s["pixel_iou_image"] == pytest.approx((iou + 1.0 + 0.0) / 3, abs=1e-9)
    # dataset aggregation includes the authentic pixels under empty_is_one: one more FP
    assert s["pixel_iou_dataset"] == pytest.approx(16 / (24 + 1))
    assert ex["pixel_iou_dataset"] == pytest.approx(16 / 24)
    assert s["best_f1"] >= s["pixel_f1_image"] - 1e-12


def test_false_alarm_figures() -> None:
    z = np.zeros((10, 10), np.uint8)
    some = np.zeros((10, 10))
    some[:2, :5] = 0.8  # 10 of 100 pixels
    below = np.full((10, 10), 0.5)  # exactly the threshold: nothing predicted
    samples = [make_sample(z, np.zeros((10, 10)), name="a"), make_sample(z, some, name="b"),
               make_sample(z, np.ones((10, 10)), name="c"), make_sample(z, below, name="d")]
    s = run(samples)["per_task"]["natural"]
    assert s["false_alarm_rate"] == pytest.approx(2 / 4)
    assert s["false_alarm_area"] == pytest.approx((0 + 0.1 + 1 + 0) / 4)
    assert s["num_authentic"] == 4 and s["num_tampered"] == 0


# ------------------------------------------------------------------------- image / pixel AUC
@pytest.mark.parametrize("pooling", ["max", "mean", "topk_mean"])
def test_image_level_against_sklearn(pooling: str) -> None:
    samples = dataset(16, seed=3)
    res = run(samples, image_pooling=pooling, topk=5)
    s = res["per_task"]["natural"]
    own = [x for x in samples if x.metainfo["task"] == "natural"]
    probs = [x.pred_prob.data[0].numpy().ravel() for x in own]
    if pooling == "max":
        scores = np.array([p.max() for p in probs], np.float64)
    elif pooling == "mean":
        scores = np.array([p.astype(np.float64).mean() for p in probs])
    else:
        scores = np.array([np.sort(p)[-5:].astype(np.float64).mean() for p in probs])
    labels = np.array([int((x.gt_sem_seg.data == 1).any()) for x in own])
    assert 0 < labels.sum() < len(labels)
    assert s["image_auc"] == pytest.approx(sklearn_metrics.roc_auc_score(labels, scores))
    pred = (scores > 0.5).astype(int)
    assert s["image_bacc"] == pytest.approx(
        sklearn_metrics.balanced_accuracy_score(labels, pred))
    assert s["image_f1"] == pytest.approx(sklearn_metrics.f1_score(labels, pred))
    assert res["spec"]["image_pooling"] == pooling


def test_image_auc_with_ties_against_sklearn() -> None:
    from mmiml.evaluation.functional import binary_auc

    rng = np.random.default_rng(9)
    scores = rng.integers(0, 5, 40) / 4
    labels = rng.integers(0, 2, 40)
    assert binary_auc(scores, labels) == pytest.approx(
        sklearn_metrics.roc_auc_score(labels, scores))
    assert binary_auc(scores, np.ones(40)) is None


def test_pixel_auc_against_sklearn() -> None:
    rng = np.random.default_rng(6)
    samples, per_image, all_p, all_g = [], [], [], []
    for i in range(4):
        gt = (rng.random((9, 11)) > 0.6).astype(np.uint8)
        gt[0, 0], gt[0, 1] = 0, 1
        gt[-1] = 255
        prob = np.round(np.clip(rng.random((9, 11)) * 0.8 + gt * 0.25, 0, 1) * 255) / 255
        samples.append(make_sample(gt, prob, name=f"p{i}"))
        keep = gt != 255
        p32 = prob.astype(np.float32)[keep]
        per_image.append(sklearn_metrics.roc_auc_score(gt[keep], p32))
        all_p.append(p32)
        all_g.append(gt[keep])
    samples.append(make_sample(np.zeros((5, 5)), rng.random((5, 5)), name="auth"))
    s = run(samples)["per_task"]["natural"]
    # 8-bit levels fall in distinct bins of the 1000-bin histogram: exact
    assert s["pixel_auc_image"] == pytest.approx(np.mean(per_image), abs=1e-12)
    assert s["pixel_auc_dataset"] == pytest.approx(
        sklearn_metrics.roc_auc_score(np.concatenate(all_g), np.concatenate(all_p)), abs=1e-12)


def test_best_f1_is_the_oracle_over_thresholds() -> None:
    samples = dataset(10, seed=8)
    nb = 20
    res = run(samples, num_bins=nb)["per_task"]
    for task, s in res.items():
        own = [x for x in samples if x.metainfo["task"] == task
               and (x.gt_sem_seg.data == 1).any()]
        curve = [np.mean([ref_f1_iou(x.pred_prob.data[0].numpy(),
                                     x.gt_sem_seg.data[0].numpy(), k / nb)[0] for x in own])
                 for k in range(nb + 1)]
        assert s["best_f1"] == pytest.approx(max(max(curve), s["pixel_f1_image"]), abs=1e-9)
        assert s["best_f1"] >= s["pixel_f1_image"] - 1e-12
        assert 0.0 <= s["best_f1_threshold"] <= 1.0


# ------------------------------------------------------------------------- exactly once
def test_every_image_once_with_uneven_batches_through_evaluator() -> None:
    samples = dataset(10)
    ref = run(samples)
    evaluator = Evaluator(IMLMetric())
    for s in range(0, 10, 3):  # batches 3, 3, 3, 1; the evaluator passes dicts
        evaluator.process(samples[s:s + 3])
    flat = evaluator.evaluate(10)
    assert flat["iml/num_images"] == 10
    got = evaluator.metrics[0].last_result
    assert_same(got["per_task"], ref["per_task"])
    assert_same(got["avg"], ref["avg"])
    # padded duplicates (as a distributed sampler adds) are truncated by evaluate(size)
    metric = IMLMetric()
    metric.process(None, samples + samples[:2])
    metric.evaluate(10)
    assert metric.last_result["num_images"] == 10
    assert_same(metric.last_result["per_task"], ref["per_task"])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dist_worker(rank: int, world_size: int, port: int, out_dir: str) -> None:
    import torch.distributed as dist
    from mmengine.dataset import DefaultSampler

    torch.set_num_threads(1)
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        samples = dataset(11)
        # the sampler pads 11 to 12 (round_up), rank r takes indices r, r+2, ...
        sampler = DefaultSampler(samples, shuffle=False)
        indices = list(sampler)
        metric = IMLMetric()
        for s in range(0, len(indices), 2):
            metric.process(None, [samples[i] for i in indices[s:s + 2]])
        flat = metric.evaluate(len(samples))
        if rank == 0:
            Path(out_dir, "result.json").write_text(
                json.dumps({"result": metric.last_result, "flat": flat,
                            "rank_sizes": len(indices)}))
    finally:
        dist.destroy_process_group()


def test_every_image_once_with_two_processes_over_gloo(tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    mp.spawn(_dist_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    got = json.loads((tmp_path / "result.json").read_text())
    ref = run(dataset(11))
    assert got["rank_sizes"] == 6  # 12 slots for 11 images: one padded duplicate
    assert got["result"]["num_images"] == 11 == got["flat"]["iml/num_images"]
    assert_same(got["result"]["per_task"], ref["per_task"])
    assert_same(got["result"]["avg"], ref["avg"])


# ------------------------------------------------------------------------ errors and report
def test_bad_samples_raise_naming_the_image() -> None:
    gt = np.zeros((4, 4), np.uint8)
    no_task = SegDataSample(metainfo={"img_path": "/x/no_task.png"})
    no_task.gt_sem_seg = PixelData(data=torch.zeros(1, 4, 4, dtype=torch.uint8))
    no_task.pred_prob = PixelData(data=torch.zeros(1, 4, 4))
    with pytest.raises(IMLDataError, match="no_task.png"):
        IMLMetric().process(None, [no_task])
    bad_gt = gt.copy()
    bad_gt[0, 0] = 7
    with pytest.raises(IMLDataError, match="bad.png.*7"):
        IMLMetric().process(None, [make_sample(bad_gt, np.zeros((4, 4)), name="bad")])
    with pytest.raises(IMLDataError, match="range.png.*\\[0, 1\\]"):
        IMLMetric().process(None, [make_sample(gt, np.full((4, 4), 1.5), name="range")])
    with pytest.raises(IMLDataError, match="nopred.png"):
        IMLMetric().process(None, [make_sample(gt, None, name="nopred")])


def test_validation_names_the_bad_key_and_table_lists_tasks() -> None:
    res = run(dataset(6))
    validate_result(res)
    broken = json.loads(json.dumps(res))
    broken["per_task"]["natural"]["image_auc"] = 0  # fine: a number
    validate_result(broken)
    broken["per_task"]["natural"]["image_auc"] = "high"
    with pytest.raises(ValueError, match="per_task.natural.image_auc"):
        validate_result(broken)
    broken = json.loads(json.dumps(res))
    del broken["avg"]["best_f1"]
    with pytest.raises(ValueError, match="avg.best_f1"):
        validate_result(broken)
    broken = json.loads(json.dumps(res))
    broken["per_task"]["cats"] = broken["per_task"]["natural"]
    with pytest.raises(ValueError, match="per_task.cats"):
        validate_result(broken)
    table = format_task_table(res)
    for name in ("natural", "document", "face", "avg", "IoU", "F1_ds"):
        assert name in table


def test_gate_routing_share_per_task_and_overall(tmp_path: Path) -> None:
    gt = np.zeros((8, 8), np.uint8)
    gt[2:5, 2:5] = 1
    prob = gt.astype(np.float32)
    samples = []
    for i, (task, gate) in enumerate([("natural", 1.0), ("natural", 0.0), ("natural", 1.0),
                                      ("document", 1.0)]):
        s = make_sample(gt, prob, task=task, name=f"g{i}")
        s.set_metainfo({"gate_fused": gate})
        samples.append(s)
    out = tmp_path / "r.json"
    result = run(samples, batch=3, out_file=str(out))
    assert result["per_task"]["natural"]["gate_fused_share"] == pytest.approx(2 / 3)
    assert result["per_task"]["document"]["gate_fused_share"] == 1.0
    # overall share counts images, not tasks: 3 of 4 (a macro mean would give 5/6)
    assert result["avg"]["gate_fused_share"] == pytest.approx(0.75)
    assert result["avg"]["gate_num_images"] == 4
    assert json.loads(out.read_text())["per_task"]["natural"]["gate_num_images"] == 3
    assert "gate" in format_task_table(result).splitlines()[1]
    # models without a gate add no gate keys
    plain = run([make_sample(gt, prob)])
    assert "gate_fused_share" not in plain["per_task"]["natural"]
    bad = make_sample(gt, prob, name="badgate")
    bad.set_metainfo({"gate_fused": 1.5})
    with pytest.raises(IMLDataError, match="badgate.*gate_fused"):
        run([bad])
