"""Multi-view Iterative Decoder (MID) of DTD (Qu, Luo, et al., CVPR 2023, section 4).

Paper: the decoder imitates how a person inspects a document, looking from afar and then closer:
it iterates over the encoder's scales from the coarsest to the finest (four cascaded iterations
for four scales), each iteration fusing the current scale with the upsampled result of the
previous one, and the views of all scales are gathered for the final prediction.

Our re-implementation (details are our choice where the paper is silent):

* Laterals: a 1x1 ConvModule per scale to ``channels``.
* Pass 1 (top-down, the paper's cascade): at scale ``i``, from the coarsest,
  ``d_i = Conv3x3(concat(l_i, up(d_{i+1})))``; the coarsest sees its lateral only.
* Passes 2..``num_passes`` (refinement views, our choice): the same top-down sweep, each scale
  now fusing its previous decoding, the previous pass's finest decoding resized to this scale
  (the "close-up" view, giving coarse scales the fine detail back) and the current pass's
  upsampled coarser decoding.
* Multi-view aggregation: the last pass's decodings, all resized to the finest scale,
  concatenated, 1x1 ConvModule, then mmseg's ``cls_seg`` to ``num_classes`` logits at the finest
  stride (stride 4); mmseg upsamples them to the input size.
"""

from __future__ import annotations

from typing import Any

import torch
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from torch import nn

__all__ = ["MultiViewIterativeDecoder"]


@MODELS.register_module()
class MultiViewIterativeDecoder(BaseDecodeHead):
    """DTD's MID: cascaded coarse-to-fine fusion over all scales, repeated ``num_passes`` times.

    Args:
        num_passes: top-down sweeps; 1 is the paper's single cascade, more add refinement views.
        **kwargs: :class:`BaseDecodeHead` arguments (``in_channels`` a list, finest first;
            ``in_index``; ``channels``; ``num_classes``; ``norm_cfg``; ...).
            ``input_transform`` is always ``'multiple_select'``.
    """

    def __init__(self, num_passes: int = 2, **kwargs: Any) -> None:
        kwargs.pop("input_transform", None)
        super().__init__(input_transform="multiple_select", **kwargs)
        if num_passes < 1:
            raise ValueError(
                f"MultiViewIterativeDecoder: num_passes must be >= 1, got {num_passes}")
        self.num_passes = num_passes
        n, c = len(self.in_channels), self.channels
        conv = dict(norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.laterals = nn.ModuleList(ConvModule(ch, c, 1, **conv) for ch in self.in_channels)
        self.passes = nn.ModuleList()
        for p in range(num_passes):
            steps = nn.ModuleList()
            for i in range(n):
                # inputs: own (lateral or previous decoding), previous finest (pass > 1),
                # upsampled coarser decoding (all but the coarsest)
                k = 1 + (p > 0 and i > 0) + (i < n - 1)
                steps.append(ConvModule(k * c, c, 3, padding=1, **conv))
            self.passes.append(steps)
        self.aggregate = ConvModule(n * c, c, 1, **conv)

    def _up(self, x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return resize(x, size=like.shape[-2:], mode="bilinear", align_corners=self.align_corners)

    def sweep(self, steps: nn.ModuleList, own: list[torch.Tensor],
              finest: torch.Tensor | None) -> list[torch.Tensor]:
        """One top-down pass; ``own`` finest first; returns the decodings finest first."""
        n = len(own)
        out: list[torch.Tensor] = [own[0]] * n  # placeholders, all overwritten
        for i in range(n - 1, -1, -1):
            parts = [own[i]]
            if finest is not None and i > 0:
                parts.append(self._up(finest, own[i]))
            if i < n - 1:
                parts.append(self._up(out[i + 1], own[i]))
            out[i] = steps[i](torch.cat(parts, dim=1))
        return out

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        feats = self._transform_inputs(inputs)
        views = [lat(f) for lat, f in zip(self.laterals, feats)]
        finest = None
        for steps in self.passes:
            views = self.sweep(steps, views, finest)
            finest = views[0]
        fused = self.aggregate(torch.cat([views[0]] + [self._up(v, views[0]) for v in views[1:]],
                                         dim=1))
        return self.cls_seg(fused)
