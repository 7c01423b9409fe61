"""TruFor-like model: tiny twin trains (anomaly CE + confidence MSE) and predicts a confidence
map, single-task configs, paper-scale config, SynthIML overfit check."""

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

CONFIGS = ROOT / "configs/trufor_like"
TINY = CONFIGS / "trufor-like_mit-b0_1xb8-1k_synthiml-cpu-joint-128x128.py"
PAPER = CONFIGS / "trufor-like_mit-b2_8xb2-160k_synthiml-joint-512x512.py"


def _tiny_model():
    cfg = load_config(TINY)
    return cfg, build_model(cfg.model)


def test_tiny_config_builds_the_trufor_like_parts():
    cfg, model = _tiny_model()
    assert type(model).__name__ == "TruForLike"
    assert cfg.model.backbone.type == "TruForLikeEncoder"
    assert cfg.model.decode_head.type == "TruForLikeHead"
    assert cfg.model.decode_head.num_classes == 2
    assert cfg.model.backbone.mit.embed_dims == 32
    assert cfg.model.backbone.mit.num_layers == [2, 2, 2, 2]
    backbone = model.backbone
    assert backbone.rgb_encoder is not backbone.noise_encoder
    assert backbone.noise_extractor.srm is not None  # the suite's fixed SRM filters in front
    assert len(backbone.fusions) == 4


def test_tiny_training_step_is_finite_and_reaches_every_part():
    _, model = _tiny_model()
    model.train()
    data = model.data_preprocessor(make_batch(with_dct=False), True)
    losses = model(**data, mode="loss")
    assert {"decode.loss_ce", "decode.loss_conf"} <= set(losses)
    for key in ("decode.loss_ce", "decode.loss_conf"):
        assert torch.isfinite(losses[key]), key
    total = sum(v for k, v in losses.items() if "loss" in k)
    total.backward()
    backbone, head = model.backbone, model.decode_head
    assert has_grad(backbone.noise_extractor), "noise extractor"
    for name in ("rgb_encoder", "noise_encoder"):
        for stage, layer in enumerate(getattr(backbone, name).layers):
            assert has_grad(layer), f"{name} stage {stage}"
    for i, fusion in enumerate(backbone.fusions):
        assert has_grad(fusion.channel_weights), f"fusion {i} channel rectification"
        assert has_grad(fusion.spatial_weights), f"fusion {i} spatial rectification"
        assert has_grad(fusion.fuse), f"fusion {i} 1x1 conv"
    for i, conv in enumerate(head.convs):
        assert has_grad(conv), f"anomaly head MLP {i}"
    assert has_grad(head.fusion_conv) and has_grad(head.conv_seg), "anomaly head"
    for i, conv in enumerate(head.conf_convs):
        assert has_grad(conv), f"confidence head MLP {i}"
    assert has_grad(head.conf_fusion) and has_grad(head.conf_out), "confidence head"


def test_confidence_loss_is_mse_to_the_true_class_probability():
    _, model = _tiny_model()
    head = model.decode_head
    seg = torch.zeros(1, 2, 4, 4)
    seg[:, 1] = 10.0  # confident "tampered" everywhere
    gt = torch.zeros(1, 1, 4, 4, dtype=torch.long)
    gt[..., :2, :] = 1  # top half tampered (TCP ~1), bottom half authentic (TCP ~0)
    gt[..., 0, 0] = 255  # ignored
    conf = torch.full((1, 1, 4, 4), 20.0)  # sigmoid ~1
    loss = head.confidence_loss(seg, conf, gt)
    assert loss.item() == pytest.approx(8 / 15, abs=1e-3)


def test_tiny_prediction_has_logits_and_confidence_at_input_size():
    _, model = _tiny_model()
    model.eval()
    data = model.data_preprocessor(make_batch(with_dct=False, n=2, size=80), False)
    with torch.no_grad():
        out = model(**data, mode="predict")
    for sample in out:
        assert sample.seg_logits.data.shape == (2, 80, 80)
        assert sample.pred_sem_seg.data.shape == (1, 80, 80)
        conf = sample.pred_confidence.data
        assert conf.shape == (1, 80, 80)
        assert conf.min() >= 0.0 and conf.max() <= 1.0
        assert 0.0 <= float(sample.pred_integrity) <= 1.0


@pytest.mark.parametrize("task", TASKS)
def test_single_task_configs_use_one_task_and_the_joint_model(task):
    check_single_task_config(ROOT / BY_KEY["trufor_like"].config("tiny", task), TINY, task)
    check_single_task_config(ROOT / BY_KEY["trufor_like"].config("paper", task), PAPER, task)


def test_tiny_config_matches_the_segformer_twin_data_and_schedule():
    cfg = load_config(TINY)
    ref = load_config(ROOT / BY_KEY["segformer"].config("tiny", "joint"))
    assert cfg.train_dataloader == ref.train_dataloader
    assert cfg.train_cfg == ref.train_cfg and cfg.optim_wrapper == ref.optim_wrapper
    assert cfg.param_scheduler == ref.param_scheduler
    assert cfg.model.data_preprocessor == ref.model.data_preprocessor


def test_paper_config_resolves_and_builds():
    cfg = load_config(PAPER)
    ref = load_config(ROOT / BY_KEY["segformer"].config("paper", "joint"))
    assert cfg.model.backbone.mit.embed_dims == 64
    assert cfg.model.backbone.mit.num_layers == [3, 4, 6, 3]
    assert cfg.model.backbone.noise_extractor.depth == 17
    assert cfg.model.decode_head.loss_decode.type == "CrossEntropyLoss"
    assert cfg.optim_wrapper == ref.optim_wrapper and cfg.train_cfg == ref.train_cfg
    assert cfg.train_dataloader == ref.train_dataloader
    model = build_model(cfg.model)
    assert 50e6 < sum(p.numel() for p in model.parameters()) < 58e6


@pytest.mark.slow
def test_tiny_trufor_like_fits_four_synthiml_images(tmp_path):
    """Capacity check of manifest -> IMLDataset -> tiny TruFor-like model -> IMLMetric."""
    best, it = overfit_four_synthiml_images(TINY, tmp_path, max_iters=300, target=0.8,
                                            eval_every=25)
    assert best > 0.8, f"IoU {best:.3f} after {it} iterations"
