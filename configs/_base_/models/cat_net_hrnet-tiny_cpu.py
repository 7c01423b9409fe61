# Tiny CAT-Net for CPU: the same two-stream layout as cat_net_hrnet_w48.py with one module of
# one block per stage and widths 8-16-32-64 (RGB and fusion) / 16-32-64 (DCT), from scratch,
# and class-weighted CE as in the CPU baseline (configs/plain_convnext_uper/README.md explains
# the weight).
_base_ = ["./cat_net_hrnet_w48.py"]
fuse_channels = [8, 16, 32, 64]
model = dict(
    backbone=dict(
        rgb=dict(
            extra=dict(
                stage1=dict(num_blocks=(1,), num_channels=(16,)),
                stage2=dict(num_blocks=(1, 1), num_channels=(8, 16)),
                stage3=dict(num_modules=1, num_blocks=(1, 1, 1), num_channels=(8, 16, 32)),
                stage4=dict(num_modules=1, num_blocks=(1, 1, 1, 1),
                            num_channels=(8, 16, 32, 64)),
            ),
        ),
        dct_stem=dict(channels=16, out_channels=32),
        dct_layer=dict(num_blocks=1, num_channels=16),
        dct_stages=[
            dict(num_modules=1, num_branches=2, block="BASIC",
                 num_blocks=(1, 1), num_channels=(16, 32)),
            dict(num_modules=1, num_branches=3, block="BASIC",
                 num_blocks=(1, 1, 1), num_channels=(16, 32, 64)),
        ],
        fuse_stage=dict(num_blocks=(1, 1, 1, 1), num_channels=fuse_channels),
    ),
    decode_head=dict(
        in_channels=fuse_channels,
        channels=64,
        loss_decode=dict(_delete_=True, type="WeightedCrossEntropyLoss", class_weight=[1.0, 10.0]),
    ),
)
