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


# ------------------------------------------------------- Omni-IML mechanisms and groups
def _mech_sample(task: str, name: str, *, gate: float | None = None,
                 prob: float | None = None, mix: list | None = None,
                 group: str | None = None) -> SegDataSample:
    """A perfectly predicted tampered 8x8 image carrying the given mechanism metainfo."""
    gt = np.zeros((8, 8), np.uint8)
    gt[2:5, 2:5] = 1
    s = make_sample(gt, gt * 0.9, task=task, name=name)
    for key, value in (("gate_fused", gate), ("gate_prob", prob), ("dwd_mix", mix),
                       ("group", group)):
        if value is not None:
            s.set_metainfo({key: value})
    return s


def test_gate_probability_and_mixing_weights_are_averaged_per_task(tmp_path: Path) -> None:
    samples = [
        _mech_sample("natural", "n0", gate=1.0, prob=0.9, mix=[[0.2, 0.4], [0.6, 0.8]]),
        _mech_sample("natural", "n1", gate=1.0, prob=0.6, mix=[[0.4, 0.4], [0.2, 0.8]]),
        _mech_sample("natural", "n2", gate=0.0, prob=0.3, mix=[[0.6, 0.4], [0.4, 0.8]]),
        _mech_sample("document", "d0", gate=1.0, prob=0.8, mix=[[0.1, 0.9], [0.5, 0.5]]),
    ]
    out = tmp_path / "r.json"
    metric = IMLMetric(out_file=str(out))
    metric.process(None, samples[:3])
    metric.process(None, samples[3:])
    flat = metric.evaluate(4)
    res = json.loads(out.read_text())  # written, hence validated
    nat, doc = res["per_task"]["natural"], res["per_task"]["document"]
    assert nat["gate_prob_mean"] == pytest.approx(0.6)
    assert doc["gate_prob_mean"] == pytest.approx(0.8)
    np.testing.assert_allclose(nat["dwd_mix"], [[0.4, 0.4], [0.4, 0.8]], atol=1e-12)
    np.testing.assert_allclose(doc["dwd_mix"], [[0.1, 0.9], [0.5, 0.5]], atol=1e-12)
    # over all four images (2.6 / 4), not the mean of the task means (0.7)
    assert res["avg"]["gate_prob_mean"] == pytest.approx(0.65)
    # ranges per (filter, kernel): .3, .5, .1, .3 -> mean .3
    assert res["avg"]["dwd_mix_spread"] == pytest.approx(0.3)
    assert "dwd_mix" not in res["avg"]
    # the flat logging dict holds numbers only: the gate probability, not the nested mix
    assert flat["iml/natural/gate_prob_mean"] == pytest.approx(0.6)
    assert flat["iml/avg/dwd_mix_spread"] == pytest.approx(0.3)
    assert not any(k.endswith("/dwd_mix") for k in flat)
    header = format_task_table(res).splitlines()[1].split()
    at = header.index("gate")
    assert header[at:at + 3] == ["gate", "gate", "p"]  # the "gate p" column next to "gate"


def test_mixing_spread_is_zero_for_identical_mixes_and_needs_two_tasks() -> None:
    fixed = [[0.3, 0.5, 0.7, 0.2], [0.9, 0.1, 0.4, 0.6]]  # the 'fixed' ablation: one mix
    res = run([_mech_sample(t, f"f{i}", mix=fixed)
               for i, t in enumerate(("natural", "document", "face", "face"))])
    assert res["avg"]["dwd_mix_spread"] == 0.0
    assert res["per_task"]["face"]["dwd_mix"] == fixed
    one_task = run([_mech_sample("natural", "a", mix=fixed), _mech_sample("natural", "b",
                                                                           mix=fixed)])
    assert "dwd_mix_spread" not in one_task["avg"]
    # two tasks, means differing by 0.1, 0.2, 0.3, 0.4 on one filter -> 0.25
    two = run([_mech_sample("natural", "a", mix=[[0.1, 0.2, 0.3, 0.4]]),
               _mech_sample("face", "b", mix=[[0.2, 0.4, 0.6, 0.8]])])
    assert two["avg"]["dwd_mix_spread"] == pytest.approx(0.25)
    # models without filters or gate add none of these keys
    plain = run([_mech_sample("natural", "p")])
    assert not {"gate_prob_mean", "dwd_mix"} & set(plain["per_task"]["natural"])
    assert not {"gate_prob_mean", "dwd_mix_spread"} & set(plain["avg"])
    assert "per_group" not in plain and "num_ungrouped" not in plain


def test_per_group_scores_equal_task_scores_on_the_same_images() -> None:
    samples = dataset(15, seed=3)
    rng = np.random.default_rng(1)
    groups = [None if i % 5 == 0 else ("compression", "pixel")[i % 2] for i in range(15)]
    for i, (s, g) in enumerate(zip(samples, groups, strict=True)):
        s.set_metainfo({"gate_fused": float(i % 3 == 0), "gate_prob": float(rng.random()),
                        "dwd_mix": rng.random((2, 4)).tolist()})
        if g is not None:
            s.set_metainfo({"group": g})
    res = run(samples, batch=4)
    assert list(res["per_group"]) == ["compression", "pixel"]
    assert res["num_ungrouped"] == 3
    assert sum(g["num_images"] for g in res["per_group"].values()) + 3 == 15
    for group, scores in res["per_group"].items():
        # the group's images scored alone, as one task, give the same figures
        alone = []
        for s, g in zip(samples, groups, strict=True):
            if g == group:
                copy = s.clone()
                copy.set_metainfo({"task": "natural"})
                alone.append(copy)
        ref = run(alone)["per_task"]["natural"]
        assert scores.keys() == ref.keys()
        for key, value in ref.items():
            if key == "dwd_mix":
                np.testing.assert_allclose(scores[key], value, atol=1e-12)
            else:
                assert scores[key] == pytest.approx(value, abs=1e-12), (group, key)
        assert scores["num_images"] == len(alone)
        assert scores["gate_num_images"] == len(alone)
    assert "group compression" in format_task_table(res)


@pytest.mark.parametrize("key, value, message", [
    ("dwd_mix", [0.2, 0.4, 0.6, 0.8], r"badmix\.png.*dwd_mix.*shape \(4,\)"),
    ("dwd_mix", [[0.2, 0.4], [0.6]], r"badmix\.png.*dwd_mix.*list of lists"),
    ("dwd_mix", [[0.2, 1.5], [0.6, 0.8]], r"badmix\.png.*dwd_mix.*1\.5 at filter 0, kernel 1"),
    ("dwd_mix", [[0.2, float("nan")]], r"badmix\.png.*dwd_mix.*nan"),
    ("dwd_mix", [[]], r"badmix\.png.*dwd_mix.*shape \(1, 0\)"),
    ("gate_prob", 1.2, r"badmix\.png.*gate_prob must lie in \[0, 1\], got 1\.2"),
    ("gate_prob", "high", r"badmix\.png.*gate_prob.*'high'"),
    ("group", 3, r"badmix\.png.*group.*3"),
])
def test_bad_mechanism_values_raise_naming_the_image(key: str, value: object,
                                                     message: str) -> None:
    bad = _mech_sample("natural", "badmix")
    bad.set_metainfo({key: value})
    with pytest.raises(IMLDataError, match=message):
        IMLMetric().process(None, [bad])


def test_mixing_weights_of_another_shape_raise_naming_both_images() -> None:
    metric = IMLMetric(log_table=False)
    metric.process(None, [_mech_sample("natural", "first", mix=[[0.5] * 4] * 3)])
    metric.process(None, [_mech_sample("face", "second", mix=[[0.5] * 4] * 2)])
    with pytest.raises(IMLDataError, match=r"second\.png.*\(2, 4\).*first\.png.*\(3, 4\)"):
        metric.evaluate(2)


def test_validator_checks_groups_and_mixing_figures() -> None:
    res = run([_mech_sample("natural", "a", mix=[[0.2, 0.4]], group="pixel"),
               _mech_sample("face", "b", mix=[[0.6, 0.4]])])
    validate_result(res)
    assert res["avg"]["dwd_mix_spread"] == pytest.approx(0.2)
    for edit, message in [
        (lambda r: r["avg"].update(dwd_mix_spread=0.5), r"avg\.dwd_mix_spread: 0\.5.*give 0\.2"),
        (lambda r: r["per_task"]["face"].update(dwd_mix=[[0.6, 0.4, 0.1]]),
         r"per_task\.face\.dwd_mix: shape \(1, 3\)"),
        (lambda r: r["per_task"]["face"].update(dwd_mix=[[0.6, 0.4], [0.1]]),
         r"per_task\.face\.dwd_mix: rows of different lengths"),
        (lambda r: r["per_task"]["face"].update(dwd_mix=[[0.6, 1.4]]),
         r"per_task\.face\.dwd_mix\[0\]\[1\]: 1\.4 is above"),
        (lambda r: r.update(num_ungrouped=0), r"result\.num_images: 2 != sum over per_group"),
        (lambda r: r["per_group"]["pixel"].update(num_tampered=0),
         r"per_group\.pixel\.num_images: does not equal"),
        (lambda r: r["per_task"]["face"].pop("dwd_mix"), r"avg\.dwd_mix_spread.*1 task"),
    ]:
        broken = json.loads(json.dumps(res))
        edit(broken)
        with pytest.raises(ValueError, match=message):
            validate_result(broken)


def test_per_image_figures_give_the_task_means_and_pair_by_id():
    rng = np.random.default_rng(11)
    samples = []
    for i in range(6):
        gt = np.zeros((16, 16), np.uint8)
        if i % 3:  # images 0 and 3 authentic
            gt[2:9, 3:12] = 1
        samples.append(make_sample(gt, rng.random((16, 16)), name=f"n{i}"))
    samples.append(make_sample(np.ones((8, 8), np.uint8), rng.random((8, 8)), task="face",
                               name="f0"))
    res = run(samples, batch=4)
    rec = res["per_image"]["natural"]
    assert rec["id"] == [f"n{i}.png" for i in range(6)]  # no sample_id: the file name
    assert rec["tampered"] == [False, True, True, False, True, True]
    assert [v is None for v in rec["iou"]] == [True, False, False, True, False, False]
    for i in (1, 2, 4, 5):
        f1, iou = ref_f1_iou(samples[i].pred_prob.data[0].numpy(),
                             samples[i].gt_sem_seg.data[0].numpy())
        assert rec["iou"][i] == pytest.approx(iou, abs=1e-6)
        assert rec["f1"][i] == pytest.approx(f1, abs=1e-6)
    assert np.mean([v for v in rec["iou"] if v is not None]) == pytest.approx(
        res["per_task"]["natural"]["pixel_iou_image"], abs=1e-6)
    assert rec["score"][0] == pytest.approx(float(samples[0].pred_prob.data.max()), abs=1e-6)
    assert list(res["per_image"]) == ["natural", "face"]
    # empty_is_one: authentic images get a figure too
    res1 = run(samples, authentic_policy="empty_is_one")
    assert all(v is not None for v in res1["per_image"]["natural"]["iou"])


def test_per_image_uses_the_sample_id_and_refuses_a_repeated_one():
    gt = np.ones((8, 8), np.uint8)
    a, b = make_sample(gt, np.full((8, 8), 0.9), name="x"), make_sample(gt, np.zeros((8, 8)),
                                                                        name="y")
    a.set_metainfo({"sample_id": "images/natural/test/x.jpg"})
    b.set_metainfo({"sample_id": "images/natural/test/y.jpg"})
    assert run([a, b])["per_image"]["natural"]["id"] == ["images/natural/test/x.jpg",
                                                         "images/natural/test/y.jpg"]
    b.set_metainfo({"sample_id": "images/natural/test/x.jpg"})
    with pytest.raises(IMLDataError, match="occurs twice"):
        run([a, b])
    assert "per_image" not in run([a], per_image=False)


@pytest.mark.parametrize("edit, message", [
    (lambda r: r["per_image"]["natural"]["iou"].pop(), "entries for"),
    (lambda r: r["per_image"]["natural"]["iou"].__setitem__(0, None), "null for a tampered"),
    (lambda r: r["per_image"]["natural"]["iou"].__setitem__(0, 0.0), "mean"),
    (lambda r: r["per_image"]["natural"]["id"].__setitem__(1, r["per_image"]["natural"]["id"][0]),
     "appears twice"),
    (lambda r: r["per_image"].__setitem__("face", r["per_image"]["natural"]), "not in per_task"),
])
def test_validator_refuses_inconsistent_per_image_lists(edit, message):
    gt = np.ones((8, 8), np.uint8)
    res = run([make_sample(gt, np.full((8, 8), 0.9), name="a"),
               make_sample(gt, np.full((8, 8), 0.7), name="b")])
    validate_result(res)
    res = json.loads(json.dumps(res))
    edit(res)
    with pytest.raises(ValueError, match=message):
        validate_result(res)


def test_the_models_own_image_score_replaces_pooling():
    gt_t, gt_a = np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8)
    gt_t[2:5, 2:5] = 1
    # the maps say the authentic image is the more suspicious one; the model's head says not
    samples = [make_sample(gt_t, np.full((8, 8), 0.2), name="t"),
               make_sample(gt_a, np.full((8, 8), 0.9), name="a")]
    pooled = run(samples)
    assert pooled["spec"]["image_score"] == "max"
    assert pooled["per_task"]["natural"]["image_auc"] == 0.0
    samples[0].set_metainfo({"img_score": 0.8})
    samples[1].set_metainfo({"img_score": 0.1})
    own = run(samples)
    assert own["spec"]["image_score"] == "model"
    assert own["per_task"]["natural"]["image_auc"] == 1.0
    assert own["per_image"]["natural"]["score"] == [0.8, 0.1]
    samples[1].set_metainfo({"img_score": None})
    with pytest.raises(IMLDataError, match="carries no img_score"):
        run(samples)
