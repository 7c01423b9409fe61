# PSCC-Net at paper scale trained and tested on the face task only (single-task reference);
# otherwise configs/pscc_net/pscc-net_hrnetv2-w18-small_8xb2-160k_synthiml-joint-512x512.py.
_base_ = ["./pscc-net_hrnetv2-w18-small_8xb2-160k_synthiml-joint-512x512.py"]
task = "face"
train_dataloader = dict(sampler=dict(_delete_=True, type="InfiniteSampler", shuffle=True),
                        dataset=dict(tasks=[task]))
val_dataloader = dict(dataset=dict(tasks=[task]))
test_dataloader = val_dataloader
