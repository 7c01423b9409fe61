# SynthIML, `cpu` profile (1000/100/300 images per task, 128 px), generated on first use into
# data/synthiml/cpu and cached (tools/make_synthetic.py --profile cpu makes it by hand).
dataset_type = "IMLDataset"
data_root = "data/synthiml"
synthiml = dict(profile="cpu", root=data_root)
crop_size = (128, 128)
train_pipeline = [
    dict(type="LoadIMLImageFromFile"),
    dict(type="LoadIMLAnnotations"),
    dict(type="GridAlignedRandomCrop", crop_size=crop_size),
    dict(type="PackIMLInputs"),
]
test_pipeline = [
    dict(type="LoadIMLImageFromFile"),
    dict(type="LoadIMLAnnotations"),
    dict(type="PackIMLInputs"),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type="InfiniteSampler", shuffle=True),
    dataset=dict(
        type=dataset_type,
        ann_file=f"{data_root}/cpu/manifest.jsonl",
        split="train",
        synthiml=synthiml,
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=f"{data_root}/cpu/manifest.jsonl",
        split="test",
        synthiml=synthiml,
        test_mode=True,
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(type="IMLMetric")
test_evaluator = val_evaluator
