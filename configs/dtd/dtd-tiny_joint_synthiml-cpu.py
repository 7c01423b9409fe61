# Tiny CPU twin of configs/dtd/dtd_joint_160k.py: DTD at atto-like width from scratch, SynthIML
# `cpu` sampled 10:5:2:20 across tasks, 1000 iterations of batch 8 with the CPU baseline's
# optimiser and schedule (configs/baseline/convnext-atto_upernet_synthiml-cpu.py), so it compares
# model against model with the baseline and the other tiny twins.
_base_ = [
    "../_base_/models/dtd_tiny_cpu.py",
    "../_base_/datasets/synthiml_cpu_joint.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_1k_cpu.py",
]
