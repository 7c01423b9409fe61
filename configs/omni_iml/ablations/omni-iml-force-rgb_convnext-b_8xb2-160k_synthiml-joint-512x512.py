# Ablation (paper scale): forced RGB: every image takes the RGB path (no gate; the FPH only feeds
# its coarse head).
_base_ = ["../../omni_iml_joint.py"]
model = dict(backbone=dict(force="rgb"))
# the gate gets no gradient when bypassed: DDP must allow unused parameters
find_unused_parameters = True
