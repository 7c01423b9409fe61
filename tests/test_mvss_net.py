"""MVSS-Net: forensic filters, edge maps, tiny-twin losses, gradients, outputs and capacity."""

from __future__ import annotations

import pytest
import torch
from helpers import (
    ROOT,
    build_model,
    has_grad,
    load_config,
    make_batch,
    overfit_four_synthiml_images,
    shrink_sample,
)

TINY = ROOT / "configs/mvss_net/mvss-net_r18-d8_1xb8-1k_synthiml-cpu-joint-128x128.py"
MAX_ITERS = 300


def _model():
    return build_model(load_config(TINY).model)


def test_bayar_constraint_holds_after_forward():
    from mmiml.models.utils import BayarConv2d

    conv = BayarConv2d(3, 3, 5).train()
    with torch.no_grad():  # break the constraint, as an optimiser step would
        conv.off_centre.mul_(torch.rand_like(conv.off_centre) * 3)
    out = conv(torch.randn(2, 3, 16, 16))
    assert out.shape == (2, 3, 16, 16)
    for w in (conv.constrained_weight().detach(),):
        assert torch.allclose(w[:, :, 2, 2], torch.full((3, 3), -1.0))
        assert torch.allclose(w.sum(dim=(2, 3)) + 1.0, torch.ones(3, 3), atol=1e-5)
    # the stored off-centre weights were projected too (training forward)
    assert torch.allclose(conv.off_centre.sum(-1), torch.ones(3, 3), atol=1e-5)
    # a zero-sum kernel removes a constant image
    assert conv(torch.full((1, 3, 16, 16), 7.0))[..., 2:-2, 2:-2].abs().max() < 1e-4


def test_sobel_and_srm_filters():
    from mmiml.models.utils import SobelLayer, SRMConv2d

    x = torch.zeros(1, 4, 16, 16)
    x[..., 8:] = 1.0
    sob = SobelLayer()
    mag = sob.magnitude(x)[0, 0]
    assert mag[:, 7:9].min() > 1.0 and mag[:, :6].max() < 1e-2  # vertical step, no frame
    assert sob(x).shape == x.shape
    assert len(list(sob.parameters())) == 0
    assert len(list(SobelLayer(4, reduce="conv").parameters())) == 2
    srm = SRMConv2d(3)
    assert srm(torch.full((1, 3, 16, 16), 5.0))[..., 2:-2, 2:-2].abs().max() < 1e-5
    assert SRMConv2d(3, separate=True)(torch.randn(1, 3, 8, 8)).shape == (1, 9, 8, 8)


def test_mask_to_edge_of_a_square_is_a_ring():
    from mmiml.models.utils import mask_to_edge

    gt = torch.zeros(1, 32, 32, dtype=torch.long)
    gt[:, 10:20, 10:20] = 1
    gt[:, :, 28:] = 255  # padding: no edge, not valid
    edge, valid = mask_to_edge(gt, width=1)
    assert edge.shape == valid.shape == (1, 1, 32, 32)
    e = edge[0, 0]
    ring = torch.zeros(32, 32)
    ring[9:21, 9:21] = 1
    ring[11:19, 11:19] = 0
    assert torch.equal(e, ring)
    assert not valid[0, 0, :, 28:].any() and valid[0, 0, :, :28].all()
    # a mask reaching the padding or the frame gets no edge there
    gt2 = torch.zeros(1, 16, 16, dtype=torch.long)
    gt2[:, :, 8:] = 1
    gt2[:, :, 12:] = 255
    e2 = mask_to_edge(gt2, width=2)[0][0, 0]
    assert e2[:, 6:10].all() and e2[:, :6].sum() == 0 and e2[:, 10:].sum() == 0


def test_training_step_losses_and_gradient_in_every_branch():
    model = _model().train()
    data = model.data_preprocessor(make_batch(with_dct=False, tampered="even"), True)
    losses = model(**data, mode="loss")
    for key in ("decode.loss_dice", "loss_edge", "loss_image"):
        assert key in losses and torch.isfinite(losses[key]) and losses[key] > 0, key
    total = sum(v for k, v in losses.items() if "loss" in k)
    total.backward()
    for name in ("backbone.esb", "backbone.erb_in", "backbone.erb_fuse", "backbone.edge_cls",
                 "backbone.bayar", "backbone.nsb", "decode_head.pam_in", "decode_head.pam",
                 "decode_head.cam_in", "decode_head.cam", "decode_head.conv_seg"):
        assert has_grad(model.get_submodule(name)), name


def test_predict_and_tensor_outputs():
    model = _model().eval()
    batch = make_batch(with_dct=False, tampered="even")  # odd samples are authentic
    # a non-multiple of 32 size: predictions come back at the original size
    shrink_sample(batch, 1, 50, 60)
    data = model.data_preprocessor(batch, False)
    with torch.no_grad():
        out = model(**data, mode="predict")
        tensor = model(**data, mode="tensor")
    assert out[0].seg_logits.data.shape == (2, 64, 64)
    assert out[1].seg_logits.data.shape == (2, 50, 60)
    assert out[1].pred_sem_seg.data.shape == (1, 50, 60)
    prob = out[0].seg_logits.data.softmax(0)
    assert prob.min() >= 0 and prob.max() <= 1 and torch.isfinite(prob).all()
    assert tensor.shape[:2] == (2, 2)


def test_dual_attention_is_danets():
    """The head's position/channel attention (mmseg's PAM/CAM) computes DANet's formulas:
    ``x + g * V softmax(Q^T K)^T`` and ``x + g * softmax(max(E) - E) X`` with ``E = X X^T``."""
    head = _model().decode_head.eval()
    x = torch.randn(2, head.channels, 5, 7)
    with torch.no_grad():
        for attn in (head.pam, head.cam):
            attn.gamma.scale.fill_(0.5)
        f = x.flatten(2)  # B x C x N
        pam = head.pam
        q = pam.query_project(x).flatten(2)
        k = pam.key_project(x).flatten(2)
        v = pam.value_project(x).flatten(2)
        attn = torch.softmax(q.transpose(1, 2) @ k, dim=-1)  # B x N x N, rows sum to 1
        expected_pam = x + 0.5 * (v @ attn.transpose(1, 2)).view_as(x)
        energy = f @ f.transpose(1, 2)  # B x C x C
        energy = energy.amax(dim=-1, keepdim=True) - energy
        expected_cam = x + 0.5 * (torch.softmax(energy, dim=-1) @ f).view_as(x)
        assert torch.allclose(pam(x), expected_pam, atol=1e-5)
        assert torch.allclose(head.cam(x), expected_cam, atol=1e-5)
    assert q.shape[1] == max(head.channels // 8, 1)  # query/key reduced to channels // 8


@pytest.mark.slow
def test_tiny_mvss_net_fits_four_synthiml_images(tmp_path):
    best, it = overfit_four_synthiml_images(TINY, tmp_path, max_iters=MAX_ITERS, target=0.8,
                                            eval_every=25)
    assert best > 0.8, f"IoU {best:.3f} after {it} iterations"
