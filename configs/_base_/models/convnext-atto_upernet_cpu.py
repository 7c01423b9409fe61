# The plain baseline at CPU scale: ConvNeXt-atto from scratch, a 64-channel UPerHead, and
# class-weighted CE (our choice: configs/plain_convnext_uper/README.md says why the weight is
# needed).
_base_ = ["./convnext_upernet.py"]
model = dict(
    backbone=dict(arch="atto", drop_path_rate=0.0),
    decode_head=dict(
        in_channels=[40, 80, 160, 320],
        channels=64,
        dropout_ratio=0.0,
        loss_decode=dict(_delete_=True, type="WeightedCrossEntropyLoss", class_weight=[1.0, 4.0]),
    ),
)
