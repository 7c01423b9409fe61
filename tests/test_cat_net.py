"""CAT-Net: two-stream (RGB HRNet + JPEG DCT) encoder, segmentor, configs and a tiny overfit."""

from __future__ import annotations

import pytest
import torch
from helpers import (
    ROOT,
    build_tiny,
    check_dct_segmentor_contract,
    check_single_task_config,
    has_grad,
    load_config,
    make_batch,
    overfit_four_synthiml_images,
)
from mmseg.registry import MODELS

from mmiml import TASKS
from mmiml.benchmark.zoo import BY_KEY

TINY = ROOT / "configs/cat_net/cat-net_hrnetv2-w8_1xb8-1k_synthiml-cpu-joint-128x128.py"
PAPER = ROOT / "configs/cat_net/cat-net_hrnetv2-w48_8xb2-160k_synthiml-joint-512x512.py"


def _tiny(**over):
    return build_tiny(TINY, **over)


def test_training_step_reaches_both_streams_fusion_and_head():
    model = _tiny()
    assert type(model).__name__ == "CATNet"
    assert type(model.backbone).__name__ == "CATNetBackbone"
    model.train()
    data = model.data_preprocessor(make_batch(), True)
    losses = model(**data, mode="loss")
    assert "decode.loss_ce" in losses
    total = sum(v for k, v in losses.items() if "loss" in k)
    assert torch.isfinite(total)
    total.backward()
    for name in ("backbone.rgb", "backbone.dct_stem", "backbone.dct_stem.dilated_conv",
                 "backbone.dct_stem.qt_embed", "backbone.dct_stem.block_conv",
                 "backbone.dct_layer", "backbone.dct_transitions", "backbone.dct_stages",
                 "backbone.fuse", "decode_head"):
        assert has_grad(model.get_submodule(name)), name
    qt = model.backbone.dct_stem.qt_embed
    assert qt.value_embed.weight.grad.abs().sum() > 0 and qt.pos_delta.grad.abs().sum() > 0


def test_features_are_multi_scale_and_fuse_both_streams():
    model = _tiny().eval()
    bb = model.backbone
    x = torch.randn(1, 3, 64, 64)
    dct = torch.randint(-20, 21, (1, 1, 64, 64), dtype=torch.int16)
    qt = torch.randint(1, 50, (1, 8, 8))
    with torch.no_grad():
        feats = bb(x, dct, qt)
        freq = bb.forward_dct(dct, qt)
    assert [tuple(f.shape) for f in feats] == [(1, 8, 16, 16), (1, 16, 8, 8), (1, 32, 4, 4),
                                                (1, 64, 2, 2)]
    assert [tuple(f.shape[-2:]) for f in freq] == [(8, 8), (4, 4), (2, 2)]
    assert bb.rgb_channels == [8, 16, 32, 64] and bb.dct_channels == [16, 32, 64]


def test_prediction_keeps_the_size():
    model = _tiny().eval()
    batch = make_batch()
    data = model.data_preprocessor(batch, False)
    with torch.no_grad():
        out = model(**data, mode="predict")
    logits = out[0].seg_logits.data
    assert logits.shape == (2, 64, 64) and torch.isfinite(logits).all()
    assert out[0].pred_sem_seg.data.shape == (1, 64, 64)


def test_dct_segmentor_contract():  # also: the prediction depends on the qtable
    check_dct_segmentor_contract(TINY)


def test_tiny_config_recipe():
    cfg = load_config(TINY)
    assert cfg.model.decode_head.loss_decode == dict(type="WeightedCrossEntropyLoss",
                                                     class_weight=[1.0, 10.0])
    assert cfg.model.decode_head.num_classes == 2
    assert cfg.train_cfg.max_iters == 1000 and cfg.train_dataloader.batch_size == 8
    assert cfg.train_dataloader.sampler.type == "TaskWeightedInfiniteSampler"
    assert cfg.train_dataloader.dataset.synthiml.profile == "cpu"
    assert "LoadJpegDCT" in [t.type for t in cfg.train_pipeline]
    assert "LoadJpegDCT" in [t.type for t in cfg.test_pipeline]


def test_paper_config_recipe_and_build():
    cfg = load_config(PAPER)
    assert cfg.model.type == "CATNet"
    assert cfg.model.backbone.rgb.extra.stage4.num_channels == (48, 96, 192, 384)
    assert cfg.model.decode_head.loss_decode.class_weight == [0.5, 2.5]
    opt = cfg.optim_wrapper
    assert opt == dict(type="OptimWrapper", optimizer=dict(
        type="AdamW", lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05))
    assert cfg.train_cfg.max_iters == 160000 and cfg.crop_size == (512, 512)
    assert cfg.train_dataloader.sampler == dict(
        type="TaskWeightedInfiniteSampler",
        task_weights=dict(natural=10, document=5, face=2, scene_text=20))
    from mmengine.model import revert_sync_batchnorm

    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    assert model.backbone.out_channels == [24, 48, 96, 192]
    assert 100e6 < sum(p.numel() for p in model.parameters()) < 130e6


@pytest.mark.parametrize("task", TASKS)
def test_single_task_configs_train_and_test_on_one_task(task):
    for path, base in [(ROOT / BY_KEY["cat_net"].config("tiny", task), TINY),
                       (ROOT / BY_KEY["cat_net"].config("paper", task), PAPER)]:
        check_single_task_config(path, base, task)


@pytest.mark.slow
def test_tiny_cat_net_fits_four_synthiml_images(tmp_path):
    """Capacity check of the whole stack: manifest -> IMLDataset with LoadJpegDCT -> CATNet ->
    IMLMetric, on one 64 px SynthIML image per task (the one with the largest mask)."""

    def has_dct(batch):
        assert "dct" in batch["data_samples"][0] and "qtable" in batch["data_samples"][0]

    best, it = overfit_four_synthiml_images(TINY, tmp_path, max_iters=300, target=0.8,
                                            eval_every=50, check_batch=has_dct)
    assert best > 0.8, f"IoU {best:.3f} after {it} iterations"
