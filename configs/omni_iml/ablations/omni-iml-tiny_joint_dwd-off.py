# Ablation (tiny, SynthIML `cpu`): DWD off: plain FPN head, no Dynamic Weight Filters.
_base_ = ["../omni-iml-tiny_joint_synthiml-cpu.py"]
model = dict(decode_head=dict(mode="off"))
