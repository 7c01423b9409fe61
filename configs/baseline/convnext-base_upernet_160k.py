# Paper-scale plain baseline (ConvNeXt-Base + UPerHead, 512 crops, 160k iterations).
# Point data_root at your own manifest; pass a local ADE20k UperNet-ConvNeXt checkpoint with
# --cfg-options model.backbone.pretrained=PATH (nothing is downloaded).
_base_ = [
    "../_base_/models/convnext_upernet.py",
    "../_base_/datasets/demo_splices.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_160k.py",
]
crop_size = (512, 512)
train_pipeline = [
    dict(type="LoadIMLImageFromFile"),
    dict(type="LoadIMLAnnotations"),
    dict(type="RandomJpegRecompress", quality_range=(50, 100), prob=0.5),
    dict(type="GridAlignedRandomCrop", crop_size=crop_size),
    dict(type="PackIMLInputs"),
]
# batch_size is per process: 8 GPUs x 2 = 16 images per step, as in the paper recipe
train_dataloader = dict(batch_size=2, num_workers=4, dataset=dict(pipeline=train_pipeline))
