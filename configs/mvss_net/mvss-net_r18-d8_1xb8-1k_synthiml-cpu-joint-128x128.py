# Tiny CPU twin of configs/mvss_net/mvss-net_r50-d8_8xb2-160k_synthiml-joint-512x512.py: MVSS-Net on
# two ResNet-18 (base 32) from scratch, SynthIML `cpu` (128 px) sampled 10:5:2:20 across tasks, 1000
# iterations of batch 8 with the CPU baseline's optimiser and schedule (as the Omni-IML tiny twin),
# RGB only.
_base_ = [
    "../_base_/models/mvss_net_r18_cpu.py",
    "../_base_/datasets/synthiml_cpu_rgb_joint.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_1k_cpu.py",
]
task_weights = dict(natural=10, document=5, face=2, scene_text=20)
