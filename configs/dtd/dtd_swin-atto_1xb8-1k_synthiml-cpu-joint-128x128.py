# Tiny CPU twin of configs/dtd/dtd_swin-s_8xb2-160k_synthiml-joint-512x512.py: DTD at atto-like
# width from scratch, SynthIML `cpu` sampled 10:5:2:20 across tasks, 1000 iterations of batch 8 with
# the CPU baseline's optimiser and schedule
# (configs/plain_convnext_uper/upernet_convnext-atto_1xb8-1k_synthiml-cpu-128x128.py), so it
# compares model against model with the baseline and the other tiny twins.
_base_ = [
    "../_base_/models/dtd_tiny_cpu.py",
    "../_base_/datasets/synthiml_cpu_joint.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_1k_cpu.py",
]
