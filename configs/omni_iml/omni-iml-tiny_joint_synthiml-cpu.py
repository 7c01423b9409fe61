# Tiny CPU twin of configs/omni_iml_joint.py: Omni-IML on ConvNeXt-atto from scratch, SynthIML
# `cpu` sampled 10:5:2:20 across tasks, 1000 iterations of batch 8 with the CPU baseline's
# optimiser and schedule (configs/baseline/convnext-atto_upernet_synthiml-cpu.py), so the two
# compare model against model. Trains in minutes on 2 cores.
_base_ = [
    "../_base_/models/omni_iml_convnext-atto_cpu.py",
    "../_base_/datasets/synthiml_cpu_joint.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_1k_cpu.py",
]
