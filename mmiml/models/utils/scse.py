"""Concurrent spatial and channel squeeze-excitation, the fusion attention of DTD's encoder
(see configs/dtd/README.md)."""

from __future__ import annotations

import torch
from mmseg.models.utils import SELayer
from torch import nn

__all__ = ["SCSE"]


class SCSE(nn.Module):
    """Concurrent spatial and channel squeeze-excitation (Roy et al., 2018), named by the DTD
    paper for its multi-modality fusion (section 4): ``x * cSE(x) + x * sSE(x)``.

    The channel branch is mmseg's ``SELayer`` (GAP, bottleneck, sigmoid); the spatial branch a
    1x1 conv to one sigmoid map.
    """

    def __init__(self, channels: int, ratio: int = 4) -> None:
        super().__init__()
        self.channel_gate = SELayer(channels, ratio=ratio,
                                    act_cfg=(dict(type="ReLU"), dict(type="Sigmoid")))
        self.spatial_gate = nn.Conv2d(channels, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.channel_gate(x) + x * self.spatial_gate(x).sigmoid()
