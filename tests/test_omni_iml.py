"""OmniIML segmentor: losses of every branch, gate statistics, prediction with the DCT."""

import pytest
import torch
from helpers import has_grad, make_batch
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS


def _model_cfg(decode_mode="dynamic", force=None, **over):
    init_default_scope("mmseg")
    cfg = dict(
        type="OmniIML",
        data_preprocessor=dict(type="IMLDataPreProcessor", mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0,
                               seg_pad_val=255, size_divisor=32,
                               test_cfg=dict(size_divisor=32)),
        backbone=dict(type="ModalGateEncoder", backbone=dict(arch="atto"),
                      fph=dict(channels=16, layout="block"), teacher_forcing_iters=0,
                      force=force),
        decode_head=dict(type="DynamicWeightDecoder", in_channels=[40, 80, 160, 320],
                         in_index=[0, 1, 2, 3], channels=32, num_classes=2, mode=decode_mode,
                         norm_cfg=dict(type="BN", requires_grad=True),
                         loss_decode=dict(type="WeightedCrossEntropyLoss",
                                          class_weight=[1.0, 4.0])),
        test_cfg=dict(mode="whole"),
    )
    cfg.update(over)
    return cfg


def _model(**over):
    return MODELS.build(_model_cfg(**over))


def test_training_losses_cover_every_branch_and_log_gate_stats():
    model = _model()
    model.train()
    data = model.data_preprocessor(make_batch(), True)
    losses = model(**data, mode="loss")
    for key in ("decode.loss_ce", "enc.loss_coarse_rgb", "enc.loss_coarse_fused",
                "enc.loss_gate", "gate.fused_share", "gate.fused_share.natural",
                "gate.fused_share.document"):
        assert key in losses, key
    total = sum(v for k, v in losses.items() if "loss" in k)
    total.backward()
    for name in ("backbone.fph", "backbone.gate", "decode_head.filters"):
        assert has_grad(model.get_submodule(name)), name


def test_prediction_records_the_gate_and_keeps_the_size():
    model = _model().eval()
    data = model.data_preprocessor(make_batch(), False)
    with torch.no_grad():
        out = model(**data, mode="predict")
    assert out[0].seg_logits.data.shape == (2, 64, 64)
    assert all(o.metainfo["gate_fused"] in (0.0, 1.0) for o in out)


def test_missing_dct_is_a_named_error():
    model = _model().eval()
    data = model.data_preprocessor(make_batch(with_dct=False), False)  # no LoadJpegDCT fields
    with pytest.raises(ValueError, match="LoadJpegDCT"):
        model(**data, mode="predict")


def test_slide_inference_is_refused():
    with pytest.raises(ValueError, match="whole"):
        _model(test_cfg=dict(mode="slide", crop_size=(32, 32), stride=(16, 16)))


def test_anomaly_enhancement_losses_in_training_and_absent_at_inference():
    model = _model(neck=dict(type="AnomalyEnhancement", in_channels=[40, 80, 160, 320],
                             det_channels=32, fc_out_channels=64))
    model.train()
    data = model.data_preprocessor(make_batch(with_boxes=True), True)
    losses = model(**data, mode="loss")
    assert {"ae.loss_rpn_cls", "ae.loss_rpn_bbox", "ae.loss_cls", "ae.loss_bbox"} <= set(losses)
    model.eval()
    data = model.data_preprocessor(make_batch(), False)
    with torch.no_grad():
        before = model(**data, mode="predict")[0].seg_logits.data
        model.neck.strip_detection()
        after = model(**data, mode="predict")[0].seg_logits.data
    assert torch.equal(before, after)


def test_prediction_records_gate_probability_and_per_sample_mixing_weights():
    model = _model().eval()
    data = model.data_preprocessor(make_batch(n=3), False)
    with torch.no_grad():
        out = model(**data, mode="predict")
    mixes = torch.tensor([o.metainfo["dwd_mix"] for o in out])
    assert mixes.shape == (3, 3, 4)  # samples x filters x K
    assert not torch.allclose(mixes[0], mixes[1])  # per-sample: they vary
    assert all(0.0 <= o.metainfo["gate_prob"] <= 1.0 for o in out)
    assert all(o.metainfo["gate_fused"] == float(o.metainfo["gate_prob"] > 0.5) for o in out)


def test_fixed_mixing_is_the_same_for_every_sample_and_off_records_none():
    for mode, expect in (("fixed", "same"), ("off", None)):
        model = _model(decode_mode=mode).eval()
        data = model.data_preprocessor(make_batch(n=3), False)
        with torch.no_grad():
            out = model(**data, mode="predict")
        if expect is None:
            assert all("dwd_mix" not in o.metainfo for o in out)
        else:
            mixes = torch.tensor([o.metainfo["dwd_mix"] for o in out])
            assert torch.equal(mixes[0], mixes[1]) and torch.equal(mixes[1], mixes[2])


def test_force_rgb_needs_no_dct_and_records_no_gate():
    model = _model(force="rgb").eval()
    data = model.data_preprocessor(make_batch(with_dct=False), False)
    with torch.no_grad():
        out = model(**data, mode="predict")
    assert all("gate_fused" not in o.metainfo and "gate_prob" not in o.metainfo for o in out)
    model.train()
    data = model.data_preprocessor(make_batch(with_dct=False), True)
    losses = model(**data, mode="loss")
    assert "enc.loss_gate" not in losses and "enc.loss_coarse_fused" not in losses
