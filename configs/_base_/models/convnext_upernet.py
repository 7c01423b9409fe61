# The paper's "baseline" row: a plain ConvNeXt + UPerHead segmentor on RGB (Omni-IML ablation).
_base_ = ["./iml_segmentor.py"]
model = dict(
    type="EncoderDecoder",
    backbone=dict(
        type="ConvNeXt",
        arch="base",
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.4,
        layer_scale_init_value=1.0,
        pretrained=None,  # a local checkpoint path; nothing is downloaded
    ),
    decode_head=dict(
        type="UPerHead",
        in_channels=[128, 256, 512, 1024],
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=512,
        dropout_ratio=0.1,
        loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
    ),
)
