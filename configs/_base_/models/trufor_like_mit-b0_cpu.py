# Tiny TruFor-like model for CPU: two MiT-B0 encoders (32-64-160-256) from scratch without
# stochastic depth, a 5-conv 16-channel noise extractor, 64-channel anomaly and confidence heads,
# and class-weighted CE as in the CPU baseline (configs/plain_convnext_uper/README.md explains
# the weight).
_base_ = ["./trufor_like_mit-b2.py"]
model = dict(
    backbone=dict(
        noise_extractor=dict(channels=16, depth=5),
        mit=dict(embed_dims=32, num_layers=[2, 2, 2, 2], num_heads=[1, 2, 5, 8],
                 drop_path_rate=0.0),
    ),
    decode_head=dict(
        in_channels=[32, 64, 160, 256],
        channels=64,
        dropout_ratio=0.0,
        loss_decode=dict(_delete_=True, type="WeightedCrossEntropyLoss", class_weight=[1.0, 10.0]),
    ),
)
