# Ablation (tiny, SynthIML `cpu`): AE off: no Anomaly Enhancement (neither block nor detection
# branch).
_base_ = ["../omni-iml-tiny_joint_synthiml-cpu.py"]
model = dict(neck=None)
