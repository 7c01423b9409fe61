"""SegFormer configs: tiny CPU twin trains and predicts, single-task variants, paper recipe."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import ROOT, has_grad, make_batch, overfit_four_synthiml_images
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from mmiml import TASKS
from mmiml.benchmark.zoo import BY_KEY

CONFIGS = ROOT / "configs/segformer"
TINY = CONFIGS / "segformer_mit-b0_1xb8-1k_synthiml-cpu-joint-128x128.py"
PAPER = CONFIGS / "segformer_mit-b2_8xb2-160k_synthiml-joint-512x512.py"


def _build(config: Path):
    init_default_scope("mmseg")
    cfg = Config.fromfile(str(config))
    model = MODELS.build(cfg.model)
    model.init_weights()
    return cfg, model


def test_tiny_training_step_is_finite_and_reaches_every_stage():
    cfg, model = _build(TINY)
    assert cfg.model.backbone.type == "MixVisionTransformer"
    assert cfg.model.decode_head.type == "SegformerHead"
    assert cfg.model.decode_head.num_classes == 2
    assert cfg.model.decode_head.loss_decode.type == "WeightedCrossEntropyLoss"
    model.train()
    data = model.data_preprocessor(make_batch(with_dct=False), True)
    losses = model(**data, mode="loss")
    assert "decode.loss_ce" in losses
    total = sum(v for k, v in losses.items() if "loss" in k)
    assert torch.isfinite(total)
    total.backward()
    backbone = model.backbone
    assert has_grad(backbone.layers[0][0]), "MiT patch embedding"
    for stage, (_, blocks, _) in enumerate(backbone.layers):
        for block, layer in enumerate(blocks):
            assert has_grad(layer.attn), f"stage {stage} block {block} attention"
    for i, conv in enumerate(model.decode_head.convs):
        assert has_grad(conv), f"head MLP of stage {i}"
    assert has_grad(model.decode_head.fusion_conv), "head fusion"
    assert has_grad(model.decode_head.conv_seg), "head classifier"


def test_tiny_prediction_is_two_class_logits_at_input_size():
    _, model = _build(TINY)
    model.eval()
    data = model.data_preprocessor(make_batch(with_dct=False, n=1, size=96), False)
    with torch.no_grad():
        out = model(**data, mode="predict")
    assert out[0].seg_logits.data.shape == (2, 96, 96)
    assert out[0].pred_sem_seg.data.shape == (1, 96, 96)


@pytest.mark.parametrize("task", TASKS)
def test_single_task_configs_use_one_task_and_the_joint_model(task):
    joint = Config.fromfile(str(TINY))
    cfg = Config.fromfile(str(ROOT / BY_KEY["segformer"].config("tiny", task)))
    assert cfg.model.to_dict() == joint.model.to_dict()
    assert cfg.train_dataloader.sampler.to_dict() == {"type": "InfiniteSampler", "shuffle": True}
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        assert cfg[loader].dataset.tasks == [task], loader
    assert cfg.train_cfg.max_iters == joint.train_cfg.max_iters == 1000
    assert cfg.optim_wrapper.to_dict() == joint.optim_wrapper.to_dict()

    paper = Config.fromfile(str(ROOT / BY_KEY["segformer"].config("paper", task)))
    paper_joint = Config.fromfile(str(PAPER))
    assert paper.model.to_dict() == paper_joint.model.to_dict()
    assert paper.train_dataloader.sampler.type == "InfiniteSampler"
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        assert paper[loader].dataset.tasks == [task], loader


def test_joint_tiny_config_samples_tasks_10_5_2_20_on_synthiml_cpu():
    cfg = Config.fromfile(str(TINY))
    assert cfg.train_dataloader.sampler.to_dict() == {
        "type": "TaskWeightedInfiniteSampler",
        "task_weights": {"natural": 10, "document": 5, "face": 2, "scene_text": 20}}
    assert cfg.train_dataloader.dataset.synthiml.profile == "cpu"
    assert "tasks" not in cfg.train_dataloader.dataset
    assert [p.end for p in cfg.param_scheduler] == [30, 1000]
    assert "LoadJpegDCT" not in [t.type for t in cfg.train_pipeline]


def test_paper_config_resolves_and_builds():
    cfg, model = _build(PAPER)
    assert cfg.model.backbone.embed_dims == 64
    assert cfg.model.backbone.num_layers == [3, 4, 6, 3]
    assert cfg.model.decode_head.channels == 256
    assert cfg.model.decode_head.loss_decode.type == "CrossEntropyLoss"
    assert cfg.model.data_preprocessor.type == "IMLDataPreProcessor"
    assert cfg.optim_wrapper.optimizer.type == "AdamW"
    assert cfg.optim_wrapper.optimizer.lr == 6e-5
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.01
    assert cfg.train_cfg.max_iters == 160000
    assert cfg.param_scheduler[0].end == 1500 and cfg.param_scheduler[1].end == 160000
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.train_dataloader.sampler.type == "TaskWeightedInfiniteSampler"
    dataset = cfg.train_dataloader.dataset
    assert dataset.synthiml.profile == "paper"
    assert dataset.ann_file == "data/synthiml/paper/manifest.jsonl"
    assert cfg.test_dataloader.dataset.ann_file == dataset.ann_file
    steps = {t.type: t for t in dataset.pipeline}
    assert steps["GridAlignedRandomCrop"].crop_size == (512, 512)
    assert steps["RandomJpegRecompress"].quality_range == (50, 100)
    assert steps["RandomJpegRecompress"].prob == 0.5
    assert "DCTAwareRandomFlip" in steps
    # mmseg's SegFormer parameter groups: head at lr x10, no weight decay on norms
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    groups = {id(p): g for g in optim.optimizer.param_groups for p in g["params"]}
    head = groups[id(model.decode_head.conv_seg.weight)]
    assert head["lr"] == pytest.approx(6e-4)
    norm = groups[id(model.backbone.layers[0][1][0].norm1.weight)]
    assert norm["weight_decay"] == 0.0 and norm["lr"] == pytest.approx(6e-5)
    attn = groups[id(model.backbone.layers[0][1][0].attn.attn.in_proj_weight)]
    assert attn["weight_decay"] == 0.01 and attn["lr"] == pytest.approx(6e-5)
    assert 24e6 < sum(p.numel() for p in model.parameters()) < 26e6


MAX_ITERS = 300
LR = 2e-3


@pytest.mark.slow
def test_tiny_segformer_fits_four_synthiml_images(tmp_path):
    """Capacity check of manifest -> IMLDataset -> tiny SegFormer -> IMLMetric (at 64 px and lr
    2e-3 the IoU passes 0.8 after ~50 iterations and 0.9 after ~125)."""
    best, it = overfit_four_synthiml_images(TINY, tmp_path, max_iters=MAX_ITERS, lr=LR,
                                            target=0.9, eval_every=25)
    assert best > 0.9, f"IoU {best:.3f} after {it} iterations"
