# CAT-Net protocol: CASIA v2 and IMD2020 to train; CASIA v1, Columbia, COVERAGE, NIST16 to test
# (docs/datasets.md). Reads the manifests that
#   python tools/benchmark.py --profile catnet --data-root DIR
# prepares in data/protocols/catnet/ (every test set scored as its own group), with the paper
# pipeline and the JPEG DCT. For tools/train.py: _base_ = [a model, this file, a runtime, a
# schedule]. The profile draws only the tasks it found; here, leave out of task_weights any
# task you have no training data for.
_base_ = ["./synthiml_paper_joint.py"]
protocol_root = "data/protocols/catnet"
train_dataloader = dict(
    sampler=dict(_delete_=True, type="TaskWeightedInfiniteSampler",
                 task_weights=dict(natural=1.0)),
    dataset=dict(ann_file=f"{protocol_root}/train.jsonl", split="train", synthiml=None),
)
val_dataloader = dict(
    dataset=dict(ann_file=f"{protocol_root}/test.jsonl", split="test", synthiml=None))
test_dataloader = val_dataloader
