# Plain ConvNeXt-atto + UPerHead on DemoSplices, trained from scratch on CPU in about 2 minutes.
# Tampered pixels are ~8% of DemoSplices; with plain CE a from-scratch model ranks them well
# (pixel AUC ~0.98) but keeps them under p=0.5 for many hundred iterations, hence the 1:4
# class weight of the CPU model base.
_base_ = [
    "../_base_/models/convnext-atto_upernet_cpu.py",
    "../_base_/datasets/demo_splices.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_demo_cpu.py",
]
