"""A tiny Omni-IML (the CPU twin's model, Anomaly Enhancement included) fits 4 SynthIML images.

Capacity check of the whole stack: manifest -> IMLDataset with the DCT pipeline -> OmniIML ->
IMLMetric. If any branch blocked the gradient, scrambled the DCT alignment or broke the
gated path, the IoU would not reach 0.9.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS

from mmiml.datasets.io import load_mask
from mmiml.datasets.synthesis.generator import make_synthiml
from mmiml.evaluation.metrics.iml_metric import IMLMetric

ROOT = Path(__file__).resolve().parents[1]
MAX_ITERS = 300


@pytest.mark.slow
def test_tiny_omni_iml_fits_four_synthiml_images(tmp_path):
    init_default_scope("mmseg")
    import mmiml.datasets  # noqa: F401
    import mmiml.models  # noqa: F401

    manifest = make_synthiml(tmp_path / "synthiml", per_split={"train": 8}, size=64, seed=3,
                             authentic_ratio=0.0, progress=False)
    cfg = Config.fromfile(str(ROOT / "configs/omni_iml/omni-iml-tiny_joint_synthiml-cpu.py"))
    dataset = DATASETS.build(dict(type="IMLDataset", ann_file=str(manifest), split="train",
                                  pipeline=cfg.test_pipeline, serialize_data=False))
    # one image per task, the one with the largest mask: a stride-4 decoder cannot trace
    # 2-pixel text strokes of a 64 px image, and that is resolution, not capacity
    area: dict[str, tuple[float, int]] = {}
    for i in range(len(dataset)):
        task = dataset.get_data_info(i)["task"]
        share = float(load_mask(dataset.get_data_info(i)["seg_map_path"]).mean())
        area[task] = max(area.get(task, (-1.0, -1)), (share, i))
    picked = {task: i for task, (_, i) in area.items()}
    assert len(picked) == 4
    batch = pseudo_collate([dataset[i] for i in picked.values()])

    torch.manual_seed(0)
    model_cfg = cfg.model
    model_cfg.backbone.teacher_forcing_iters = 50
    model = MODELS.build(model_cfg)
    model.init_weights()
    optim = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.0)

    def iou() -> float:
        model.eval()
        with torch.no_grad():
            preds = model.test_step(batch)
        metric = IMLMetric(log_table=False)
        metric.process(None, preds)
        return metric.compute_metrics(metric.results)["avg/pixel_iou_image"]

    best = 0.0
    for it in range(1, MAX_ITERS + 1):
        model.train()
        data = model.data_preprocessor(batch, True)
        losses = model(**data, mode="loss")
        loss = sum(v for k, v in losses.items() if "loss" in k)
        optim.zero_grad()
        loss.backward()
        optim.step()
        if it % 50 == 0:
            best = max(best, iou())
            if best > 0.9:
                break
    assert best > 0.9, f"IoU {best:.3f} after {it} iterations"
