# DTD at paper scale trained and tested on the natural task only (single-task reference
# for the degradation report); otherwise configs/dtd/dtd_swin-s_8xb2-160k_synthiml-joint-512x512.py.
_base_ = ["./dtd_swin-s_8xb2-160k_synthiml-joint-512x512.py"]
task = "natural"
train_dataloader = dict(sampler=dict(_delete_=True, type="InfiniteSampler", shuffle=True),
                        dataset=dict(tasks=[task]))
val_dataloader = dict(dataset=dict(tasks=[task]))
test_dataloader = val_dataloader
