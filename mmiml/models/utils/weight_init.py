"""Weight initialisation shared by the transformer encoders (IML-ViT, DTD)."""
from __future__ import annotations

from collections.abc import Iterable

from mmengine.model.weight_init import constant_init, trunc_normal_init
from torch import nn


def init_linear_and_layernorm(modules: Iterable[nn.Module], std: float = 0.02) -> None:
    """ViT/Swin init: truncated-normal Linear weights (std 0.02), zero biases, unit
    LayerNorms; other modules keep theirs."""
    for m in modules:
        if isinstance(m, nn.Linear):
            trunc_normal_init(m, std=std, bias=0.0)
        elif isinstance(m, nn.LayerNorm):
            constant_init(m, val=1.0, bias=0.0)
