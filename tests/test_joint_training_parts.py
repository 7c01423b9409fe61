"""Joint-training parts: the 10:5:2:20 task sampler and layer-wise lr decay for the gate."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import DATA_SAMPLERS, MODELS

from mmiml.engine import layer_decay_groups


class _Tasks:
    def __init__(self, counts: dict[str, int]) -> None:
        self.tasks = [t for t, n in counts.items() for _ in range(n)]
        self.ann_file = "fake/manifest.jsonl"

    def __len__(self) -> int:
        return len(self.tasks)

    def get_data_info(self, i: int) -> dict:
        return {"task": self.tasks[i]}


WEIGHTS = dict(natural=10, document=5, face=2, scene_text=20)


def _sampler(dataset, **kw):
    init_default_scope("mmseg")
    import mmiml.datasets  # noqa: F401

    return DATA_SAMPLERS.build(dict(type="TaskWeightedInfiniteSampler", dataset=dataset,
                                    task_weights=kw.pop("weights", WEIGHTS), seed=0, **kw))


def test_tasks_are_drawn_at_the_configured_ratio_whatever_their_size():
    ds = _Tasks(dict(natural=500, document=50, face=5, scene_text=100))
    drawn = Counter(ds.tasks[i] for i in itertools.islice(iter(_sampler(ds)), 37000))
    for task, w in WEIGHTS.items():
        assert drawn[task] / 37000 == pytest.approx(w / 37, abs=0.01), task


def test_each_task_cycles_through_all_its_images_before_repeating():
    ds = _Tasks(dict(natural=7, document=3, face=2, scene_text=4))
    seen = [i for i in itertools.islice(iter(_sampler(ds)), 400) if ds.tasks[i] == "face"]
    assert sorted(seen[:2]) == [10, 11] and sorted(seen[2:4]) == [10, 11]


def test_ranks_split_one_stream_without_overlap(monkeypatch):
    ds = _Tasks(dict(natural=40, document=40, face=40, scene_text=40))
    single = list(itertools.islice(iter(_sampler(ds)), 200))
    import mmiml.datasets.samplers.task_weighted_sampler as mod

    parts = []
    for rank in (0, 1):
        monkeypatch.setattr(mod, "get_dist_info", lambda r=rank: (r, 2))
        parts.append(list(itertools.islice(iter(_sampler(ds)), 100)))
    assert parts[0] == single[0::2] and parts[1] == single[1::2]


def test_weight_errors_name_the_task():
    ds = _Tasks(dict(natural=4, document=4))
    with pytest.raises(ValueError, match=r"\['face', 'scene_text'\].*no images"):
        _sampler(ds)
    with pytest.raises(ValueError, match=r"\['document'\] have images but no weight"):
        _sampler(ds, weights=dict(natural=1))
    with pytest.raises(ValueError, match="unknown task"):
        _sampler(ds, weights=dict(natural=1, document=1, faces=1))
    only_natural = _sampler(ds, weights=dict(natural=1, document=0))
    assert {ds.tasks[i] for i in itertools.islice(iter(only_natural), 50)} == {"natural"}


def test_layer_decay_reaches_convnext_inside_the_modal_gate_encoder():
    init_default_scope("mmseg")
    import mmiml.models  # noqa: F401

    enc = torch.nn.Module()
    enc.backbone = MODELS.build(dict(type="ModalGateEncoder", backbone=dict(arch="atto"),
                                     fph=dict(channels=8, layout="block")))
    enc.decode_head = torch.nn.Conv2d(4, 2, 1)
    groups = layer_decay_groups(enc, 1e-4, 0.05, dict(num_layers=12, decay_rate=0.9,
                                                      decay_type="stage_wise"))
    scale = {n: g["lr_scale"] for g in groups for n in g["param_names"]}
    wd = {n: g["weight_decay"] for g in groups for n in g["param_names"]}
    assert scale["backbone.convnext.downsample_layers.0.0.weight"] == pytest.approx(0.9 ** 13)
    assert scale["backbone.convnext.stages.3.0.pointwise_conv1.weight"] == pytest.approx(0.9 ** 9)
    assert scale["backbone.convnext.stages.0.0.pointwise_conv1.weight"] == pytest.approx(0.9 ** 12)
    for new in ("backbone.gate.0.weight", "backbone.fuse.block.0.weight",
                "backbone.refine_rgb.block.0.weight", "backbone.fph.block_weight",
                "decode_head.weight"):
        assert scale[new] == 1.0, new
    assert wd["decode_head.bias"] == 0.0 and wd["decode_head.weight"] == 0.05
    assert sum(len(g["params"]) for g in groups) == len(list(enc.parameters()))
