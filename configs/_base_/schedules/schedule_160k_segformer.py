# The plain AdamW 160k schedule with mmseg's SegFormer lr, weight decay and per-parameter
# multipliers (AdamW lr 6e-5, wd 0.01, heads lr x10, no decay on norms): the recipe of
# configs/segformer and of the MiT-based zoo models that compare with it.
_base_ = ["./schedule_160k_adamw.py"]
optim_wrapper = dict(
    optimizer=dict(lr=6e-5, weight_decay=0.01),
    paramwise_cfg=dict(
        custom_keys={
            "pos_block": dict(decay_mult=0.0),
            "norm": dict(decay_mult=0.0),
            "head": dict(lr_mult=10.0),
        }
    ),
)
