# Plain ConvNeXt-Base + UPerHead at paper scale trained and tested on the document task only
# (single-task reference); otherwise ./upernet_convnext-b_8xb2-160k_synthiml-joint-512x512.py.
_base_ = ["./upernet_convnext-b_8xb2-160k_synthiml-joint-512x512.py"]
task = "document"
train_dataloader = dict(sampler=dict(_delete_=True, type="InfiniteSampler", shuffle=True),
                        dataset=dict(tasks=[task]))
val_dataloader = dict(dataset=dict(tasks=[task]))
test_dataloader = val_dataloader
