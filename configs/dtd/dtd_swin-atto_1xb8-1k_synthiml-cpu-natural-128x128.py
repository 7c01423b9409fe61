# Tiny DTD trained and tested on the natural task of SynthIML `cpu` only: the single-task
# reference that the joint twin is compared with (same model, schedule and iterations).
_base_ = ["./dtd_swin-atto_1xb8-1k_synthiml-cpu-joint-128x128.py"]
task = "natural"
train_dataloader = dict(sampler=dict(_delete_=True, type="InfiniteSampler", shuffle=True),
                        dataset=dict(tasks=[task]))
val_dataloader = dict(dataset=dict(tasks=[task]))
test_dataloader = val_dataloader
