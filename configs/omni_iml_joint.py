# Omni-IML, joint training on all four tasks: the paper recipe (docs/design/omni_iml.md section 5).
# ConvNeXt-Base, 512 crops, 16 images per step (8 processes x 2), AdamW lr 1e-4 wd 0.05 with
# stage-wise lr decay 0.9, poly with linear warm-up, 160k iterations, tasks sampled
# natural:document:face:scene-text = 10:5:2:20.
#
#   python tools/train.py configs/omni_iml_joint.py
#
# Data: SynthIML `paper`, generated on first use (see configs/omni_iml/README.md for the time it
# takes, and for pointing the config at your own manifests). Initialisation: a local ADE20k
# UperNet-ConvNeXt-B checkpoint at `ade20k_checkpoint` (nothing is downloaded); when the file is
# absent the model starts from random weights and a warning says so.
_base_ = [
    "./_base_/models/omni_iml_convnext-b.py",
    "./_base_/datasets/synthiml_paper_joint.py",
    "./_base_/default_runtime.py",
    "./_base_/schedules/schedule_160k.py",
]
ade20k_checkpoint = "checkpoints/upernet_convnext_base_fp16_512x512_160k_ade20k.pth"
# (the preprocessor keeps size_divisor=32: GridAlignedRandomCrop already pads every crop to 512)
model = dict(
    backbone=dict(backbone=dict(pretrained=ade20k_checkpoint, pretrained_missing="warn")),
)
optim_wrapper = dict(constructor="ModalGateLayerDecayOptimizerConstructor")
