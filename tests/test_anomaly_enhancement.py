"""Anomaly Enhancement (docs/design/omni_iml.md section 4): residual enhancement +
training-only detection."""

from __future__ import annotations

import math

import pytest
import torch
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmiml.models.backbones import ConvNeXt
from mmiml.models.necks import AnomalyEnhancement

ATTO = [40, 80, 160, 320]
DET_KEYS = ("ae.loss_rpn_cls", "ae.loss_rpn_bbox", "ae.loss_cls", "ae.loss_bbox")
DET_PREFIXES = ("det_proj.", "rpn_head.", "roi_head.")


@pytest.fixture(scope="module")
def feats() -> tuple[torch.Tensor, ...]:
    """ConvNeXt atto features of a 2x3x64x64 batch (strides 4/8/16/32)."""
    torch.manual_seed(0)
    backbone = ConvNeXt(arch="atto").eval()
    with torch.no_grad():
        return tuple(backbone(torch.randn(2, 3, 64, 64)))


def make_ae(**kwargs) -> AnomalyEnhancement:
    torch.manual_seed(1)
    cfg = dict(type="AnomalyEnhancement", in_channels=ATTO, det_channels=32, fc_out_channels=64)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def sample(boxes: list[list[float]]) -> SegDataSample:
    s = SegDataSample(metainfo=dict(img_shape=(64, 64), pad_shape=(64, 64)))
    s.gt_instances = InstanceData(
        bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        labels=torch.zeros(len(boxes), dtype=torch.long))
    return s


def test_enhanced_features_keep_shapes_and_change_values(feats):
    ae = make_ae().eval()
    with torch.no_grad():
        out = ae(feats)
    assert len(out) == len(feats)
    for f, o in zip(feats, out, strict=True):
        assert o.shape == f.shape
        assert not torch.allclose(o, f)


@pytest.mark.parametrize("boxes_per_image", [
    ([[10.0, 12.0, 40.0, 50.0]], []),  # one tampered, one authentic image
    ([], []),  # authentic only: RPN and RoI negatives, zero box losses
])
def test_detection_loss_finite_with_and_without_boxes(feats, boxes_per_image):
    ae = make_ae().train()
    ae(feats)
    losses = ae.detection_loss([sample(b) for b in boxes_per_image])
    for key in DET_KEYS:
        assert key in losses, sorted(losses)
        assert losses[key].dim() == 0 and math.isfinite(losses[key].item()), key
    assert losses["ae.loss_rpn_cls"] > 0 and losses["ae.loss_cls"] > 0
    any_box = any(boxes_per_image)
    for key in ("ae.loss_rpn_bbox", "ae.loss_bbox"):
        assert (losses[key].item() > 0) == any_box, (key, losses[key])


def test_detection_gradients_reach_enhancement_and_heads(feats):
    ae = make_ae().train()
    ae(feats)
    losses = ae.detection_loss([sample([[10.0, 12.0, 40.0, 50.0]]), sample([])])
    sum(v for k, v in losses.items() if "loss" in k).backward()
    groups = {
        "enhance first conv": ae.enhance[0][0].conv.weight,
        "enhance last conv": ae.enhance[3][1].weight,
        "projection": ae.det_proj[1].weight,
        "rpn": ae.rpn_head.rpn_conv.weight,
        "rpn reg": ae.rpn_head.rpn_reg.weight,
        "roi shared fc": ae.roi_head.bbox_head.shared_fcs[0].weight,
        "roi cls": ae.roi_head.bbox_head.fc_cls.weight,
        "roi reg": ae.roi_head.bbox_head.fc_reg.weight,
    }
    for name, param in groups.items():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_strip_detection_keeps_outputs_and_drops_parameters(feats):
    ae = make_ae().eval()
    with torch.no_grad():
        before = ae(feats)
    n_before = sum(p.numel() for p in ae.parameters())
    n_det = sum(p.numel() for n, p in ae.named_parameters() if n.startswith(DET_PREFIXES))
    assert n_det > 0
    ae.strip_detection()
    with torch.no_grad():
        after = ae(feats)
    for b, a in zip(before, after, strict=True):
        assert torch.equal(b, a)
    assert sum(p.numel() for p in ae.parameters()) == n_before - n_det
    assert not any(n.startswith(DET_PREFIXES) for n, _ in ae.named_parameters())
    assert not ae.with_detection
    with pytest.raises(RuntimeError):
        ae.detection_loss([sample([])])
    # inference() is the same removal plus eval mode
    other = make_ae().train().inference()
    assert not other.training and not hasattr(other, "rpn_head")


def test_eval_forward_never_touches_detection_branch(feats):
    ae = make_ae().eval()

    def fail(*_args) -> None:
        raise AssertionError("detection branch called at inference")

    for module in (ae.rpn_head, ae.roi_head, ae.det_proj):
        for sub in module.modules():
            sub.register_forward_hook(fail)
    with torch.no_grad():
        ae(feats)
    assert ae._ae_feats is None  # nothing kept for a detection loss at inference


def test_detection_loss_needs_training_forward(feats):
    ae = make_ae().eval()
    ae(feats)
    with pytest.raises(RuntimeError):
        ae.detection_loss([sample([])])


def test_builds_under_mmseg_default_scope():
    # A runner sets mmseg as default scope; the mmdet heads must still resolve.
    with DefaultScope.overwrite_default_scope("mmseg"):
        ae = make_ae()
    assert type(ae.rpn_head).__name__ == "RPNHead"
    assert type(ae.roi_head).__name__ == "StandardRoIHead"
