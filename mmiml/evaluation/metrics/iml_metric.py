"""IMLMetric: mmiml's scoring of manipulation localizers, as an mmengine metric.

Binding spec: ``docs/metrics.md``. In short:

- the prediction is a tampering probability, resized (bilinear) to the ground truth's original
  size, binarised as ``p > threshold``;
- pixel F1/IoU/precision/recall in two aggregations: ``image`` (per image with IMDL-BenCo's
  epsilon, then averaged) and ``dataset`` (one confusion matrix over all pixels, DocTamper);
- authentic images (no tampered pixel) are excluded from the pixel figures by default
  (``authentic_policy='exclude'``); ``'empty_is_one'`` scores them 1.0 when nothing is predicted
  and 0.0 otherwise. Either way they enter the image-level figures and the false-alarm figures;
- image-level detection from the model's own image score where its predictions carry one
  (``img_score``, a detection head's probability), else from a pooled score of the map (max by
  default): AUC, balanced accuracy, F1; ``spec.image_score`` says which;
- threshold-free: pixel AUC and the oracle best-F1, both from per-image histograms;
- everything per task plus the macro average over the tasks present (``avg``);
- samples whose metainfo carries a ``group`` (a probe set) are also scored per group
  (``per_group``), by the same code as a task; ``num_ungrouped`` counts the others;
- Omni-IML's mechanisms, when a prediction records them: the Modal Gate's routing
  (``gate_fused``) and probability (``gate_prob``), and the Dynamic Weight Filters' mixing
  weights (``dwd_mix``), averaged per task and group; ``avg.dwd_mix_spread`` says how far apart
  the tasks' mean mixing weights lie;
- undefined figures are ``None`` (JSON null), never 0; the macro average skips them;
- ``per_image``: every image's own IoU, F1 and score per task, keyed by its ``sample_id`` (its
  path relative to the manifest), for paired statistics across models
  (:mod:`mmiml.evaluation.bootstrap`).

``process`` keeps one compact entry per image (confusion counts, histogram, score), never a map,
so mmengine's ``collect_results`` + truncation to the dataset size scores every image once.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as nnf
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmseg.registry import METRICS

from mmiml import TASKS
from mmiml.evaluation import functional as F
from mmiml.evaluation.result_json import (
    AUTHENTIC_POLICIES,
    COUNT_KEYS,
    EXTRA_FIGURE_KEYS,
    FIGURE_KEYS,
    PER_IMAGE_DIGITS,
    SCHEMA_ID,
    dwd_mix_spread,
    format_task_table,
    validate_result,
    write_result,
)
from mmiml.utils.errors import IMLDataError

# Chunk of images whose threshold curves are expanded at once for best-F1 (bounds memory to
# about chunk * (num_bins + 1) * 4 int64 values).
_CURVE_CHUNK = 256


def _field(sample: Any, key: str) -> Any:
    """Read ``key`` from a data sample given as dict (Evaluator.process) or SegDataSample."""
    if isinstance(sample, Mapping):
        return sample.get(key)
    getter = getattr(sample, "get", None)
    if getter is not None:
        return getter(key, None)
    return getattr(sample, key, None)


def _pixel_data(value: Any) -> Any:
    """The array inside a PixelData (object or its ``to_dict``), or the array itself."""
    if value is None or isinstance(value, (np.ndarray, torch.Tensor)):
        return value
    if isinstance(value, Mapping):
        return value.get("data")
    return getattr(value, "data", None)


def _tensor(data: Any) -> torch.Tensor:
    """CPU tensor view of ``data`` (model outputs may still be on the GPU)."""
    return torch.as_tensor(data).detach().cpu()


def _as_2d(arr: torch.Tensor, what: str, img_path: str) -> torch.Tensor:
    while arr.ndim > 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2:
        raise IMLDataError(img_path, f"{what} must be HxW or 1xHxW, got shape {tuple(arr.shape)}")
    return arr


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if len(values) else None


def sample_probability(sample: Any, shape: tuple[int, ...], img_path: str) -> np.ndarray:
    """A prediction's tampering probability map at ``shape`` (the original size): its
    ``pred_prob``, else the sigmoid (1xHxW) or softmax (2xHxW) of its ``seg_logits``, resized
    bilinearly (docs/metrics.md, "Resolution"). The one conversion every tool uses (metric,
    inference API, saved predictions, panels), so they agree to the bit."""
    data = _pixel_data(_field(sample, "pred_prob"))
    if data is not None:
        prob = _as_2d(_tensor(data), "pred_prob", img_path).float()
    else:
        logits = _pixel_data(_field(sample, "seg_logits"))
        if logits is None:
            raise IMLDataError(img_path, "data sample has neither pred_prob nor seg_logits")
        logits = _tensor(logits).float()
        if logits.ndim == 2:
            logits = logits[None]
        if logits.ndim != 3 or logits.shape[0] not in (1, 2):
            raise IMLDataError(img_path, "seg_logits must be 1xHxW (sigmoid) or 2xHxW "
                                         f"(softmax), got shape {tuple(logits.shape)}")
        if logits.shape[0] == 1:
            prob = torch.sigmoid(logits[0])
        else:
            prob = torch.softmax(logits, dim=0)[1]
    if tuple(prob.shape) != tuple(shape):
        # docs/metrics.md "Resolution": scored at the ground truth's original size
        prob = nnf.interpolate(prob[None, None], size=tuple(shape), mode="bilinear",
                               align_corners=False)[0, 0]
    out = np.ascontiguousarray(prob.numpy(), dtype=np.float32)
    lo, hi = float(out.min()), float(out.max())
    if not (lo >= 0.0 and hi <= 1.0):  # also catches NaN
        raise IMLDataError(img_path, f"probabilities must lie in [0, 1] (found {lo}..{hi})")
    return out


@METRICS.register_module()
class IMLMetric(BaseMetric):
    """Image manipulation localization metric (docs/metrics.md).

    Args:
        threshold: binary prediction is ``probability > threshold``.
        authentic_policy: ``'exclude'`` (default) keeps authentic images out of the pixel
            figures; ``'empty_is_one'`` scores an empty prediction on an empty mask as 1.0 (and
            any predicted pixel on it as 0.0).
        image_pooling: image score from the map: ``'max'``, ``'mean'`` or ``'topk_mean'``.
        topk: number of pixels averaged by ``'topk_mean'``.
        num_bins: histogram bins for pixel AUC and best-F1 (thresholds ``k / num_bins``).
        out_file: when set, the full result JSON is written there after each evaluation.
        default_task: task of samples whose metainfo lacks ``task`` (None: that is an error).
        per_image: keep every image's IoU, F1 and score in the result (``per_image``).
        log_table: log the per-task table through mmengine's logger after each evaluation.
        collect_device, prefix, collect_dir: see ``mmengine.evaluator.BaseMetric``.
    """

    default_prefix: str | None = "iml"

    def __init__(
        self,
        threshold: float = 0.5,
        authentic_policy: str = "exclude",
        image_pooling: str = "max",
        topk: int = 100,
        num_bins: int = 1000,
        out_file: str | None = None,
        default_task: str | None = None,
        per_image: bool = True,
        log_table: bool = True,
        collect_device: str = "cpu",
        prefix: str | None = None,
        collect_dir: str | None = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {threshold}")
        if authentic_policy not in AUTHENTIC_POLICIES:
            raise ValueError(
                f"authentic_policy must be one of {AUTHENTIC_POLICIES}, got {authentic_policy!r}")
        if image_pooling not in F.POOLING_MODES:
            raise ValueError(
                f"image_pooling must be one of {F.POOLING_MODES}, got {image_pooling!r}")
        if topk < 1:
            raise ValueError(f"topk must be >= 1, got {topk}")
        if num_bins < 1:
            raise ValueError(f"num_bins must be >= 1, got {num_bins}")
        if default_task is not None and default_task not in TASKS:
            raise ValueError(f"default_task must be one of {TASKS}, got {default_task!r}")
        self.threshold = float(threshold)
        self.authentic_policy = authentic_policy
        self.image_pooling = image_pooling
        self.topk = int(topk)
        self.num_bins = int(num_bins)
        self.out_file = out_file
        self.default_task = default_task
        self.per_image = per_image
        self.log_table = log_table
        self.last_result: dict[str, Any] | None = None

    # ------------------------------------------------------------------ process
    def _ground_truth(self, sample: Any, img_path: str) -> np.ndarray:
        data = _pixel_data(_field(sample, "gt_sem_seg"))
        if data is None:
            raise IMLDataError(img_path, "data sample has no gt_sem_seg")
        gt = _as_2d(_tensor(data), "gt_sem_seg", img_path).numpy()
        if gt.dtype != np.uint8:
            if gt.dtype != np.bool_:
                lo, hi = gt.min(), gt.max()
                if lo < 0 or hi > 255 or not np.array_equal(gt, np.round(gt)):
                    raise IMLDataError(img_path, f"gt_sem_seg values must be 0, 1 or 255 "
                                                 f"(found range {lo}..{hi})")
            gt = gt.astype(np.uint8)
        stray = (gt > 1) & (gt != F.IGNORE_INDEX)
        if stray.any():
            raise IMLDataError(img_path, f"gt_sem_seg has value {int(gt[stray][0])}; "
                                         "expected 0 (authentic), 1 (tampered), 255 (ignore)")
        return np.ascontiguousarray(gt)

    def _probability(self, sample: Any, shape: tuple[int, ...], img_path: str) -> np.ndarray:
        return sample_probability(sample, shape, img_path)

    @staticmethod
    def _unit_number(sample: Any, key: str, img_path: str) -> float | None:
        """Metainfo ``key`` as a float in [0, 1], or None when the prediction does not carry it."""
        raw = _field(sample, key)
        if raw is None:
            return None
        try:
            value = float(raw)
        except (TypeError, ValueError, RuntimeError):  # lists, strings, many-element tensors
            raise IMLDataError(img_path, f"{key} must be a number in [0, 1], got {raw!r}"
                               ) from None
        if not 0.0 <= value <= 1.0:  # also catches NaN
            raise IMLDataError(img_path, f"{key} must lie in [0, 1], got {value}")
        return value

    def _gate(self, sample: Any, img_path: str) -> tuple[float | None, float | None]:
        """The Modal Gate's routing of this image (1 = frequency path) and its probability of
        that path, each None when the model records none (no gate, or the gate bypassed)."""
        return (self._unit_number(sample, "gate_fused", img_path),
                self._unit_number(sample, "gate_prob", img_path))

    @staticmethod
    def _dwd_mix(sample: Any, img_path: str) -> np.ndarray | None:
        """The Dynamic Weight Filters' mixing weights of this image, (num_filters, K), when the
        decoder has filters.

        Each weight is a sigmoid, in (0, 1); [0, 1] is accepted because a float32 sigmoid
        saturates to exactly 0 or 1 (our choice). The shape is checked against the other images
        in :meth:`build_result`, which sees them all.
        """
        raw = _field(sample, "dwd_mix")
        if raw is None:
            return None
        if isinstance(raw, torch.Tensor):
            raw = raw.detach().cpu().numpy()
        try:
            mix = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError):  # ragged lists, strings
            raise IMLDataError(img_path, f"dwd_mix must be a (num_filters, K) list of lists of "
                                         f"numbers, got {raw!r}") from None
        if mix.ndim != 2 or mix.size == 0:
            raise IMLDataError(img_path, f"dwd_mix must be a (num_filters, K) list of lists of "
                                         f"numbers, got shape {mix.shape}: {raw!r}")
        bad = ~((mix >= 0.0) & (mix <= 1.0))  # also catches NaN
        if bad.any():
            f, k = (int(i) for i in np.argwhere(bad)[0])
            raise IMLDataError(img_path, f"dwd_mix weights must lie in [0, 1], got {mix[f, k]} "
                                         f"at filter {f}, kernel {k}")
        return mix

    @staticmethod
    def _group(sample: Any, img_path: str) -> str | None:
        """The sample's ``group`` (a probe set's slice), when it carries one."""
        value = _field(sample, "group")
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise IMLDataError(img_path, f"group must be a non-empty string, got {value!r}")
        return value

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Append one compact entry per data sample to ``self.results``.

        Samples with equal ground-truth size are scored together by the batch kernels.
        """
        prepared: list[tuple[str, str, np.ndarray, np.ndarray, dict[str, Any]]] = []
        for sample in data_samples:
            img_path = str(_field(sample, "img_path") or "<data sample without img_path>")
            task = _field(sample, "task") or self.default_task
            if task is None:
                raise IMLDataError(img_path, "data sample has no 'task' in its metainfo")
            if task not in TASKS:
                raise IMLDataError(img_path, f"unknown task {task!r}; expected one of {TASKS}")
            gt = self._ground_truth(sample, img_path)
            prob = self._probability(sample, gt.shape, img_path)
            gate_fused, gate_prob = self._gate(sample, img_path)
            extra = {"gate_fused": gate_fused, "gate_prob": gate_prob,
                     "img_score": self._unit_number(sample, "img_score", img_path),
                     "dwd_mix": self._dwd_mix(sample, img_path),
                     "group": self._group(sample, img_path)}
            # the manifest-relative path (IMLDataset); the file name for other datasets
            extra["sample_id"] = str(_field(sample, "sample_id") or img_path.replace("\\", "/")
                                     .rsplit("/", 1)[-1])
            prepared.append((str(task), img_path, prob, gt, extra))

        groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for i, item in enumerate(prepared):
            groups[item[3].shape].append(i)
        entries: list[dict[str, Any] | None] = [None] * len(prepared)
        for idx in groups.values():
            probs = np.stack([prepared[i][2] for i in idx])
            gts = np.stack([prepared[i][3] for i in idx])
            counts = F.threshold_counts(probs, gts, self.threshold)
            hists = F.pixel_histograms(probs, gts, self.num_bins)
            scores = F.pool_scores(probs, gts, self.image_pooling, self.topk)
            small = hists.sum(axis=(1, 2)).max() < np.iinfo(np.int32).max
            hists = hists.astype(np.int32) if small else hists  # halves the collected payload
            for j, i in enumerate(idx):
                task, img_path = prepared[i][:2]
                entries[i] = {
                    "task": task,
                    "img_path": img_path,
                    "tampered": bool(counts[j, F.TP] + counts[j, F.FN] > 0),
                    "counts": counts[j].copy(),
                    "score": float(scores[j]) if prepared[i][4]["img_score"] is None
                    else prepared[i][4]["img_score"],
                    "hist": hists[j].copy(),
                    **prepared[i][4],
                }
        self.results.extend(entries)

    # ---------------------------------------------------------- compute_metrics
    def _image_figures(
        self, counts: np.ndarray, tampered: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Per-image P/R/F1/IoU of the images in the pixel set, with the authentic policy."""
        per = F.prf_iou(counts)
        if self.authentic_policy == "empty_is_one":
            auth = ~tampered
            empty = (counts[:, F.TP] + counts[:, F.FP]) == 0
            for key in per:
                per[key] = np.where(auth, empty.astype(np.float64), per[key])
        return per

    def _best_f1(
        self, hists: np.ndarray, tampered: np.ndarray, f1_at_threshold: float | None
    ) -> tuple[float | None, float | None]:
        """Oracle best-F1: the ``image`` aggregated F1 at the single best threshold.

        Candidates are the grid thresholds ``k / num_bins`` (read off the histograms) and the
        configured threshold itself, so best_f1 >= F1 at the configured threshold always.
        """
        if len(hists) == 0:
            return None, None
        total = np.zeros(self.num_bins + 1, dtype=np.float64)
        for s in range(0, len(hists), _CURVE_CHUNK):
            curve = F.counts_from_histograms(hists[s:s + _CURVE_CHUNK])  # (n, B, 4)
            f1 = F.prf_iou(curve)["f1"]
            if self.authentic_policy == "empty_is_one":
                auth = ~tampered[s:s + _CURVE_CHUNK]
                empty = (curve[..., F.TP] + curve[..., F.FP]) == 0
                f1 = np.where(auth[:, None], empty.astype(np.float64), f1)
            total += f1.sum(axis=0)
        mean_f1 = total / len(hists)
        k = int(np.argmax(mean_f1))
        best, best_thr = float(mean_f1[k]), k / self.num_bins
        if f1_at_threshold is not None and f1_at_threshold > best:
            best, best_thr = f1_at_threshold, self.threshold
        return best, best_thr

    def _scores(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        """Every figure over ``entries``: the images of one task, or of one group."""
        counts = np.stack([e["counts"] for e in entries]).astype(np.int64)
        tampered = np.array([e["tampered"] for e in entries], dtype=bool)
        scores = np.array([e["score"] for e in entries], dtype=np.float64)
        hists = np.stack([e["hist"] for e in entries]).astype(np.int64)
        authentic = ~tampered
        out: dict[str, Any] = {
            "num_images": len(entries),
            "num_tampered": int(tampered.sum()),
            "num_authentic": int(authentic.sum()),
        }
        # pixel set: the images that enter the pixel figures under the authentic policy
        sel = tampered if self.authentic_policy == "exclude" else np.ones_like(tampered)
        per = self._image_figures(counts[sel], tampered[sel])
        for key in ("f1", "iou", "precision", "recall"):
            out[f"pixel_{key}_image"] = _mean(per[key])
        ds = F.dataset_prf_iou(counts[sel]) if sel.any() else dict.fromkeys(per)
        for key in ("f1", "iou", "precision", "recall"):
            out[f"pixel_{key}_dataset"] = ds[key]
        auc = F.auc_from_histograms(hists[sel])
        out["pixel_auc_image"] = _mean(auc[~np.isnan(auc)])
        ds_auc = F.auc_from_histograms(hists[sel].sum(axis=0)) if sel.any() else np.nan
        out["pixel_auc_dataset"] = None if np.isnan(ds_auc) else float(ds_auc)
        out["best_f1"], out["best_f1_threshold"] = self._best_f1(
            hists[sel], tampered[sel], out["pixel_f1_image"])
        det = F.detection_scores(scores, tampered, self.threshold)
        out["image_auc"], out["image_bacc"], out["image_f1"] = det["auc"], det["bacc"], det["f1"]
        # false alarms: share of authentic images with any predicted pixel, mean predicted area
        auth_counts = counts[authentic]
        pred_pos = auth_counts[:, F.TP] + auth_counts[:, F.FP]
        n_valid = np.maximum(auth_counts.sum(axis=1), 1)
        out["false_alarm_rate"] = _mean((pred_pos > 0).astype(np.float64))
        out["false_alarm_area"] = _mean(pred_pos / n_valid)
        out.update(self._mechanism_figures(entries))
        return out

    @staticmethod
    def _mechanism_figures(entries: list[dict[str, Any]]) -> dict[str, Any]:
        """Omni-IML's Modal Gate (share of the images routed to the frequency path, the mean
        probability of that path) and Dynamic Weight Filters (mean mixing weights); only the
        figures the predictions record."""
        out: dict[str, Any] = {}
        gates = [e["gate_fused"] for e in entries if e.get("gate_fused") is not None]
        if gates:
            out["gate_fused_share"] = _mean(gates)
            out["gate_num_images"] = len(gates)
        probs = [e["gate_prob"] for e in entries if e.get("gate_prob") is not None]
        if probs:
            out["gate_prob_mean"] = _mean(probs)
        mixes = [e["dwd_mix"] for e in entries if e.get("dwd_mix") is not None]
        if mixes:
            out["dwd_mix"] = np.mean(np.stack(mixes), axis=0).tolist()
        return out

    @staticmethod
    def _check_mix_shapes(results: list[dict[str, Any]]) -> None:
        """Every image's ``dwd_mix`` has the first one's shape: one model, one set of filters."""
        first: dict[str, Any] | None = None
        for entry in results:
            mix = entry.get("dwd_mix")
            if mix is None:
                continue
            if first is None:
                first = entry
            elif mix.shape != first["dwd_mix"].shape:
                raise IMLDataError(entry["img_path"], f"dwd_mix has shape {mix.shape}, but "
                                   f"{first['img_path']} has {first['dwd_mix'].shape}; every "
                                   "image of one model has the same (num_filters, K)")

    def spec(self) -> dict[str, Any]:
        """The scoring choices, named in every report (docs/metrics.md)."""
        spec: dict[str, Any] = {
            "threshold": self.threshold,
            "authentic_policy": self.authentic_policy,
            "resolution": "original",
            "image_pooling": self.image_pooling,
            "aggregations": ["image", "dataset"],
            "epsilon": F.EPS,
            "ignore_index": F.IGNORE_INDEX,
            "num_bins": self.num_bins,
            "best_f1": "oracle: best single threshold per task over k/num_bins and threshold",
        }
        if self.image_pooling == "topk_mean":
            spec["topk"] = self.topk
        return spec

    def _score_source(self, results: list[dict[str, Any]]) -> str:
        """``'model'`` when every prediction carries its own image score, else the pooling;
        a model gives one or the other for all its images."""
        own = [e.get("img_score") is not None for e in results]
        if any(own) and not all(own):
            first = next(e for e in results if e.get("img_score") is None)
            raise IMLDataError(first["img_path"], f"prediction carries no img_score, but "
                               f"{sum(own)} of {len(own)} predictions do; one model scores "
                               "every image the same way")
        return "model" if own and all(own) else self.image_pooling

    def build_result(self, results: list[dict[str, Any]]) -> dict[str, Any]:
        """The full result dict in the "mmiml-result/1" schema of docs/metrics.md."""
        self._check_mix_shapes(results)
        source = self._score_source(results)
        by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
        by_group: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for entry in results:
            by_task[entry["task"]].append(entry)
            if entry.get("group") is not None:
                by_group[entry["group"]].append(entry)
        order = [t for t in TASKS if t in by_task] + sorted(set(by_task) - set(TASKS))
        per_task = {task: self._scores(by_task[task]) for task in order}
        avg: dict[str, Any] = {k: sum(s[k] for s in per_task.values()) for k in COUNT_KEYS}
        for key in FIGURE_KEYS + EXTRA_FIGURE_KEYS:
            avg[key] = _mean([s[key] for s in per_task.values() if s[key] is not None])
        gated = [s for s in per_task.values() if "gate_fused_share" in s]
        if gated:  # over all gated images, not a macro mean: "share of images routed"
            n = sum(s["gate_num_images"] for s in gated)
            avg["gate_num_images"] = n
            avg["gate_fused_share"] = sum(s["gate_fused_share"] * s["gate_num_images"]
                                          for s in gated) / n
        probs = [e["gate_prob"] for e in results if e.get("gate_prob") is not None]
        if probs:  # over all images with a gate probability, as gate_fused_share
            avg["gate_prob_mean"] = _mean(probs)
        mixes = [s["dwd_mix"] for s in per_task.values() if "dwd_mix" in s]
        if len(mixes) >= 2:  # a spread across tasks needs two of them
            avg["dwd_mix_spread"] = dwd_mix_spread(mixes)
        num_tampered = sum(int(e["tampered"]) for e in results)
        result: dict[str, Any] = {
            "schema": SCHEMA_ID,
            "num_images": len(results),
            "num_tampered": num_tampered,
            "num_authentic": len(results) - num_tampered,
            "spec": {**self.spec(), "image_score": source},
            "per_task": per_task,
            "avg": avg,
        }
        if by_group:
            result["per_group"] = {g: self._scores(by_group[g]) for g in sorted(by_group)}
            result["num_ungrouped"] = len(results) - sum(len(v) for v in by_group.values())
        if self.per_image:
            result["per_image"] = {task: self._per_image(by_task[task]) for task in order}
        return result

    def _per_image(self, entries: list[dict[str, Any]]) -> dict[str, list[Any]]:
        """The task's images in test order: id, tampered, IoU and F1 (null outside the pixel
        set) and image score, rounded to ``PER_IMAGE_DIGITS`` decimals."""
        counts = np.stack([e["counts"] for e in entries]).astype(np.int64)
        tampered = np.array([e["tampered"] for e in entries], dtype=bool)
        per = self._image_figures(counts, tampered)
        in_set = tampered if self.authentic_policy == "exclude" else np.ones_like(tampered)

        def col(values: np.ndarray) -> list[float | None]:
            return [round(float(v), PER_IMAGE_DIGITS) if keep else None
                    for v, keep in zip(values, in_set, strict=True)]

        ids = [e.get("sample_id") or e["img_path"] for e in entries]
        seen: set[str] = set()
        for entry, sid in zip(entries, ids, strict=True):
            if sid in seen:
                raise IMLDataError(entry["img_path"], f"sample id {sid!r} occurs twice in the "
                                   "test set; every image is scored exactly once")
            seen.add(sid)
        return {"id": ids, "tampered": tampered.tolist(), "iou": col(per["iou"]),
                "f1": col(per["f1"]),
                "score": [round(float(e["score"]), PER_IMAGE_DIGITS) for e in entries]}

    def compute_metrics(self, results: list) -> dict[str, Any]:
        """Build the result, keep it on ``self.last_result``, write ``out_file``, and return a
        flat dict for logging (``'avg/pixel_iou_image'``, ``'natural/pixel_f1_image'``,
        ``'group/<name>/pixel_iou_image'``, ...).

        Only numbers go into the flat dict: undefined figures (loggers and best-checkpoint hooks
        cannot compare None) and ``dwd_mix`` (a nested list, not a scalar) are left out; they are
        in ``last_result`` and the JSON.
        """
        result = self.build_result(results)
        validate_result(result)
        self.last_result = result
        if self.log_table:  # readable per-task table in the run log, beside the flat line
            print_log("\n" + format_task_table(result), logger="current")
        if self.out_file:
            write_result(result, self.out_file)
        flat: dict[str, Any] = {k: result[k] for k in COUNT_KEYS}
        scopes = [("avg", result["avg"]), *result["per_task"].items(),
                  *((f"group/{g}", s) for g, s in result.get("per_group", {}).items())]
        for scope, scores in scopes:
            for key, value in scores.items():
                if value is not None and not isinstance(value, list):
                    flat[f"{scope}/{key}"] = value
        return flat
