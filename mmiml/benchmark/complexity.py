"""Complexity of a model config: inference-form parameters and FLOPs (mmengine FlopAnalyzer).

Shared by the benchmark (every result file carries these) and ``benchmarks/model_zoo.py``.
"""
from __future__ import annotations

import copy
import sys
import traceback
from typing import Any

import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from torch import nn

from mmiml.utils.config import drop_pretrained, find_type
from mmiml.utils.setup_env import drop_training_only_branches

NA = "n/a"


def load(config: str | Config) -> tuple[nn.Module, bool]:
    """The config's inference-form model (eval, random init) and whether it reads the DCT."""
    from mmseg.registry import MODELS

    cfg = Config.fromfile(config) if isinstance(config, str) else copy.deepcopy(config)
    drop_pretrained(cfg.model)
    drop_training_only_branches(cfg)
    uses_dct = find_type([cfg.get("test_pipeline"), cfg.get("test_dataloader")],
                         "LoadJpegDCT") is not None
    model = revert_sync_batchnorm(MODELS.build(cfg.model))  # one process: plain BN
    return model.eval(), uses_dct


class InferencePath(nn.Module):
    """The forward a test-time prediction runs (up to the decode head's logits), traceable."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, img: torch.Tensor, dct: torch.Tensor | None = None,
                qtable: torch.Tensor | None = None) -> Any:
        m = self.model
        if dct is None:
            feats = m.extract_feat(img)
        else:
            feats = m.backbone(img, dct, qtable)
            if m.with_neck:
                feats = m.neck(feats)
        return m.decode_head(list(feats))


def reads_dct(model: nn.Module) -> bool:
    from mmiml.models.segmentors.dct_encoder_decoder import DCTEncoderDecoder

    return isinstance(model, DCTEncoderDecoder)


def inputs_for(model: nn.Module, batch: int, size: int) -> tuple[torch.Tensor, ...]:
    img = torch.randn(batch, 3, size, size)
    if not reads_dct(model):
        return (img,)
    dct = torch.randint(-30, 31, (batch, 1, size, size), dtype=torch.int16)
    qtable = torch.randint(1, 40, (batch, 8, 8))
    return img, dct, qtable


def inference_params_m(model: nn.Module) -> float:
    parts = [model.backbone, model.decode_head]
    if getattr(model, "with_neck", False):
        parts.append(model.neck)
    return sum(p.numel() for part in parts for p in part.parameters()) / 1e6


def gflops(model: nn.Module, size: int, label: str) -> float | str:
    from mmengine.analysis import FlopAnalyzer

    try:
        with torch.no_grad():
            analyzer = FlopAnalyzer(InferencePath(model), inputs_for(model, 1, size))
            analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            return analyzer.total() / 1e9
    except Exception as exc:  # noqa: BLE001 - any tracing failure becomes an n/a cell
        print(f"  FLOP analysis failed for {label} at {size}x{size}: "
              f"{type(exc).__name__}: {exc}", file=sys.stderr)
        traceback.print_exc(limit=3, file=sys.stderr)
        return NA
