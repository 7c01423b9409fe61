# Ablation (tiny, SynthIML `cpu`): forced RGB: every image takes the RGB path (no gate; the FPH
# only feeds its coarse head).
_base_ = ["../omni-iml_convnext-atto_1xb8-1k_synthiml-cpu-joint-128x128.py"]
model = dict(backbone=dict(force="rgb"))
# the gate gets no gradient when bypassed: DDP must allow unused parameters
find_unused_parameters = True
