# Omni-IML on the SynthIML `probe` (docs/synthiml/README.md): the tiny CPU twin
# (../omni-iml_convnext-atto_1xb8-1k_synthiml-cpu-joint-128x128.py: same model, optimiser,
# schedule, 1000 iterations of batch 8) with the probe's data in place of SynthIML `cpu`. The
# routed, full model: the Modal Gate picks RGB or RGB+DCT per image. Its variants in this folder
# force or ablate one part each; benchmarks/omni_iml_probe.py trains and tests them all.
_base_ = [
    "../../_base_/models/omni_iml_convnext-atto_cpu.py",
    "../../_base_/datasets/synthiml_probe.py",
    "../../_base_/default_runtime.py",
    "../../_base_/schedules/schedule_1k_cpu.py",
]
