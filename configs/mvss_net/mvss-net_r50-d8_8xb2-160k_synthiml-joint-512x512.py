# MVSS-Net at paper scale, joint training on all four tasks of SynthIML `paper` (generated on
# first use into data/synthiml/paper): two dilated ResNet-50s from scratch (no ImageNet weights
# are downloaded; pass local ones with model.backbone.resnet.pretrained=PATH), 512 crops, batch 2
# per process (8 processes = 16 per step), RGB only (the noise view is computed in the model),
# tasks sampled 10:5:2:20, AdamW 1e-4 wd 0.05, linear warm-up + poly, 160k iterations.
#
#   python tools/train.py configs/mvss_net/mvss-net_r50-d8_8xb2-160k_synthiml-joint-512x512.py
_base_ = [
    "../_base_/models/mvss_net_r50.py",
    "../_base_/datasets/synthiml_paper_rgb_joint.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_160k_adamw.py",
]
# 512 crops only: none of the data base's random recompression and flips
train_pipeline = [
    dict(type="LoadIMLImageFromFile"),
    dict(type="LoadIMLAnnotations"),
    dict(type="GridAlignedRandomCrop", crop_size=_base_.crop_size),
    dict(type="PackIMLInputs"),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
