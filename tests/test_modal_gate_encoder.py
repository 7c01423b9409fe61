"""ModalGateEncoder: shapes, per-sample routing, a gate target that measures the frequency
evidence, teacher forcing counted in optimizer steps (also under gradient accumulation and in
soft mode), forced modes that remove what they name, and gradients."""

import copy

import pytest
import torch
from mmengine.optim import OptimWrapper
from torch import nn

from mmiml.models.backbones.modal_gate_encoder import ModalGateEncoder, coarse_loss

BACKBONE = dict(type="ConvNeXt", arch="atto")
FPH = dict(channels=8, layout="block")
FREQUENCY_MODULES = ("fph", "fuse", "coarse_fused", "freq_to_stride4", "gate", "refine_freq",
                     "coarse_freq")


def _inputs(batch=2, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    img = torch.randn(batch, 3, size, size, generator=g)
    dct = torch.randint(-30, 31, (batch, 1, size, size), generator=g, dtype=torch.int16)
    qtable = torch.randint(1, 60, (batch, 8, 8), generator=g)
    gt = (torch.rand(batch, size, size, generator=g) > 0.8).long()
    return img, dct, qtable, gt


def _encoder(**kwargs) -> ModalGateEncoder:
    torch.manual_seed(0)
    return ModalGateEncoder(BACKBONE, fph=FPH, **kwargs)


class _MeanGate(nn.Module):
    """Gate stand-in whose logit is a known function of the input (for routing tests)."""

    def forward(self, x):
        return x[:, :1].mean(dim=(2, 3)) * 1000.0


def test_output_strides_and_widths():
    enc = _encoder()
    img, dct, qtable, _ = _inputs()
    outs = enc(img, dct, qtable)
    assert [tuple(o.shape) for o in outs] == [
        (2, 40, 16, 16), (2, 80, 8, 8), (2, 160, 4, 4), (2, 320, 2, 2)]


def test_gate_routes_samples_differently_in_eval():
    enc = _encoder().eval()
    enc.gate = _MeanGate()
    img, dct, qtable, _ = _inputs()
    with torch.no_grad():
        _, _, f_rgb, f_fused, _ = enc.perceive(img, dct, qtable)
        p = torch.zeros(2, 1, 8, 8)
        # make the first channel of F_rgb positive for sample 0, negative for sample 1
        f_rgb[0, 0] = 1.0
        f_rgb[1, 0] = -1.0
        weight, record = enc.route(f_rgb, f_fused, p, p, target=None)
    assert record["gate_choice"].tolist() == [1.0, 0.0]
    assert weight.tolist() == [1.0, 0.0]


def _square_batch(kind: str, g: torch.Generator, n: int = 8, size: int = 32):
    """A square edit visible in the RGB only, its DCT pure noise (``kind='rgb'``), or visible in
    the DCT only, the RGB pure noise (``kind='dct'``)."""
    img = torch.randn(n, 3, size, size, generator=g) * 0.3
    gt = torch.zeros(n, size, size, dtype=torch.long)
    for i in range(n):
        y, x = torch.randint(0, size // 2, (2,), generator=g).tolist()
        gt[i, y:y + size // 2, x:x + size // 2] = 1
    inside = gt[:, None].bool()
    dct = torch.randint(-2, 3, (n, 1, size, size), generator=g, dtype=torch.int16)
    if kind == "rgb":
        img = img + 2.0 * inside.float()
        dct = torch.randint(-20, 21, (n, 1, size, size), generator=g, dtype=torch.int16)
    else:
        dct = torch.where(inside, dct * 8, dct).to(torch.int16)
    return img, dct, torch.randint(1, 50, (n, 8, 8), generator=g), gt


def _trained_on_coarse_losses(next_batch, steps: int) -> ModalGateEncoder:
    """An encoder whose perception heads (stem, stage 0, refinement blocks, FPH, coarse heads)
    trained ``steps`` Adam steps on the coarse losses alone, teacher-forced throughout."""
    enc = _encoder(teacher_forcing_iters=10**6).train()
    params = [p for n, p in enc.named_parameters() if not n.startswith("convnext.stages.")
              or n.startswith("convnext.stages.0")]
    opt = torch.optim.Adam(params, lr=2e-3)
    for _ in range(steps):
        img, dct, qtable, gt = next_batch()
        enc(img, dct, qtable, gt)
        loss = sum(v for k, v in enc.aux_losses().items() if "coarse" in k)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return enc


@pytest.mark.parametrize("kind,low,high", [("rgb", 0.0, 0.4), ("dct", 0.75, 1.0)])
def test_gate_target_follows_the_frequency_evidence(kind, low, high):
    """Train the perception heads on their coarse losses, then read the gate's target on fresh
    images: noise in the DCT must not win the target for the fused path (a target of "the
    bigger path has the lower loss" is 1 whatever the DCT holds), decisive DCT must."""
    g = torch.Generator().manual_seed(1)
    enc = _trained_on_coarse_losses(lambda: _square_batch(kind, g), steps=40)
    with torch.no_grad():
        enc(*_square_batch(kind, torch.Generator().manual_seed(99), n=16))
    share = enc.last_aux["target"].mean().item()
    assert low <= share <= high, f"{kind}: fused target share {share:.2f}"


def _mixed_batch(g: torch.Generator, n: int = 8):
    """Alternating images: even ones with the edit in the RGB only, odd ones in the DCT only."""
    parts = [_square_batch(kind, g, n=n // 2) for kind in ("rgb", "dct")]
    return tuple(torch.stack([x for pair in zip(*[p[i] for p in parts], strict=True)
                              for x in pair]) for i in range(4))


def test_gate_target_in_mixed_batches_sends_each_image_its_own_way():
    """Both kinds in one batch, as in joint training: an image whose DCT is noise must not win
    the fused target because another image's DCT (which shows an edit elsewhere) would mislead
    the fused head. A target that compares with another image's frequency features measures how
    much the head relies on them, not whether this image's help; it fails here."""
    g = torch.Generator().manual_seed(1)
    enc = _trained_on_coarse_losses(lambda: _mixed_batch(g), steps=60)
    with torch.no_grad():
        enc(*_mixed_batch(torch.Generator().manual_seed(99), n=16))
    target = enc.last_aux["target"]
    rgb_share, dct_share = target[0::2].mean().item(), target[1::2].mean().item()
    assert rgb_share <= 0.4 and dct_share >= 0.75, (rgb_share, dct_share)


def test_authentic_images_give_the_gate_no_target():
    enc = _encoder(teacher_forcing_iters=0).train()
    img, dct, qtable, gt = _inputs(batch=3)
    gt[1] = 0  # authentic
    enc(img, dct, qtable, gt)
    assert enc.last_aux["target_valid"].tolist() == [1.0, 0.0, 1.0]
    enc.gate[-1].weight.grad = None
    enc.aux_losses()["loss_gate"].backward()
    gt[:] = 0
    enc(img, dct, qtable, gt)  # an all-authentic batch: a zero gate loss, still in the graph
    assert enc.aux_losses()["loss_gate"].item() == 0.0


def test_teacher_forcing_then_own_decision():
    enc = _encoder(teacher_forcing_iters=10).train()
    img, dct, qtable, gt = _inputs()
    enc.iteration = 0
    enc(img, dct, qtable, gt)
    aux = enc.last_aux
    assert torch.equal(aux["gate_choice"], aux["target"])
    enc.iteration = 10
    enc(img, dct, qtable, gt)
    aux = enc.last_aux
    assert torch.equal(aux["gate_choice"], (aux["gate_prob"] > 0.5).float())


@pytest.mark.parametrize("gate", ["hard", "soft"])
def test_teacher_forcing_counts_optimizer_steps_under_gradient_accumulation(gate):
    """With 4 forwards per optimizer step, 2 teacher-forced steps are 8 forwards (a count of
    forwards would end the phase after 2), in soft mode too (the routing weight is the target,
    not the gate probability)."""
    enc = _encoder(teacher_forcing_iters=2, gate=gate).train()
    wrapper = OptimWrapper(torch.optim.SGD(enc.parameters(), lr=1e-4), accumulative_counts=4)
    img, dct, qtable, gt = _inputs()
    for forward in range(1, 10):
        enc(img, dct, qtable, gt)
        aux = enc.last_aux
        if forward <= 8:
            assert torch.equal(aux["routing_weight"], aux["target"]), forward
        else:
            own = aux["gate_prob"] if gate == "soft" else (aux["gate_prob"] > 0.5).float()
            assert torch.allclose(aux["routing_weight"], own), forward
        wrapper.update_params(sum(o.mean() for o in enc(img, dct, qtable, gt))
                              + sum(enc.aux_losses().values()))
        assert enc.iteration == forward // 4
    assert enc.iteration == 2


def test_step_count_survives_a_checkpoint_and_a_copy_counts_its_own_steps():
    enc = _encoder(teacher_forcing_iters=2).train()
    opt = torch.optim.SGD(enc.parameters(), lr=0.0)
    img, dct, qtable, gt = _inputs()
    for _ in range(2):
        sum(o.mean() for o in enc(img, dct, qtable, gt)).backward()
        opt.step()
    other = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    other.step()  # an optimizer without the encoder's parameters does not count
    assert enc.iteration == 2
    resumed = _encoder(teacher_forcing_iters=2).train()
    resumed.load_state_dict(enc.state_dict())
    assert resumed.iteration == 2 and not resumed.teacher_forcing()
    twin = copy.deepcopy(enc)
    torch.optim.SGD(twin.parameters(), lr=0.0).step()
    assert (twin.iteration, enc.iteration) == (3, 2)


def test_force_rgb_builds_and_reads_nothing_of_the_frequency_path():
    enc = _encoder(force="rgb").train()
    assert not enc.reads_dct
    names = [n for n, _ in enc.named_parameters()]
    assert not [n for n in names if n.split(".")[0] in FREQUENCY_MODULES]
    img, dct, qtable, gt = _inputs()
    outs = enc(img, dct, qtable, gt)
    other = enc(img, torch.randint_like(dct, -500, 500), torch.randint_like(qtable, 1, 99), gt)
    none = enc(img, None, None, gt)
    for a, b, c in zip(outs, other, none, strict=True):
        assert torch.equal(a, b) and torch.equal(a, c)
    assert set(enc.aux_losses()) == {"loss_coarse_rgb"}
    loss = sum(o.mean() for o in outs) + sum(enc.aux_losses().values())
    loss.backward()
    assert all(p.grad is not None for p in enc.parameters())


def test_force_fused_routes_everything_to_the_fused_path_without_a_gate():
    enc = _encoder(force="fused").train()
    img, dct, qtable, gt = _inputs()
    enc(img, dct, qtable, gt)
    assert not hasattr(enc, "gate")
    assert enc.last_aux["gate_choice"].tolist() == [1.0, 1.0]
    assert set(enc.aux_losses()) == {"loss_coarse_rgb", "loss_coarse_fused"}
    with pytest.raises(ValueError, match="DCT"):
        enc(img, None, None, gt)


def test_routing_to_rgb_removes_the_frequency_evidence_from_every_level():
    """An image routed to RGB must not depend on its DCT at any level (the stride-4 level
    too); routed to fused it must, at every level."""
    enc = _encoder().eval()
    nn.init.normal_(enc.freq_to_stride4.weight)  # zero at start: make it carry something
    img, dct, qtable, _ = _inputs()
    other = torch.randint_like(dct, -30, 31)
    for value, depends in ((-1e4, False), (1e4, True)):
        enc.gate[-1].bias.data.fill_(value)
        with torch.no_grad():
            a, b = enc(img, dct, qtable), enc(img, other, qtable)
        for level, (x, y) in enumerate(zip(a, b, strict=True)):
            assert (not torch.equal(x, y)) == depends, (value, level)


def test_gradients_reach_vph_fph_fusion_gate_and_coarse_heads():
    enc = _encoder(teacher_forcing_iters=0).train()
    nn.init.normal_(enc.freq_to_stride4.weight)
    # the gate's own decision routes to the fused path, unsaturated (p = 0.73), so both the
    # fused modules and the gate get a gradient
    nn.init.zeros_(enc.gate[-1].weight)
    nn.init.ones_(enc.gate[-1].bias)
    img, dct, qtable, gt = _inputs()
    outs = enc(img, dct, qtable, gt)
    loss = sum(o.mean() for o in outs) + sum(enc.aux_losses().values())
    loss.backward()
    for name in ("convnext.downsample_layers.0", "refine_rgb", *FREQUENCY_MODULES,
                 "coarse_rgb", "convnext.stages.3"):
        grads = [p.grad for p in enc.get_submodule(name).parameters() if p.requires_grad]
        assert grads and all(g is not None for g in grads), name
        assert any(g.abs().sum() > 0 for g in grads), name


def test_soft_gate_mixes_maps_after_teacher_forcing():
    enc = _encoder(gate="soft", teacher_forcing_iters=0).train()
    img, dct, qtable, gt = _inputs()
    enc(img, dct, qtable, gt)
    aux = enc.last_aux
    assert torch.equal(aux["routing_weight"], aux["gate_prob"])


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
    with pytest.raises(ValueError, match="gate_margin"):
        ModalGateEncoder(BACKBONE, gate_margin=1.5)
