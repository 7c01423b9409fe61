# IML-ViT (ViT-B) at paper scale trained and tested on the document task only (single-task
# reference); otherwise configs/iml_vit/iml-vit_joint_160k.py.
_base_ = ["./iml-vit_joint_160k.py"]
task = "document"
train_dataloader = dict(sampler=dict(_delete_=True, type="InfiniteSampler", shuffle=True),
                        dataset=dict(tasks=[task]))
val_dataloader = dict(dataset=dict(tasks=[task]))
test_dataloader = val_dataloader
