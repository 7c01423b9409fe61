# Ablation (tiny, SynthIML `cpu`): DWD fixed: learned sample-independent kernel mixing.
_base_ = ["../omni-iml-tiny_joint_synthiml-cpu.py"]
model = dict(decode_head=dict(mode="fixed"))
