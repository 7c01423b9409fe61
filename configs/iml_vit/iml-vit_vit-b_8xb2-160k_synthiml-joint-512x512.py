# IML-ViT with a ViT-B encoder (Ma et al., 2023), RGB only, trained jointly on all four tasks
# with the suite's plain paper-scale recipe (AdamW lr 1e-4, wd 0.05, linear warm-up 1500
# iterations then poly, 160k iterations, 2 images per process, i.e. 16 per step on 8 GPUs) on
# SynthIML `paper` sampled natural:document:face:scene-text = 10:5:2:20 with the paper
# augmentation (random JPEG Q50-100, flips, 512 crops). See configs/iml_vit/README.md.
#
#   bash tools/dist_train.sh configs/iml_vit/iml-vit_vit-b_8xb2-160k_synthiml-joint-512x512.py 8
_base_ = [
    "../_base_/models/iml_vit_vit-b.py",
    "../_base_/datasets/synthiml_paper_rgb_joint.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_160k_adamw.py",
]
# no weight decay on the norms and the positional embedding (MAE/ViTDet fine-tuning practice)
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={
            "pos_embed": dict(decay_mult=0.0),
            "norm": dict(decay_mult=0.0),
        }
    ),
)
