"""CAT-Net: two-stream (RGB HRNet + JPEG DCT) encoder, segmentor, configs and a tiny overfit."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import DATASETS, MODELS
from mmseg.structures import SegDataSample

from mmiml import TASKS

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "configs/cat_net/cat-net-tiny_joint_synthiml-cpu.py"
PAPER = ROOT / "configs/cat_net/cat-net_joint_160k.py"


def _cfg(path: Path) -> Config:
    import mmiml.datasets  # noqa: F401
    import mmiml.models  # noqa: F401

    init_default_scope("mmseg")
    return Config.fromfile(str(path))


def _tiny(**over):
    cfg = _cfg(TINY)
    cfg.model.update(over)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def _batch(n=2, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for i in range(n):
        inputs.append(torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8))
        s = SegDataSample()
        gt = torch.zeros(1, size, size, dtype=torch.long)
        gt[:, 8:24, 8:24] = 1
        s.gt_sem_seg = PixelData(data=gt)
        s.set_field(PixelData(data=torch.randint(-20, 21, (1, size, size), generator=g,
                                                 dtype=torch.int16)), "dct")
        s.set_field(torch.randint(1, 50, (8, 8), generator=g), "qtable")
        s.set_metainfo(dict(task=("natural", "document")[i % 2], img_shape=(size, size),
                            ori_shape=(size, size), pad_shape=(size, size)))
        samples.append(s)
    return {"inputs": inputs, "data_samples": samples}


def _has_grad(module: torch.nn.Module) -> bool:
    return any(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())


def test_training_step_reaches_both_streams_fusion_and_head():
    model = _tiny()
    assert type(model).__name__ == "CATNet"
    assert type(model.backbone).__name__ == "CATNetBackbone"
    model.train()
    data = model.data_preprocessor(_batch(), True)
    losses = model(**data, mode="loss")
    assert "decode.loss_ce" in losses
    total = sum(v for k, v in losses.items() if "loss" in k)
    assert torch.isfinite(total)
    total.backward()
    for name in ("backbone.rgb", "backbone.dct_stem", "backbone.dct_stem.dilated_conv",
                 "backbone.dct_stem.qt_embed", "backbone.dct_stem.block_conv",
                 "backbone.dct_layer", "backbone.dct_transitions", "backbone.dct_stages",
                 "backbone.fuse", "decode_head"):
        assert _has_grad(model.get_submodule(name)), name
    qt = model.backbone.dct_stem.qt_embed
    assert qt.value_embed.weight.grad.abs().sum() > 0 and qt.pos_embed.grad.abs().sum() > 0


def test_features_are_multi_scale_and_fuse_both_streams():
    model = _tiny().eval()
    bb = model.backbone
    x = torch.randn(1, 3, 64, 64)
    dct = torch.randint(-20, 21, (1, 1, 64, 64), dtype=torch.int16)
    qt = torch.randint(1, 50, (1, 8, 8))
    with torch.no_grad():
        feats = bb(x, dct, qt)
        freq = bb.forward_dct(dct, qt)
    assert [tuple(f.shape) for f in feats] == [(1, 8, 16, 16), (1, 16, 8, 8), (1, 32, 4, 4),
                                                (1, 64, 2, 2)]
    assert [tuple(f.shape[-2:]) for f in freq] == [(8, 8), (4, 4), (2, 2)]
    assert bb.rgb_channels == [8, 16, 32, 64] and bb.dct_channels == [16, 32, 64]


def test_prediction_keeps_the_size_and_depends_on_the_qtable():
    model = _tiny().eval()
    batch = _batch()
    data = model.data_preprocessor(batch, False)
    with torch.no_grad():
        out = model(**data, mode="predict")
    logits = out[0].seg_logits.data
    assert logits.shape == (2, 64, 64) and torch.isfinite(logits).all()
    assert out[0].pred_sem_seg.data.shape == (1, 64, 64)

    other = _batch()  # same pixels and DCT, only the quantisation tables change
    for s in other["data_samples"]:
        s.qtable = s.qtable + 7
    data2 = model.data_preprocessor(other, False)
    assert torch.equal(data["inputs"], data2["inputs"])
    with torch.no_grad():
        logits2 = model(**data2, mode="predict")[0].seg_logits.data
    assert not torch.allclose(logits, logits2)


def test_tensor_mode_returns_stride4_logits():
    model = _tiny().eval()
    data = model.data_preprocessor(_batch(), False)
    with torch.no_grad():
        out = model(**data, mode="tensor")
    assert out.shape == (2, 2, 16, 16)


def test_missing_dct_is_a_named_error():
    model = _tiny().eval()
    batch = _batch()
    for s in batch["data_samples"]:
        del s.dct
        del s.qtable
    data = model.data_preprocessor(batch, False)
    with pytest.raises(ValueError, match="LoadJpegDCT"):
        model(**data, mode="predict")
    with pytest.raises(ValueError, match="LoadJpegDCT"):
        model.backbone(data["inputs"], None, None)


def test_slide_inference_is_refused():
    with pytest.raises(ValueError, match="whole"):
        _tiny(test_cfg=dict(mode="slide", crop_size=(32, 32), stride=(16, 16)))


def test_tiny_config_recipe():
    cfg = _cfg(TINY)
    assert cfg.model.decode_head.loss_decode == dict(type="WeightedCrossEntropyLoss",
                                                     class_weight=[1.0, 10.0])
    assert cfg.model.decode_head.num_classes == 2
    assert cfg.train_cfg.max_iters == 1000 and cfg.train_dataloader.batch_size == 8
    assert cfg.train_dataloader.sampler.type == "TaskWeightedInfiniteSampler"
    assert cfg.train_dataloader.dataset.synthiml.profile == "cpu"
    assert "LoadJpegDCT" in [t.type for t in cfg.train_pipeline]
    assert "LoadJpegDCT" in [t.type for t in cfg.test_pipeline]


def test_paper_config_recipe_and_build():
    cfg = _cfg(PAPER)
    assert cfg.model.type == "CATNet"
    assert cfg.model.backbone.rgb.extra.stage4.num_channels == (48, 96, 192, 384)
    assert cfg.model.decode_head.loss_decode.class_weight == [0.5, 2.5]
    opt = cfg.optim_wrapper
    assert opt == dict(type="OptimWrapper", optimizer=dict(
        type="AdamW", lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05))
    assert cfg.train_cfg.max_iters == 160000 and cfg.crop_size == (512, 512)
    assert cfg.train_dataloader.sampler == dict(
        type="TaskWeightedInfiniteSampler",
        task_weights=dict(natural=10, document=5, face=2, scene_text=20))
    from mmiml.utils.setup_env import _replace_syncbn

    _replace_syncbn(cfg._cfg_dict)
    model = MODELS.build(cfg.model)
    assert model.backbone.out_channels == [24, 48, 96, 192]
    assert 100e6 < sum(p.numel() for p in model.parameters()) < 130e6


@pytest.mark.parametrize("task", TASKS)
def test_single_task_configs_train_and_test_on_one_task(task):
    for path, base in [(ROOT / f"configs/cat_net/cat-net-tiny_{task}_synthiml-cpu.py", TINY),
                       (ROOT / f"configs/cat_net/cat-net_{task}_160k.py", PAPER)]:
        cfg, ref = _cfg(path), _cfg(base)
        assert cfg.train_dataloader.dataset.tasks == [task]
        assert cfg.test_dataloader.dataset.tasks == [task]
        assert cfg.train_dataloader.sampler.type == "InfiniteSampler"
        assert cfg.model == ref.model and cfg.train_cfg == ref.train_cfg


@pytest.mark.slow
def test_tiny_cat_net_fits_four_synthiml_images(tmp_path):
    """Capacity check of the whole stack: manifest -> IMLDataset with LoadJpegDCT -> CATNet ->
    IMLMetric, on one 64 px SynthIML image per task (the one with the largest mask)."""
    from mmiml.datasets.io import load_mask
    from mmiml.datasets.synthesis.generator import make_synthiml
    from mmiml.evaluation.metrics.iml_metric import IMLMetric

    cfg = _cfg(TINY)
    manifest = make_synthiml(tmp_path / "synthiml", per_split={"train": 8}, size=64, seed=3,
                             authentic_ratio=0.0, progress=False)
    dataset = DATASETS.build(dict(type="IMLDataset", ann_file=str(manifest), split="train",
                                  pipeline=cfg.test_pipeline, serialize_data=False))
    area: dict[str, tuple[float, int]] = {}
    for i in range(len(dataset)):
        task = dataset.get_data_info(i)["task"]
        share = float(load_mask(dataset.get_data_info(i)["seg_map_path"]).mean())
        area[task] = max(area.get(task, (-1.0, -1)), (share, i))
    picked = {task: i for task, (_, i) in area.items()}
    assert len(picked) == 4
    batch = pseudo_collate([dataset[i] for i in picked.values()])
    assert "dct" in batch["data_samples"][0] and "qtable" in batch["data_samples"][0]

    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    optim = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.0)

    def iou() -> float:
        model.eval()
        with torch.no_grad():
            preds = model.test_step(batch)
        metric = IMLMetric(log_table=False)
        metric.process(None, preds)
        return metric.compute_metrics(metric.results)["avg/pixel_iou_image"]

    best, it = 0.0, 0
    for it in range(1, 301):
        model.train()
        data = model.data_preprocessor(batch, True)
        losses = model(**data, mode="loss")
        loss = sum(v for k, v in losses.items() if "loss" in k)
        optim.zero_grad()
        loss.backward()
        optim.step()
        if it % 50 == 0:
            best = max(best, iou())
            if best > 0.8:
                break
    assert best > 0.8, f"IoU {best:.3f} after {it} iterations"
