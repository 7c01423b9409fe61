# Tiny CPU twin of configs/omni_iml_joint.py: Omni-IML on ConvNeXt-atto from scratch, SynthIML `cpu`
# sampled 10:5:2:20 across tasks, 1000 iterations of batch 8 with the CPU baseline's optimiser and
# schedule (configs/plain_convnext_uper/upernet_convnext-atto_1xb8-1k_synthiml-cpu-128x128.py), so
# the two compare model against model. Trains in minutes on 2 cores.
_base_ = [
    "../_base_/models/omni_iml_convnext-atto_cpu.py",
    "../_base_/datasets/synthiml_cpu_joint.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_1k_cpu.py",
]
