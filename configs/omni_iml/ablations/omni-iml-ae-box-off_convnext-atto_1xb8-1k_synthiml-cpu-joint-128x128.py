# Ablation (tiny, SynthIML `cpu`): AE box supervision off: the Anomaly Enhancement block is kept,
# the training-only detection branch (RPN + RoI box losses) is not built.
_base_ = ["../omni-iml_convnext-atto_1xb8-1k_synthiml-cpu-joint-128x128.py"]
model = dict(neck=dict(with_detection=False))
