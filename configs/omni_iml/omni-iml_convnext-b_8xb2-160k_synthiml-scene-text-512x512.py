# Omni-IML at paper scale trained and tested on the scene_text task only (single-task reference
# for the
# degradation report); otherwise configs/omni_iml_joint.py.
_base_ = ["../omni_iml_joint.py"]
task = "scene_text"
train_dataloader = dict(sampler=dict(_delete_=True, type="InfiniteSampler", shuffle=True),
                        dataset=dict(tasks=[task]))
val_dataloader = dict(dataset=dict(tasks=[task]))
test_dataloader = val_dataloader
