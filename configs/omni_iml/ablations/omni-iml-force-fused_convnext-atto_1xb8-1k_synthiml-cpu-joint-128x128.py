# Ablation (tiny, SynthIML `cpu`): forced fusion: every image takes the RGB+DCT path
# (no gate is built).
_base_ = ["../omni-iml_convnext-atto_1xb8-1k_synthiml-cpu-joint-128x128.py"]
model = dict(backbone=dict(force="fused"))
