# TruFor-like localizer (Guillaro et al., CVPR 2023; see configs/trufor_like/README.md): a learned
# DnCNN-like noise residual (Noiseprint++ stand-in, trained from scratch: no Noiseprint++
# weights here) after fixed SRM filters, two MiT-B2 encoders (RGB, residual) fused at every
# stage by a simplified CMX rectification + 1x1 fusion, an all-MLP anomaly head (2 classes,
# softmax CE) and an all-MLP confidence head (MSE to the true-class probability).
_base_ = ["./iml_segmentor.py"]
model = dict(
    type="TruForLike",
    pretrained=None,
    backbone=dict(
        type="TruForLikeEncoder",
        norm_cfg=_base_.norm_cfg,
        # DnCNN / Noiseprint size: 17 convs of 64 channels
        noise_extractor=dict(channels=64, depth=17, use_srm=True, use_bayar=False,
                             srm_clip=None),
        fusion=dict(reduction=1, lambda_c=0.5, lambda_s=0.5),
        mit=dict(
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
            # Random initialisation; nothing is downloaded (TruFor starts both MiT encoders from
            # ImageNet weights; a local mit_b2 checkpoint could be given here through init_cfg).
            pretrained=None,
            init_cfg=None,
        ),
    ),
    decode_head=dict(
        type="TruForLikeHead",
        in_channels=[64, 128, 320, 512],
        in_index=[0, 1, 2, 3],
        channels=256,
        dropout_ratio=0.1,
        conf_channels=None,  # same width as the anomaly head
        confidence_loss_weight=1.0,
        detach_features=True,  # TruFor trains the confidence with the encoder frozen
        loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
    ),
)
