# Ablation (paper scale): AE box supervision off: the Anomaly Enhancement block is kept, the
# training-only detection branch (RPN + RoI box losses) is not built.
_base_ = ["../../omni_iml_joint.py"]
model = dict(neck=dict(with_detection=False))
