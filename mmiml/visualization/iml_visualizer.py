"""``IMLLocalVisualizer``: mmseg's ``SegLocalVisualizer`` drawing a tampering prediction as one
panel row (image, ground truth, heat map, overlay) with the image's IoU in the title, instead of
argmax class colours.
"""
from __future__ import annotations

from typing import Any

import cv2
import mmcv
import numpy as np
from mmseg.registry import VISUALIZERS
from mmseg.visualization import SegLocalVisualizer

from .render import heatmap, overlay

__all__ = ["IMLLocalVisualizer", "image_iou", "panel_row"]


def image_iou(mask: np.ndarray, gt: np.ndarray) -> float | None:
    """IoU of one image's predicted mask with its ground truth (ignored pixels, 255, left
    out); None when neither has a tampered pixel (an authentic image predicted clean)."""
    valid = gt != 255
    pred, true = (mask > 0) & valid, (gt == 1) & valid
    union = int((pred | true).sum())
    return None if union == 0 else float((pred & true).sum()) / union


def _titled(img: np.ndarray, title: str) -> np.ndarray:
    bar = np.full((22, img.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, title, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1,
                cv2.LINE_AA)
    return np.concatenate([bar, img], axis=0)


def panel_row(image: np.ndarray, prob: np.ndarray, mask: np.ndarray,
              gt: np.ndarray | None = None, title: str = "") -> np.ndarray:
    """Image | ground truth (when given) | heat map | overlay, each titled, with ``title``
    (and the IoU when there is a ground truth) above the row; RGB uint8."""
    panels = [_titled(image, "image")]
    if gt is not None:
        shown = np.where(gt == 1, 255, 0).astype(np.uint8)
        panels.append(_titled(np.repeat(shown[..., None], 3, axis=2), "ground truth"))
    panels.append(_titled(heatmap(prob), "heat map"))
    panels.append(_titled(overlay(image, mask), "overlay"))
    gap = np.full((panels[0].shape[0], 4, 3), 255, np.uint8)
    row = np.concatenate([p for panel in panels for p in (panel, gap)][:-1], axis=1)
    if gt is not None:
        iou = image_iou(mask, gt)
        title = f"{title}  IoU {'-' if iou is None else f'{iou:.3f}'}".strip()
    return _titled(row, title) if title else row


@VISUALIZERS.register_module()
class IMLLocalVisualizer(SegLocalVisualizer):
    """Draws panels (:func:`panel_row`) from a prediction's probability map; the
    ``threshold`` binarises it. Registered for configs (``visualizer.type``)."""

    def __init__(self, name: str = "visualizer", threshold: float = 0.5, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.threshold = threshold

    def add_datasample(self, name: str, image: np.ndarray, data_sample: Any = None,
                       draw_gt: bool = True, draw_pred: bool = True, show: bool = False,
                       wait_time: float = 0, out_file: str | None = None, step: int = 0,
                       with_labels: bool = True) -> None:
        from mmiml.evaluation.metrics.iml_metric import sample_probability

        shape = image.shape[:2]
        prob = sample_probability(data_sample, shape, name)
        mask = (prob > self.threshold).astype(np.uint8)
        gt = None
        if draw_gt and data_sample is not None and "gt_sem_seg" in data_sample:
            gt = data_sample.gt_sem_seg.data.squeeze(0).cpu().numpy().astype(np.uint8)
            if gt.shape != shape:
                gt = cv2.resize(gt, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
        drawn = panel_row(image, prob, mask, gt, title=name)
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(mmcv.rgb2bgr(drawn), out_file)
        else:
            self.add_image(name, drawn, step)

