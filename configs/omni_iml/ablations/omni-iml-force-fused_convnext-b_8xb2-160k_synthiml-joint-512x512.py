# Ablation (paper scale): forced fusion: every image takes the RGB+DCT path
# (no gate is built).
_base_ = ["../../omni_iml_joint.py"]
model = dict(backbone=dict(force="fused"))
