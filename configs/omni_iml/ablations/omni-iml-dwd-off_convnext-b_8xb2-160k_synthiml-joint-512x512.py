# Ablation (paper scale): DWD off: plain FPN head, no Dynamic Weight Filters.
_base_ = ["../../omni_iml_joint.py"]
model = dict(decode_head=dict(mode="off"))
