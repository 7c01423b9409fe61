# SynthIML `probe` profile (1600/100/400 natural images, 128 px, two groups: `compression` and
# `pixel`; docs/synthiml/README.md), generated on first use into data/synthiml/probe (or by hand
# with `python tools/make_synthetic.py --profile probe`), read with the JPEG DCT for Omni-IML.
# As ./synthiml_cpu_joint.py, but one task: an ordinary shuffled infinite sampler instead of the
# task-weighted one. No augmentation beyond the (128 on 128 px: identity) grid-aligned crop:
# recompression or resizing would overwrite the compression history that is one group's only
# evidence. Samples carry their `group` into the metainfo (PackIMLInputs packs it by default),
# where IMLMetric scores each group.
_base_ = ["./demo_splices.py"]
data_root = "data/synthiml"
synthiml = dict(profile="probe", root=data_root)
ann_file = f"{data_root}/probe/manifest.jsonl"
crop_size = (128, 128)
train_pipeline = [
    dict(type="LoadIMLImageFromFile"),
    dict(type="LoadIMLAnnotations"),
    dict(type="LoadJpegDCT"),
    dict(type="GridAlignedRandomCrop", crop_size=crop_size),
    dict(type="PackIMLInputs"),
]
test_pipeline = [
    dict(type="LoadIMLImageFromFile"),
    dict(type="LoadIMLAnnotations"),
    dict(type="LoadJpegDCT"),
    dict(type="PackIMLInputs"),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    sampler=dict(type="InfiniteSampler", shuffle=True),
    dataset=dict(ann_file=ann_file, synthiml=synthiml, pipeline=train_pipeline),
)
val_dataloader = dict(
    num_workers=1,
    dataset=dict(ann_file=ann_file, synthiml=synthiml, pipeline=test_pipeline),
)
test_dataloader = val_dataloader
