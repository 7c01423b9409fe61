# Plain ConvNeXt-Base + UPerHead (the paper's "baseline" row, docs/design/omni_iml.md), RGB only,
# trained jointly on all four tasks with the Omni-IML recipe (AdamW 1e-4, stage-wise layer decay
# 0.9, 160k iterations, 512 crops, 2 images per process = 16 per step on 8 GPUs) on SynthIML
# `paper` sampled 10:5:2:20 with the paper augmentation. A local ADE20k UperNet-ConvNeXt
# checkpoint can be given with --cfg-options model.backbone.pretrained=PATH (nothing is
# downloaded).
#
#   bash tools/dist_train.sh \
#       configs/plain_convnext_uper/upernet_convnext-b_8xb2-160k_synthiml-joint-512x512.py 8
_base_ = [
    "../_base_/models/convnext_upernet.py",
    "../_base_/datasets/synthiml_paper_rgb_joint.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_160k.py",
]
