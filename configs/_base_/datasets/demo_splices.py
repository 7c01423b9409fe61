# DemoSplices: the small four-task set that tools/make_demo_data.py writes (CPU smoke scale).
dataset_type = "IMLDataset"
data_root = "data/demo_splices"
crop_size = (128, 128)
train_pipeline = [
    dict(type="LoadIMLImageFromFile"),
    dict(type="LoadIMLAnnotations"),
    dict(type="RandomJpegRecompress", quality_range=(70, 100), prob=0.3),
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
        ann_file=f"{data_root}/manifest.jsonl",
        split="train",
        pipeline=train_pipeline,
    ),
)
# Test images keep their own size: batch 1, and every image is scored exactly once.
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=f"{data_root}/manifest.jsonl",
        split="test",
        test_mode=True,
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(type="IMLMetric")
test_evaluator = val_evaluator
