# Ablation (paper scale): DWD fixed: learned sample-independent kernel mixing.
_base_ = ["../../omni_iml_joint.py"]
model = dict(decode_head=dict(mode="fixed"))
