# DocTamper protocol: TrainingSet to train; TestingSet, FCD, SCD (each also at min quality
# 75-90) to test
# (docs/datasets.md). Reads the manifests that
#   python tools/benchmark.py --profile doctamper --data-root DIR
# prepares in data/protocols/doctamper/ (every test set scored as its own group), with the paper
# pipeline and the JPEG DCT. For tools/train.py: _base_ = [a model, this file, a runtime, a
# schedule]. The profile draws only the tasks it found; here, leave out of task_weights any
# task you have no training data for.
_base_ = ["./synthiml_paper_joint.py"]
protocol_root = "data/protocols/doctamper"
train_dataloader = dict(
    sampler=dict(_delete_=True, type="TaskWeightedInfiniteSampler",
                 task_weights=dict(document=1.0)),
    dataset=dict(ann_file=f"{protocol_root}/train.jsonl", split="train", synthiml=None),
)
val_dataloader = dict(
    dataset=dict(ann_file=f"{protocol_root}/test.jsonl", split="test", synthiml=None))
test_dataloader = val_dataloader
