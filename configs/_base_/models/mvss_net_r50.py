# MVSS-Net at paper scale (Chen et al., ICCV 2021; configs/mvss_net/README.md): two dilated
# ResNet-50s (output stride 8) from scratch, edge-supervised on RGB (Sobel + ERB per stage) and
# noise-sensitive after a 5x5 BayarConv2d, dual attention on both last stages, 2-class softmax.
# Losses: Dice (mask, 0.16), edge BCE (0.8), image-level BCE on the global max (0.04).
_base_ = ["./iml_segmentor.py"]
resnet = dict(
    type="ResNet",
    depth=50,
    num_stages=4,
    strides=(1, 2, 1, 1),
    dilations=(1, 1, 2, 4),
    style="pytorch",
    contract_dilation=True,
    norm_cfg=_base_.norm_cfg,
    norm_eval=False,
    pretrained=None,  # a local checkpoint path; nothing is downloaded
)
model = dict(
    type="MVSSNet",
    backbone=dict(
        type="MVSSBranches",
        resnet=resnet,  # the noise branch copies it (noise_resnet=None)
        edge_channels=64,
        sobel_reduce="mean",
        bayar=dict(out_channels=3, kernel_size=5),
        norm_cfg=_base_.norm_cfg,
    ),
    decode_head=dict(
        type="MVSSHead",
        in_channels=[2048, 2048],  # ESB and NSB last stages
        in_index=[1, 2],  # the backbone returns [edge_logits, esb_c4, nsb_c4]
        input_transform="multiple_select",
        channels=512,
        dropout_ratio=0.1,
        loss_decode=dict(type="TamperedDiceLoss", loss_weight=0.16),
    ),
    edge_loss_weight=0.8,
    image_loss_weight=0.04,
    edge_width=2,
    edge_loss="bce",
)
