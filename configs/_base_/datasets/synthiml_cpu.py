# SynthIML, `cpu` profile (1000/100/300 images per task, 128 px), generated on first use into
# data/synthiml/cpu and cached (`python tools/make_synthetic.py --profile cpu` makes it by hand).
# Loaders and evaluators as for DemoSplices; SynthIML records its own JPEG history, so no
# recompression augmentation here.
_base_ = ["./demo_splices.py"]
data_root = "data/synthiml"
synthiml = dict(profile="cpu", root=data_root)
crop_size = (128, 128)
train_pipeline = [
    dict(type="LoadIMLImageFromFile"),
    dict(type="LoadIMLAnnotations"),
    dict(type="GridAlignedRandomCrop", crop_size=crop_size),
    dict(type="PackIMLInputs"),
]
train_dataloader = dict(
    dataset=dict(
        ann_file=f"{data_root}/cpu/manifest.jsonl", synthiml=synthiml, pipeline=train_pipeline
    )
)
val_dataloader = dict(dataset=dict(ann_file=f"{data_root}/cpu/manifest.jsonl", synthiml=synthiml))
test_dataloader = val_dataloader
