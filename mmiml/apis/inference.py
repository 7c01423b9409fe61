"""Run an mmiml checkpoint on your own images: ``init_model`` and ``inference_model``, as in
mmsegmentation's ``mmseg.apis``.

Every prediction is the tampering probability map at the image's original size, the binary
mask at a threshold, an image-level score and the connected tampered regions. A DCT model
(Omni-IML, CAT-Net, DTD) reads the DCT of the file it is given (its own compression history);
an in-memory array has no file, so it is re-encoded as the data pipeline does for a PNG.
Checkpoints load only through mmiml's ``weights_only`` loader (``mmiml.engine``).
"""
from __future__ import annotations

import copy
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from mmiml.datasets.importers import IMAGE_EXTENSIONS
from mmiml.evaluation import functional as F
from mmiml.evaluation.metrics.iml_metric import sample_probability
from mmiml.utils.errors import ConfigError, IMLDataError

__all__ = ["IMLPrediction", "ImageInput", "expand_inputs", "inference_model", "init_model",
           "region_position"]

ImageInput = str | os.PathLike | np.ndarray
#: smallest side a model can read (our choice: below one 8x8 JPEG block nothing is localised)
MIN_SIDE = 8
#: image score when neither the model nor the config names one (docs/benchmark.md: the mean
#: of the 100 highest pixels)
DEFAULT_POOLING = "topk_mean"


def region_position(cx: float, cy: float, width: int, height: int) -> str:
    """Where a point lies in the image, in words: ``upper left``, ``centre``, ``lower right``
    ... (thirds of each side)."""
    col = ("left", "centre", "right")[min(2, int(3 * cx / max(width, 1)))]
    row = ("upper", "middle", "lower")[min(2, int(3 * cy / max(height, 1)))]
    if row == "middle" and col == "centre":
        return "centre"
    if row == "middle":
        return f"middle {col}"
    return f"{row} {col}" if col != "centre" else f"{row} centre"


@dataclass
class IMLPrediction:
    """One image's prediction.

    Attributes:
        source: the file, or ``<array N>`` for an in-memory image.
        prob: HxW float32 tampering probability at the image's original size.
        mask: HxW uint8, 1 = tampered (``prob > threshold``).
        score: the image-level score in [0, 1] (``score_source`` says which).
        threshold: the binarisation threshold.
        regions: the 8-connected tampered regions, largest first: ``box`` [x1, y1, x2, y2]
            (x2/y2 exclusive), ``area`` (pixels), ``area_share`` (of the image), ``mean_score``
            (mean probability inside) and ``position`` (in words).
        gate: Omni-IML's Modal Gate for this image (``route``: ``rgb+dct`` or ``rgb``, and
            ``prob``: its probability of the frequency path); None for other models.
        task: the task the caller said the image belongs to, if any.
    """

    source: str
    prob: np.ndarray
    mask: np.ndarray
    score: float
    score_source: str
    threshold: float
    regions: list[dict[str, Any]] = field(default_factory=list)
    gate: dict[str, Any] | None = None
    task: str | None = None

    def summary(self) -> dict[str, Any]:
        """JSON-ready: everything but the maps."""
        h, w = self.mask.shape
        return {"source": self.source, "width": w, "height": h, "task": self.task,
                "threshold": self.threshold, "image_score": round(self.score, 6),
                "image_score_source": self.score_source,
                "tampered_share": round(float(self.mask.mean()), 6),
                "regions": self.regions, "gate": self.gate}


def init_model(config: str | os.PathLike | Any, checkpoint: str | os.PathLike | None = None,
               device: str = "cpu", *, strict: bool = True,
               cfg_options: dict[str, Any] | None = None) -> torch.nn.Module:
    """Build the test-time model of ``config`` (a path or an mmengine ``Config``) and load
    ``checkpoint`` into it through the safe loader (strict unless ``strict=False``: every key
    must fit); training-only branches (Omni-IML's detection branch) are left out. The model
    keeps its config as ``model.cfg``.

    Raises:
        ConfigError: the config cannot be read. CheckpointError: the checkpoint is missing,
            unsafe or does not fit.
    """
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    from mmiml.engine import apply_mmengine_patches
    from mmiml.engine.checkpoint import load_model_weights
    from mmiml.utils.config import read_config
    from mmiml.utils.setup_env import drop_training_only_branches, register_all_modules

    register_all_modules()
    apply_mmengine_patches()
    init_default_scope("mmseg")
    cfg = copy.deepcopy(config) if isinstance(config, Config) else read_config(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    drop_training_only_branches(cfg)
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        model.checkpoint_report = load_model_weights(model, checkpoint, strict=strict)
    model.cfg = cfg
    model.to(device)
    model.eval()
    return model


def expand_inputs(images: ImageInput | Iterable[ImageInput]) -> list[ImageInput]:
    """Paths, folders (their image files, sorted, not recursive) and arrays, as a flat list.

    Raises:
        IMLDataError: a path that does not exist, or a folder without an image file.
    """
    if isinstance(images, (str, os.PathLike, np.ndarray)):
        images = [images]
    out: list[ImageInput] = []
    for item in images:
        if isinstance(item, np.ndarray):
            out.append(item)
            continue
        path = Path(item)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file()
                           and p.suffix.lower() in IMAGE_EXTENSIONS
                           and not p.name.startswith("."))
            if not files:
                raise IMLDataError(str(path), "folder holds no image file ("
                                              f"{', '.join(sorted(IMAGE_EXTENSIONS))})")
            out += [str(p) for p in files]
        elif path.is_file():
            out.append(str(path))
        else:
            raise IMLDataError(str(path), "no such file or folder")
    return out


def _pipeline(cfg: Any, from_array: bool) -> Any:
    """The config's test pipeline without ground truth; for arrays, loaded from memory."""
    from mmcv.transforms import Compose

    steps = []
    for step in copy.deepcopy(cfg.test_dataloader.dataset.pipeline):
        kind = step.get("type")
        if kind == "LoadIMLAnnotations":
            continue
        if kind == "LoadIMLImageFromFile" and from_array:
            step = {"type": "LoadIMLImageFromNDArray"}
        steps.append(step)
    if not steps or steps[0]["type"] not in ("LoadIMLImageFromFile", "LoadIMLImageFromNDArray"):
        raise ConfigError("test_dataloader.dataset.pipeline",
                          "the inference API needs a pipeline that starts with "
                          "LoadIMLImageFromFile (mmiml's image loader)")
    return Compose(steps)


def _pooling(cfg: Any) -> str:
    evaluator = cfg.get("test_evaluator")
    if isinstance(evaluator, dict) and evaluator.get("image_pooling"):
        return str(evaluator["image_pooling"])
    return DEFAULT_POOLING


def _regions(prob: np.ndarray, mask: np.ndarray) -> list[dict[str, Any]]:
    h, w = mask.shape
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    regions = []
    for k in range(1, n):
        x, y, bw, bh, area = (int(v) for v in stats[k])
        inside = prob[labels == k]
        regions.append({"box": [x, y, x + bw, y + bh], "area": area,
                        "area_share": round(area / (h * w), 6),
                        "mean_score": round(float(inside.mean()), 6),
                        "position": region_position(x + bw / 2, y + bh / 2, w, h)})
    return sorted(regions, key=lambda r: -r["area"])


def _load(item: ImageInput, index: int) -> dict[str, Any]:
    """The pipeline's input for one image; checks what the pipeline cannot name well."""
    from mmiml.datasets.io import image_size

    if isinstance(item, np.ndarray):
        name = f"<array {index}>"
        if item.ndim != 3 or item.shape[2] != 3 or item.dtype != np.uint8:
            raise IMLDataError(name, f"expected an HxWx3 uint8 RGB array, got shape "
                                     f"{item.shape} and dtype {item.dtype}")
        h, w = item.shape[:2]
        results = {"img": item, "img_path": name}
    else:
        name = str(item)
        w, h = image_size(name)
        results = {"img_path": name}
    if min(w, h) < MIN_SIDE:
        raise IMLDataError(name, f"image is {w}x{h} px; the models need at least {MIN_SIDE} px "
                                 "on each side")
    return results


def inference_model(model: torch.nn.Module, images: ImageInput | Iterable[ImageInput], *,
                    threshold: float = 0.5, task: str | None = None,
                    pooling: str | None = None) -> list[IMLPrediction]:
    """Predict every image of ``images`` (paths, folders, HxWx3 uint8 RGB arrays).

    ``pooling`` is the image score when the model has no image-level head (``max``, ``mean``,
    ``topk_mean``; default: the config's ``test_evaluator.image_pooling``, else
    ``topk_mean``). A model with a detection head (PSCC-Net) gives its own score.

    Raises:
        IMLDataError: an input that cannot be read (named), or smaller than 8 px a side.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must lie in [0, 1], got {threshold}")
    cfg = model.cfg
    pooling = pooling or _pooling(cfg)
    if pooling not in F.POOLING_MODES:
        raise ValueError(f"pooling must be one of {F.POOLING_MODES}, got {pooling!r}")
    pipelines = {}
    out = []
    for index, item in enumerate(expand_inputs(images)):
        results = _load(item, index)
        from_array = isinstance(item, np.ndarray)
        if from_array not in pipelines:
            pipelines[from_array] = _pipeline(cfg, from_array)
        packed = pipelines[from_array](results)
        with torch.no_grad():
            (sample,) = model.test_step({"inputs": [packed["inputs"]],
                                         "data_samples": [packed["data_samples"]]})
        shape = tuple(int(v) for v in sample.metainfo["ori_shape"][:2])
        prob = sample_probability(sample, shape, str(results["img_path"]))
        mask = (prob > threshold).astype(np.uint8)
        head = sample.metainfo.get("img_score")
        if head is not None:
            score, source = float(head), "model"
        else:
            score = float(F.pool_scores(prob[None], mode=pooling)[0])
            source = pooling
        gate = None
        if sample.metainfo.get("gate_prob") is not None:
            gate = {"route": "rgb+dct" if sample.metainfo["gate_fused"] >= 0.5 else "rgb",
                    "prob": round(float(sample.metainfo["gate_prob"]), 6)}
        out.append(IMLPrediction(results["img_path"], prob, mask, score, source, threshold,
                                 _regions(prob, mask), gate, task))
    return out

