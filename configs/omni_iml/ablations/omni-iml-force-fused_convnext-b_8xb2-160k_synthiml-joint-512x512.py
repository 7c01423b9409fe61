# Ablation (paper scale): forced fusion: every image takes the RGB+DCT path (no gate).
_base_ = ["../../omni_iml_joint.py"]
model = dict(backbone=dict(force="fused"))
# the gate gets no gradient when bypassed: DDP must allow unused parameters
find_unused_parameters = True
