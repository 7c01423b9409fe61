# Tiny MVSS-Net for CPU: the paper-scale model (./mvss_net_r50.py) with two dilated ResNet-18s of
# base width 32 (32-64-128-256, output stride 8) from scratch, a 16-wide ERB chain, a 64-wide
# dual-attention head and a 1-pixel edge band (128 px images). Same losses and weights.
_base_ = ["./mvss_net_r50.py"]
model = dict(
    backbone=dict(
        resnet=dict(depth=18, stem_channels=32, base_channels=32),
        edge_channels=16,
    ),
    decode_head=dict(in_channels=[256, 256], channels=64, dropout_ratio=0.0),
    edge_width=1,
)
