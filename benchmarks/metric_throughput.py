"""Throughput of mmiml's F1 + IoU kernel on one core, against a per-image reference loop.

    python benchmarks/metric_throughput.py [--batch 16] [--size 512] [--repeats 7]

Both sides take the same float32 probability maps and uint8 masks (0/1, 255 = ignore) and return
per-image F1 and IoU at threshold 0.5 (docs/metrics.md, ``image`` aggregation). The reference is the
straightforward per-image numpy loop (float maps, products and sums, as IMDL-BenCo computes its
confusion matrix); the vectorised side is ``mmiml.evaluation.functional``. Prints M pixels/s.
"""
from __future__ import annotations

import os

# One core: pin every thread pool before numpy/torch load their BLAS/OpenMP runtimes.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mmiml.evaluation import functional as F  # noqa: E402

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # optional: the env variables above already pin the pools
    threadpool_limits = None


def make_data(n: int, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random blob masks with an ignore border and noisy probabilities around them."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    gt = np.zeros((n, size, size), dtype=np.uint8)
    for i in range(n):
        cy, cx = rng.integers(0, size, 2)
        r = rng.integers(size // 16, size // 4)
        gt[i] = ((yy - cy) ** 2 + (xx - cx) ** 2) < r * r
    gt[:, -size // 16:, :] = F.IGNORE_INDEX  # padding rows, as a padded batch has
    prob = np.clip(gt.clip(0, 1) * 0.6 + rng.random(gt.shape, dtype=np.float32) * 0.5, 0, 1)
    return prob.astype(np.float32), gt


def vectorised(prob: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = F.prf_iou(F.threshold_counts(prob, gt, 0.5))
    return scores["f1"], scores["iou"]


def reference(prob: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f1s, ious = [], []
    for p, g in zip(prob, gt):
        valid = (g != F.IGNORE_INDEX).astype(np.float64)
        pred = (p > 0.5).astype(np.float64) * valid
        mask = (g == 1).astype(np.float64)
        tp = np.sum(pred * mask)
        fp = np.sum(pred * (1 - mask) * valid)
        fn = np.sum((1 - pred) * mask)
        precision = tp / (tp + fp + 1e-8)
        recall = tp / (tp + fn + 1e-8)
        f1s.append(2 * precision * recall / (precision + recall + 1e-8))
        ious.append(tp / (tp + fp + fn + 1e-8))
    return np.array(f1s), np.array(ious)


def best_time(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    torch.set_num_threads(1)
    if threadpool_limits is not None:
        threadpool_limits(1)
    prob, gt = make_data(args.batch, args.size)
    f1_v, iou_v = vectorised(prob, gt)
    f1_r, iou_r = reference(prob, gt)
    assert np.allclose(f1_v, f1_r, atol=1e-9) and np.allclose(iou_v, iou_r, atol=1e-9)
    mpx = prob.size / 1e6
    t_v = best_time(lambda: vectorised(prob, gt), args.repeats)
    t_r = best_time(lambda: reference(prob, gt), args.repeats)
    print(f"F1+IoU, {args.batch}x{args.size}x{args.size}, 1 thread "
          f"(torch threads {torch.get_num_threads()}), best of {args.repeats}")
    print(f"vectorised (mmiml.evaluation.functional): {mpx / t_v:8.1f} M px/s  "
          f"({t_v * 1e3:.1f} ms)")
    print(f"per-image reference loop (numpy)        : {mpx / t_r:8.1f} M px/s  "
          f"({t_r * 1e3:.1f} ms)")
    print(f"ratio: {t_r / t_v:.1f}x")


if __name__ == "__main__":
    main()
