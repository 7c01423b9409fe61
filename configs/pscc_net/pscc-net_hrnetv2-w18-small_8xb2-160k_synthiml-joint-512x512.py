# PSCC-Net at paper scale, joint training on all four tasks of SynthIML `paper` (generated on
# first use into data/synthiml/paper): HRNet with W18 widths from scratch (no ImageNet weights
# are downloaded; pass local ones with model.backbone.init_cfg), 512 crops, batch 2 per process
# (8 processes = 16 per step), RGB only, tasks sampled 10:5:2:20, the suite's plain AdamW
# recipe (lr 1e-4, wd 0.05, linear warm-up + poly, 160k iterations).
#
#   bash tools/dist_train.sh \
#       configs/pscc_net/pscc-net_hrnetv2-w18-small_8xb2-160k_synthiml-joint-512x512.py 8
_base_ = [
    "../_base_/models/pscc_net_hrnet-w18.py",
    "../_base_/datasets/synthiml_paper_rgb_joint.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_160k_adamw.py",
]
