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
from mmcv.cnn.bricks.drop import DropPath
from mmcv.cnn.bricks.transformer import FFN
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from mmseg.registry import MODELS
from torch import nn

from ..utils.weight_init import init_linear_and_layernorm

__all__ = ["WindowedViT", "ViTBlock", "window_partition", "window_unpartition"]


def window_partition(x: torch.Tensor, window: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """``B x H x W x C`` -> ``(B * nWin) x window*window x C``, zero-padding H and W up to a
    multiple of ``window``; also returns the padded ``(Hp, Wp)``."""
    b, h, w, c = x.shape
    pad_h, pad_w = (-h) % window, (-w) % window
    if pad_h or pad_w:
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    hp, wp = h + pad_h, w + pad_w
    x = x.view(b, hp // window, window, wp // window, window, c)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window * window, c)
    return x, (hp, wp)


def window_unpartition(x: torch.Tensor, window: int, padded: tuple[int, int],
                       size: tuple[int, int]) -> torch.Tensor:
    """Inverse of :func:`window_partition`: back to ``B x H x W x C`` without the padding."""
    hp, wp = padded
    h, w = size
    b = x.shape[0] // ((hp // window) * (wp // window))
    x = x.view(b, hp // window, wp // window, window, window, -1)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, -1)
    return x[:, :h, :w].contiguous()


class Attention(nn.Module):
    """Multi-head self-attention over a token sequence ``N x L x C``."""

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True,
                 attn_drop: float = 0.0) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"Attention: dim {dim} is not divisible by {num_heads} heads")
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.attn_drop = attn_drop

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, c = x.shape
        qkv = self.qkv(x).view(n, length, 3, self.num_heads, c // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        out = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.attn_drop if self.training else 0.0)
        return self.proj(out.transpose(1, 2).reshape(n, length, c))


class ViTBlock(nn.Module):
    """Pre-norm transformer block on a ``B x H x W x C`` token map; ``window_size=0`` means
    global attention."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, qkv_bias: bool = True,
                 window_size: int = 0, drop_rate: float = 0.0, attn_drop_rate: float = 0.0,
                 drop_path_rate: float = 0.0) -> None:
        super().__init__()
        self.window_size = window_size
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads, qkv_bias, attn_drop_rate)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.ffn = FFN(embed_dims=dim, feedforward_channels=int(dim * mlp_ratio), num_fcs=2,
                       act_cfg=dict(type="GELU"), ffn_drop=drop_rate,
                       dropout_layer=dict(type="DropPath", drop_prob=drop_path_rate),
                       add_identity=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, c = x.shape
        y = self.norm1(x)
        if self.window_size > 0:
            y, padded = window_partition(y, self.window_size)
            y = self.attn(y)
            y = window_unpartition(y, self.window_size, padded, (h, w))
        else:
            y = self.attn(y.view(b, h * w, c)).view(b, h, w, c)
        x = x + self.drop_path(y)
        return self.ffn(self.norm2(x), identity=x)


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
