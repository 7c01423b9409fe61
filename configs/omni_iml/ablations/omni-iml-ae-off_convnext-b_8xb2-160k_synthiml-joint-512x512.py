# Ablation (paper scale): AE off: no Anomaly Enhancement (neither block nor detection branch).
_base_ = ["../../omni_iml_joint.py"]
model = dict(neck=None)
