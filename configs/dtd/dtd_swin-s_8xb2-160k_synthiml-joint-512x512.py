# DTD, joint training on all four tasks at the suite's paper scale: ConvNeXt-T VPH + FPH, Swin-S
# stages, Multi-view Iterative Decoder, 512 crops, 16 images per step (8 processes x 2), tasks
# sampled 10:5:2:20, 160k iterations with linear warm-up + poly, so it compares with
# configs/omni_iml_joint.py and
# configs/cat_net/cat-net_hrnetv2-w48_8xb2-160k_synthiml-joint-512x512.py.
#
#   python tools/train.py configs/dtd/dtd_swin-s_8xb2-160k_synthiml-joint-512x512.py
#
# Optimiser: plain AdamW lr 1e-4, wd 0.05 (the suite's recipe). DTD's CLTD curriculum (training
# on progressively harder JPEG compression) is not reproduced, and there are no pretrained
# weights (configs/dtd/README.md).
_base_ = [
    "../_base_/models/dtd_swin-s.py",
    "../_base_/datasets/synthiml_paper_joint.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_160k_adamw.py",
]
