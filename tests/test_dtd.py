"""DTD: VPH + FPH encoder with Swin-style stages, Multi-view Iterative Decoder, configs and a tiny
overfit."""

from __future__ import annotations

import pytest
import torch
from helpers import (
    ROOT,
    build_model,
    build_tiny,
    check_dct_segmentor_contract,
    check_single_task_config,
    has_grad,
    load_config,
    make_batch,
    overfit_four_synthiml_images,
    shrink_sample,
)
from mmengine.structures import PixelData

from mmiml import TASKS
from mmiml.benchmark.zoo import BY_KEY

CONFIGS = ROOT / "configs/dtd"
TINY = CONFIGS / "dtd_swin-atto_1xb8-1k_synthiml-cpu-joint-128x128.py"
PAPER = CONFIGS / "dtd_swin-s_8xb2-160k_synthiml-joint-512x512.py"


def _tiny(**over):
    return build_tiny(TINY, **over)


def test_tiny_config_builds_the_registered_modules():
    cfg = load_config(TINY)
    assert cfg.model.type == "DTD"
    assert cfg.model.backbone.type == "DTDEncoder"
    assert cfg.model.decode_head.type == "MultiViewIterativeDecoder"
    assert cfg.model.decode_head.num_classes == 2
    assert cfg.model.decode_head.loss_decode == dict(type="WeightedCrossEntropyLoss",
                                                     class_weight=[1.0, 10.0])
    assert cfg.train_cfg.max_iters == 1000 and cfg.train_dataloader.batch_size == 8
    assert cfg.train_dataloader.sampler.type == "TaskWeightedInfiniteSampler"
    assert cfg.train_dataloader.dataset.synthiml.profile == "cpu"
    assert "LoadJpegDCT" in [t.type for t in cfg.train_pipeline]
    assert "LoadJpegDCT" in [t.type for t in cfg.test_pipeline]
    model = build_model(cfg.model)
    bb = model.backbone
    assert type(model).__name__ == "DTD" and type(bb).__name__ == "DTDEncoder"
    assert type(bb.fph).__name__ == "FrequencyPerceptionHead"  # reused, not duplicated
    assert bb.out_channels == [24, 48, 96, 192]
    assert sum(p.numel() for p in model.parameters()) < 1.5e6


def test_training_step_reaches_every_branch():
    model = _tiny().train()
    data = model.data_preprocessor(make_batch(), True)
    losses = model(**data, mode="loss")
    assert "decode.loss_ce" in losses
    total = sum(v for k, v in losses.items() if "loss" in k)
    assert torch.isfinite(total) and total > 0
    total.backward()
    bb, head = model.backbone, model.decode_head
    for name in ("vph.downsample_layers.0", "vph.stages.0", "vph.stages.1", "fph.dilated_conv",
                 "fph.pointwise_conv", "fph.block_conv", "fph_refine", "fuse"):
        assert has_grad(bb.get_submodule(name)), name
    qt = bb.fph.qt_embed
    assert qt.value_embed.weight.grad.abs().sum() > 0 and qt.pos_delta.grad.abs().sum() > 0
    for i, stage in enumerate(bb.stages):
        for j, block in enumerate(stage.blocks):
            assert has_grad(block.attn) and has_grad(block.ffn), f"stage {i} block {j}"
        if stage.merge is not None:
            assert has_grad(stage.merge), f"stage {i} patch merging"
    for i, lat in enumerate(head.laterals):
        assert has_grad(lat), f"MID lateral {i}"
    for p, steps in enumerate(head.passes):
        for i, step in enumerate(steps):
            assert has_grad(step), f"MID pass {p} scale {i}"
    assert has_grad(head.aggregate) and has_grad(head.conv_seg)


def test_encoder_pyramid_and_shifted_windows():
    bb = _tiny().backbone.eval()
    x = torch.randn(1, 3, 128, 128)
    dct = torch.randint(-20, 21, (1, 1, 128, 128), dtype=torch.int16)
    qt = torch.randint(1, 50, (1, 8, 8))
    with torch.no_grad():
        feats = bb(x, dct, qt)
    assert [tuple(f.shape) for f in feats] == [(1, 24, 32, 32), (1, 48, 16, 16),
                                                (1, 96, 8, 8), (1, 192, 4, 4)]
    # stage 2 (8x8 tokens, window 4) has two blocks: the second works on shifted windows, so a
    # change in one corner window reaches tokens of the neighbouring windows
    stage = bb.stages[1]
    assert len(stage.blocks) == 2 and stage.window_size == 4
    inp = torch.randn(1, 48, 16, 16)
    other = inp.clone()
    other[..., :2, :2] += 1.0  # first merged token, top-left 4x4 window
    with torch.no_grad():
        diff = (stage(other) - stage(inp)).abs().sum(1)[0]
    assert diff[:4, :4].min() > 0 and diff[4:6, 4:6].max() > 0  # beyond the first window


def test_prediction_is_two_class_at_input_size():
    model = _tiny().eval()
    batch = make_batch(tampered="even")
    shrink_sample(batch, 1, 50, 60)  # odd size: padded to 64 with its DCT, cropped back
    batch["data_samples"][1].dct = PixelData(data=batch["data_samples"][1].dct.data[:, :50, :60])
    data = model.data_preprocessor(batch, False)
    with torch.no_grad():
        out = model(**data, mode="predict")
    assert out[0].seg_logits.data.shape == (2, 64, 64)
    assert out[0].pred_sem_seg.data.shape == (1, 64, 64)
    assert out[1].seg_logits.data.shape == (2, 50, 60)
    assert out[1].pred_sem_seg.data.shape == (1, 50, 60)
    assert all(torch.isfinite(o.seg_logits.data).all() for o in out)


def test_dct_segmentor_contract():  # also: the prediction depends on the qtable
    check_dct_segmentor_contract(TINY)


def test_single_pass_decoder_is_the_plain_cascade():
    cfg = load_config(TINY)
    cfg.model.decode_head.num_passes = 1
    head = build_model(cfg.model).decode_head
    assert len(head.passes) == 1
    # coarsest step sees its lateral only, the others their lateral + the upsampled coarser map
    assert [s.conv.in_channels for s in head.passes[0]] == [64, 64, 64, 32]


@pytest.mark.parametrize("task", TASKS)
def test_single_task_configs(task):
    check_single_task_config(ROOT / BY_KEY["dtd"].config("tiny", task), TINY, task)
    check_single_task_config(ROOT / BY_KEY["dtd"].config("paper", task), PAPER, task)


def test_paper_config_is_convnext_vph_swin_s_stages_and_mid():
    cfg = load_config(PAPER)
    bb = cfg.model.backbone
    assert bb.vph.arch == dict(depths=[3, 3], channels=[96, 192])
    assert (bb.stage_channels, bb.stage_depths, bb.num_heads) == (
        [192, 384, 768], [2, 18, 2], [6, 12, 24])
    assert [loss.type for loss in cfg.model.decode_head.loss_decode] == [
        "CrossEntropyLoss", "LovaszLoss"]
    assert cfg.optim_wrapper == dict(type="OptimWrapper", optimizer=dict(
        type="AdamW", lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05))
    assert cfg.train_cfg.max_iters == 160000 and cfg.crop_size == (512, 512)
    assert cfg.train_dataloader.dataset.synthiml.profile == "paper"
    assert cfg.train_dataloader.sampler == dict(
        type="TaskWeightedInfiniteSampler",
        task_weights=dict(natural=10, document=5, face=2, scene_text=20))
    from mmengine.model import revert_sync_batchnorm

    model = revert_sync_batchnorm(build_model(cfg.model)).eval()
    assert 55e6 < sum(p.numel() for p in model.parameters()) < 70e6
    x = torch.randn(1, 3, 64, 64)
    dct = torch.randint(-20, 21, (1, 1, 64, 64), dtype=torch.int16)
    with torch.no_grad():
        feats = model.backbone(x, dct, torch.randint(1, 50, (1, 8, 8)))
        logits = model.decode_head(feats)
    assert [tuple(f.shape[1:]) for f in feats] == [(96, 16, 16), (192, 8, 8), (384, 4, 4),
                                                   (768, 2, 2)]
    assert logits.shape == (1, 2, 16, 16)


@pytest.mark.slow
def test_tiny_dtd_fits_four_synthiml_images(tmp_path):
    """Capacity check of manifest -> IMLDataset with LoadJpegDCT -> DTD -> IMLMetric, on one
    64 px SynthIML image per task (the one with the largest mask)."""

    def has_dct(batch):
        assert "dct" in batch["data_samples"][0] and "qtable" in batch["data_samples"][0]

    best, it = overfit_four_synthiml_images(TINY, tmp_path, max_iters=300, target=0.8,
                                            eval_every=25, check_batch=has_dct)
    assert best > 0.8, f"IoU {best:.3f} after {it} iterations"
