# SynthIML `cpu` profile (./synthiml_cpu.py: 128 px, crops only, batch 8), RGB only, sampled
# 10:5:2:20 across tasks like the paper: the data of the RGB-only tiny twins. The Omni-IML twin
# reads the DCT as well (./synthiml_cpu_joint.py).
_base_ = ["./synthiml_cpu.py"]
task_weights = dict(natural=10, document=5, face=2, scene_text=20)
train_dataloader = dict(
    sampler=dict(_delete_=True, type="TaskWeightedInfiniteSampler", task_weights=task_weights)
)
