"""Plain ViT with windowed attention in most blocks and global attention in a few (ViTDet style),
the encoder of IML-ViT (Ma et al., 2023, "IML-ViT: Benchmarking Image Manipulation Localization
by Vision Transformer").

Our re-implementation:

* Patch embedding: a ``patch_size`` x ``patch_size`` convolution of stride ``patch_size``. The
  image is zero-padded (bottom/right) to a multiple of the patch size first.
* Positional embedding: one learned **absolute** embedding on the token grid of
  ``pretrain_img_size``, bicubically resized to the actual token grid (MAE/ViTDet style). No
  relative positional bias (IML-ViT/ViTDet add decomposed relative positions; we leave them out
  for simplicity: the window layout already gives the attention a local structure).
* Blocks: pre-norm ``x + Attn(LN(x))`` then mmcv's ``FFN`` (``x + MLP(LN(x))``, GELU, drop path).
  A block whose index is in ``global_attn_indices`` attends over all tokens; every other block
  partitions the token grid into non-overlapping ``window_size`` x ``window_size`` windows (the
  grid is zero-padded to a multiple of the window inside the block, as ViTDet does) and attends
  inside each window only.
* Output: the last token map as a ``B x C x H/p x W/p`` tensor (a 1-tuple), no final norm; the
  simple feature pyramid lives in :class:`~mmiml.models.decode_heads.IMLViTHead`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from mmseg.registry import MODELS
from torch import nn

from ..utils.vit_block import ViTBlock
from ..utils.weight_init import init_linear_and_layernorm

__all__ = ["WindowedViT"]


@MODELS.register_module()
class WindowedViT(BaseModule):
    """ViTDet-style plain ViT: windowed attention except in the ``global_attn_indices`` blocks.

    Args:
        in_channels: input channels (3, RGB).
        patch_size: side of the square patches (the output stride).
        embed_dims: token width.
        depth: number of blocks.
        num_heads: attention heads per block.
        mlp_ratio: FFN hidden width / ``embed_dims``.
        qkv_bias: bias in the q/k/v projection.
        window_size: window side in tokens for the windowed blocks.
        global_attn_indices: indices of the blocks with global attention.
        pretrain_img_size: image side the absolute positional embedding is defined for; it is
            resized bicubically to other token grids.
        drop_rate: dropout after the embeddings and in the FFN.
        attn_drop_rate: attention-probability dropout.
        drop_path_rate: stochastic depth, increasing linearly to this value over the blocks.
        init_cfg: mmengine init config (e.g. a local MAE checkpoint); None = random init.
    """

    def __init__(self, in_channels: int = 3, patch_size: int = 16, embed_dims: int = 768,
                 depth: int = 12, num_heads: int = 12, mlp_ratio: float = 4.0,
                 qkv_bias: bool = True, window_size: int = 14,
                 global_attn_indices: Sequence[int] = (2, 5, 8, 11),
                 pretrain_img_size: int = 512, drop_rate: float = 0.0,
                 attn_drop_rate: float = 0.0, drop_path_rate: float = 0.0,
                 init_cfg: dict | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        bad = [i for i in global_attn_indices if not 0 <= i < depth]
        if bad:
            raise ValueError(f"WindowedViT: global_attn_indices {bad} outside 0..{depth - 1}")
        self.patch_size = patch_size
        self.embed_dims = embed_dims
        self.window_size = window_size
        self.global_attn_indices = tuple(global_attn_indices)
        self.patch_embed = nn.Conv2d(in_channels, embed_dims, patch_size, stride=patch_size)
        grid = pretrain_img_size // patch_size
        self.pos_embed = nn.Parameter(torch.zeros(1, grid, grid, embed_dims))
        self.drop_after_pos = nn.Dropout(drop_rate)
        rates = torch.linspace(0, drop_path_rate, depth).tolist() if depth > 1 else [0.0]
        self.blocks = nn.ModuleList(
            ViTBlock(embed_dims, num_heads, mlp_ratio, qkv_bias,
                     window_size=0 if i in self.global_attn_indices else window_size,
                     drop_rate=drop_rate, attn_drop_rate=attn_drop_rate,
                     drop_path_rate=rates[i])
            for i in range(depth))

    def init_weights(self) -> None:
        if self.init_cfg is not None:
            super().init_weights()
            return
        trunc_normal_(self.pos_embed, std=0.02)
        init_linear_and_layernorm(self.modules())

    def _pos_embed(self, h: int, w: int) -> torch.Tensor:
        pos = self.pos_embed
        if pos.shape[1:3] != (h, w):
            pos = F.interpolate(pos.permute(0, 3, 1, 2), size=(h, w), mode="bicubic",
                                align_corners=False).permute(0, 2, 3, 1)
        return pos

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor]:
        p = self.patch_size
        pad_h, pad_w = (-x.shape[-2]) % p, (-x.shape[-1]) % p
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h))
        x = self.patch_embed(x).permute(0, 2, 3, 1)  # B x H x W x C
        x = self.drop_after_pos(x + self._pos_embed(x.shape[1], x.shape[2]))
        for block in self.blocks:
            x = block(x)
        return (x.permute(0, 3, 1, 2).contiguous(),)
