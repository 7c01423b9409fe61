# CAT-Net at paper scale (Kwon et al., IJCV 2022): RGB stream HRNetV2-W48, DCT stream on the
# Y-channel quantised DCT x quantisation table, fusion of both at strides 8/16/32 in a final
# HRNet stage, HRNetV2 concat-all-scales head, 2 classes (1 = tampered). DCT-stream and
# fusion widths are our reading of the paper (it does not list them all). No pretrained
# weights: the original starts the RGB stream from ImageNet HRNet and the DCT stream from its
# double-JPEG-detection pretraining (configs/cat_net/README.md).
_base_ = ["./iml_segmentor.py"]
fuse_channels = [24, 48, 96, 192]
model = dict(
    type="CATNet",
    backbone=dict(
        type="CATNetBackbone",
        norm_cfg=_base_.norm_cfg,
        # RGB stream: mmseg's HRNetV2-W48 layout (fcn_hr48), random initialisation
        rgb=dict(
            type="HRNet",
            norm_eval=False,
            extra=dict(
                stage1=dict(num_modules=1, num_branches=1, block="BOTTLENECK",
                            num_blocks=(4,), num_channels=(64,)),
                stage2=dict(num_modules=1, num_branches=2, block="BASIC",
                            num_blocks=(4, 4), num_channels=(48, 96)),
                stage3=dict(num_modules=4, num_branches=3, block="BASIC",
                            num_blocks=(4, 4, 4), num_channels=(48, 96, 192)),
                stage4=dict(num_modules=3, num_branches=4, block="BASIC",
                            num_blocks=(4, 4, 4, 4), num_channels=(48, 96, 192, 384)),
            ),
        ),
        # DCT stem (mmiml's FrequencyPerceptionHead): one-hot |DCT| <= 20 (21 ch), dilated 3x3
        # conv (rate 8), 1x1 conv, x quantisation-table embedding, 8x8 stride-8 conv -> 256 ch
        dct_stem=dict(channels=64, out_channels=256, clip=20, qt_value_mode="embedding"),
        dct_layer=dict(num_blocks=4, num_channels=96),  # residual blocks at stride 8
        dct_stages=[
            dict(num_modules=3, num_branches=2, block="BASIC",
                 num_blocks=(4, 4), num_channels=(96, 192)),
            dict(num_modules=2, num_branches=3, block="BASIC",
                 num_blocks=(4, 4, 4), num_channels=(96, 192, 384)),
        ],
        # fusion: [rgb_4, cat(rgb_8, dct_8), cat(rgb_16, dct_16), cat(rgb_32, dct_32)]
        fuse_stage=dict(num_modules=1, num_branches=4, block="BASIC",
                        num_blocks=(4, 4, 4, 4), num_channels=fuse_channels),
    ),
    decode_head=dict(
        # HRNetV2 head: all scales resized to stride 4, concatenated, 1x1 conv, classifier
        type="FCNHead",
        in_channels=fuse_channels,
        in_index=(0, 1, 2, 3),
        channels=sum(fuse_channels),
        input_transform="resize_concat",
        kernel_size=1,
        num_convs=1,
        concat_input=False,
        dropout_ratio=-1,
        # class-weighted CE, tampered pixels up-weighted (our reading of CAT-Net's weighting)
        loss_decode=dict(type="WeightedCrossEntropyLoss", class_weight=[0.5, 2.5]),
    ),
)
