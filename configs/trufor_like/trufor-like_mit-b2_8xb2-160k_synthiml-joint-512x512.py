# TruFor-like model with two MiT-B2 encoders (see configs/trufor_like/README.md), trained jointly on
# all four tasks with the suite's SegFormer recipe (not TruFor's own schedule), so it compares with
# configs/segformer/segformer_mit-b2_8xb2-160k_synthiml-joint-512x512.py: AdamW lr 6e-5, wd 0.01,
# heads lr x10, no decay on norms; linear warm-up 1500 iterations then poly; 160k iterations; 512
# crops; 2 images per process on 8 GPUs; SynthIML `paper` sampled natural:document:face:scene-text =
# 10:5:2:20 with the paper augmentation (random JPEG Q50-100, flips).
#
#   bash tools/dist_train.sh \
#       configs/trufor_like/trufor-like_mit-b2_8xb2-160k_synthiml-joint-512x512.py 8
_base_ = [
    "../_base_/models/trufor_like_mit-b2.py",
    "../_base_/datasets/synthiml_paper_rgb_joint.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_160k_segformer.py",
]
