# TruFor-like localizer (Guillaro et al., CVPR 2023; see configs/trufor_like/README.md): a learned
# DnCNN-like noise residual (Noiseprint++ stand-in, trained from scratch: no Noiseprint++
# weights here) after fixed SRM filters, two MiT-B2 encoders (RGB, residual) fused at every
# stage by a simplified CMX rectification + 1x1 fusion, an all-MLP anomaly head (2 classes,
# softmax CE) and an all-MLP confidence head (MSE to the true-class probability).
# The MiT-B2 arguments are SegFormer's (configs/_base_/models/segformer_mit-b2.py), used for both
# encoders; the decode head keeps SegformerHead's widths and adds the confidence branch.
_base_ = ["./segformer_mit-b2.py"]
model = dict(
    type="TruForLike",
    backbone=dict(
        _delete_=True,
        type="TruForLikeEncoder",
        norm_cfg=_base_.norm_cfg,
        # DnCNN / Noiseprint size: 17 convs of 64 channels
        noise_extractor=dict(channels=64, depth=17, use_srm=True, use_bayar=False,
                             srm_clip=None),
        fusion=dict(reduction=1, lambda_c=0.5, lambda_s=0.5),
        mit=_base_.model.backbone,  # its `type` is dropped by the encoder
    ),
    decode_head=dict(
        type="TruForLikeHead",
        conf_channels=None,  # same width as the anomaly head
        confidence_loss_weight=1.0,
        detach_features=True,  # TruFor trains the confidence with the encoder frozen
    ),
)
