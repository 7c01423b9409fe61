# Tiny CPU twin of configs/pscc_net/pscc-net_hrnetv2-w18-small_8xb2-160k_synthiml-joint-512x512.py:
# PSCC-Net on an atto HRNet from scratch, SynthIML `cpu` (128 px) sampled 10:5:2:20 across tasks,
# 1000 iterations of batch 8 with the CPU baseline's optimiser and schedule (as the other tiny
# twins), RGB only.
_base_ = [
    "../_base_/models/pscc_net_hrnet-tiny_cpu.py",
    "../_base_/datasets/synthiml_cpu_rgb_joint.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_1k_cpu.py",
]
task_weights = dict(natural=10, document=5, face=2, scene_text=20)
