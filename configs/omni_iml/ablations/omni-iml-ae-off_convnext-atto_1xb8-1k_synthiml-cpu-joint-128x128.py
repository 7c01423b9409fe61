# Ablation (tiny, SynthIML `cpu`): AE off: no Anomaly Enhancement (neither block nor detection
# branch).
_base_ = ["../omni-iml_convnext-atto_1xb8-1k_synthiml-cpu-joint-128x128.py"]
model = dict(neck=None)
