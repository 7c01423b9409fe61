"""``SavePredictionsHook``: what ``tools/test.py --save-pred`` and ``--show-dir`` write."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

__all__ = ["SavePredictionsHook"]


@HOOKS.register_module()
class SavePredictionsHook(Hook):
    """After each test batch, save every image's tampering probability map and/or draw its
    panel.

    Args:
        pred_dir: ``<image stem>.npy`` float32 maps at the image's original size, exactly the
            probabilities the metric scored, in the format ``tools/score.py`` reads back.
        show_dir: ``<image stem>.png`` panels drawn by the runner's visualizer
            (``IMLLocalVisualizer``: image, ground truth, heat map, overlay, IoU).
    """

    priority = "LOW"

    def __init__(self, pred_dir: str | None = None, show_dir: str | None = None) -> None:
        if pred_dir is None and show_dir is None:
            raise ValueError("SavePredictionsHook needs pred_dir or show_dir")
        self.pred_dir = Path(pred_dir) if pred_dir else None
        self.show_dir = Path(show_dir) if show_dir else None
        self._stems: dict[str, str] = {}

    def before_test(self, runner: Any) -> None:
        for folder in (self.pred_dir, self.show_dir):
            if folder is not None:
                folder.mkdir(parents=True, exist_ok=True)

    def _stem(self, img_path: str) -> str:
        # tools/score.py matches maps to images by stem: two images with one stem are an error
        stem = Path(img_path).stem
        if self._stems.setdefault(stem, img_path) != img_path:
            from mmiml.utils.errors import IMLDataError

            raise IMLDataError(img_path, f"two test images share the stem {stem!r} (also "
                                         f"{self._stems[stem]}): their saved maps would collide")
        return stem

    def after_test_iter(self, runner: Any, batch_idx: int, data_batch: Any = None,
                        outputs: Sequence[Any] | None = None) -> None:
        from mmiml.datasets.io import load_image
        from mmiml.evaluation.metrics.iml_metric import sample_probability

        for sample in outputs or []:
            img_path = str(sample.metainfo["img_path"])
            stem = self._stem(img_path)
            shape = tuple(int(v) for v in sample.metainfo["ori_shape"][:2])
            if self.pred_dir is not None:
                prob = sample_probability(sample, shape, img_path)
                np.save(self.pred_dir / f"{stem}.npy", prob.astype(np.float32))
            if self.show_dir is not None:
                runner.visualizer.add_datasample(stem, load_image(img_path), sample,
                                                 out_file=str(self.show_dir / f"{stem}.png"))
