"""ModalGateEncoder: shapes, per-sample routing, teacher forcing, forced modes, gradients."""

import pytest
import torch
from torch import nn

from mmiml.models.backbones.modal_gate_encoder import ModalGateEncoder, coarse_loss

BACKBONE = dict(type="ConvNeXt", arch="atto")


def _inputs(batch=2, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    img = torch.randn(batch, 3, size, size, generator=g)
    dct = torch.randint(-30, 31, (batch, 1, size, size), generator=g, dtype=torch.int16)
    qtable = torch.randint(1, 60, (batch, 8, 8), generator=g)
    gt = (torch.rand(batch, size, size, generator=g) > 0.8).long()
    return img, dct, qtable, gt


class _MeanGate(nn.Module):
    """Gate stand-in whose logit is a known function of the input (for routing tests)."""

    def forward(self, x):
        return x[:, :1].mean(dim=(2, 3)) * 1000.0


def test_output_strides_and_widths():
    enc = ModalGateEncoder(BACKBONE)
    img, dct, qtable, _ = _inputs()
    outs = enc(img, dct, qtable)
    assert [tuple(o.shape) for o in outs] == [
        (2, 40, 16, 16), (2, 80, 8, 8), (2, 160, 4, 4), (2, 320, 2, 2)]


def test_gate_routes_samples_differently_in_eval():
    enc = ModalGateEncoder(BACKBONE).eval()
    enc.gate = _MeanGate()
    img, dct, qtable, _ = _inputs()
    with torch.no_grad():
        _, f_rgb, f_fused = enc.perceive(img, dct, qtable)
        p = torch.zeros(2, 1, 8, 8)
        # make the first channel of F_rgb positive for sample 0, negative for sample 1
        f_rgb[0, 0] = 1.0
        f_rgb[1, 0] = -1.0
        routed, record = enc.route(f_rgb, f_fused, p, p, target=None)
    assert record["gate_choice"].tolist() == [1.0, 0.0]
    assert torch.equal(routed[0], f_fused[0]) and torch.equal(routed[1], f_rgb[1])


def test_teacher_forcing_then_own_decision():
    enc = ModalGateEncoder(BACKBONE, teacher_forcing_iters=10).train()
    img, dct, qtable, gt = _inputs()
    enc.iteration = 0
    enc(img, dct, qtable, gt)
    aux = enc.last_aux
    assert torch.equal(aux["gate_choice"], aux["target"])
    enc.iteration = 10
    enc(img, dct, qtable, gt)
    aux = enc.last_aux
    assert torch.equal(aux["gate_choice"], (aux["gate_prob"] > 0.5).float())


def test_teacher_forcing_counts_training_forwards_and_survives_a_checkpoint():
    enc = ModalGateEncoder(BACKBONE, teacher_forcing_iters=2).train()
    img, dct, qtable, gt = _inputs()
    for _ in range(2):  # the first two supervised forwards are teacher-forced
        enc(img, dct, qtable, gt)
        assert torch.equal(enc.last_aux["gate_choice"], enc.last_aux["target"])
    enc.eval()
    with torch.no_grad():
        enc(img, dct, qtable)  # inference does not advance the phase
    assert enc.iteration == 2
    resumed = ModalGateEncoder(BACKBONE, teacher_forcing_iters=2).train()
    resumed.load_state_dict(enc.state_dict())
    assert resumed.iteration == 2
    with torch.no_grad():
        resumed(img, dct, qtable, gt)
    aux = resumed.last_aux
    assert torch.equal(aux["gate_choice"], (aux["gate_prob"] > 0.5).float())


@pytest.mark.parametrize("force,expected", [("rgb", 0.0), ("fused", 1.0)])
def test_forced_modes_bypass_the_gate(force, expected):
    enc = ModalGateEncoder(BACKBONE, force=force).train()
    img, dct, qtable, gt = _inputs()
    enc(img, dct, qtable, gt)
    assert enc.last_aux["gate_choice"].tolist() == [expected, expected]
    assert "loss_gate" not in enc.aux_losses()


def test_gradients_reach_vph_fph_fusion_gate_and_coarse_heads():
    enc = ModalGateEncoder(BACKBONE, teacher_forcing_iters=0).train()
    img, dct, qtable, gt = _inputs()
    outs = enc(img, dct, qtable, gt)
    loss = sum(o.mean() for o in outs) + sum(enc.aux_losses().values())
    loss.backward()
    for name, module in [("vph", enc.convnext.downsample_layers[0]), ("fph", enc.fph),
                         ("fuse", enc.fuse), ("gate", enc.gate), ("coarse_rgb", enc.coarse_rgb),
                         ("coarse_fused", enc.coarse_fused), ("stage3", enc.convnext.stages[3])]:
        grads = [p.grad for p in module.parameters() if p.requires_grad]
        assert grads and all(g is not None for g in grads), name
        assert any(g.abs().sum() > 0 for g in grads), name


def test_soft_gate_mixes_maps():
    enc = ModalGateEncoder(BACKBONE, gate="soft").eval()
    img, dct, qtable, _ = _inputs()
    with torch.no_grad():
        _, f_rgb, f_fused = enc.perceive(img, dct, qtable)
        p = torch.zeros(2, 1, 8, 8)
        routed, record = enc.route(f_rgb, f_fused, p, p, target=None)
    w = record["gate_prob"].view(-1, 1, 1, 1)
    assert torch.allclose(routed, w * f_fused + (1 - w) * f_rgb)


def test_coarse_loss_ignores_padding():
    logit = torch.zeros(1, 1, 2, 2)
    gt = torch.full((1, 16, 16), 255)
    gt[:, :8, :8] = 1
    assert coarse_loss(logit, gt).item() == pytest.approx(torch.log(torch.tensor(2.0)).item())


def test_bad_switches_are_named():
    with pytest.raises(ValueError, match="force"):
        ModalGateEncoder(BACKBONE, force="dct")
    with pytest.raises(ValueError, match="gate"):
        ModalGateEncoder(BACKBONE, gate="medium")
