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
    ae.train()(feats)
    assert ae.detection_loss([sample([])]) == {}  # no branch: no box supervision
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
    assert ae._det_feats is None  # nothing kept for a detection loss at inference


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


# ------------------------------------------------------------------ the two ablation switches
def test_block_off_is_identity_without_enhancement_parameters(feats):
    ae = make_ae(with_block=False).eval()
    assert not hasattr(ae, "enhance")
    assert not any(n.startswith("enhance.") for n, _ in ae.named_parameters())
    with torch.no_grad():
        out = ae(feats)
    assert len(out) == len(feats) and all(o is f for o, f in zip(out, feats, strict=True))
    # only the detection branch has parameters; stripped, nothing is left
    assert sum(p.numel() for p in ae.strip_detection().parameters()) == 0


def test_block_off_detection_loss_reaches_the_input_features(feats):
    ae = make_ae(with_block=False).train()
    inputs = tuple(f.clone().requires_grad_(True) for f in feats)
    out = ae(inputs)
    assert all(o is i for o, i in zip(out, inputs, strict=True))
    losses = ae.detection_loss([sample([[10.0, 12.0, 40.0, 50.0]]), sample([])])
    assert set(DET_KEYS) <= set(losses)
    sum(v for k, v in losses.items() if "loss" in k).backward()
    for level, x in enumerate(inputs):  # every level: the RPN reads all of them
        assert x.grad is not None and x.grad.abs().sum() > 0, level


def test_block_on_detection_reads_the_enhancement_not_the_input(feats):
    # with the block, box gradients reach the input only through the block's convs
    ae = make_ae().train()
    with torch.no_grad():  # cut the block: its output no longer depends on its input
        for block in ae.enhance:
            block[1].weight.zero_()
    inputs = tuple(f.clone().requires_grad_(True) for f in feats)
    ae(inputs)
    losses = ae.detection_loss([sample([[10.0, 12.0, 40.0, 50.0]]), sample([])])
    sum(v for k, v in losses.items() if "loss" in k).backward()
    assert all(x.grad is None or x.grad.abs().sum() == 0 for x in inputs)


def test_detection_off_keeps_the_block_without_box_supervision(feats):
    ae = make_ae(with_detection=False)
    assert not any(n.startswith(DET_PREFIXES) for n, _ in ae.named_parameters())
    assert len(ae.enhance) == len(ATTO)
    assert any(n.startswith("enhance.") for n, _ in ae.named_parameters())
    ae.eval()
    with torch.no_grad():
        out = ae(feats)
    assert all(not torch.allclose(o, f) for o, f in zip(out, feats, strict=True))
    ae.train()(feats)
    assert ae.detection_loss([sample([[10.0, 12.0, 40.0, 50.0]])]) == {}
    assert ae._det_feats is None  # nothing held for a loss that never comes


# ------------------------------------------------------------------------- loss weights
def _det_losses(ae: AnomalyEnhancement, feats) -> dict[str, torch.Tensor]:
    torch.manual_seed(2)  # same anchor / RoI sampling in every call
    ae.train()(feats)
    return ae.detection_loss([sample([[10.0, 12.0, 40.0, 50.0]]), sample([[30, 4, 60, 20]])])


@pytest.mark.parametrize("key,loss", [
    ("rpn_cls", "ae.loss_rpn_cls"), ("rpn_bbox", "ae.loss_rpn_bbox"),
    ("roi_cls", "ae.loss_cls"), ("roi_bbox", "ae.loss_bbox")])
def test_loss_weight_scales_only_its_loss(feats, key, loss):
    with torch.no_grad():
        base = _det_losses(make_ae(), feats)
        zero = _det_losses(make_ae(loss_weights={key: 0.0}), feats)
        double = _det_losses(make_ae(loss_weights={key: 2.0}), feats)
    assert base[loss] > 0
    assert zero[loss] == 0
    assert torch.allclose(double[loss], 2 * base[loss])
    for other in DET_KEYS:
        if other != loss:
            assert torch.allclose(zero[other], base[other]), other
            assert torch.allclose(double[other], base[other]), other


def test_loss_weights_win_over_head_overrides_and_reject_unknown_keys():
    ae = make_ae(rpn_head=dict(loss_cls=dict(type="CrossEntropyLoss", use_sigmoid=True,
                                             loss_weight=5.0)),
                 loss_weights=dict(rpn_cls=0.5))
    assert ae.rpn_head.loss_cls.loss_weight == 0.5
    assert ae.roi_head.bbox_head.loss_bbox.loss_weight == 1.0
    with pytest.raises(ValueError, match="rpn_box"):
        make_ae(loss_weights=dict(rpn_box=1.0))
    with pytest.raises(ValueError, match="roi_cls"):
        make_ae(loss_weights=dict(roi_cls=-1.0))


# ----------------------------------------------------------------------- small boxes
def test_boxes_under_min_box_side_give_no_box_supervision(feats):
    speck = [[20.0, 20.0, 22.0, 23.0]]  # side sqrt(6) ~ 2.4 px
    with torch.no_grad():
        kept = _det_losses_for(make_ae(anchor_scales=(1,), min_box_side=0), feats, speck)
        dropped = _det_losses_for(make_ae(anchor_scales=(1,), min_box_side=2.5), feats, speck)
    assert kept["ae.loss_bbox"] > 0  # the gt box is an RoI positive (add_gt_as_proposals)
    assert dropped["ae.loss_bbox"] == 0 and dropped["ae.loss_rpn_bbox"] == 0
    ae = make_ae(min_box_side=4)
    boxes = torch.tensor([[0.0, 0.0, 3.0, 5.0], [0.0, 0.0, 4.0, 4.0], [0.0, 0.0, 1.0, 40.0]])
    assert ae.keep_boxes(boxes).tolist() == [[0.0, 0.0, 4.0, 4.0], [0.0, 0.0, 1.0, 40.0]]


def _det_losses_for(ae: AnomalyEnhancement, feats, boxes) -> dict[str, torch.Tensor]:
    torch.manual_seed(2)
    ae.train()(feats)
    return ae.detection_loss([sample(boxes), sample([])])


# ---------------------------------------------------------------------------- detect()
@pytest.mark.parametrize("with_block", [True, False])
def test_detect_gives_sorted_proposals_and_detections_inside_the_image(feats, with_block):
    ae = make_ae(with_block=with_block).eval()
    small = SegDataSample(metainfo=dict(img_shape=(48, 56)))
    proposals, detections = ae.detect(feats, [sample([]), small], batch_input_shape=(64, 64))
    assert len(proposals) == len(detections) == 2
    for props, dets, (h, w) in zip(proposals, detections, [(64, 64), (48, 56)], strict=True):
        assert 0 < len(props) <= 1000 and len(dets) <= 100
        assert torch.all(props.scores[:-1] >= props.scores[1:])
        for boxes in (props.bboxes, dets.bboxes):
            assert boxes.shape[-1] == 4
            assert torch.all(boxes[:, 0::2] <= w) and torch.all(boxes[:, 1::2] <= h)
        assert torch.all((dets.scores >= 0) & (dets.scores <= 1))
    # the default shape is the finest level's size times its stride
    default, _ = ae.detect(feats)
    assert len(default) == 2
    with pytest.raises(RuntimeError, match="detection branch"):
        make_ae(with_detection=False).eval().detect(feats)


def test_roi_sampling_ratio_reaches_roi_align_and_changes_features(feats):
    """The configured samples per bin reach mmcv's RoIAlign, and a large RoI pooled with 2x2
    samples differs from the adaptive (size-dependent) sampling; negative values are refused."""
    adaptive, fixed = make_ae(), make_ae(roi_sampling_ratio=2)
    layers = [ae.roi_head.bbox_roi_extractor.roi_layers[0] for ae in (adaptive, fixed)]
    assert [layer.sampling_ratio for layer in layers] == [0, 2]
    rois = torch.tensor([[0.0, 2.0, 3.0, 60.0, 58.0]])  # one 58 px RoI on the stride-4 level
    level = feats[0][:1]
    pooled = [layer(level, rois) for layer in layers]
    assert pooled[0].shape == pooled[1].shape == (1, ATTO[0], 7, 7)
    assert not torch.allclose(pooled[0], pooled[1])
    with pytest.raises(ValueError, match="roi_sampling_ratio must be >= 0, got -1"):
        make_ae(roi_sampling_ratio=-1)
