"""Pieces shared by several test files: toy batches, the SynthIML overfit check, config and
subprocess helpers. Test files import it as ``from helpers import ...``: tests/ has no
``__init__.py``, so pytest's default "prepend" import mode puts it on sys.path."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData, PixelData
from mmseg.structures import SegDataSample

ROOT = Path(__file__).resolve().parents[1]


def load_config(path: Path | str) -> Config:
    """The config at ``path``, with the mmiml modules registered and the mmseg scope set."""
    import mmiml.datasets  # noqa: F401
    import mmiml.models  # noqa: F401

    init_default_scope("mmseg")
    return Config.fromfile(str(path))


def build_model(cfg_model: Mapping[str, Any], seed: int = 0) -> torch.nn.Module:
    """``MODELS.build`` + ``init_weights`` after ``torch.manual_seed(seed)``."""
    from mmseg.registry import MODELS

    torch.manual_seed(seed)
    model = MODELS.build(cfg_model)
    model.init_weights()
    return model


def has_grad(module: torch.nn.Module) -> bool:
    """Whether some parameter of ``module`` got a non-zero gradient."""
    return any(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())


def make_batch(n: int = 2, size: int = 64, seed: int = 0, *, with_dct: bool = True,
               tampered: str = "all", with_boxes: bool = False,
               tasks: Sequence[str] = ("natural", "document")) -> dict[str, list]:
    """A data-loader batch of ``n`` random uint8 images of ``size`` px.

    Tampered samples have the square [8:24, 8:24] as mask; ``tampered="all"`` tampers every
    sample, ``"even"`` only the even ones (odd samples are authentic, all-zero masks).
    ``with_dct`` adds random quantised DCT coefficients and an 8x8 quantisation table (as
    LoadJpegDCT does); ``with_boxes`` adds the square as ``gt_instances`` box of label 0 (no
    box on authentic samples). Sample ``i`` has task ``tasks[i % len(tasks)]``.
    """
    if tampered not in ("all", "even"):
        raise ValueError(f"tampered must be 'all' or 'even', not {tampered!r}")
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for i in range(n):
        inputs.append(torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8))
        s = SegDataSample()
        forged = tampered == "all" or i % 2 == 0
        gt = torch.zeros(1, size, size, dtype=torch.long)
        if forged:
            gt[:, 8:24, 8:24] = 1
        s.gt_sem_seg = PixelData(data=gt)
        if with_dct:
            s.set_field(PixelData(data=torch.randint(-20, 21, (1, size, size), generator=g,
                                                     dtype=torch.int16)), "dct")
            s.set_field(torch.randint(1, 50, (8, 8), generator=g), "qtable")
        if with_boxes:
            inst = InstanceData()
            boxes = [[8.0, 8.0, 24.0, 24.0]] if forged else []
            inst.bboxes = torch.tensor(boxes).reshape(-1, 4)
            inst.labels = torch.zeros(len(boxes), dtype=torch.long)
            s.gt_instances = inst
        s.set_metainfo(dict(task=tasks[i % len(tasks)], img_shape=(size, size),
                            ori_shape=(size, size), pad_shape=(size, size)))
        samples.append(s)
    return {"inputs": inputs, "data_samples": samples}


def four_synthiml_images(cfg: Config, tmp_path: Path) -> dict[str, list]:
    """One 64 px SynthIML image per task through ``cfg.test_pipeline``, collated.

    Per task the image with the largest mask is picked: a stride-4 decoder cannot trace 2-pixel
    text strokes of a 64 px image, and that is resolution, not capacity.
    """
    from mmengine.dataset import pseudo_collate
    from mmseg.registry import DATASETS

    from mmiml.datasets.io import load_mask
    from mmiml.datasets.synthesis.generator import make_synthiml

    manifest = make_synthiml(tmp_path / "synthiml", per_split={"train": 8}, size=64, seed=3,
                             authentic_ratio=0.0, progress=False)
    dataset = DATASETS.build(dict(type="IMLDataset", ann_file=str(manifest), split="train",
                                  pipeline=cfg.test_pipeline, serialize_data=False))
    area: dict[str, tuple[float, int]] = {}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        share = float(load_mask(info["seg_map_path"]).mean())
        area[info["task"]] = max(area.get(info["task"], (-1.0, -1)), (share, i))
    assert len(area) == 4
    return pseudo_collate([dataset[i] for _, i in area.values()])


def overfit_four_synthiml_images(
        config_path: Path | str, tmp_path: Path, *, max_iters: int, target: float,
        eval_every: int, lr: float = 2e-3, model_overrides: Mapping[str, Any] | None = None,
        check_batch: Callable[[dict], None] | None = None) -> tuple[float, int]:
    """Train the model of ``config_path`` on :func:`four_synthiml_images` with AdamW (no weight
    decay) and return ``(best IoU, last iteration)``.

    Every ``eval_every`` iterations the mean per-image pixel IoU (IMLMetric) is measured; the
    loop stops once the best IoU passes ``target``. ``model_overrides`` are dotted keys below
    ``model`` (e.g. ``{"backbone.teacher_forcing_iters": 50}``); ``check_batch`` sees the
    collated batch before training.
    """
    from mmiml.evaluation.metrics.iml_metric import IMLMetric

    cfg = load_config(config_path)
    if model_overrides:
        cfg.merge_from_dict({f"model.{k}": v for k, v in model_overrides.items()})
    batch = four_synthiml_images(cfg, tmp_path)
    if check_batch is not None:
        check_batch(batch)
    model = build_model(cfg.model)
    optim = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)

    def iou() -> float:
        model.eval()
        with torch.no_grad():
            preds = model.test_step(batch)
        metric = IMLMetric(log_table=False)
        metric.process(None, preds)
        return metric.compute_metrics(metric.results)["avg/pixel_iou_image"]

    best, it = 0.0, 0
    for it in range(1, max_iters + 1):
        model.train()
        data = model.data_preprocessor(batch, True)
        losses = model(**data, mode="loss")
        loss = sum(v for k, v in losses.items() if "loss" in k)
        optim.zero_grad()
        loss.backward()
        optim.step()
        if it % eval_every == 0:
            best = max(best, iou())
            if best > target:
                break
    return best, it


def check_single_task_config(path: Path, base: Path, task: str) -> None:
    """The single-task config ``path`` trains and tests on ``task`` only, with a plain
    InfiniteSampler, and keeps the model and the schedule of its joint ``base`` config."""
    cfg, ref = Config.fromfile(str(path)), Config.fromfile(str(base))
    assert cfg.train_dataloader.dataset.tasks == [task]
    assert cfg.test_dataloader.dataset.tasks == [task]
    assert cfg.train_dataloader.sampler.type == "InfiniteSampler"
    assert cfg.model == ref.model and cfg.train_cfg == ref.train_cfg


def train_cfg_options(manifest: Path, max_iters: int, ckpt_interval: int,
                      batch_size: int = 4) -> list[str]:
    """``--cfg-options`` for tools/train.py and tools/test.py: every split reads ``manifest``,
    no worker processes, ``max_iters`` iterations with one validation at the end, a checkpoint
    every ``ckpt_interval`` iterations, a log line every iteration, warm-up of one iteration."""
    return [
        "--cfg-options",
        f"train_dataloader.dataset.ann_file={manifest}",
        f"val_dataloader.dataset.ann_file={manifest}",
        f"test_dataloader.dataset.ann_file={manifest}",
        f"train_dataloader.batch_size={batch_size}",
        "train_dataloader.num_workers=0",
        "train_dataloader.persistent_workers=False",
        "val_dataloader.num_workers=0",
        "val_dataloader.persistent_workers=False",
        "test_dataloader.num_workers=0",
        "test_dataloader.persistent_workers=False",
        f"train_cfg.max_iters={max_iters}",
        f"train_cfg.val_interval={max_iters}",
        f"default_hooks.checkpoint.interval={ckpt_interval}",
        "default_hooks.checkpoint.max_keep_ckpts=10",
        "default_hooks.logger.interval=1",
        "param_scheduler.0.end=1",
        "param_scheduler.1.begin=1",
        f"param_scheduler.1.end={max_iters}",
    ]


def subprocess_env(*extra_paths: Path | str) -> dict[str, str]:
    """The environment for a tools/ subprocess: the repository (and ``extra_paths``) on
    PYTHONPATH, one OpenMP thread, unbuffered output."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), *map(str, extra_paths)]),
                OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")


def shrink_sample(batch: dict, index: int, height: int, width: int) -> None:
    """Crop sample ``index`` of a ``make_batch`` batch to ``height`` x ``width`` (an authentic
    mask), to check that predictions come back at each image's own size."""
    from mmengine.structures import PixelData

    batch["inputs"][index] = batch["inputs"][index][:, :height, :width]
    sample = batch["data_samples"][index]
    sample.gt_sem_seg = PixelData(data=torch.zeros(1, height, width, dtype=torch.long))
    sample.set_metainfo(dict(img_shape=(height, width), ori_shape=(height, width)))


def build_tiny(config: Path, **model_overrides: Any) -> torch.nn.Module:
    """The model of ``config`` with top-level model keys replaced by ``model_overrides``."""
    cfg = load_config(config)
    cfg.model.update(model_overrides)
    return build_model(cfg.model)


def check_dct_segmentor_contract(config: Path) -> None:
    """What every DCT-reading segmentor (DCTEncoderDecoder) of a tiny config guarantees:
    ``mode='tensor'`` gives stride-4 two-class logits, the prediction depends on the
    quantisation table (same pixels and DCT, other tables: other logits), a batch without the
    DCT is a named error (predict and backbone), and sliding-window inference is refused."""
    import pytest

    model = build_tiny(config).eval()
    other = make_batch(tampered="even")
    for s in other["data_samples"]:
        s.qtable = s.qtable + 7
    full = model.data_preprocessor(make_batch(tampered="even"), False)
    changed = model.data_preprocessor(other, False)
    assert torch.equal(full["inputs"], changed["inputs"])
    with torch.no_grad():
        logits = model(**full, mode="predict")[0].seg_logits.data
        logits2 = model(**changed, mode="predict")[0].seg_logits.data
    assert not torch.allclose(logits, logits2)
    data = model.data_preprocessor(make_batch(), False)
    with torch.no_grad():
        out = model(**data, mode="tensor")
    assert out.shape == (2, 2, 16, 16)
    data = model.data_preprocessor(make_batch(with_dct=False), False)  # no LoadJpegDCT fields
    with pytest.raises(ValueError, match="LoadJpegDCT"):
        model(**data, mode="predict")
    with pytest.raises(ValueError, match="LoadJpegDCT"):
        model.backbone(data["inputs"], None, None)
    with pytest.raises(ValueError, match="whole"):
        build_tiny(config, test_cfg=dict(mode="slide", crop_size=(32, 32), stride=(16, 16)))


def tree_digest(root: Path) -> str:
    """sha256 over every file below ``root``: relative path and bytes, in sorted order (two
    generations of the same data must agree byte for byte)."""
    import hashlib

    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def benchmark_doc(model: str, seed: int = 0, *, name: str | None = None, iou: float = 0.3,
                  gate: dict[str, tuple[float, float]] | None = None,
                  spread: float | None = None, train_set: str = "joint",
                  per_image: Mapping[str, Sequence[float]] | None = None,
                  profile: str = "cpu") -> dict[str, Any]:
    """A valid benchmark result (``mmiml-benchmark/1``) of a zoo model, every figure 0.5 but
    IoU.

    ``gate``: task -> (share routed, mean probability); ``spread``: DWD mixing spread (two
    filters, K = 2; the first task's mix moved by it); ``per_image``: task -> every test image's
    IoU (all tampered; ids ``<task>/NNNN.jpg``); the task's IoU is then their mean. The tasks
    are those of ``per_image``, else all four (the training task alone for a single-task run).
    """
    import numpy as np

    from mmiml import TASKS
    from mmiml.benchmark.zoo import BY_KEY, OMNI
    from mmiml.evaluation.result_json import FIGURE_KEYS

    def scores(value: float, n: int = 10, **extra: Any) -> dict[str, Any]:
        tampered = n - 2 if per_image is None else n
        return {"num_images": n, "num_tampered": tampered, "num_authentic": n - tampered,
                **dict.fromkeys(FIGURE_KEYS, 0.5), "pixel_iou_image": value, **extra}

    tasks = list(per_image) if per_image else (list(TASKS) if train_set == "joint"
                                               else [train_set])
    per_task, records = {}, {}
    for t in tasks:
        extra: dict[str, Any] = {}
        if gate:
            extra = {"gate_fused_share": gate[t][0], "gate_num_images": 10,
                     "gate_prob_mean": gate[t][1]}
        if spread is not None:
            shift = spread if t == tasks[0] else 0.0
            extra["dwd_mix"] = [[0.2 + shift, 0.2 + shift], [0.4 + shift, 0.4 + shift]]
        if per_image:
            values = [round(float(v), 6) for v in per_image[t]]
            n = len(values)
            per_task[t] = scores(float(np.mean(values)), n, **extra)
            per_task[t]["pixel_f1_image"] = float(np.mean(values))
            records[t] = {"id": [f"{t}/{i:04d}.jpg" for i in range(n)], "tampered": [True] * n,
                          "iou": values, "f1": values, "score": [0.5] * n}
        else:
            per_task[t] = scores(iou, **extra)
    n_all = sum(s["num_images"] for s in per_task.values())
    n_tamp = sum(s["num_tampered"] for s in per_task.values())
    avg = scores(float(np.mean([s["pixel_iou_image"] for s in per_task.values()])), n_all,
                 num_tampered=n_tamp, num_authentic=n_all - n_tamp)
    if per_image:
        avg["pixel_f1_image"] = avg["pixel_iou_image"]
    if gate:
        avg["gate_fused_share"] = float(np.mean([g[0] for g in gate.values()]))
        avg["gate_prob_mean"] = float(np.mean([g[1] for g in gate.values()]))
    if spread is not None:
        avg["dwd_mix_spread"] = spread
    ablation_of = (BY_KEY[model].ablation_of if model in BY_KEY
                   else OMNI if model.startswith(OMNI + "-") else None)
    result: dict[str, Any] = {
        "schema": "mmiml-result/1", "num_images": n_all, "num_tampered": n_tamp,
        "num_authentic": n_all - n_tamp,
        "spec": {"threshold": 0.5, "authentic_policy": "exclude", "resolution": "original"},
        "per_task": per_task, "avg": avg}
    if per_image:
        result["per_image"] = records
    return {
        "schema": "mmiml-benchmark/1", "profile": profile, "model": model,
        "model_name": name or BY_KEY[model].name, "train_set": train_set, "seed": seed,
        "kind": "ablation" if ablation_of else "model", "ablation_of": ablation_of, "note": "",
        "config": None,
        "budget": {"max_iters": 4, "batch_size": 2, "crop": 64,
                   "description": "4 iterations x batch 2 at 64x64 px"},
        "result": result,
        "complexity": {"params_m": 1.0, "params_train_m": 1.0, "gflops": 0.1,
                       "flops_input": "64x64"},
        "throughput": {"train_images_per_s": 1.0, "test_images_per_s": 1.0},
        "wall_time_s": {"train": 1.0, "test": 1.0, "total": 2.0},
        "provenance": {"git_commit": "b" * 40, "code_hash": "c0de", "code_dirty": False,
                       "config_hash": f"{model}-{seed}", "test_data": {t: "d474" for t in TASKS},
                       "metric_schema": "mmiml-result/1", "metric_spec_version": "1",
                       "packages": {"torch": "2"}, "machine": "test",
                       "finished_at": "2026-01-01T00:00:00Z", "resumed": False},
    }


def write_benchmark_docs(folder: Path, docs: Sequence[Mapping[str, Any]]) -> None:
    """Write each benchmark result as ``<model>__<train set>__seed<k>.json`` in ``folder``."""
    from mmiml.benchmark.result import write_benchmark_result

    for d in docs:
        write_benchmark_result(d, folder / f"{d['model']}__{d['train_set']}__seed{d['seed']}.json")


def load_tool(name: str) -> Any:
    """``tools/<name>.py`` imported as a module (its functions, without running its main)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
