# PSCC-Net at paper scale trained and tested on the face task only (single-task reference);
# otherwise configs/pscc_net/pscc-net_joint_160k.py.
_base_ = ["./pscc-net_joint_160k.py"]
task = "face"
train_dataloader = dict(sampler=dict(_delete_=True, type="InfiniteSampler", shuffle=True),
                        dataset=dict(tasks=[task]))
val_dataloader = dict(dataset=dict(tasks=[task]))
test_dataloader = val_dataloader
