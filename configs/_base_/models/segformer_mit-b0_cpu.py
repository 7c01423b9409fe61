# Tiny SegFormer for CPU: MiT-B0 (32-64-160-256) from scratch without stochastic depth, a
# 64-channel SegformerHead, and class-weighted CE as in the CPU baseline
# (configs/plain_convnext_uper/README.md explains the weight).
_base_ = ["./segformer_mit-b2.py"]
model = dict(
    backbone=dict(embed_dims=32, num_layers=[2, 2, 2, 2], num_heads=[1, 2, 5, 8],
                  drop_path_rate=0.0),
    decode_head=dict(
        in_channels=[32, 64, 160, 256],
        channels=64,
        dropout_ratio=0.0,
        loss_decode=dict(_delete_=True, type="WeightedCrossEntropyLoss", class_weight=[1.0, 10.0]),
    ),
)
