# Ablation (tiny, SynthIML `cpu`): forced fusion: every image takes the RGB+DCT path (no gate).
_base_ = ["../omni-iml-tiny_joint_synthiml-cpu.py"]
model = dict(backbone=dict(force="fused"))
# the gate gets no gradient when bypassed: DDP must allow unused parameters
find_unused_parameters = True
