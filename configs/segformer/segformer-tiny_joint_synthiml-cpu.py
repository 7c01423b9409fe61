# Tiny SegFormer (MiT-B0 from scratch, RGB only) on SynthIML `cpu` sampled 10:5:2:20 across
# tasks, 1000 iterations of batch 8 with the CPU baseline's optimiser and schedule, like the tiny
# Omni-IML twin (configs/omni_iml/omni-iml-tiny_joint_synthiml-cpu.py), so they compare model
# against model. No DCT is loaded: SegFormer sees pixels only.
_base_ = [
    "../_base_/models/segformer_mit-b0_cpu.py",
    "../_base_/datasets/synthiml_cpu.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_demo_cpu.py",
]
task_weights = dict(natural=10, document=5, face=2, scene_text=20)
train_dataloader = dict(
    sampler=dict(_delete_=True, type="TaskWeightedInfiniteSampler", task_weights=task_weights)
)
max_iters = 1000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type="LinearLR", start_factor=0.01, by_epoch=False, begin=0, end=30),
    dict(type="PolyLR", eta_min=1e-6, power=1.0, begin=30, end=max_iters, by_epoch=False),
]
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=500))
