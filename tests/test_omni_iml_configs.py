"""Omni-IML configs: the paper recipe, its tiny twin, single-task and ablation configs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import ROOT, check_single_task_config, make_batch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from mmiml import TASKS
from mmiml.benchmark.zoo import BY_KEY
from mmiml.utils.setup_env import drop_training_only_branches

JOINT = ROOT / "configs/omni_iml_joint.py"
TINY = ROOT / "configs/omni_iml/omni-iml_convnext-atto_1xb8-1k_synthiml-cpu-joint-128x128.py"
ABLATIONS = {"force-fused": ("backbone", "force", "fused"),
             "force-rgb": ("backbone", "force", "rgb"),
             "dwd-off": ("decode_head", "mode", "off"),
             "dwd-fixed": ("decode_head", "mode", "fixed"),
             "ae-box-off": ("neck", "with_detection", False),
             "ae-block-off": ("neck", "with_block", False)}


def _cfg(path: Path) -> Config:
    return Config.fromfile(str(path))


def test_paper_recipe():
    cfg = _cfg(JOINT)
    assert cfg.model.type == "OmniIML" and cfg.model.backbone.backbone.arch == "base"
    assert cfg.crop_size == (512, 512) and cfg.train_dataloader.batch_size == 2  # x 8 GPUs
    assert cfg.auto_scale_lr.base_batch_size == 16
    opt = cfg.optim_wrapper
    assert opt.optimizer == dict(type="AdamW", lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05)
    assert opt.constructor == "ModalGateLayerDecayOptimizerConstructor"
    assert opt.paramwise_cfg.decay_rate == 0.9
    assert cfg.train_cfg.max_iters == 160000
    assert [s.type for s in cfg.param_scheduler] == ["LinearLR", "PolyLR"]
    assert cfg.train_dataloader.sampler == dict(
        type="TaskWeightedInfiniteSampler",
        task_weights=dict(natural=10, document=5, face=2, scene_text=20))
    assert cfg.train_dataloader.dataset.synthiml.profile == "paper"
    assert cfg.model.backbone.backbone.pretrained_missing == "warn"
    names = [t.type for t in cfg.train_pipeline]
    # the DCT is read before the crop, so the crop keeps it on the 8x8 grid with the pixels
    assert names.index("RandomJpegRecompress") < names.index("LoadJpegDCT") < names.index(
        "GridAlignedRandomCrop") < names.index("DCTAwareRandomFlip")
    assert "LoadJpegDCT" in [t.type for t in cfg.test_pipeline]


def test_paper_config_builds_and_ade20k_path_is_optional(tmp_path):
    init_default_scope("mmseg")
    cfg = _cfg(JOINT)
    cfg.model.backbone.backbone.pretrained = str(tmp_path / "absent.pth")
    # missing checkpoint: warning + random init, no error
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    assert model.backbone.convnext.init_cfg is None
    assert model.neck.with_detection


@pytest.mark.parametrize("task", TASKS)
def test_single_task_configs_train_and_test_on_one_task(task):
    for path, base in [(ROOT / BY_KEY["omni_iml"].config("tiny", task), TINY),
                       (ROOT / BY_KEY["omni_iml"].config("paper", task), JOINT)]:
        check_single_task_config(path, base, task)


@pytest.mark.parametrize("name", sorted(ABLATIONS))
def test_ablation_configs_change_only_their_switch(name):
    part, key, value = ABLATIONS[name]
    ablation = BY_KEY[f"omni_iml-{name}"]
    for path, base in [(ROOT / ablation.config("tiny", "joint"), TINY),
                       (ROOT / ablation.config("paper", "joint"), JOINT)]:
        cfg, ref = _cfg(path), _cfg(base)
        if key is None:
            assert cfg.model[part] is None
        else:
            assert cfg.model[part][key] == value
            ref.model[part][key] = value
        ref.model[part] = cfg.model[part]
        assert cfg.model == ref.model
        if name == "force-rgb":  # reads no DCT: the same pipelines without LoadJpegDCT
            for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
                pipeline = ref[loader].dataset.pipeline
                assert any(t.type == "LoadJpegDCT" for t in pipeline)
                assert cfg[loader].dataset.pipeline == [
                    t for t in pipeline if t.type != "LoadJpegDCT"], loader
                ref[loader].dataset.pipeline = cfg[loader].dataset.pipeline
        assert cfg.train_dataloader == ref.train_dataloader
        assert cfg.test_dataloader == ref.test_dataloader


def test_tiny_ablations_build_and_run(tmp_path):
    init_default_scope("mmseg")
    for name in ABLATIONS:
        cfg = _cfg(ROOT / BY_KEY[f"omni_iml-{name}"].config("tiny", "joint"))
        model = MODELS.build(cfg.model).train()
        losses = model(**model.data_preprocessor(make_batch(), True), mode="loss")
        assert ("ae.loss_rpn_cls" in losses) == (name != "ae-box-off"), name
        assert hasattr(model.neck, "enhance") == (name != "ae-block-off"), name
        assert ("enc.loss_gate" in losses) == (not name.startswith("force")), name


def test_test_time_model_has_no_detection_branch_and_loads_training_checkpoints(tmp_path):
    init_default_scope("mmseg")
    cfg = _cfg(TINY)
    trained = MODELS.build(cfg.model)
    trained.init_weights()
    assert trained.neck.with_detection
    assert drop_training_only_branches(cfg) == 1
    deployed = MODELS.build(cfg.model)
    assert not any(n.startswith(("neck.rpn_head", "neck.roi_head", "neck.det_proj"))
                   for n, _ in deployed.named_parameters())
    # strict: every inference weight is there; the detection weights are dropped, not errors
    deployed.load_state_dict(trained.state_dict(), strict=True)
    trained.eval(), deployed.eval()
    data = trained.data_preprocessor(make_batch(), False)
    with torch.no_grad():
        a = trained(**data, mode="predict")[0].seg_logits.data
        b = deployed(**data, mode="predict")[0].seg_logits.data
    assert torch.equal(a, b)


def test_one_backward_of_the_tiny_model_reaches_every_branch():
    """Whole-model gradient check on the tiny config: VPH, FPH, fusion, gate, coarse heads,
    ConvNeXt stages, the AE block, the mmdet detection heads and every DWD candidate kernel."""
    init_default_scope("mmseg")
    cfg = _cfg(TINY)
    cfg.model.backbone.teacher_forcing_iters = 0
    model = MODELS.build(cfg.model).train()
    batch = make_batch(n=4, with_boxes=True)
    losses = model(**model.data_preprocessor(batch, True), mode="loss")
    sum(v for k, v in losses.items() if "loss" in k).backward()
    prefixes = ["backbone.convnext.downsample_layers.0", "backbone.convnext.stages.0",
                "backbone.convnext.stages.3", "backbone.fph", "backbone.fuse",
                "backbone.coarse_rgb", "backbone.coarse_fused", "backbone.gate",
                "neck.enhance", "neck.det_proj", "neck.rpn_head", "neck.roi_head",
                "decode_head"]
    grads = {n: p.grad for n, p in model.named_parameters()}
    for prefix in prefixes:
        got = [g for n, g in grads.items() if n.startswith(prefix)]
        assert got and all(g is not None for g in got), prefix
        assert any(g.abs().sum() > 0 for g in got), prefix
    kernels = [(n, g) for n, g in grads.items()
               if n.startswith("decode_head.filters") and g is not None and g.ndim == 5]
    assert kernels, "no DWD candidate kernels found"
    for name, g in kernels:  # (K, C_out, C_in/groups, 3, 3): each of the K kernels learns
        assert all(g[k].abs().sum() > 0 for k in range(g.shape[0])), name


@pytest.mark.parametrize(
    "path", [JOINT, ROOT / BY_KEY["plain_convnext_uper"].config("paper", "joint")])
def test_paper_configs_preprocess_a_training_batch(path):
    """The preprocessor settings of the 512-crop configs are valid together (size vs divisor)."""
    init_default_scope("mmseg")
    cfg = _cfg(path)
    preprocessor = MODELS.build(cfg.model.data_preprocessor)
    out = preprocessor(make_batch(n=2, size=512), True)
    assert tuple(out["inputs"].shape) == (2, 3, 512, 512)


@pytest.mark.slow
def test_gpu_check_script_runs_on_cpu_at_a_tiny_size():
    """benchmarks/gpu_check.py is only run where a GPU is lent: keep its code path tested."""
    import os
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/gpu_check.py"), "--device", "cpu", "--size", "64",
         "--iters", "1", "--train-iters", "1", "--train-batch", "2", "--batches", "1"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "inference 64x64 batch 1: fp32" in done.stdout
    assert "training 64x64 batch 2:" in done.stdout and "ae.loss_rpn_cls" in done.stdout
