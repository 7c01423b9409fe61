"""Swin-style stage of DTD's encoder: patch merging + shifted-window attention blocks
(see configs/dtd/README.md)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from mmcv.cnn.bricks.transformer import PatchMerging
from torch import nn

from .vit_block import ViTBlock

__all__ = ["ShiftedWindowStage"]


class ShiftedWindowStage(nn.Module):
    """One Swin-style stage on NCHW maps: (patch merging) + window-attention blocks + LayerNorm.

    Args:
        in_channels: input width.
        channels: stage width.
        depth: number of :class:`ViTBlock` s; blocks with odd index shift the windows.
        num_heads: attention heads.
        window_size: window side in tokens.
        downsample: halve the resolution with ``PatchMerging`` first; otherwise a 1x1 projection
            when ``in_channels != channels``.
        mlp_ratio: FFN hidden width / ``channels``.
        drop_path_rates: one stochastic-depth rate per block.
    """

    def __init__(self, in_channels: int, channels: int, depth: int, num_heads: int,
                 window_size: int, downsample: bool, mlp_ratio: float = 4.0,
                 drop_path_rates: Sequence[float] | None = None) -> None:
        super().__init__()
        rates = list(drop_path_rates) if drop_path_rates is not None else [0.0] * depth
        if len(rates) != depth:
            raise ValueError(f"ShiftedWindowStage: {len(rates)} drop-path rates for {depth} blocks")
        self.window_size = window_size
        self.merge = (PatchMerging(in_channels, channels, kernel_size=2, norm_cfg=dict(type="LN"))
                      if downsample else None)
        self.proj = (nn.Conv2d(in_channels, channels, 1)
                     if not downsample and in_channels != channels else nn.Identity())
        self.blocks = nn.ModuleList(
            ViTBlock(channels, num_heads, mlp_ratio, window_size=window_size,
                     drop_path_rate=rates[i]) for i in range(depth))
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.merge is not None:
            b, _, h, w = x.shape
            tokens, (h, w) = self.merge(x.flatten(2).transpose(1, 2), (h, w))
            x = tokens.view(b, h, w, -1)
        else:
            x = self.proj(x).permute(0, 2, 3, 1)
        h, w = x.shape[1:3]
        # Swin does not shift when one window already covers the map.
        shift = self.window_size // 2 if min(h, w) > self.window_size else 0
        for i, block in enumerate(self.blocks):
            if i % 2 and shift:
                x = torch.roll(block(torch.roll(x, (-shift, -shift), (1, 2))), (shift, shift),
                               (1, 2))
            else:
                x = block(x)
        return self.norm(x).permute(0, 3, 1, 2).contiguous()
