# Ablation (tiny, SynthIML `cpu`): AE block off: no enhancement convolutions (the neck passes the
# backbone features through), the detection branch trains on the backbone features themselves.
_base_ = ["../omni-iml_convnext-atto_1xb8-1k_synthiml-cpu-joint-128x128.py"]
model = dict(neck=dict(with_block=False))
