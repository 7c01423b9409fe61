# SegFormer (Xie et al., NeurIPS 2021) as an RGB-only localizer: mmseg's MixVisionTransformer
# (MiT-B2) + SegformerHead (all-MLP decoder, 256 channels), 2 classes, softmax CE.
_base_ = ["./iml_segmentor.py"]
model = dict(
    type="EncoderDecoder",
    pretrained=None,
    backbone=dict(
        type="MixVisionTransformer",
        in_channels=3,
        embed_dims=64,
        num_stages=4,
        num_layers=[3, 4, 6, 3],
        num_heads=[1, 2, 5, 8],
        patch_sizes=[7, 3, 3, 3],
        sr_ratios=[8, 4, 2, 1],
        out_indices=(0, 1, 2, 3),
        mlp_ratio=4,
        qkv_bias=True,
        drop_rate=0.0,
        attn_drop_rate=0.0,
        drop_path_rate=0.1,
        # Random initialisation; nothing is downloaded. A local ImageNet MiT checkpoint (mmseg's
        # converted mit_b2) can be given through init_cfg: write
        # init_cfg=dict(type="Pretrained", checkpoint="checkpoints/mit_b2.pth") here, or pass
        # --cfg-options model.backbone.pretrained=PATH (mmseg turns it into that init_cfg).
        pretrained=None,
        init_cfg=None,
    ),
    decode_head=dict(
        type="SegformerHead",
        in_channels=[64, 128, 320, 512],
        in_index=[0, 1, 2, 3],
        channels=256,
        dropout_ratio=0.1,
        loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
    ),
)
