# Probe variant: forced RGB, "without frequency": every image takes the RGB path. The encoder
# builds no frequency modules, and the pipelines are the probe's without LoadJpegDCT: no DCT is
# loaded or read.
_base_ = ["./omni-iml_convnext-atto_1xb8-1k_synthiml-probe-128x128.py"]
model = dict(backbone=dict(force="rgb"))
train_pipeline = [
    dict(type="LoadIMLImageFromFile"),
    dict(type="LoadIMLAnnotations"),
    dict(type="GridAlignedRandomCrop", crop_size=_base_.crop_size),
    dict(type="PackIMLInputs"),
]
test_pipeline = [
    dict(type="LoadIMLImageFromFile"),
    dict(type="LoadIMLAnnotations"),
    dict(type="PackIMLInputs"),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
