# Tiny Omni-IML for CPU: ConvNeXt-atto (40-80-160-320) from scratch, narrow FPH / AE / DWD, the
# detection branch scaled down (fewer sampled anchors and RoIs), and class-weighted CE as in the
# CPU baseline (configs/plain_convnext_uper/README.md explains the weight).
_base_ = ["./omni_iml_convnext-b.py"]
backbone_channels = [40, 80, 160, 320]
model = dict(
    backbone=dict(
        backbone=dict(arch="atto", drop_path_rate=0.0),
        fph=dict(channels=16),
        teacher_forcing_iters=100,
        gate_channels=32,
    ),
    neck=dict(
        in_channels=backbone_channels,
        det_channels=64,
        fc_out_channels=256,
        train_cfg=dict(
            rpn=dict(
                assigner=dict(type="MaxIoUAssigner", pos_iou_thr=0.7, neg_iou_thr=0.3,
                              min_pos_iou=0.3, match_low_quality=True, ignore_iof_thr=-1),
                sampler=dict(type="RandomSampler", num=64, pos_fraction=0.5, neg_pos_ub=-1,
                             add_gt_as_proposals=False),
                allowed_border=-1, pos_weight=-1, debug=False),
            rpn_proposal=dict(nms_pre=500, max_per_img=100,
                              nms=dict(type="nms", iou_threshold=0.7), min_bbox_size=0),
            rcnn=dict(
                assigner=dict(type="MaxIoUAssigner", pos_iou_thr=0.5, neg_iou_thr=0.5,
                              min_pos_iou=0.5, match_low_quality=False, ignore_iof_thr=-1),
                sampler=dict(type="RandomSampler", num=64, pos_fraction=0.25, neg_pos_ub=-1,
                             add_gt_as_proposals=True),
                pos_weight=-1, debug=False),
        ),
    ),
    decode_head=dict(
        in_channels=backbone_channels,
        channels=64,
        dropout_ratio=0.0,
        loss_decode=dict(_delete_=True, type="WeightedCrossEntropyLoss", class_weight=[1.0, 10.0]),
    ),
)
