# SynthIML `paper` profile as in ./synthiml_paper_rgb_joint.py (512 px, tasks sampled 10:5:2:20,
# random JPEG Q50-100, flips, 512 crops on the 8x8 grid), read with the JPEG DCT for Omni-IML
# (docs/design/omni_iml.md section 5). To train on your own data, point ann_file at a manifest
# (docs/data_contract.md) and drop `synthiml` (configs/omni_iml/README.md).
_base_ = ["./synthiml_paper_rgb_joint.py"]
train_pipeline = [
    dict(type="LoadIMLImageFromFile"),
    dict(type="LoadIMLAnnotations"),
    # the DCT comes from the pixels actually fed: the recompression's own, or the file's
    dict(type="RandomJpegRecompress", quality_range=(50, 100), prob=0.5),
    dict(type="LoadJpegDCT"),
    dict(type="GridAlignedRandomCrop", crop_size=_base_.crop_size),
    dict(type="DCTAwareRandomFlip", prob=0.5),
    dict(type="PackIMLInputs"),
]
test_pipeline = [
    dict(type="LoadIMLImageFromFile"),
    dict(type="LoadIMLAnnotations"),
    dict(type="LoadJpegDCT"),
    dict(type="PackIMLInputs"),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
