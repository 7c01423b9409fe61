"""ConvNeXt keeps mmpretrain's parameter names, so mmseg UperNet-ConvNeXt checkpoints load."""

from pathlib import Path

import pytest
import torch

from mmiml.models.backbones import ConvNeXt


def mmseg_convnext_state_dict(depths, dims, prefix="backbone."):
    """Key names and shapes of an mmseg UperNet-ConvNeXt checkpoint, written out by hand."""
    sd = {}
    sd[f"{prefix}downsample_layers.0.0.weight"] = torch.randn(dims[0], 3, 4, 4)
    sd[f"{prefix}downsample_layers.0.0.bias"] = torch.randn(dims[0])
    sd[f"{prefix}downsample_layers.0.1.weight"] = torch.randn(dims[0])
    sd[f"{prefix}downsample_layers.0.1.bias"] = torch.randn(dims[0])
    for i in range(1, 4):
        sd[f"{prefix}downsample_layers.{i}.0.weight"] = torch.randn(dims[i - 1])
        sd[f"{prefix}downsample_layers.{i}.0.bias"] = torch.randn(dims[i - 1])
        sd[f"{prefix}downsample_layers.{i}.1.weight"] = torch.randn(dims[i], dims[i - 1], 2, 2)
        sd[f"{prefix}downsample_layers.{i}.1.bias"] = torch.randn(dims[i])
    for i, (depth, c) in enumerate(zip(depths, dims)):
        for j in range(depth):
            b = f"{prefix}stages.{i}.{j}."
            sd[b + "gamma"] = torch.randn(c)
            sd[b + "depthwise_conv.weight"] = torch.randn(c, 1, 7, 7)
            sd[b + "depthwise_conv.bias"] = torch.randn(c)
            sd[b + "norm.weight"] = torch.randn(c)
            sd[b + "norm.bias"] = torch.randn(c)
            sd[b + "pointwise_conv1.weight"] = torch.randn(4 * c, c)
            sd[b + "pointwise_conv1.bias"] = torch.randn(4 * c)
            sd[b + "pointwise_conv2.weight"] = torch.randn(c, 4 * c)
            sd[b + "pointwise_conv2.bias"] = torch.randn(c)
        sd[f"{prefix}norm{i}.weight"] = torch.randn(c)
        sd[f"{prefix}norm{i}.bias"] = torch.randn(c)
    return sd


def test_parameter_names_match_mmseg_checkpoint_for_base():
    model = ConvNeXt(arch="base", layer_scale_init_value=1.0)
    expected = mmseg_convnext_state_dict([3, 3, 27, 3], [128, 256, 512, 1024], prefix="")
    got = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert got == {k: tuple(v.shape) for k, v in expected.items()}


def test_pretrained_checkpoint_loads_from_local_path(tmp_path):
    depths, dims = [2, 2, 6, 2], [40, 80, 160, 320]
    sd = mmseg_convnext_state_dict(depths, dims)
    sd["decode_head.conv_seg.weight"] = torch.randn(150, 512, 1, 1)  # ignored by the prefix
    path = tmp_path / "upernet_convnext_atto.pth"
    torch.save({"meta": {"iter": 160000}, "state_dict": sd}, path)
    model = ConvNeXt(arch="atto", pretrained=str(path))
    model.init_weights()
    for key, value in model.state_dict().items():
        assert torch.equal(value, sd["backbone." + key]), key


def test_pretrained_path_through_config_options(tmp_path):
    from mmengine.config import Config

    cfg = Config.fromfile(
        str(Path(__file__).resolve().parents[1] / "configs/plain_convnext_uper/"
            "upernet_convnext-b_8xb2-160k_synthiml-joint-512x512.py"))
    cfg.merge_from_dict({"model.backbone.pretrained": "/weights/upernet.pth"})
    assert cfg.model.backbone.pretrained == "/weights/upernet.pth"
    path = tmp_path / "upernet.pth"
    path.write_bytes(b"")
    model = ConvNeXt(arch="atto", pretrained=str(path))
    assert model.init_cfg == dict(type="Pretrained", checkpoint=str(path), prefix="backbone.")


def test_missing_pretrained_is_an_error_or_a_logged_random_start(tmp_path, monkeypatch):
    import logging

    import mmiml.models.backbones.convnext as mod

    missing = str(tmp_path / "nowhere.pth")
    with pytest.raises(FileNotFoundError, match="nowhere.pth"):
        ConvNeXt(arch="atto", pretrained=missing)
    logged = []
    monkeypatch.setattr(mod, "print_log", lambda msg, **kw: logged.append((msg, kw)))
    model = ConvNeXt(arch="atto", pretrained=missing, pretrained_missing="warn")
    assert model.init_cfg is None
    (msg, kw), = logged
    assert "nowhere.pth" in msg and "RANDOM" in msg and kw["level"] == logging.WARNING


def test_ade20k_checkpoint_initialises_the_convnext_inside_the_modal_gate_encoder(tmp_path):
    from mmiml.models.backbones.modal_gate_encoder import ModalGateEncoder

    sd = mmseg_convnext_state_dict([2, 2, 6, 2], [40, 80, 160, 320])
    path = tmp_path / "upernet_convnext_atto_ade20k.pth"
    torch.save({"state_dict": sd}, path)
    enc = ModalGateEncoder(dict(arch="atto", pretrained=str(path)), fph=dict(channels=8))
    enc.init_weights()
    for key, value in enc.convnext.state_dict().items():
        assert torch.equal(value, sd["backbone." + key]), key


def test_forward_shapes_and_random_init_by_default():
    model = ConvNeXt(arch="atto", out_indices=(0, 1, 2, 3))
    model.init_weights()
    outs = model(torch.randn(2, 3, 64, 96))
    assert [tuple(o.shape) for o in outs] == [
        (2, 40, 16, 24), (2, 80, 8, 12), (2, 160, 4, 6), (2, 320, 2, 3)]
    # layer scale starts tiny, so each block is close to identity at random init
    assert model.stages[0][0].gamma.abs().max().item() <= 1e-6 + 1e-12


def test_frozen_stages_stay_frozen():
    model = ConvNeXt(arch="atto", frozen_stages=1)
    model.train()
    assert not any(p.requires_grad for p in model.stages[1].parameters())
    assert all(p.requires_grad for p in model.stages[2].parameters())


def test_unknown_arch_is_named():
    import pytest

    with pytest.raises(KeyError, match="'huge'"):
        ConvNeXt(arch="huge")
