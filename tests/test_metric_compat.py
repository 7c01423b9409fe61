"""Compatibility clauses of docs/metrics.md, proven on random and edge-case masks.

- With authentic images excluded, the ``image`` aggregation equals IMDL-BenCo's per-image F1/IoU
  (threshold 0.5, epsilon 1e-8, padding masked out) to 1e-6.
- The ``dataset`` IoU equals DocTamper's dataset-level IoU (one confusion matrix over all pixels,
  2-class argmax).

The reference formulas are written here independently, as plain per-image numpy loops.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("mmseg")

from mmengine.structures import PixelData  # noqa: E402
from mmseg.structures import SegDataSample  # noqa: E402

from mmiml.evaluation import functional as F  # noqa: E402
from mmiml.evaluation.metrics.iml_metric import IMLMetric  # noqa: E402


# ----------------------------------------------------------------------------- references
def imdlbenco_f1_iou(prob: np.ndarray, gt: np.ndarray) -> tuple[float, float]:
    """IMDL-BenCo's per-image F1 and IoU: float maps, threshold 0.5, prediction and mask both
    multiplied by the shape mask (the un-padded area), epsilon 1e-8."""
    shape_mask = (gt != 255).astype(np.float64)
    predict = (prob > 0.5).astype(np.float64) * shape_mask
    mask = (gt == 1).astype(np.float64) * shape_mask
    tp = float(np.sum(predict * mask))
    fp = float(np.sum(predict * (1 - mask)))
    fn = float(np.sum((1 - predict) * mask))
    precision = tp / (tp + fp + 1e-8)
    recall = tp / (tp + fn + 1e-8)
    f1 = 2 * precision * recall / (precision + recall + 1e-8)
    iou = tp / (tp + fn + fp + 1e-8)
    return f1, iou


def doctamper_dataset_iou(logits: list[np.ndarray], gts: list[np.ndarray]) -> float:
    """DocTamper's IoU of the tampered class from ONE 2x2 confusion matrix summed over all
    (non-ignored) pixels of the dataset; the prediction is the 2-class argmax."""
    cm = np.zeros((2, 2), dtype=np.int64)
    for lg, g in zip(logits, gts):
        pred = np.argmax(lg, axis=0)
        keep = g != 255
        for t in (0, 1):
            for p in (0, 1):
                cm[t, p] += int(np.sum((g[keep] == t) & (pred[keep] == p)))
    return cm[1, 1] / (cm[1, 1] + cm[0, 1] + cm[1, 0])


# ------------------------------------------------------------------------------- helpers
def make_sample(gt: np.ndarray, *, prob: np.ndarray | None = None,
                logits: np.ndarray | None = None, task: str = "natural",
                name: str = "img") -> SegDataSample:
    sample = SegDataSample(metainfo={"img_path": f"/data/{name}.png", "task": task,
                                     "ori_shape": gt.shape})
    sample.gt_sem_seg = PixelData(data=torch.from_numpy(gt.astype(np.uint8))[None])
    if prob is not None:
        sample.pred_prob = PixelData(data=torch.from_numpy(prob.astype(np.float32))[None])
    if logits is not None:
        sample.seg_logits = PixelData(data=torch.from_numpy(logits.astype(np.float32)))
    return sample


def score(samples: list[SegDataSample], **kwargs) -> dict:
    metric = IMLMetric(**kwargs)
    metric.process(None, samples)
    metric.evaluate(len(samples))
    assert metric.last_result is not None
    return metric.last_result


def random_blob_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    cy, cx = rng.integers(0, h), rng.integers(0, w)
    r = rng.integers(2, max(3, min(h, w) // 2))
    return (((yy - cy) ** 2 + (xx - cx) ** 2) < r * r).astype(np.uint8)


def edge_cases(h: int = 24, w: int = 20) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, gt, prob) pairs: empty prediction, full mask, full prediction, one-pixel regions,
    exact-threshold probabilities, and an ignored (padding) border."""
    rng = np.random.default_rng(7)
    blob = np.zeros((h, w), np.uint8)
    blob[5:15, 4:12] = 1
    one = np.zeros((h, w), np.uint8)
    one[3, 4] = 1
    padded = blob.copy()
    padded[-4:, :] = 255
    padded[:, -3:] = 255
    cases = [
        ("empty_prediction", blob, np.zeros((h, w))),
        ("full_mask", np.ones((h, w), np.uint8), rng.random((h, w))),
        ("full_mask_full_pred", np.ones((h, w), np.uint8), np.ones((h, w))),
        ("full_prediction", blob, np.ones((h, w))),
        ("one_pixel_hit", one, one * 0.9),
        ("one_pixel_miss", one, np.roll(one, 1, axis=1) * 0.9),
        ("one_pixel_missed_entirely", one, np.zeros((h, w))),
        ("exactly_threshold", blob, np.full((h, w), 0.5)),
        ("perfect", blob, blob.astype(np.float64)),
        ("padded_border", padded, np.clip(rng.random((h, w)) + (padded == 1) * 0.3, 0, 1)),
    ]
    return cases


# --------------------------------------------------------------------------------- tests
def test_kernel_counts_match_reference_loop() -> None:
    rng = np.random.default_rng(0)
    prob = rng.random((5, 17, 23), dtype=np.float32)
    gt = (rng.random((5, 17, 23)) > 0.6).astype(np.uint8)
    gt[:, :2] = 255
    counts = F.threshold_counts(prob, gt, 0.5)
    for i in range(5):
        keep = gt[i] != 255
        p = prob[i][keep] > 0.5
        g = gt[i][keep] == 1
        expected = [np.sum(p & g), np.sum(p & ~g), np.sum(~p & g), np.sum(~p & ~g)]
        assert counts[i].tolist() == [int(x) for x in expected]
    # the histogram read at the grid threshold 0.5 gives the same counts
    hist_counts = F.counts_from_histograms(F.pixel_histograms(prob, gt, 1000))[:, 500]
    assert np.array_equal(hist_counts, counts)


def test_image_aggregation_equals_imdlbenco_on_random_masks() -> None:
    rng = np.random.default_rng(1)
    samples, f1s, ious = [], [], []
    for i in range(12):
        h, w = rng.integers(8, 40, size=2)
        gt = random_blob_mask(rng, h, w)
        if i % 3 == 0:
            gt[: h // 5] = 255  # padding rows (IMDL-BenCo's shape mask)
        prob = np.clip(rng.random((h, w)) * 0.7 + (gt == 1) * rng.random() * 0.5, 0, 1)
        samples.append(make_sample(gt, prob=prob, name=f"r{i}"))
        if (gt == 1).any():
            f1, iou = imdlbenco_f1_iou(prob.astype(np.float32), gt)
            f1s.append(f1)
            ious.append(iou)
    # authentic images are in the set and must be excluded from the pixel means
    for j in range(3):
        samples.append(make_sample(np.zeros((16, 16), np.uint8), prob=rng.random((16, 16)),
                                   name=f"a{j}"))
    res = score(samples)["per_task"]["natural"]
    assert res["pixel_f1_image"] == pytest.approx(np.mean(f1s), abs=1e-6)
    assert res["pixel_iou_image"] == pytest.approx(np.mean(ious), abs=1e-6)


@pytest.mark.parametrize("name", [c[0] for c in edge_cases()])
def test_image_aggregation_equals_imdlbenco_on_edge_cases(name: str) -> None:
    _, gt, prob = next(c for c in edge_cases() if c[0] == name)
    f1, iou = imdlbenco_f1_iou(prob.astype(np.float32), gt)
    res = score([make_sample(gt, prob=prob, name=name)])["per_task"]["natural"]
    assert res["pixel_f1_image"] == pytest.approx(f1, abs=1e-6)
    assert res["pixel_iou_image"] == pytest.approx(iou, abs=1e-6)


def test_edge_case_values_are_what_they_should_be() -> None:
    cases = {c[0]: c for c in edge_cases()}

    def f1_of(name: str) -> float:
        _, gt, prob = cases[name]
        return score([make_sample(gt, prob=prob)])["per_task"]["natural"]["pixel_f1_image"]

    assert f1_of("empty_prediction") == 0.0
    assert f1_of("one_pixel_missed_entirely") == 0.0
    assert f1_of("one_pixel_miss") == 0.0
    assert f1_of("exactly_threshold") == 0.0  # p > 0.5 is strict
    assert f1_of("one_pixel_hit") == pytest.approx(1.0, abs=1e-6)
    assert f1_of("perfect") == pytest.approx(1.0, abs=1e-6)
    assert f1_of("full_mask_full_pred") == pytest.approx(1.0, abs=1e-6)


def test_empty_mask_alone_has_no_pixel_figures_when_excluded() -> None:
    gt = np.zeros((10, 10), np.uint8)
    for prob in (np.zeros((10, 10)), np.ones((10, 10))):
        res = score([make_sample(gt, prob=prob)])["per_task"]["natural"]
        for key in ("pixel_f1_image", "pixel_iou_image", "pixel_f1_dataset",
                    "pixel_iou_dataset", "pixel_auc_image", "best_f1"):
            assert res[key] is None, key


def test_dataset_iou_equals_doctamper_with_two_class_logits() -> None:
    rng = np.random.default_rng(2)
    samples, logits, gts = [], [], []
    cases = edge_cases()
    for i in range(10):
        h, w = rng.integers(8, 40, size=2)
        gt = random_blob_mask(rng, h, w)
        if i % 4 == 1:
            gt[:, : w // 4] = 255
        lg = rng.normal(size=(2, h, w))
        lg[1] += (gt == 1) * 1.5
        samples.append(make_sample(gt, logits=lg, name=f"d{i}"))
        if (gt == 1).any():  # the clause holds with authentic images excluded
            logits.append(lg.astype(np.float32))
            gts.append(gt)
    for name, gt, prob in cases:  # edge cases as 2-class logits log(1-p), log(p)
        p = np.clip(prob, 1e-4, 1 - 1e-4)
        lg = np.stack([np.log1p(-p), np.log(p)])
        if name == "exactly_threshold":
            lg = np.zeros_like(lg)  # a tie: argmax picks class 0, p > 0.5 is False
        samples.append(make_sample(gt, logits=lg, name=name))
        logits.append(lg.astype(np.float32))
        gts.append(gt)
    expected = doctamper_dataset_iou(logits, gts)
    res = score(samples)["per_task"]["natural"]
    assert res["pixel_iou_dataset"] == pytest.approx(expected, abs=1e-12)


def test_dataset_figures_are_one_confusion_matrix() -> None:
    rng = np.random.default_rng(3)
    samples, tp, fp, fn = [], 0, 0, 0
    for i in range(6):
        gt = random_blob_mask(rng, 20, 30)
        gt[0] = 255
        prob = rng.random((20, 30))
        samples.append(make_sample(gt, prob=prob, name=f"c{i}"))
        if (gt == 1).any():
            for y in range(20):
                for x in range(30):
                    if gt[y, x] == 255:
                        continue
                    p, g = np.float32(prob[y, x]) > 0.5, gt[y, x] == 1
                    tp += int(p and g)
                    fp += int(p and not g)
                    fn += int(g and not p)
    res = score(samples)["per_task"]["natural"]
    assert res["pixel_iou_dataset"] == pytest.approx(tp / (tp + fp + fn), abs=1e-12)
    assert res["pixel_f1_dataset"] == pytest.approx(2 * tp / (2 * tp + fp + fn), abs=1e-12)
    assert res["pixel_precision_dataset"] == pytest.approx(tp / (tp + fp), abs=1e-12)
    assert res["pixel_recall_dataset"] == pytest.approx(tp / (tp + fn), abs=1e-12)
