# PSCC-Net at paper scale (Liu et al., IEEE TCSVT 2022; configs/pscc_net/README.md): top-down
# path = a light-weight HRNet with W18 widths (18-36-72-144; our reading of the paper's
# "light-weight backbone": mmseg's HRNetV2-W18-Small-v2 layout) from scratch; bottom-up path =
# an SCCM and a 2-class mask per scale, coarse (stride 32) to fine (stride 4), each conditioned
# on the previous mask, plus a detection head. Losses: CE on every scale's mask (deep
# supervision, mask downsampled) + image-level BCE of the detection logit.
_base_ = ["./iml_segmentor.py"]
hrnet_channels = [18, 36, 72, 144]
model = dict(
    type="PSCCNet",
    backbone=dict(
        type="HRNet",
        norm_cfg=_base_.norm_cfg,
        norm_eval=False,
        extra=dict(
            stage1=dict(num_modules=1, num_branches=1, block="BOTTLENECK",
                        num_blocks=(2,), num_channels=(64,)),
            stage2=dict(num_modules=1, num_branches=2, block="BASIC",
                        num_blocks=(2, 2), num_channels=hrnet_channels[:2]),
            stage3=dict(num_modules=3, num_branches=3, block="BASIC",
                        num_blocks=(2, 2, 2), num_channels=hrnet_channels[:3]),
            stage4=dict(num_modules=2, num_branches=4, block="BASIC",
                        num_blocks=(2, 2, 2, 2), num_channels=hrnet_channels),
        ),
        init_cfg=None,  # random initialisation; nothing is downloaded
    ),
    decode_head=dict(
        type="PSCCHead",
        in_channels=hrnet_channels,
        in_index=[0, 1, 2, 3],  # strides 4, 8, 16, 32
        input_transform="multiple_select",
        channels=64,
        key_channels=16,
        reduce_scales=(4, 2, 1, 1),  # spatial attention on a stride-16/16/16/32 token grid
        dropout_ratio=0.0,
        loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0,
                         avg_non_ignore=True),
    ),
    mask_loss_weights=(1.0, 1.0, 1.0),  # strides 8, 16, 32
    det_loss_weight=1.0,
)
