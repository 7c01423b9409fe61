# Probe variant: DWD fixed: learned sample-independent kernel mixing.
_base_ = ["./omni-iml_convnext-atto_1xb8-1k_synthiml-probe-128x128.py"]
model = dict(decode_head=dict(mode="fixed"))
