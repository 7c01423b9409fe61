"""Tests for the Dynamic Weight Decoder and its Dynamic Weight Filters."""

from __future__ import annotations

import pytest
import torch

from mmiml.models.decode_heads import DynamicWeightDecoder
from mmiml.models.utils.dynamic_weight_filter import DynamicWeightFilter

IN_CHANNELS = [8, 16, 24, 32]


def _inputs(batch: int = 2, size: int = 32) -> list[torch.Tensor]:
    """Random backbone levels of strides 4/8/16/32 for a ``size`` x ``size`` image."""
    return [torch.randn(batch, c, size // s, size // s)
            for c, s in zip(IN_CHANNELS, (4, 8, 16, 32), strict=True)]


def _head(mode: str) -> DynamicWeightDecoder:
    return DynamicWeightDecoder(
        in_channels=IN_CHANNELS, in_index=[0, 1, 2, 3], channels=16, num_classes=2,
        mode=mode, norm_cfg=dict(type="BN"), loss_decode=dict(type="WeightedCrossEntropyLoss"))


@pytest.mark.parametrize("mode", ["dynamic", "fixed", "off"])
def test_output_shape(mode: str) -> None:
    torch.manual_seed(0)
    out = _head(mode)(_inputs(batch=2, size=64))
    assert out.shape == (2, 2, 16, 16)


def test_gradients_reach_every_candidate_kernel() -> None:
    torch.manual_seed(0)
    head = _head("dynamic")
    head.train()
    head(_inputs()).square().mean().backward()
    filters = [m for m in head.modules() if isinstance(m, DynamicWeightFilter)]
    assert [f.dilation for f in filters] == [1, 2, 4]
    for f in filters:
        assert f.weight.grad is not None
        per_kernel = f.weight.grad.flatten(1).abs().sum(dim=1)
        assert per_kernel.shape == (4,) and bool((per_kernel > 0).all())
        assert f.fc.weight.grad is not None and f.fc.weight.grad.abs().sum() > 0
    assert head.global_proj is not None and head.global_proj.weight.grad.abs().sum() > 0


def test_dynamic_mix_differs_across_samples() -> None:
    torch.manual_seed(0)
    head = _head("dynamic").eval()
    inputs = _inputs()
    inputs = [torch.cat([x[:1], 3.0 * x[1:] + 1.0]) for x in inputs]  # make samples differ
    with torch.no_grad():
        head(inputs)
    for f in head.filters:
        assert f.last_mix.shape == (2, 4)
        assert not torch.allclose(f.last_mix[0], f.last_mix[1])


def test_fixed_mix_identical_across_samples() -> None:
    torch.manual_seed(0)
    head = _head("fixed").eval()
    assert head.global_proj is None
    with torch.no_grad():
        head(_inputs())
    for f in head.filters:
        assert f.last_mix.shape == (2, 4)
        assert torch.equal(f.last_mix[0], f.last_mix[1])


def test_off_has_no_filters() -> None:
    head = _head("off")
    assert not any(isinstance(m, DynamicWeightFilter) for m in head.modules())
    assert head.global_proj is None


@pytest.mark.parametrize("groups", [1, 2])
def test_dynamic_matches_per_sample_conv(groups: int) -> None:
    """The grouped-conv trick equals convolving each sample with its own mixed kernel."""
    torch.manual_seed(0)
    f = DynamicWeightFilter(6, 5, dilation=2, groups=groups, norm_cfg=dict(type="BN")).eval()
    x, g = torch.randn(3, 6, 9, 9), torch.randn(3, 5)
    trick = f(x, g)
    mix = f.last_mix
    for b in range(3):
        kernel = torch.einsum("k,koihw->oihw", mix[b], f.weight)
        y = torch.nn.functional.conv2d(x[b:b + 1], kernel, padding=2, dilation=2,
                                       groups=groups)
        y = f.act(f.norm(y))
        ref = f.out_act(f.pointwise(f.depthwise(y)) + x[b:b + 1])
        torch.testing.assert_close(trick[b:b + 1], ref, atol=1e-5, rtol=1e-4)


def test_training_step_in_encoder_decoder() -> None:
    from mmengine.registry import init_default_scope
    from mmengine.structures import PixelData
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample

    init_default_scope("mmseg")
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type="EncoderDecoder",
        backbone=dict(type="ConvNeXt", arch="atto"),
        decode_head=dict(
            type="DynamicWeightDecoder", in_channels=[40, 80, 160, 320], in_index=[0, 1, 2, 3],
            channels=32, num_classes=2,  # norm_cfg left None: exercises the no-norm path
            loss_decode=dict(type="WeightedCrossEntropyLoss", class_weight=[1.0, 4.0]))))
    model.train()
    samples = []
    for _ in range(2):
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 2, (1, 64, 64)))
        sample.set_metainfo(dict(img_shape=(64, 64), ori_shape=(64, 64), pad_shape=(64, 64)))
        samples.append(sample)
    optim = torch.optim.SGD(model.parameters(), lr=0.01)
    losses = model.loss(torch.randn(2, 3, 64, 64), samples)
    loss = sum(v for k, v in losses.items() if "loss" in k)
    assert torch.isfinite(loss)
    optim.zero_grad()
    loss.backward()
    optim.step()
    assert model.decode_head.filters[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("align_corners", [False, True])
def test_fpn_is_the_top_down_fpn(align_corners: bool) -> None:
    """mmseg's FPN inside the head computes the design's top-down FPN: 1x1 laterals, bilinear
    upsample-and-add from the coarsest level down, then a 3x3 conv on every level."""
    import torch.nn.functional as F

    torch.manual_seed(0)
    head = DynamicWeightDecoder(
        in_channels=IN_CHANNELS, in_index=[0, 1, 2, 3], channels=16, num_classes=2, mode="off",
        norm_cfg=dict(type="BN"), align_corners=align_corners,
        loss_decode=dict(type="WeightedCrossEntropyLoss")).eval()
    inputs = [torch.randn(2, c, 61 // s + 1, 75 // s + 1)  # sides not multiples of 2
              for c, s in zip(IN_CHANNELS, (4, 8, 16, 32), strict=True)]
    with torch.no_grad():
        laterals = [conv(x) for conv, x in zip(head.fpn.lateral_convs, inputs, strict=True)]
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + F.interpolate(
                laterals[i], size=laterals[i - 1].shape[2:], mode="bilinear",
                align_corners=align_corners)
        expected = [conv(x) for conv, x in zip(head.fpn.fpn_convs, laterals, strict=True)]
        got = head.fpn(inputs)
    assert len(got) == len(expected) == 4
    for level, (e, g) in enumerate(zip(expected, got, strict=True)):
        assert g.shape == e.shape and torch.equal(g, e), f"level {level}"


def test_global_vector_comes_from_the_deepest_level_not_the_filters_input() -> None:
    """V_g must carry what the filters' own input lacks: it changes with the stride-32 level and
    not with the stride-4 level, which reaches each filter's V_c through the FPN (a V_g from
    GAP(F1) changes with both, and then "dynamic" can hardly differ from "fixed")."""
    torch.manual_seed(0)
    head = _head("dynamic").eval()
    seen: list[torch.Tensor] = []
    head.filters[0].register_forward_hook(lambda m, args, out: seen.append(args[1].clone()))
    levels = _inputs(batch=2)
    shallow = [levels[0] + torch.randn_like(levels[0])] + levels[1:]
    deep = levels[:3] + [levels[3] + torch.randn_like(levels[3])]
    with torch.no_grad():
        for inputs in (levels, shallow, deep):
            head(inputs)
    base, after_shallow, after_deep = seen
    torch.testing.assert_close(base, after_shallow)
    assert not torch.allclose(base, after_deep)
    assert head.last_mix.shape == (2, 3, 4)
