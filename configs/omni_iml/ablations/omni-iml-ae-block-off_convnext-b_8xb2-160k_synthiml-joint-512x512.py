# Ablation (paper scale): AE block off: no enhancement convolutions (the neck passes the backbone
# features through), the detection branch trains on the backbone features themselves.
_base_ = ["../../omni_iml_joint.py"]
model = dict(neck=dict(with_block=False))
