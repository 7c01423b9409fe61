# Tiny PSCC-Net for CPU: the paper-scale layout (./pscc_net_hrnet-w18.py) with an atto HRNet
# (one module of one block per stage, widths 8-16-32-64, 8-wide bottleneck stem stage), a
# 16-wide bottom-up path with 8-wide SCCM keys, and class-weighted CE as in the CPU baseline
# (configs/plain_convnext_uper/README.md explains the weight) on every scale. Same structure and
# losses.
_base_ = ["./pscc_net_hrnet-w18.py"]
hrnet_channels = [8, 16, 32, 64]
model = dict(
    backbone=dict(
        extra=dict(
            stage1=dict(num_blocks=(1,), num_channels=(8,)),
            stage2=dict(num_blocks=(1, 1), num_channels=hrnet_channels[:2]),
            stage3=dict(num_modules=1, num_blocks=(1, 1, 1), num_channels=hrnet_channels[:3]),
            stage4=dict(num_modules=1, num_blocks=(1, 1, 1, 1), num_channels=hrnet_channels),
        ),
    ),
    decode_head=dict(
        in_channels=hrnet_channels,
        channels=16,
        key_channels=8,
        loss_decode=dict(_delete_=True, type="WeightedCrossEntropyLoss", class_weight=[1.0, 10.0]),
    ),
)
