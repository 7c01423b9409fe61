# Probe variant: AE box supervision off: the Anomaly Enhancement block is kept, its
# training-only detection branch (RPN and box head on the mask's components) is not built.
_base_ = ["./omni-iml_convnext-atto_1xb8-1k_synthiml-probe-128x128.py"]
model = dict(neck=dict(with_detection=False))
