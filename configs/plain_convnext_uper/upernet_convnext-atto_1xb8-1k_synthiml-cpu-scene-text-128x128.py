# Tiny plain ConvNeXt-UPer trained and tested on the scene_text task of SynthIML `cpu` only: the
# single-task reference for the joint twin (same model, schedule and iterations).
_base_ = ["./upernet_convnext-atto_1xb8-1k_synthiml-cpu-joint-128x128.py"]
task = "scene_text"
train_dataloader = dict(sampler=dict(_delete_=True, type="InfiniteSampler", shuffle=True),
                        dataset=dict(tasks=[task]))
val_dataloader = dict(dataset=dict(tasks=[task]))
test_dataloader = val_dataloader
