"""OmniIML segmentor: losses of every branch, gate statistics, prediction with the DCT."""

import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample


def _model(**over):
    init_default_scope("mmseg")
    cfg = dict(
        type="OmniIML",
        data_preprocessor=dict(type="IMLDataPreProcessor", mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0,
                               seg_pad_val=255, size_divisor=32,
                               test_cfg=dict(size_divisor=32)),
        backbone=dict(type="ModalGateEncoder", backbone=dict(arch="atto"),
                      fph=dict(channels=16), teacher_forcing_iters=0),
        decode_head=dict(type="DynamicWeightDecoder", in_channels=[40, 80, 160, 320],
                         in_index=[0, 1, 2, 3], channels=32, num_classes=2,
                         norm_cfg=dict(type="BN", requires_grad=True),
                         loss_decode=dict(type="WeightedCrossEntropyLoss",
                                          class_weight=[1.0, 4.0])),
        test_cfg=dict(mode="whole"),
    )
    cfg.update(over)
    return MODELS.build(cfg)


def _batch(n=2, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for i in range(n):
        inputs.append(torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8))
        s = SegDataSample()
        gt = torch.zeros(1, size, size, dtype=torch.long)
        gt[:, 8:24, 8:24] = 1
        s.gt_sem_seg = PixelData(data=gt)
        s.set_field(PixelData(data=torch.randint(-20, 21, (1, size, size), generator=g,
                                                 dtype=torch.int16)), "dct")
        s.set_field(torch.randint(1, 50, (8, 8), generator=g), "qtable")
        s.set_metainfo(dict(task=("natural", "document")[i % 2], img_shape=(size, size),
                            ori_shape=(size, size), pad_shape=(size, size)))
        samples.append(s)
    return {"inputs": inputs, "data_samples": samples}


def test_training_losses_cover_every_branch_and_log_gate_stats():
    model = _model()
    model.train()
    data = model.data_preprocessor(_batch(), True)
    losses = model(**data, mode="loss")
    for key in ("decode.loss_ce", "enc.loss_coarse_rgb", "enc.loss_coarse_fused",
                "enc.loss_gate", "gate.fused_share", "gate.fused_share.natural",
                "gate.fused_share.document"):
        assert key in losses, key
    total = sum(v for k, v in losses.items() if "loss" in k)
    total.backward()
    for name in ("backbone.fph", "backbone.gate", "decode_head.filters"):
        module = model.get_submodule(name)
        assert any(p.grad is not None and p.grad.abs().sum() > 0
                   for p in module.parameters()), name


def test_prediction_records_the_gate_and_keeps_the_size():
    model = _model().eval()
    data = model.data_preprocessor(_batch(), False)
    with torch.no_grad():
        out = model(**data, mode="predict")
    assert out[0].seg_logits.data.shape == (2, 64, 64)
    assert all(o.metainfo["gate_fused"] in (0.0, 1.0) for o in out)


def test_missing_dct_is_a_named_error():
    model = _model().eval()
    batch = _batch()
    for s in batch["data_samples"]:
        del s.dct
        del s.qtable
    data = model.data_preprocessor(batch, False)
    with pytest.raises(ValueError, match="LoadJpegDCT"):
        model(**data, mode="predict")


def test_slide_inference_is_refused():
    with pytest.raises(ValueError, match="whole"):
        _model(test_cfg=dict(mode="slide", crop_size=(32, 32), stride=(16, 16)))


def test_anomaly_enhancement_losses_in_training_and_absent_at_inference():
    from mmengine.structures import InstanceData

    model = _model(neck=dict(type="AnomalyEnhancement", in_channels=[40, 80, 160, 320],
                             det_channels=32, fc_out_channels=64))
    model.train()
    batch = _batch()
    for s in batch["data_samples"]:
        inst = InstanceData()
        inst.bboxes = torch.tensor([[8.0, 8.0, 24.0, 24.0]])
        inst.labels = torch.zeros(1, dtype=torch.long)
        s.gt_instances = inst
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode="loss")
    assert {"ae.loss_rpn_cls", "ae.loss_rpn_bbox", "ae.loss_cls", "ae.loss_bbox"} <= set(losses)
    model.eval()
    data = model.data_preprocessor(_batch(), False)
    with torch.no_grad():
        before = model(**data, mode="predict")[0].seg_logits.data
        model.neck.strip_detection()
        after = model(**data, mode="predict")[0].seg_logits.data
    assert torch.equal(before, after)
