"""IML-ViT: windowed ViT backbone, simple-FPN head, edge loss, tiny and paper configs."""

from __future__ import annotations

import math

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
    shrink_sample,
)

from mmiml import TASKS
from mmiml.benchmark.zoo import BY_KEY

CONFIGS = ROOT / "configs/iml_vit"
TINY = CONFIGS / "iml-vit_vit-atto_1xb8-1k_synthiml-cpu-joint-128x128.py"
PAPER = CONFIGS / "iml-vit_vit-b_8xb2-160k_synthiml-joint-512x512.py"


def _tiny():
    return build_model(load_config(TINY).model)


def test_tiny_config_builds_the_registered_modules():
    cfg = load_config(TINY)
    assert cfg.model.type == "IMLViT"
    assert cfg.model.backbone.type == "WindowedViT"
    assert cfg.model.decode_head.type == "IMLViTHead"
    assert cfg.model.decode_head.num_classes == 2
    assert cfg.model.edge_loss_weight == 20.0
    model = build_model(cfg.model)
    vit = model.backbone
    assert [b.window_size for b in vit.blocks] == [4, 0, 4, 0]  # 0 = global attention
    assert vit.patch_size == 8
    assert cfg.model.data_preprocessor.size_divisor == 32  # a multiple of the patch size


def test_windowed_block_attends_inside_its_window_only():
    vit = _tiny().backbone.eval()
    windowed, global_ = vit.blocks[0], vit.blocks[1]
    assert windowed.window_size == 4 and global_.window_size == 0
    torch.manual_seed(0)
    x = torch.randn(1, 8, 8, vit.embed_dims)
    y = x.clone()
    y[:, 1, 2] = torch.randn(vit.embed_dims)  # a token of the top-left 4x4 window
    with torch.no_grad():
        dw = (windowed(y) - windowed(x)).abs().sum(-1)[0]
        dg = (global_(y) - global_(x)).abs().sum(-1)[0]
    inside = torch.zeros(8, 8, dtype=torch.bool)
    inside[:4, :4] = True
    assert (dw[inside] > 1e-2).all()
    assert dw[~inside].max() == 0, "a windowed block leaked across windows"
    assert (dg[~inside] > 1e-2).all(), "a global block should reach every token"


def test_backbone_pads_odd_sizes_and_grids():
    vit = _tiny().backbone.eval()
    with torch.no_grad():
        (out,) = vit(torch.randn(1, 3, 50, 60))  # 7x8 tokens: not a multiple of the window
    assert out.shape == (1, vit.embed_dims, 7, 8)
    assert torch.isfinite(out).all()


def test_edge_loss_is_ce_on_the_band_over_valid_pixels():
    model = _tiny()
    gt = torch.zeros(1, 16, 16, dtype=torch.long)
    gt[:, 4:8, 4:8] = 1
    gt[:, 12:] = 255
    logits = torch.zeros(1, 2, 16, 16)  # uniform: CE = ln 2 everywhere
    edge_pixels = 6 * 6 - 2 * 2  # width 1: dilated 6x6 square minus the eroded 2x2
    loss = model.edge_loss(logits, gt)
    valid_pixels = 12 * 16  # rows 12+ are ignored
    assert loss.item() == pytest.approx(math.log(2) * edge_pixels / valid_pixels, rel=1e-5)
    assert model.edge_loss(logits, torch.zeros_like(gt)).item() == 0.0


def test_training_step_is_finite_and_reaches_every_part():
    model = _tiny().train()
    data = model.data_preprocessor(make_batch(with_dct=False), True)
    losses = model(**data, mode="loss")
    for key in ("decode.loss_ce", "loss_edge"):
        assert key in losses and torch.isfinite(losses[key]) and losses[key] > 0, key
    total = sum(v for k, v in losses.items() if "loss" in k)
    total.backward()
    vit, head = model.backbone, model.decode_head
    assert has_grad(vit.patch_embed), "patch embedding"
    assert vit.pos_embed.grad is not None and vit.pos_embed.grad.abs().sum() > 0
    for i, block in enumerate(vit.blocks):
        assert has_grad(block.attn), f"block {i} attention"
        assert has_grad(block.ffn), f"block {i} FFN"
    assert has_grad(head.fpn_resample[0]), "pyramid deconvolution"
    for i in range(len(head.scale_factors)):
        assert has_grad(head.fpn_convs[i]), f"pyramid level {i}"
        assert has_grad(head.mlp[i]), f"predict head MLP of level {i}"
    assert has_grad(head.fuse), "predict head fusion"
    assert has_grad(head.conv_seg), "classifier"


def test_predict_gives_two_class_logits_at_input_size():
    model = _tiny().eval()
    batch = make_batch(with_dct=False, tampered="even")
    shrink_sample(batch, 1, 50, 60)
    data = model.data_preprocessor(batch, False)
    with torch.no_grad():
        out = model(**data, mode="predict")
    assert out[0].seg_logits.data.shape == (2, 64, 64)
    assert out[0].pred_sem_seg.data.shape == (1, 64, 64)
    assert out[1].seg_logits.data.shape == (2, 50, 60)
    assert out[1].pred_sem_seg.data.shape == (1, 50, 60)
    assert torch.isfinite(out[1].seg_logits.data).all()


@pytest.mark.parametrize("task", TASKS)
def test_single_task_configs(task):
    check_single_task_config(ROOT / BY_KEY["iml_vit"].config("tiny", task), TINY, task)
    check_single_task_config(ROOT / BY_KEY["iml_vit"].config("paper", task), PAPER, task)


def test_paper_config_is_vit_b_with_simple_fpn():
    cfg = load_config(PAPER)
    vit = cfg.model.backbone
    assert (vit.patch_size, vit.embed_dims, vit.depth, vit.num_heads) == (16, 768, 12, 12)
    assert vit.window_size == 14 and tuple(vit.global_attn_indices) == (2, 5, 8, 11)
    assert cfg.model.decode_head.loss_decode.type == "CrossEntropyLoss"
    assert cfg.train_cfg.max_iters == 160000
    assert cfg.train_dataloader.dataset.synthiml.profile == "paper"
    model = build_model(cfg.model).eval()
    assert 90e6 < sum(p.numel() for p in model.parameters()) < 95e6
    with torch.no_grad():
        feats = model.backbone(torch.randn(1, 3, 64, 64))
        levels = model.decode_head.simple_fpn(feats[0])
        logits = model.decode_head(feats)
    assert [lvl.shape[-1] for lvl in levels] == [16, 8, 4, 2]  # strides 4, 8, 16, 32
    assert logits.shape == (1, 2, 16, 16)


@pytest.mark.slow
def test_tiny_iml_vit_fits_four_synthiml_images(tmp_path):
    """Capacity check of manifest -> IMLDataset -> tiny IML-ViT -> IMLMetric at 64 px."""
    best, it = overfit_four_synthiml_images(TINY, tmp_path, max_iters=300, lr=2e-3,
                                            target=0.8, eval_every=25)
    assert best > 0.8, f"IoU {best:.3f} after {it} iterations"
