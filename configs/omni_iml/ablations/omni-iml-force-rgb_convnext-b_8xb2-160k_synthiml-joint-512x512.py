# Ablation (paper scale): forced RGB, "without frequency": every image takes the RGB path. The
# encoder builds no Frequency Perception Head, fused block, fused coarse head or gate, and the
# pipelines are the paper recipe's without LoadJpegDCT: no DCT is loaded or read.
_base_ = ["../../omni_iml_joint.py"]
model = dict(backbone=dict(force="rgb"))
train_pipeline = [
    dict(type="LoadIMLImageFromFile"),
    dict(type="LoadIMLAnnotations"),
    dict(type="RandomJpegRecompress", quality_range=(50, 100), prob=0.5),
    dict(type="GridAlignedRandomCrop", crop_size=(512, 512)),
    dict(type="DCTAwareRandomFlip", prob=0.5),
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
