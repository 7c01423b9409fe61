# The CPU schedule of ./schedule_demo_cpu.py stretched to 1000 iterations: the SynthIML `cpu`
# runs (the baseline and every tiny twin compared with it), one validation at the end.
_base_ = ["./schedule_demo_cpu.py"]
max_iters = 1000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type="LinearLR", start_factor=0.01, by_epoch=False, begin=0, end=30),
    dict(type="PolyLR", eta_min=1e-6, power=1.0, begin=30, end=max_iters, by_epoch=False),
]
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=500))
