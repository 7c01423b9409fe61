default_scope = "mmseg"
custom_imports = dict(
    imports=["mmiml.datasets", "mmiml.evaluation", "mmiml.models", "mmiml.engine"],
    allow_failed_imports=False,
)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method="fork", opencv_num_threads=0),
    # tools/train.py switches to gloo when there is no GPU
    dist_cfg=dict(backend="nccl"),
)
vis_backends = [dict(type="LocalVisBackend")]
visualizer = dict(type="SegLocalVisualizer", vis_backends=vis_backends, name="visualizer")
log_processor = dict(by_epoch=False)
log_level = "INFO"
load_from = None
resume = False
tta_model = None
# stop at the first NaN/inf loss, before CheckpointHook could save it (mmiml/engine/hooks)
custom_hooks = [dict(type="NaNGuardHook")]
