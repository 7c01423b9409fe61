# Paper-scale recipe (docs/design/omni_iml.md section 5; our choice, from the authors' mmseg
# configs):
# AdamW lr 1e-4, wd 0.05, layer-wise decay 0.9, poly with warm-up, 160k iterations. That is
# ./schedule_160k_adamw.py with ConvNeXt's stage-wise lr decay.
_base_ = ["./schedule_160k_adamw.py"]
optim_wrapper = dict(
    paramwise_cfg=dict(decay_rate=0.9, decay_type="stage_wise", num_layers=12),
    constructor="LearningRateDecayOptimizerConstructor",
)
