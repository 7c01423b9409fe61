# IML-ViT (Ma et al., 2023) at paper scale, RGB only: a ViT-B (768 wide, 12 blocks, 12 heads,
# patch 16) with 14x14-token windowed attention and global attention in blocks 2, 5, 8, 11
# (ViTDet layout), a simple feature pyramid at strides 4/8/16/32 (256 ch) and an all-MLP predict
# head (256 ch), 2 classes, softmax CE over all pixels + 20 x CE on the mask's edge band.
# The paper feeds 1024 px images; we train on 512 crops (the absolute positional embedding is
# defined for 512 and resized bicubically to other token grids). See configs/iml_vit/README.md.
_base_ = ["./iml_segmentor.py"]
model = dict(
    type="IMLViT",
    pretrained=None,
    edge_loss_weight=20.0,  # the paper's lambda
    edge_width=2,  # band of 2 px either side of the boundary (our choice)
    backbone=dict(
        type="WindowedViT",
        in_channels=3,
        patch_size=16,
        embed_dims=768,
        depth=12,
        num_heads=12,
        mlp_ratio=4,
        qkv_bias=True,
        window_size=14,
        global_attn_indices=(2, 5, 8, 11),
        pretrain_img_size=512,
        drop_rate=0.0,
        attn_drop_rate=0.0,
        drop_path_rate=0.1,
        # Random initialisation; nothing is downloaded. IML-ViT starts from MAE ImageNet-1k
        # weights: a local checkpoint converted to this module's keys can be given with
        # init_cfg=dict(type="Pretrained", checkpoint="checkpoints/mae_vit-b.pth").
        init_cfg=None,
    ),
    decode_head=dict(
        type="IMLViTHead",
        in_channels=768,
        in_index=0,
        fpn_channels=256,
        scale_factors=(4.0, 2.0, 1.0, 0.5),
        channels=256,
        dropout_ratio=0.1,
        loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
    ),
)
