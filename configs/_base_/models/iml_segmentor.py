# What every segmentor of the suite shares: SyncBN, the ImageNet-normalising preprocessor that
# pads to stride 32 (image, mask and DCT alike), a 2-class decode head (1 = tampered) and
# whole-image inference. The model bases inherit it and add their own parts; they refer to the
# norm as `_base_.norm_cfg` (while a config file runs, mmengine binds `_base_` to its merged base
# config).
norm_cfg = dict(type="SyncBN", requires_grad=True)  # tools/train.py uses BN without a GPU
data_preprocessor = dict(
    type="IMLDataPreProcessor",
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size_divisor=32,
    test_cfg=dict(size_divisor=32),  # test images keep their size; pad to the stride
)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=2, norm_cfg=norm_cfg, align_corners=False),
    train_cfg=dict(),
    test_cfg=dict(mode="whole"),
)
