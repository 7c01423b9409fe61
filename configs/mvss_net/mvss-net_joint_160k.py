# MVSS-Net at paper scale, joint training on all four tasks of SynthIML `paper` (generated on
# first use into data/synthiml/paper): two dilated ResNet-50s from scratch (no ImageNet weights
# are downloaded; pass local ones with model.backbone.resnet.pretrained=PATH), 512 crops, batch 2
# per process (8 processes = 16 per step), RGB only (the noise view is computed in the model),
# tasks sampled 10:5:2:20, AdamW 1e-4 wd 0.05, linear warm-up + poly, 160k iterations.
#
#   python tools/train.py configs/mvss_net/mvss-net_joint_160k.py
_base_ = [
    "../_base_/models/mvss_net_r50.py",
    "../_base_/datasets/synthiml_cpu.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_160k.py",
]
data_root = "data/synthiml"
synthiml = dict(profile="paper", root=data_root)
ann_file = f"{data_root}/paper/manifest.jsonl"
crop_size = (512, 512)
task_weights = dict(natural=10, document=5, face=2, scene_text=20)
train_pipeline = [
    dict(type="LoadIMLImageFromFile"),
    dict(type="LoadIMLAnnotations"),
    dict(type="GridAlignedRandomCrop", crop_size=crop_size),
    dict(type="PackIMLInputs"),
]
# batch_size is per process (mmengine); with fewer processes keep 16 per step with
# optim_wrapper.accumulative_counts
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    sampler=dict(_delete_=True, type="TaskWeightedInfiniteSampler", task_weights=task_weights),
    dataset=dict(ann_file=ann_file, synthiml=synthiml, pipeline=train_pipeline),
)
val_dataloader = dict(num_workers=4, dataset=dict(ann_file=ann_file, synthiml=synthiml))
test_dataloader = val_dataloader
# a plain AdamW: the schedule base's layer-decay constructor is ConvNeXt-specific
optim_wrapper = dict(
    _delete_=True,
    type="OptimWrapper",
    optimizer=dict(type="AdamW", lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
)
auto_scale_lr = dict(enable=False, base_batch_size=16)
