# SynthIML `cpu` profile (1000/100/300 images per task, 128 px) for Omni-IML on CPU: the joint
# sampler and DCT of the paper pipeline, at the profile's own 128 px (a 256 crop of a 128 px
# image would be half padding), batch 8. The augmentation is the CPU baseline's (none beyond the
# crop), so the comparison with configs/plain_convnext_uper isolates the model: random
# recompression would also overwrite the compression history that is SynthIML's document evidence.
_base_ = ["./synthiml_paper_joint.py"]
synthiml = dict(profile="cpu", root="data/synthiml")
ann_file = "data/synthiml/cpu/manifest.jsonl"
crop_size = (128, 128)
train_pipeline = [
    dict(type="LoadIMLImageFromFile"),
    dict(type="LoadIMLAnnotations"),
    dict(type="LoadJpegDCT"),
    dict(type="GridAlignedRandomCrop", crop_size=crop_size),
    dict(type="PackIMLInputs"),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    dataset=dict(ann_file=ann_file, synthiml=synthiml, pipeline=train_pipeline),
)
val_dataloader = dict(num_workers=1, dataset=dict(ann_file=ann_file, synthiml=synthiml))
test_dataloader = val_dataloader
