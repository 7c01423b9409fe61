# SegFormer-B2 (Xie et al., NeurIPS 2021), RGB only, trained jointly on all four tasks: mmseg's
# ADE20k recipe for SegFormer (AdamW lr 6e-5, wd 0.01, head lr x10, no decay on norms; linear
# warm-up 1500 iterations then poly; 160k iterations; 512 crops; 2 images per process, i.e. 16
# per step on 8 GPUs) on SynthIML `paper` sampled natural:document:face:scene-text = 10:5:2:20
# with the paper augmentation (random JPEG Q50-100, flips). See configs/segformer/README.md.
#
#   bash tools/dist_train.sh \
#       configs/segformer/segformer_mit-b2_8xb2-160k_synthiml-joint-512x512.py 8
_base_ = [
    "../_base_/models/segformer_mit-b2.py",
    "../_base_/datasets/synthiml_paper_rgb_joint.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_160k_segformer.py",
]
