"""Spatio-Channel Correlation Module (SCCM) of PSCC-Net (Liu et al., IEEE TCSVT 2022, Sec. III-C).

The SCCM gives the bottom-up path holistic cues: every position is re-expressed through its
correlation with every other position (spatial correlation, a non-local self-attention) and every
channel through its correlation with every other channel (channel correlation); both are added to
the input features (Sec. III-C, "spatial-wise and channel-wise correlations ... fused").

Our choices where the paper is silent or where cost matters:

* the spatial attention runs on a space-to-depth (pixel-unshuffle) view of the features, reduced
  by ``reduce_scale``, so a stride-4 map of a large image is not an ``(HW)^2`` matrix; the values
  are the unshuffled features themselves and the result is shuffled back (nothing is lost by the
  reduction, neighbouring pixels simply share one attention row);
* queries and keys are 1x1 convolutions to ``key_channels``; scaled dot-product softmax;
* the channel correlation is the softmax of the Gram matrix of the (L2-normalised over
  positions) features, so its temperature does not depend on the image size;
* each correlation goes through a 1x1 conv + norm projection before the residual sum, and a
  3x3 conv-norm-act follows (plain, non-zero-initialised paths, so every part gets a gradient
  from the first step).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import nn

__all__ = ["SCCM"]


class SCCM(nn.Module):
    """Spatial self-attention + channel attention, summed with the input (residual).

    Args:
        channels: input and output width.
        key_channels: width of the spatial queries and keys.
        reduce_scale: pixel-unshuffle factor of the spatial attention (1 = full resolution).
            Inputs whose size is not a multiple of it are padded (replicate) and cropped back.
        norm_cfg: norm of the projections and the output conv.
        act_cfg: activation of the output conv.
    """

    def __init__(self, channels: int, key_channels: int = 8, reduce_scale: int = 1,
                 norm_cfg: dict | None = None, act_cfg: dict | None = None) -> None:
        super().__init__()
        if reduce_scale < 1:
            raise ValueError(f"SCCM: reduce_scale must be >= 1, got {reduce_scale}")
        norm_cfg = norm_cfg or dict(type="BN", requires_grad=True)
        act_cfg = act_cfg or dict(type="ReLU")
        self.reduce_scale = reduce_scale
        self.key_channels = key_channels
        tok = channels * reduce_scale**2
        self.query = nn.Conv2d(tok, key_channels, 1)
        self.key = nn.Conv2d(tok, key_channels, 1)
        self.spatial_proj = ConvModule(channels, channels, 1, bias=False, norm_cfg=norm_cfg,
                                       act_cfg=None)
        self.channel_proj = ConvModule(channels, channels, 1, bias=False, norm_cfg=norm_cfg,
                                       act_cfg=None)
        self.out = ConvModule(channels, channels, 3, padding=1, bias=False, norm_cfg=norm_cfg,
                              act_cfg=act_cfg)

    def spatial(self, x: torch.Tensor) -> torch.Tensor:
        """Non-local attention over the positions of the ``reduce_scale``-unshuffled map."""
        r = self.reduce_scale
        h, w = x.shape[-2:]
        ph, pw = (-h) % r, (-w) % r
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        t = F.pixel_unshuffle(x, r) if r > 1 else x  # B x C r^2 x h' x w'
        b, c, hh, ww = t.shape
        q = self.query(t).flatten(2).transpose(1, 2)  # B x N x K
        k = self.key(t).flatten(2)  # B x K x N
        attn = torch.softmax(torch.bmm(q, k) * self.key_channels**-0.5, dim=-1)
        out = torch.bmm(t.flatten(2), attn.transpose(1, 2)).view(b, c, hh, ww)
        out = F.pixel_shuffle(out, r) if r > 1 else out
        return out[..., :h, :w]

    @staticmethod
    def channel(x: torch.Tensor) -> torch.Tensor:
        """Channel attention: each channel becomes a softmax mix of the correlated channels."""
        b, c, h, w = x.shape
        f = x.flatten(2)  # B x C x N
        fn = F.normalize(f, dim=-1)
        attn = torch.softmax(torch.bmm(fn, fn.transpose(1, 2)), dim=-1)  # B x C x C
        return torch.bmm(attn, f).view(b, c, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x + self.spatial_proj(self.spatial(x)) + self.channel_proj(self.channel(x))
        return self.out(y)
