"""Plain ConvNeXt-UPer family: tiny twin trains and predicts, single-task variants, paper recipe."""

from __future__ import annotations

import pytest
import torch
from helpers import (
    ROOT,
    build_model,
    check_single_task_config,
    has_grad,
    load_config,
    make_batch,
    overfit_four_synthiml_images,
)

from mmiml import TASKS
from mmiml.benchmark.zoo import BY_KEY

CONFIGS = ROOT / "configs/plain_convnext_uper"
TINY = CONFIGS / "upernet_convnext-atto_1xb8-1k_synthiml-cpu-joint-128x128.py"
PAPER = CONFIGS / "upernet_convnext-b_8xb2-160k_synthiml-joint-512x512.py"


def test_tiny_training_step_is_finite_and_reaches_every_stage():
    cfg = load_config(TINY)
    assert cfg.model.backbone.type == "ConvNeXt" and cfg.model.backbone.arch == "atto"
    assert cfg.model.decode_head.type == "UPerHead"
    assert cfg.model.decode_head.loss_decode.class_weight == [1.0, 10.0]
    assert cfg.train_dataloader.sampler.type == "TaskWeightedInfiniteSampler"
    assert "LoadJpegDCT" not in [t.type for t in cfg.train_pipeline]
    model = build_model(cfg.model).train()
    data = model.data_preprocessor(make_batch(with_dct=False), True)
    losses = model(**data, mode="loss")
    total = sum(v for k, v in losses.items() if "loss" in k)
    assert torch.isfinite(total)
    total.backward()
    for i, stage in enumerate(model.backbone.stages):
        assert has_grad(stage), f"ConvNeXt stage {i}"
    for name in ("psp_modules", "lateral_convs", "fpn_convs", "fpn_bottleneck", "conv_seg"):
        assert has_grad(getattr(model.decode_head, name)), name


def test_tiny_prediction_is_two_class_logits_at_input_size():
    model = build_model(load_config(TINY).model).eval()
    data = model.data_preprocessor(make_batch(with_dct=False, n=1, size=96), False)
    with torch.no_grad():
        out = model(**data, mode="predict")
    assert out[0].seg_logits.data.shape == (2, 96, 96)


@pytest.mark.parametrize("task", TASKS)
def test_single_task_configs(task):
    zoo = BY_KEY["plain_convnext_uper"]
    check_single_task_config(ROOT / zoo.config("tiny", task), TINY, task)
    check_single_task_config(ROOT / zoo.config("paper", task), PAPER, task)


def test_paper_config_is_convnext_base_uperhead_with_the_omni_recipe():
    cfg = load_config(PAPER)
    base = load_config(ROOT / "configs/_base_/models/convnext_upernet.py")
    assert cfg.model == base.model  # the plain model base, nothing changed on top
    assert cfg.model.backbone.arch == "base" and cfg.model.decode_head.channels == 512
    assert cfg.optim_wrapper.constructor == "LearningRateDecayOptimizerConstructor"
    assert cfg.train_cfg.max_iters == 160000
    assert cfg.train_dataloader.dataset.synthiml.profile == "paper"
    assert cfg.train_dataloader.sampler.type == "TaskWeightedInfiniteSampler"


@pytest.mark.slow
def test_tiny_plain_convnext_uper_fits_four_synthiml_images(tmp_path):
    best, it = overfit_four_synthiml_images(TINY, tmp_path, max_iters=300, lr=2e-3,
                                            target=0.8, eval_every=25)
    assert best > 0.8, f"IoU {best:.3f} after {it} iterations"
