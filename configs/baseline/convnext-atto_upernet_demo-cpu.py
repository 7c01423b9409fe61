# Plain ConvNeXt-atto + UPerHead on DemoSplices, trained on CPU in a few minutes.
_base_ = [
    "../_base_/models/convnext_upernet.py",
    "../_base_/datasets/demo_splices.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_demo_cpu.py",
]
model = dict(
    backbone=dict(arch="atto", drop_path_rate=0.0),
    decode_head=dict(in_channels=[40, 80, 160, 320], channels=64, dropout_ratio=0.0),
)
