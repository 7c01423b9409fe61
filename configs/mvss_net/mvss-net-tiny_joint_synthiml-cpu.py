# Tiny CPU twin of configs/mvss_net/mvss-net_joint_160k.py: MVSS-Net on two ResNet-18 (base 32)
# from scratch, SynthIML `cpu` (128 px) sampled 10:5:2:20 across tasks, 1000 iterations of
# batch 8 with the CPU baseline's optimiser and schedule (as the Omni-IML tiny twin), RGB only.
_base_ = [
    "../_base_/models/mvss_net_r18_cpu.py",
    "../_base_/datasets/synthiml_cpu.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_demo_cpu.py",
]
task_weights = dict(natural=10, document=5, face=2, scene_text=20)
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    sampler=dict(_delete_=True, type="TaskWeightedInfiniteSampler", task_weights=task_weights),
)
val_dataloader = dict(num_workers=1)
test_dataloader = val_dataloader
max_iters = 1000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type="LinearLR", start_factor=0.01, by_epoch=False, begin=0, end=30),
    dict(type="PolyLR", eta_min=1e-6, power=1.0, begin=30, end=max_iters, by_epoch=False),
]
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=500))
