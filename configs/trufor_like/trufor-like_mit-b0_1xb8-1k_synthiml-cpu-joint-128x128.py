# Tiny TruFor-like model (two MiT-B0 encoders on RGB and a learned noise residual, from scratch) on
# SynthIML `cpu` sampled 10:5:2:20 across tasks, 1000 iterations of batch 8 with the CPU baseline's
# optimiser and schedule, like the tiny SegFormer twin
# (configs/segformer/segformer_mit-b0_1xb8-1k_synthiml-cpu-joint-128x128.py), so they compare model
# against model. No DCT is loaded: the model sees pixels only (its noise residual is computed from
# them).
_base_ = [
    "../_base_/models/trufor_like_mit-b0_cpu.py",
    "../_base_/datasets/synthiml_cpu_rgb_joint.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_1k_cpu.py",
]
task_weights = dict(natural=10, document=5, face=2, scene_text=20)
