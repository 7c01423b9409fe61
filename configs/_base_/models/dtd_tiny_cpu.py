# Tiny DTD for CPU: the layout of dtd_swin-s.py at atto-like width (VPH 24-48 ch, one block per
# stage; FPH 8 ch, one MobileNetV2 block; transformer stages 48-96-192 with 1-2-1 blocks, window
# 4; MID 32 ch, two passes), from scratch, and class-weighted CE as in the CPU baseline
# (configs/plain_convnext_uper/README.md explains the weight).
_base_ = ["./dtd_swin-s.py"]
stage_channels = [48, 96, 192]
model = dict(
    backbone=dict(
        vph=dict(arch=dict(depths=[1, 1], channels=[24, 48]), drop_path_rate=0.0),
        fph=dict(channels=8, out_channels=48),
        fph_blocks=1,
        fph_expand_ratio=2,
        stage_channels=stage_channels,
        stage_depths=[1, 2, 1],
        num_heads=[2, 3, 6],
        window_size=4,
        mlp_ratio=2.0,
        drop_path_rate=0.0,
    ),
    decode_head=dict(
        in_channels=[24, *stage_channels],
        channels=32,
        num_passes=2,
        dropout_ratio=0.0,
        loss_decode=dict(_delete_=True, type="WeightedCrossEntropyLoss", class_weight=[1.0, 10.0]),
    ),
)
