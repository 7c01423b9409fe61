# Paper-scale recipe (docs/design/omni_iml.md section 5; our choice, from the authors' mmseg
# configs):
# plain AdamW lr 1e-4, wd 0.05, poly with warm-up, 160k iterations, 16 images per step. The
# models that are not ConvNeXts train with it as is; ./schedule_160k.py adds ConvNeXt's
# layer-wise lr decay.
max_iters = 160000
optim_wrapper = dict(
    type="OptimWrapper",
    optimizer=dict(type="AdamW", lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
)
param_scheduler = [
    dict(type="LinearLR", start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type="PolyLR", eta_min=0.0, power=1.0, begin=1500, end=max_iters, by_epoch=False),
]
train_cfg = dict(type="IterBasedTrainLoop", max_iters=max_iters, val_interval=16000)
val_cfg = dict(type="ValLoop")
test_cfg = dict(type="TestLoop")
default_hooks = dict(
    timer=dict(type="IterTimerHook"),
    logger=dict(type="LoggerHook", interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type="ParamSchedulerHook"),
    checkpoint=dict(type="CheckpointHook", by_epoch=False, interval=16000, max_keep_ckpts=3),
    sampler_seed=dict(type="DistSamplerSeedHook"),
    visualization=dict(type="SegVisualizationHook"),
)
# mmengine's linear lr scaling when the total batch differs from the recipe's (--auto-scale-lr)
auto_scale_lr = dict(enable=False, base_batch_size=16)
