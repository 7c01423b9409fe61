# SegFormer-B2 at paper scale trained and tested on the scene text task only (single-task
# reference); otherwise configs/segformer/segformer_mit-b2_8xb2-160k_synthiml-joint-512x512.py.
_base_ = ["./segformer_mit-b2_8xb2-160k_synthiml-joint-512x512.py"]
task = "scene_text"
train_dataloader = dict(sampler=dict(_delete_=True, type="InfiniteSampler", shuffle=True),
                        dataset=dict(tasks=[task]))
val_dataloader = dict(dataset=dict(tasks=[task]))
test_dataloader = val_dataloader
