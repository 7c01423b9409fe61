# Tiny IML-ViT for CPU: a 96-wide, 4-block, 3-head ViT with patch 8 (not 16: a 64-128 px image
# would be a 4x4-8x8 token grid), 4x4-token windows and global attention in blocks 1 and 3, a
# 64-channel simple pyramid at strides 4/8/16/32 (factors 2, 1, 0.5, 0.25 of the stride-8 map)
# and a 64-channel predict head, no stochastic depth, class-weighted CE as in the CPU baseline
# (configs/plain_convnext_uper/README.md explains the weight) + 20 x edge-band CE.
_base_ = ["./iml_vit_vit-b.py"]
model = dict(
    edge_width=1,
    backbone=dict(patch_size=8, embed_dims=96, depth=4, num_heads=3, window_size=4,
                  global_attn_indices=(1, 3), pretrain_img_size=128, drop_path_rate=0.0),
    decode_head=dict(
        in_channels=96,
        fpn_channels=64,
        scale_factors=(2.0, 1.0, 0.5, 0.25),
        channels=64,
        dropout_ratio=0.0,
        loss_decode=dict(_delete_=True, type="WeightedCrossEntropyLoss", class_weight=[1.0, 10.0]),
    ),
)
