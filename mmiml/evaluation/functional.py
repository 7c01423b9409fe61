"""Vectorised metric kernels for image manipulation localization.

Every definition follows ``docs/metrics.md`` ("mmiml's definitions"):

- binary prediction = probability ``>`` threshold (strict, so 0.5 itself is authentic, which is
  also what a 2-class argmax does on a tie);
- ground truth: 1 = tampered, 0 = authentic, anything else (255 = padding) is ignored everywhere;
- ``image`` aggregation: per-image precision/recall/F1/IoU with IMDL-BenCo's epsilon (1e-8) in the
  denominators, averaged by the caller;
- ``dataset`` aggregation: one confusion matrix over all pixels (DocTamper), exact ratios, ``None``
  when a ratio is undefined.

The kernels work on a whole batch ``(N, H, W)`` at once and return small per-image arrays
(counts, histograms), never full maps, so a metric can keep one compact entry per image.
Counting uses numpy's scalar ``count_nonzero`` on cache-sized boolean chunks: several times faster
than summing booleans in torch, and no float copy of a map is ever made.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from mmiml import IGNORE_INDEX  # ground truth never scored (padding)

EPS = 1e-8
"""IMDL-BenCo's epsilon in the per-image denominators (docs/metrics.md, compatibility clause)."""

POOLING_MODES = ("max", "mean", "topk_mean")

# Column order of the confusion counts returned by the kernels.
TP, FP, FN, TN = 0, 1, 2, 3

# Pixels per counting chunk: the four boolean buffers (4 x 256 KiB) stay in L2 cache.
_CHUNK = 1 << 18


def to_numpy(x: Any) -> np.ndarray:
    """Return ``x`` as a numpy array without copying CPU tensors."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "detach"):  # torch.Tensor, imported lazily so the kernels stay numpy-only
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _batched(x: Any) -> np.ndarray:
    arr = to_numpy(x)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"expected a map of shape (H, W) or (N, H, W), got {arr.shape}")
    return arr


def binarize(prob: Any, threshold: float) -> np.ndarray:
    """Binary prediction ``prob > threshold`` (docs/metrics.md, "mmiml's definitions": strictly
    greater)."""
    return _batched(prob) > threshold


def _count_chunks(
    prob_or_pred: np.ndarray, gt: np.ndarray, threshold: float | None, ignore_index: int
) -> np.ndarray:
    """Shared loop of :func:`confusion_counts` and :func:`threshold_counts`.

    The batch is walked in cache-sized chunks (one image or ``_CHUNK`` pixels) with preallocated
    boolean buffers, and counted with the scalar ``np.count_nonzero``, which is SIMD popcount;
    ``count_nonzero(axis=...)`` and torch's bool sums are 4-10x slower, and full-batch temporaries
    fall out of cache.
    """
    if prob_or_pred.shape != gt.shape:
        raise ValueError(
            f"prediction shape {prob_or_pred.shape} != ground truth shape {gt.shape}")
    n = prob_or_pred.shape[0]
    src = prob_or_pred.reshape(n, -1)
    g_all = gt.reshape(n, -1)
    size = src.shape[1]
    step = max(1, min(size, _CHUNK))
    p = np.empty(step, dtype=bool)
    pos = np.empty(step, dtype=bool)
    valid = np.empty(step, dtype=bool)
    tmp = np.empty(step, dtype=bool)
    fast_valid = g_all.dtype == np.uint8 and ignore_index == IGNORE_INDEX
    counts = np.zeros((n, 4), dtype=np.int64)
    for i in range(n):
        tp = pred_pos = gt_pos = n_valid = 0
        for s in range(0, size, step):
            e = min(s + step, size)
            k = e - s
            pk, posk, validk, tmpk = p[:k], pos[:k], valid[:k], tmp[:k]
            if threshold is None:
                np.not_equal(src[i, s:e], 0, out=pk)
            else:
                np.greater(src[i, s:e], threshold, out=pk)
            g = g_all[i, s:e]
            np.equal(g, 1, out=posk)
            if fast_valid:
                np.less(g, 2, out=validk)  # one comparison keeps 0 and 1, drops 255
            else:
                np.logical_or(np.equal(g, 0, out=tmpk), posk, out=validk)
            tp += np.count_nonzero(np.logical_and(pk, posk, out=tmpk))
            pred_pos += np.count_nonzero(np.logical_and(pk, validk, out=tmpk))
            gt_pos += np.count_nonzero(posk)
            n_valid += np.count_nonzero(validk)
        counts[i] = (tp, pred_pos - tp, gt_pos - tp, n_valid - pred_pos - gt_pos + tp)
    return counts


def confusion_counts(pred: Any, gt: Any, ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Per-image confusion counts of a batch.

    Args:
        pred: ``(N, H, W)`` or ``(H, W)`` binary prediction (nonzero = tampered).
        gt: same shape, 0/1 with ``ignore_index`` for pixels that are not scored (any other
            value is not scored either).

    Returns:
        ``(N, 4)`` int64 array of ``[tp, fp, fn, tn]`` counted over scored pixels only.
    """
    return _count_chunks(_batched(pred), _batched(gt), None, ignore_index)


def threshold_counts(
    prob: Any, gt: Any, threshold: float = 0.5, ignore_index: int = IGNORE_INDEX
) -> np.ndarray:
    """Per-image ``[tp, fp, fn, tn]`` of ``prob > threshold`` against ``gt`` for a whole batch.

    The comparison is fused into the counting loop, so no binary map of the batch is built.
    """
    return _count_chunks(_batched(prob), _batched(gt), float(threshold), ignore_index)


def prf_iou(counts: np.ndarray, eps: float = EPS) -> dict[str, np.ndarray]:
    """Per-image precision, recall, F1 and IoU from ``[..., 4]`` counts.

    These are IMDL-BenCo's formulas, kept identical so that the ``image`` aggregation matches it
    to 1e-6 (docs/metrics.md, compatibility)::

        precision = tp / (tp + fp + eps)      recall = tp / (tp + fn + eps)
        f1 = 2 * precision * recall / (precision + recall + eps)
        iou = tp / (tp + fp + fn + eps)

    An image without tampered pixels therefore scores 0 here; the authentic policy is applied by
    the caller.
    """
    c = np.asarray(counts, dtype=np.float64)
    tp, fp, fn = c[..., TP], c[..., FP], c[..., FN]
    precision = tp / (tp + fp + eps)
    recall = tp / (tp + fn + eps)
    f1 = 2 * precision * recall / (precision + recall + eps)
    iou = tp / (tp + fp + fn + eps)
    return {"precision": precision, "recall": recall, "f1": f1, "iou": iou}


def _ratio(num: float, den: float) -> float | None:
    return float(num) / float(den) if den > 0 else None


def dataset_prf_iou(counts: np.ndarray) -> dict[str, float | None]:
    """Precision, recall, F1 and IoU of ONE confusion matrix (the ``dataset`` aggregation).

    ``counts`` is ``[4]`` or ``[N, 4]`` (summed here). The ratios are exact, as in DocTamper's
    confusion-matrix IoU; a ratio with a zero denominator is undefined and returned as ``None``
    (docs/metrics.md: undefined figures are null, never 0).
    """
    c = np.asarray(counts, dtype=np.int64)
    if c.ndim == 2:
        c = c.sum(axis=0)
    tp, fp, fn = int(c[TP]), int(c[FP]), int(c[FN])
    return {
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "iou": _ratio(tp, tp + fp + fn),
    }


def probability_bins(prob: Any, num_bins: int) -> np.ndarray:
    """Bin index ``ceil(p * num_bins)`` in ``[0, num_bins]`` (``num_bins + 1`` bins).

    Bin 0 holds ``p <= 0`` and bin ``k`` holds ``(k-1)/num_bins < p <= k/num_bins``, so that
    ``p > k/num_bins`` exactly when ``bin > k``: counts read off the histogram at a grid
    threshold equal the thresholded counts. The product is taken in float64, where it is exact
    for float32 probabilities, so no pixel lands in the wrong bin by rounding.
    """
    p = to_numpy(prob)
    scaled = np.multiply(p, float(num_bins), dtype=np.float64)
    np.ceil(scaled, out=scaled)
    bins = scaled.astype(np.int32)
    np.clip(bins, 0, num_bins, out=bins)
    return bins


def pixel_histograms(
    prob: Any, gt: Any, num_bins: int = 1000, ignore_index: int = IGNORE_INDEX
) -> np.ndarray:
    """Per-image histograms of the probabilities split by ground truth.

    Returns an ``(N, 2, num_bins + 1)`` int64 array: ``[:, 0]`` counts authentic pixels, ``[:, 1]``
    tampered pixels, per bin of :func:`probability_bins`; ignored pixels are left out. Pixel AUC
    and best-F1 are read off these (docs/metrics.md, "Threshold-free"); they are exact for maps with
    at most ``num_bins`` distinct levels on the grid, e.g. 8-bit PNG maps with ``num_bins=1000``.
    """
    p = _batched(prob)
    g = _batched(gt)
    if p.shape != g.shape:
        raise ValueError(f"prediction shape {p.shape} != ground truth shape {g.shape}")
    nbins = num_bins + 1
    out = np.zeros((p.shape[0], 2, nbins), dtype=np.int64)
    for i in range(p.shape[0]):  # per image keeps the int32 code map small and cache-friendly
        gi = g[i]
        code = probability_bins(p[i], num_bins)
        pos = gi == 1
        np.add(code, nbins, out=code, where=pos)  # tampered pixels go to the second half
        valid = pos | (gi == 0)
        if valid.all():
            flat = code.ravel()
        else:
            flat = code[valid]
        out[i] = np.bincount(flat, minlength=2 * nbins).reshape(2, nbins)
    return out


def auc_from_histograms(hist: np.ndarray) -> np.ndarray:
    """ROC AUC from ``[..., 2, B]`` histograms (negatives, positives), vectorised.

    Pixels in the same bin count as ties (half a pair), as in the Mann-Whitney statistic used by
    ``sklearn.metrics.roc_auc_score``. Entries without both classes are NaN; callers turn them
    into ``None``.
    """
    h = np.asarray(hist, dtype=np.float64)
    neg, pos = h[..., 0, :], h[..., 1, :]
    neg_below = np.cumsum(neg, axis=-1) - neg
    pairs = np.sum(pos * (neg_below + 0.5 * neg), axis=-1)
    denom = pos.sum(axis=-1) * neg.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, pairs / np.where(denom > 0, denom, 1.0), np.nan)


def counts_from_histograms(hist: np.ndarray) -> np.ndarray:
    """Confusion counts at every grid threshold ``k / num_bins``, ``k = 0 .. num_bins``.

    ``hist`` is ``[..., 2, B]`` with ``B = num_bins + 1``; returns ``[..., B, 4]`` int64
    ``[tp, fp, fn, tn]`` where entry ``k`` is the prediction ``p > k / num_bins`` (bins ``> k``).
    The last threshold (``p > 1``) predicts nothing.
    """
    h = np.asarray(hist, dtype=np.int64)
    neg, pos = h[..., 0, :], h[..., 1, :]
    neg_le = np.cumsum(neg, axis=-1)  # pixels with bin <= k: predicted authentic at threshold k
    pos_le = np.cumsum(pos, axis=-1)
    out = np.empty(neg.shape + (4,), dtype=np.int64)
    out[..., TP] = pos_le[..., -1:] - pos_le
    out[..., FP] = neg_le[..., -1:] - neg_le
    out[..., FN] = pos_le
    out[..., TN] = neg_le
    return out


def pool_scores(
    prob: Any,
    gt: Any | None = None,
    mode: str = "max",
    topk: int = 100,
    ignore_index: int = IGNORE_INDEX,
) -> np.ndarray:
    """Image-level detection score per image (docs/metrics.md, "Image level": the maximum by
    default, pooling configurable).

    ``mode`` is ``'max'``, ``'mean'`` or ``'topk_mean'`` (mean of the ``topk`` highest pixels).
    Ignored ground-truth pixels are not pooled; an image without any scored pixel gets 0.
    """
    if mode not in POOLING_MODES:
        raise ValueError(f"image_pooling must be one of {POOLING_MODES}, got {mode!r}")
    p = _batched(prob)
    n = p.shape[0]
    flat = p.reshape(n, -1)
    valid = None
    if gt is not None:
        g = _batched(gt).reshape(n, -1)
        valid = (g == 0) | (g == 1)
        if valid.all():
            valid = None
    if mode == "max":
        if valid is None:
            return flat.max(axis=1).astype(np.float64)
        masked = np.where(valid, flat, -np.inf).max(axis=1)
        return np.where(np.isfinite(masked), masked, 0.0).astype(np.float64)
    if mode == "mean":
        if valid is None:
            return flat.mean(axis=1, dtype=np.float64)
        total = np.where(valid, flat, 0).sum(axis=1, dtype=np.float64)
        return total / np.maximum(valid.sum(axis=1), 1)
    if topk < 1:
        raise ValueError(f"topk must be >= 1, got {topk}")
    scores = np.zeros(n, dtype=np.float64)
    for i in range(n):
        vals = flat[i] if valid is None else flat[i][valid[i]]
        if vals.size == 0:
            continue
        k = min(topk, vals.size)
        scores[i] = np.partition(vals, vals.size - k)[vals.size - k :].mean(dtype=np.float64)
    return scores


def binary_auc(scores: Any, labels: Any) -> float | None:
    """ROC AUC (ties count half), ``sklearn.metrics.roc_auc_score``; ``None`` with fewer than
    two classes, where scikit-learn raises (docs/metrics.md: undefined figures are null)."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).astype(bool).ravel()
    if s.shape != y.shape:
        raise ValueError(f"{s.size} scores for {y.size} labels")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN")
    if y.all() or not y.any():
        return None
    from sklearn.metrics import roc_auc_score  # here: importing scikit-learn takes ~2 s

    return float(roc_auc_score(y, s))


def detection_scores(scores: Any, labels: Any, threshold: float) -> dict[str, float | None]:
    """Image-level balanced accuracy and F1 of ``score > threshold``, at the same threshold as the
    pixels, plus the AUC (docs/metrics.md, "Image level"). Undefined figures are ``None``."""
    from sklearn.metrics import balanced_accuracy_score  # here: importing it takes ~2 s

    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).astype(bool).ravel()
    pred = s > threshold
    tp = int(np.count_nonzero(pred & y))
    fp = int(np.count_nonzero(pred & ~y))
    fn = int(np.count_nonzero(~pred & y))
    # scikit-learn would score one class anyway (with a warning); docs/metrics.md wants null
    two_classes = bool(y.any() and not y.all())
    return {
        "auc": binary_auc(s, y),
        "bacc": float(balanced_accuracy_score(y, pred)) if two_classes else None,
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
    }
