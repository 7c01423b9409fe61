# DTD at paper scale (Qu, Luo, et al., CVPR 2023): VPH = ConvNeXt-T stem and first two stages
# (96-192 ch, 3+3 blocks, strides 4/8), FPH on the Y-channel quantised DCT x quantisation table
# (+3 MobileNetV2 blocks), scSE fusion at stride 8, then Swin-S's last three stages (192-384-768
# ch, 2-18-2 blocks, 6-12-24 heads) and the Multi-view Iterative Decoder to 2-class logits
# (1 = tampered). Window 8 (Swin uses 7; 8 tiles the 512-crop grids exactly, our choice). No
# pretrained weights (configs/dtd/README.md).
_base_ = ["./iml_segmentor.py"]
stage_channels = [192, 384, 768]
model = dict(
    type="DTD",
    backbone=dict(
        type="DTDEncoder",
        vph=dict(
            arch=dict(depths=[3, 3], channels=[96, 192]),
            drop_path_rate=0.1,
            layer_scale_init_value=1e-6,
            pretrained=None,  # a local ConvNeXt checkpoint path; nothing is downloaded
            pretrained_missing="warn",
        ),
        fph=dict(channels=64, out_channels=192, clip=20, qt_value_mode="embedding"),
        fph_blocks=3,
        fph_expand_ratio=4,
        stage_channels=stage_channels,
        stage_depths=[2, 18, 2],
        num_heads=[6, 12, 24],
        window_size=8,
        mlp_ratio=4.0,
        drop_path_rate=0.3,
        norm_cfg=_base_.norm_cfg,
    ),
    decode_head=dict(
        type="MultiViewIterativeDecoder",
        in_channels=[96, *stage_channels],
        in_index=[0, 1, 2, 3],
        channels=256,
        num_passes=2,
        dropout_ratio=0.1,
        # cross-entropy + Lovasz-softmax (our reading of the paper's loss)
        loss_decode=[
            dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
            dict(type="LovaszLoss", loss_type="multi_class", per_image=False, reduction="none",
                 loss_weight=1.0),
        ],
    ),
)
