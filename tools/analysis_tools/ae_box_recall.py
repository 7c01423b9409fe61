"""Does Anomaly Enhancement's detection branch learn? Box recall of a checkpoint on a test split.

    python tools/analysis_tools/ae_box_recall.py CONFIG CHECKPOINT [--split test]
        [--max-images N] [--iou 0.5] [--top-k 100] [--score 0.5] [--out FILE.json]
        [--cfg-options KEY=VALUE ...] [--device cpu]

The model is built WITH the training-only detection branch (unlike tools/test.py) and the
training checkpoint is loaded strictly (every tensor, the branch's included). Each image of the
split goes through the config's test pipeline and data preprocessor; the backbone runs with the
image's DCT, and ``AnomalyEnhancement.detect`` gives the RPN proposals (the heads' test
settings) and the RoI head's detections. Printed per task (markdown): images, images without a
box, ground-truth boxes (the mask's connected components, as in training; boxes under the
neck's ``min_box_side`` are counted apart and left out), the recall of the boxes among the
``--top-k`` highest-scoring proposals and among the detections with score >= ``--score`` (a box
is recalled when some proposal or detection overlaps it with IoU >= ``--iou``), and the
detections per image on images without a box. A freshly initialised branch recalls large boxes
by chance among many proposals; compare against such a model, not against zero: ``init`` in
place of CHECKPOINT evaluates the config's model freshly initialised (``--seed``).
"""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

try:
    import mmiml  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mmengine.config import DictAction

from mmiml import TASKS
from mmiml.datasets.manifest import SPLITS
from mmiml.evaluation.result_json import write_json
from mmiml.utils.cli import run_cli
from mmiml.utils.errors import ConfigError, IMLDataError

#: CHECKPOINT value for the freshly initialised model
INIT = "init"

# ----------------------------------------------------------------------------------- recall


def pairwise_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(len(a), len(b))`` IoU of xyxy boxes."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=2)
    area_a = np.clip(a[:, 2:] - a[:, :2], 0, None).prod(axis=1)
    area_b = np.clip(b[:, 2:] - b[:, :2], 0, None).prod(axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def recalled(gt: np.ndarray, pred: np.ndarray, iou_thr: float = 0.5) -> np.ndarray:
    """For each ground-truth box, whether some predicted box has IoU >= ``iou_thr`` with it
    (proposal recall: no one-to-one matching)."""
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
    pred = np.asarray(pred, dtype=np.float64).reshape(-1, 4)
    if not len(gt) or not len(pred):
        return np.zeros(len(gt), dtype=bool)
    return pairwise_iou(gt, pred).max(axis=1) >= iou_thr


class RecallCounter:
    """Per-task tallies of images, boxes and recalled boxes."""

    FIELDS = ("images", "images_without_box", "gt_boxes", "small_boxes_left_out",
              "recalled_proposals", "recalled_detections", "detections_on_images_without_box")

    def __init__(self) -> None:
        self.tasks: dict[str, dict[str, int]] = {}

    def add(self, task: str, gt: np.ndarray, small: int, proposals: np.ndarray,
            detections: np.ndarray, iou_thr: float) -> None:
        """One image: its kept ground-truth boxes, the count of boxes left out as too small,
        its top proposals and its confident detections (xyxy, network-input pixels)."""
        t = self.tasks.setdefault(task, dict.fromkeys(self.FIELDS, 0))
        t["images"] += 1
        t["gt_boxes"] += len(gt)
        t["small_boxes_left_out"] += small
        if not len(gt):
            t["images_without_box"] += 1
            t["detections_on_images_without_box"] += len(detections)
            return
        t["recalled_proposals"] += int(recalled(gt, proposals, iou_thr).sum())
        t["recalled_detections"] += int(recalled(gt, detections, iou_thr).sum())

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per task (TASKS order, then others) and ``all``: the tallies plus the two recalls
        (NaN without boxes) and detections per image without a box."""
        order = [t for t in TASKS if t in self.tasks] + sorted(set(self.tasks) - set(TASKS))
        rows = {t: dict(self.tasks[t]) for t in order}
        rows["all"] = {f: sum(r[f] for r in rows.values()) for f in self.FIELDS}
        for r in rows.values():
            n = r["gt_boxes"]
            r["recall_proposals"] = r["recalled_proposals"] / n if n else float("nan")
            r["recall_detections"] = r["recalled_detections"] / n if n else float("nan")
            m = r["images_without_box"]
            r["detections_per_image_without_box"] = (
                r["detections_on_images_without_box"] / m if m else float("nan"))
        return rows


def summary_markdown(rows: Mapping[str, Mapping[str, Any]], top_k: int, score: float,
                     iou: float) -> str:
    def pct(x: float) -> str:
        return "-" if x != x else f"{100 * x:.1f}"

    header = ["task", "images", "without box", "gt boxes", "small (left out)",
              f"recall top-{top_k} proposals (%)", f"recall detections score>={score:g} (%)",
              "detections per image without box"]
    lines = [f"Recall at IoU >= {iou:g}", "", "| " + " | ".join(header) + " |",
             "|" + "---|" * len(header)]
    for task, r in rows.items():
        fp = r["detections_per_image_without_box"]
        lines.append("| " + " | ".join([
            task, str(r["images"]), str(r["images_without_box"]), str(r["gt_boxes"]),
            str(r["small_boxes_left_out"]), pct(r["recall_proposals"]),
            pct(r["recall_detections"]), "-" if fp != fp else f"{fp:.2f}"]) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ model
def build_detecting_model(cfg: Any, config_path: str, checkpoint: str, device: str) -> Any:
    """The config's model with its Anomaly Enhancement detection branch, weights loaded
    strictly from ``checkpoint`` (``"init"``: freshly initialised from the current torch
    seed), in eval mode."""
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    from mmiml.engine.checkpoint import load_model_weights
    from mmiml.utils.setup_env import register_all_modules

    neck = cfg.model.get("neck")
    if not neck or neck.get("type") != "AnomalyEnhancement":
        raise ConfigError(config_path, "model.neck is not an AnomalyEnhancement: no detection "
                                       "branch to evaluate")
    if not neck.get("with_detection", True):
        raise ConfigError(config_path, "model.neck.with_detection is False: this config has no "
                                       "detection branch (an ablation trained without it, or "
                                       "a config dumped for testing, which drops it: pass the "
                                       "training config from configs/)")
    register_all_modules()
    init_default_scope("mmseg")
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    if checkpoint == INIT:
        from mmengine.logging import MMLogger

        logger = MMLogger.get_current_instance()
        level = logger.level
        logger.setLevel(logging.WARNING)  # init_weights logs every tensor: keep the table clean
        try:
            model.init_weights()
        finally:
            logger.setLevel(level)
    else:
        load_model_weights(model, checkpoint, strict=True)
    return model.to(device).eval()


def iter_batches(cfg: Any, split: str | None, max_images: int | None):
    """``(index, packed item)`` of the test dataset (``split`` overrides the config's)."""
    from mmseg.registry import DATASETS

    dataset_cfg = cfg.test_dataloader.dataset.copy()
    if split:
        dataset_cfg["split"] = split
    dataset = DATASETS.build(dataset_cfg)
    n = len(dataset) if max_images is None else min(max_images, len(dataset))
    for i in range(n):
        yield i, dataset[i]


def image_boxes(model: Any, item: Mapping[str, Any], device: str, top_k: int,
                score: float) -> tuple[str, np.ndarray, int, np.ndarray, np.ndarray]:
    """One image: ``(task, kept gt boxes, small boxes left out, top-k proposals, detections
    with score >= score)``, boxes in network-input pixels (the test pipeline does not resize)."""
    import torch

    data = model.data_preprocessor(
        {"inputs": [item["inputs"]], "data_samples": [item["data_samples"]]}, False)
    inputs = data["inputs"].to(device)
    samples = data["data_samples"]
    captured: list = []
    hook = model.neck.register_forward_pre_hook(lambda _m, args: captured.append(args[0]))
    try:
        with torch.no_grad(), model.dct_batch(inputs, samples, training=False):
            model.extract_feat(inputs)  # backbone (with the DCT) + neck; the hook keeps F
    finally:
        hook.remove()
    proposals, detections = model.neck.detect(captured[0], samples,
                                              batch_input_shape=tuple(inputs.shape[-2:]))
    sample = samples[0]
    gt = sample.gt_instances.bboxes.to(torch.float32).reshape(-1, 4)
    kept = model.neck.keep_boxes(gt)
    dets = detections[0]
    confident = dets.bboxes[dets.scores >= score]
    return (str(sample.metainfo.get("task", "unknown")), kept.cpu().numpy(),
            len(gt) - len(kept), proposals[0].bboxes[:top_k].cpu().numpy(),
            confident.cpu().numpy())


# ------------------------------------------------------------------------------------- CLI
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("config")
    p.add_argument("checkpoint", help="a training checkpoint (with the detection branch), or "
                                      f"'{INIT}' for the freshly initialised model (the chance "
                                      "level)")
    p.add_argument("--seed", type=int, default=0, help=f"torch seed of '{INIT}' (default 0)")
    p.add_argument("--split", default="test", choices=SPLITS,
                   help="manifest split (default: test)")
    p.add_argument("--max-images", type=int, help="only the first N images of the split")
    p.add_argument("--iou", type=float, default=0.5, help="IoU for a box to count as recalled")
    p.add_argument("--top-k", type=int, default=100, help="proposals per image (by score)")
    p.add_argument("--score", type=float, default=0.5, help="detection score threshold")
    p.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    p.add_argument("--out", help="also write the figures as JSON here")
    p.add_argument("--cfg-options", nargs="+", action=DictAction,
                   help="override config keys, e.g. test_dataloader.dataset.ann_file=FILE")
    args = p.parse_args(argv)
    if args.max_images is not None and args.max_images < 1:
        p.error("--max-images must be at least 1")
    if args.top_k < 1:
        p.error("--top-k must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the detection branch over the split and print the recall table."""
    import torch

    from mmiml.engine import apply_mmengine_patches
    from mmiml.utils.config import merge_overrides, read_config

    args = parse_args(argv)
    cfg = read_config(args.config)
    if args.cfg_options:
        merge_overrides(cfg, args.cfg_options, args.config)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    apply_mmengine_patches()  # checkpoints load with weights_only=True
    torch.manual_seed(args.seed)
    model = build_detecting_model(cfg, args.config, args.checkpoint, device)
    counter = RecallCounter()
    for _, item in iter_batches(cfg, args.split, args.max_images):
        task, gt, small, props, dets = image_boxes(model, item, device, args.top_k, args.score)
        counter.add(task, gt, small, props, dets, args.iou)
    rows = counter.summary()
    if not rows["all"]["images"]:
        raise IMLDataError(str(cfg.test_dataloader.dataset.get("ann_file")),
                           f"no images in split {args.split!r}")
    print(summary_markdown(rows, args.top_k, args.score, args.iou))
    if args.out:
        tasks = {t: {k: (None if isinstance(v, float) and v != v else v)  # NaN: not JSON
                     for k, v in r.items()} for t, r in rows.items()}
        doc = {"config": args.config, "checkpoint": args.checkpoint, "split": args.split,
               "iou": args.iou, "top_k": args.top_k, "score": args.score,
               "min_box_side": model.neck.min_box_side, "tasks": tasks}
        print(f"written {write_json(doc, args.out, indent=1)}")
    return 0


if __name__ == "__main__":
    run_cli(main)
