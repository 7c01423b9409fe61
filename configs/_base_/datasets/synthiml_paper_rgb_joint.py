# SynthIML `paper` profile (10000/500/2000 images per task, 512 px; generated into
# data/synthiml/paper on first use, or by hand with `python tools/make_synthetic.py --profile
# paper`), RGB only, sampled 10:5:2:20 across tasks (docs/design/omni_iml.md section 5). Paper
# augmentation: random JPEG Q50-100, flips, 512 crops on the 8x8 grid. Loaders and evaluators as
# for DemoSplices; ./synthiml_paper_joint.py is the same with the JPEG DCT. To train on your own
# data, point ann_file at a manifest (docs/data_contract.md) and drop `synthiml`.
_base_ = ["./demo_splices.py"]
data_root = "data/synthiml"
synthiml = dict(profile="paper", root=data_root)
ann_file = f"{data_root}/paper/manifest.jsonl"
crop_size = (512, 512)
task_weights = dict(natural=10, document=5, face=2, scene_text=20)
train_pipeline = [
    dict(type="LoadIMLImageFromFile"),
    dict(type="LoadIMLAnnotations"),
    dict(type="RandomJpegRecompress", quality_range=(50, 100), prob=0.5),
    dict(type="GridAlignedRandomCrop", crop_size=crop_size),
    dict(type="DCTAwareRandomFlip", prob=0.5),
    dict(type="PackIMLInputs"),
]
# batch_size is per process (mmengine): 8 GPUs x 2 = the recipe's 16 images per step; with fewer
# processes keep 16 with optim_wrapper.accumulative_counts (configs/omni_iml/README.md).
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    sampler=dict(_delete_=True, type="TaskWeightedInfiniteSampler", task_weights=task_weights),
    dataset=dict(ann_file=ann_file, synthiml=synthiml, pipeline=train_pipeline),
)
val_dataloader = dict(num_workers=4, dataset=dict(ann_file=ann_file, synthiml=synthiml))
test_dataloader = val_dataloader
