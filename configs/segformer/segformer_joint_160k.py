# SegFormer-B2 (Xie et al., NeurIPS 2021), RGB only, trained jointly on all four tasks: mmseg's
# ADE20k recipe for SegFormer (AdamW lr 6e-5, wd 0.01, head lr x10, no decay on norms; linear
# warm-up 1500 iterations then poly; 160k iterations; 512 crops; 2 images per process, i.e. 16
# per step on 8 GPUs) on SynthIML `paper` sampled natural:document:face:scene-text = 10:5:2:20
# with the paper augmentation (random JPEG Q50-100, flips). See configs/segformer/README.md.
#
#   bash tools/dist_train.sh configs/segformer/segformer_joint_160k.py 8
_base_ = [
    "../_base_/models/segformer_mit-b2.py",
    "../_base_/datasets/synthiml_cpu.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_160k.py",
]
data_root = "data/synthiml"
synthiml = dict(profile="paper", root=data_root)  # generated on first use (tools/make_synthetic)
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
# batch_size is per process (mmengine): 8 GPUs x 2 = 16 images per step; with fewer processes
# keep 16 with optim_wrapper.accumulative_counts
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    sampler=dict(_delete_=True, type="TaskWeightedInfiniteSampler", task_weights=task_weights),
    dataset=dict(ann_file=ann_file, synthiml=synthiml, pipeline=train_pipeline),
)
val_dataloader = dict(num_workers=4, dataset=dict(ann_file=ann_file, synthiml=synthiml))
test_dataloader = val_dataloader
optim_wrapper = dict(
    _delete_=True,
    type="OptimWrapper",
    optimizer=dict(type="AdamW", lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(
        custom_keys={
            "pos_block": dict(decay_mult=0.0),
            "norm": dict(decay_mult=0.0),
            "head": dict(lr_mult=10.0),
        }
    ),
)
max_iters = 160000
param_scheduler = [
    dict(type="LinearLR", start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type="PolyLR", eta_min=0.0, power=1.0, begin=1500, end=max_iters, by_epoch=False),
]
train_cfg = dict(type="IterBasedTrainLoop", max_iters=max_iters, val_interval=16000)
# mmengine's linear lr scaling when the total batch differs from the recipe's (--auto-scale-lr)
auto_scale_lr = dict(enable=False, base_batch_size=16)
