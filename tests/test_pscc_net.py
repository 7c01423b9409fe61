"""PSCC-Net: SCCM, coarse-to-fine head, deep supervision, detection loss, configs, capacity."""

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
    shrink_sample,
)

from mmiml import TASKS
from mmiml.benchmark.zoo import BY_KEY

CONFIGS = ROOT / "configs/pscc_net"
TINY = CONFIGS / "pscc-net_hrnetv2-w8_1xb8-1k_synthiml-cpu-joint-128x128.py"
PAPER = CONFIGS / "pscc-net_hrnetv2-w18-small_8xb2-160k_synthiml-joint-512x512.py"


def _tiny():
    return build_model(load_config(TINY).model)


def test_tiny_config_builds_the_registered_modules():
    from mmseg.models.backbones import HRNet

    from mmiml.models.decode_heads import PSCCHead
    from mmiml.models.decode_heads.sccm import SCCM
    from mmiml.models.segmentors import PSCCNet

    cfg = load_config(TINY)
    assert cfg.model.decode_head.num_classes == 2
    assert cfg.model.decode_head.loss_decode.type == "WeightedCrossEntropyLoss"
    model = _tiny()
    assert isinstance(model, PSCCNet)
    assert isinstance(model.backbone, HRNet)
    assert isinstance(model.decode_head, PSCCHead)
    assert len(model.decode_head.sccm) == 4
    assert all(isinstance(m, SCCM) for m in model.decode_head.sccm)
    with torch.no_grad():
        feats = model.backbone(torch.randn(1, 3, 128, 128))
    assert [f.shape[-1] for f in feats] == [32, 16, 8, 4]  # strides 4, 8, 16, 32


def test_sccm_keeps_shape_and_mixes_positions():
    from mmiml.models.decode_heads.sccm import SCCM

    torch.manual_seed(0)
    sccm = SCCM(8, key_channels=4, reduce_scale=2).eval()
    x = torch.randn(2, 8, 13, 10)  # odd size: padded to the reduction and cropped back
    with torch.no_grad():
        y = sccm(x)
        spatial = sccm.spatial(x)
        y2 = x.clone()
        y2[:, :, 0, 0] += 5.0
        far = (sccm.spatial(y2) - spatial)[:, :, 8:, 6:].abs().amax()
    assert y.shape == x.shape and spatial.shape == x.shape
    assert far > 1e-4, "the spatial attention should reach distant positions"
    # the channel attention is a convex mix of channels: a constant map stays constant
    c = torch.full((1, 8, 5, 5), 3.0)
    assert torch.allclose(SCCM.channel(c), c, atol=1e-5)


def test_downsample_mask_by_area_majority():
    from mmiml.models.segmentors.pscc_net import downsample_mask

    gt = torch.zeros(1, 8, 8, dtype=torch.long)
    gt[:, :4, :4] = 1  # the top-left cell of a 2x2 grid
    gt[:, 4:, 4:6] = 1  # half of the bottom-right cell
    gt[:, :4, 4:] = 255  # the top-right cell is padding
    gt[:, 4:, :4] = 255
    gt[:, 7, 0] = 1  # the bottom-left cell: one valid pixel, tampered
    assert downsample_mask(gt, (2, 2)).tolist() == [[[1, 255], [1, 1]]]


def test_training_step_losses_and_gradient_in_every_branch():
    model = _tiny().train()
    data = model.data_preprocessor(make_batch(with_dct=False, tampered="even"), True)
    losses = model(**data, mode="loss")
    keys = ("decode.loss_ce", "loss_mask1", "loss_mask2", "loss_mask3", "loss_det")
    for key in keys:
        assert key in losses and torch.isfinite(losses[key]) and losses[key] > 0, key
    total = sum(v for k, v in losses.items() if "loss" in k)
    total.backward()
    head = model.decode_head
    for name in ("conv1", "layer1", "transition1", "stage2", "stage3", "stage4"):
        assert has_grad(model.backbone.get_submodule(name)), f"backbone.{name}"
    for i in range(4):
        assert has_grad(head.fuse[i]), f"fuse {i}"
        for part in ("query", "key", "spatial_proj", "channel_proj", "out"):
            assert has_grad(getattr(head.sccm[i], part)), f"SCCM {i} {part}"
    for i in range(3):
        assert has_grad(head.mask_cls[i]), f"mask classifier {i + 1}"
    assert has_grad(head.conv_seg), "finest classifier"
    assert has_grad(head.detector.downs) and has_grad(head.detector.fc), "detection head"


def test_coarser_masks_condition_finer_ones():
    model = _tiny().eval()
    with torch.no_grad():
        feats = model.backbone(torch.randn(1, 3, 64, 64))
        masks, det = model.decode_head.forward_all(feats)
        model.decode_head.mask_cls[2].bias.add_(torch.tensor([-5.0, 5.0]))  # coarsest mask
        masks2, _ = model.decode_head.forward_all(feats)
    assert [m.shape[-1] for m in masks] == [16, 8, 4, 2]
    assert all(m.shape[1] == 2 for m in masks) and det.shape == (1,)
    assert not torch.allclose(masks[0], masks2[0]), "the finest mask ignores the coarser ones"


def test_detection_loss_follows_the_image_label():
    model = _tiny().train()
    batch = make_batch(n=2, with_dct=False, tampered="even")  # one tampered, one authentic
    data = model.data_preprocessor(batch, True)
    with torch.no_grad():
        head = model.decode_head
        head.detector.fc.weight.zero_()
        head.detector.fc.bias.fill_(0.0)
        loss = model(**data, mode="loss")["loss_det"]
    assert loss.item() == pytest.approx(torch.log(torch.tensor(2.0)).item(), rel=1e-5)


def test_predict_gives_two_class_logits_at_input_size():
    model = _tiny().eval()
    batch = make_batch(with_dct=False, tampered="even")
    shrink_sample(batch, 1, 50, 60)
    data = model.data_preprocessor(batch, False)
    with torch.no_grad():
        out = model(**data, mode="predict")
        tensor = model(**data, mode="tensor")
    assert out[0].seg_logits.data.shape == (2, 64, 64)
    assert out[0].pred_sem_seg.data.shape == (1, 64, 64)
    assert out[1].seg_logits.data.shape == (2, 50, 60)
    assert out[1].pred_sem_seg.data.shape == (1, 50, 60)
    assert torch.isfinite(out[1].seg_logits.data).all()
    assert tensor.shape[:2] == (2, 2)
    # the detection head's probability is the image score, one per image, as the head gives it
    with torch.no_grad():
        det = model.decode_head.forward_all(model.extract_feat(data["inputs"]))[1]
    assert [s.img_score for s in out] == pytest.approx(torch.sigmoid(det).tolist(), abs=1e-6)
    # an odd-sized input that is not padded still goes through every level
    with torch.no_grad():
        feats = model.backbone(torch.randn(1, 3, 50, 60))
        masks, det = model.decode_head.forward_all(feats)
    assert masks[0].shape[-2:] == feats[0].shape[-2:] and torch.isfinite(det).all()


@pytest.mark.parametrize("task", TASKS)
def test_single_task_configs(task):
    check_single_task_config(ROOT / BY_KEY["pscc_net"].config("tiny", task), TINY, task)
    check_single_task_config(ROOT / BY_KEY["pscc_net"].config("paper", task), PAPER, task)


def test_paper_config_is_hrnet_w18_with_four_scales():
    cfg = load_config(PAPER)
    extra = cfg.model.backbone.extra
    assert tuple(extra.stage4.num_channels) == (18, 36, 72, 144)
    assert cfg.model.decode_head.type == "PSCCHead"
    assert cfg.model.decode_head.loss_decode.type == "CrossEntropyLoss"
    assert cfg.train_cfg.max_iters == 160000
    assert cfg.train_dataloader.dataset.synthiml.profile == "paper"
    model = build_model(cfg.model).eval()
    n_params = sum(p.numel() for p in model.parameters())
    assert 3.5e6 < n_params < 4.5e6, n_params
    with torch.no_grad():
        feats = model.backbone(torch.randn(1, 3, 64, 64))
        masks, det = model.decode_head.forward_all(feats)
    assert [f.shape[1] for f in feats] == [18, 36, 72, 144]
    assert [m.shape[-1] for m in masks] == [16, 8, 4, 2] and det.shape == (1,)


@pytest.mark.slow
def test_tiny_pscc_net_fits_four_synthiml_images(tmp_path):
    """Capacity check of manifest -> IMLDataset -> tiny PSCC-Net -> IMLMetric at 64 px."""
    best, it = overfit_four_synthiml_images(TINY, tmp_path, max_iters=300, lr=2e-3,
                                            target=0.8, eval_every=25)
    assert best > 0.8, f"IoU {best:.3f} after {it} iterations"
