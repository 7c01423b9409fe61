"""Bottom-up path of PSCC-Net (Liu et al., IEEE TCSVT 2022, Sec. III-B/C/D): progressive,
coarse-to-fine mask prediction with a Spatio-Channel Correlation Module (SCCM) at every scale,
plus the image-level detection head.

The top-down path (an HRNet, whose repeated multi-resolution exchanges are the paper's "dense
cross-connections") gives features at strides 4, 8, 16 and 32. The bottom-up path starts at the
coarsest one: SCCM, then a mask. Every finer level takes its own features together with the
previous (coarser) mask, upsampled, so "each mask is conditioned on the previous one"
(Sec. III-B); the finest (stride-4) mask is the output. The detection head reads the bottom-up
features of all scales and says whether the image is manipulated (Sec. III-D).

Our choices (the paper gives the idea, not these details):

* every mask is 2-class logits (authentic, tampered) as in the rest of mmiml, not a 1-channel
  sigmoid (equivalent: ``softmax(l)[1] = sigmoid(l1 - l0)``); the previous mask is passed on as
  its tampered probability, bilinearly upsampled and concatenated to the finer features before a
  3x3 conv-norm-act to ``channels``;
* the detection head downsamples the finest bottom-up features by stride-2 3x3 convs, adding each
  coarser level on the way (HRNet's classification-head pattern, one block per step), then global
  average pooling and a linear layer to one logit (BCE; the paper's detection head is a small
  conv stack + pooling + FC as well).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from torch import nn

from .sccm import SCCM

__all__ = ["PSCCHead"]


class _DetectionHead(nn.Module):
    """Image-level manipulated/authentic logit from bottom-up features ordered fine to coarse."""

    def __init__(self, channels: int, num_levels: int, conv_cfg: dict | None,
                 norm_cfg: dict | None, act_cfg: dict | None) -> None:
        super().__init__()
        self.downs = nn.ModuleList(
            ConvModule(channels, channels, 3, stride=2, padding=1, bias=False, conv_cfg=conv_cfg,
                       norm_cfg=norm_cfg, act_cfg=act_cfg) for _ in range(num_levels - 1))
        self.fc = nn.Linear(channels, 1)

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        y = feats[0]
        for down, f in zip(self.downs, feats[1:]):
            y = down(y)
            # odd sizes: the conv's ceil and the backbone's size may differ by a pixel
            y = y + (f if f.shape[-2:] == y.shape[-2:] else
                     resize(f, size=y.shape[-2:], mode="bilinear", align_corners=False))
        return self.fc(y.mean(dim=(2, 3))).squeeze(1)


@MODELS.register_module()
class PSCCHead(BaseDecodeHead):
    """Coarse-to-fine SCCM mask head + detection head of PSCC-Net.

    ``forward`` returns the finest (stride-4) 2-class logits, so mmseg's inference and the
    head's ``loss_decode`` work unchanged; :meth:`forward_all` also returns the coarser masks
    and the detection logit, which :class:`~mmiml.models.segmentors.PSCCNet` supervises.

    Args:
        key_channels: query/key width of every SCCM's spatial attention.
        reduce_scales: pixel-unshuffle factor of the spatial attention per input level, fine to
            coarse (our choice: (4, 2, 1, 1) puts the stride-4 and stride-8 attentions on a
            stride-16 grid of tokens).
        **kwargs: :class:`BaseDecodeHead` arguments; ``in_channels`` and ``in_index`` are lists
            of the backbone levels, fine to coarse, with ``input_transform='multiple_select'``.
    """

    def __init__(self, key_channels: int = 8, reduce_scales: Sequence[int] = (4, 2, 1, 1),
                 **kwargs: Any) -> None:
        kwargs.setdefault("input_transform", "multiple_select")
        super().__init__(**kwargs)
        if not isinstance(self.in_channels, (list, tuple)) or len(self.in_channels) < 2:
            raise ValueError("PSCCHead needs a list of at least two input levels")
        if len(reduce_scales) != len(self.in_channels):
            raise ValueError(f"PSCCHead: {len(reduce_scales)} reduce_scales for "
                             f"{len(self.in_channels)} levels")
        n = len(self.in_channels)
        conv = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        # level i sees its features and (except the coarsest) the previous mask's probability
        self.fuse = nn.ModuleList(
            ConvModule(c + (1 if i < n - 1 else 0), self.channels, 3, padding=1, bias=False,
                       **conv) for i, c in enumerate(self.in_channels))
        self.sccm = nn.ModuleList(
            SCCM(self.channels, key_channels, r, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
            for r in reduce_scales)
        # classifiers of the coarser masks (the finest one is BaseDecodeHead's conv_seg)
        self.mask_cls = nn.ModuleList(
            nn.Conv2d(self.channels, self.out_channels, 1) for _ in range(n - 1))
        self.detector = _DetectionHead(self.channels, n, **conv)

    def forward_all(self, inputs: list[torch.Tensor]
                    ) -> tuple[list[torch.Tensor], torch.Tensor]:
        """``(masks, det_logit)``: 2-class mask logits per level, fine to coarse (``masks[0]``
        is the stride-4 output), and the (B,) image-level manipulation logit."""
        feats = self._transform_inputs(inputs)
        n = len(feats)
        masks: list[torch.Tensor] = [None] * n  # type: ignore[list-item]
        hidden: list[torch.Tensor] = [None] * n  # type: ignore[list-item]
        prev = None
        for i in reversed(range(n)):  # coarse to fine
            x = feats[i]
            if prev is not None:
                prob = prev.softmax(dim=1)[:, 1:2]
                prob = resize(prob, size=x.shape[-2:], mode="bilinear",
                              align_corners=self.align_corners)
                x = torch.cat([x, prob], dim=1)
            h = self.sccm[i](self.fuse[i](x))
            hidden[i] = h
            masks[i] = self.cls_seg(h) if i == 0 else self.mask_cls[i - 1](h)
            prev = masks[i]
        return masks, self.detector(hidden)

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        """The stride-4 mask logits; the detection logit of the same pass is kept on
        ``last_det_logit`` (the segmentor reports it as the image score)."""
        masks, det_logit = self.forward_all(inputs)
        self.last_det_logit = det_logit.detach()
        return masks[0]
