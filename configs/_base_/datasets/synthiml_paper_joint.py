# SynthIML `paper` profile (10000/500/2000 images per task, 512 px; generated into
# data/synthiml/paper on first use, or by hand with `python tools/make_synthetic.py --profile
# paper`), read with the JPEG DCT for Omni-IML, and sampled 10:5:2:20 across tasks
# (omni_iml_model.md section 5). Paper augmentation: random JPEG Q50-100, flips, 512 crops on the
# 8x8 grid. To train on your own data, point ann_file at a manifest (docs/data_contract.md) and
# drop `synthiml` (configs/omni_iml/README.md).
dataset_type = "IMLDataset"
data_root = "data/synthiml"
synthiml = dict(profile="paper", root=data_root)
ann_file = f"{data_root}/paper/manifest.jsonl"
crop_size = (512, 512)
task_weights = dict(natural=10, document=5, face=2, scene_text=20)
train_pipeline = [
    dict(type="LoadIMLImageFromFile"),
    dict(type="LoadIMLAnnotations"),
    # the DCT comes from the pixels actually fed: the recompression's own, or the file's
    dict(type="RandomJpegRecompress", quality_range=(50, 100), prob=0.5),
    dict(type="LoadJpegDCT"),
    dict(type="GridAlignedRandomCrop", crop_size=crop_size),
    dict(type="DCTAwareRandomFlip", prob=0.5),
    dict(type="PackIMLInputs"),
]
test_pipeline = [
    dict(type="LoadIMLImageFromFile"),
    dict(type="LoadIMLAnnotations"),
    dict(type="LoadJpegDCT"),
    dict(type="PackIMLInputs"),
]
# batch_size is per process (mmengine): 8 GPUs x 2 = the recipe's 16 images per step; with fewer
# processes keep 16 with optim_wrapper.accumulative_counts (configs/omni_iml/README.md).
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type="TaskWeightedInfiniteSampler", task_weights=task_weights),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file,
        split="train",
        synthiml=synthiml,
        pipeline=train_pipeline,
    ),
)
# Test images keep their own size: batch 1, and every image is scored exactly once.
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file,
        split="test",
        test_mode=True,
        synthiml=synthiml,
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(type="IMLMetric")
test_evaluator = val_evaluator
