# Tiny plain ConvNeXt-UPer (the paper's "baseline" row at CPU scale): ConvNeXt-atto from scratch + a
# 64-channel UPerHead, RGB only, on SynthIML `cpu` sampled 10:5:2:20 across tasks, 1000 iterations
# of batch 8 with the CPU baseline's optimiser and schedule, like every other tiny twin of the zoo.
# Class weight 1:10 as
# configs/plain_convnext_uper/upernet_convnext-atto_1xb8-1k_synthiml-cpu-128x128.py.
_base_ = [
    "../_base_/models/convnext-atto_upernet_cpu.py",
    "../_base_/datasets/synthiml_cpu_rgb_joint.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_1k_cpu.py",
]
task_weights = dict(natural=10, document=5, face=2, scene_text=20)
model = dict(decode_head=dict(loss_decode=dict(class_weight=[1.0, 10.0])))
