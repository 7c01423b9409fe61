"""IML-ViT decoder (Ma et al., 2023): a ViTDet "simple feature pyramid" built from the last ViT
map, then a light all-MLP predict head fusing every level into 2-class logits.

Our re-implementation (one module, the pyramid lives in the head):

* Simple FPN: from the single stride-``p`` map of :class:`~mmiml.models.backbones.WindowedViT`,
  one branch per ``scale_factors`` entry: 4 = two 2x2 stride-2 deconvolutions (norm + GELU in
  between), 2 = one deconvolution, 1 = identity, 0.5 / 0.25 = 2x2 / 4x4 max-pooling; each branch
  then a 1x1 conv + norm and a 3x3 conv + norm to ``fpn_channels`` (ViTDet's layout; norm is the
  head's ``norm_cfg``, BN/SyncBN here where ViTDet uses LayerNorm). With ``p = 16`` the default
  factors (4, 2, 1, 0.5) give strides 4, 8, 16, 32.
* Predict head: each level projected linearly (1x1 conv) to ``channels``, upsampled bilinearly to
  the finest level, concatenated, fused by a 1x1 ConvModule (norm + ReLU), then mmseg's
  ``cls_seg`` (dropout + 1x1 classifier) to ``num_classes`` logits at the finest stride.

The edge loss is not here: :class:`~mmiml.models.segmentors.IMLViT` adds it in its ``loss``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from mmcv.cnn import ConvModule, build_norm_layer
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from torch import nn

__all__ = ["IMLViTHead"]


@MODELS.register_module()
class IMLViTHead(BaseDecodeHead):
    """Simple feature pyramid + all-MLP predict head of IML-ViT.

    Args:
        fpn_channels: channels of every pyramid level.
        scale_factors: resampling factor of each level w.r.t. the ViT map, from the finest
            (first) to the coarsest; each of 4, 2, 1, 0.5, 0.25.
        **kwargs: :class:`BaseDecodeHead` arguments (``in_channels`` = the ViT width,
            ``channels`` = the predict head's width, ``num_classes``, ``norm_cfg``, ...).
    """

    def __init__(self, fpn_channels: int = 256,
                 scale_factors: Sequence[float] = (4.0, 2.0, 1.0, 0.5), **kwargs: Any) -> None:
        super().__init__(input_transform=None, **kwargs)
        bad = [s for s in scale_factors if s not in (4.0, 2.0, 1.0, 0.5, 0.25)]
        if bad:
            raise ValueError(f"IMLViTHead: unsupported scale factors {bad}")
        self.scale_factors = tuple(float(s) for s in scale_factors)
        c = self.in_channels
        self.fpn_resample = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        for scale in self.scale_factors:
            if scale == 4.0:
                layer: nn.Module = nn.Sequential(
                    nn.ConvTranspose2d(c, c // 2, 2, stride=2),
                    build_norm_layer(self.norm_cfg, c // 2)[1], nn.GELU(),
                    nn.ConvTranspose2d(c // 2, c // 4, 2, stride=2))
                out = c // 4
            elif scale == 2.0:
                layer, out = nn.ConvTranspose2d(c, c // 2, 2, stride=2), c // 2
            elif scale == 1.0:
                layer, out = nn.Identity(), c
            else:
                k = int(round(1 / scale))
                layer, out = nn.MaxPool2d(k, stride=k, ceil_mode=True), c
            self.fpn_resample.append(layer)
            self.fpn_convs.append(nn.Sequential(
                ConvModule(out, fpn_channels, 1, norm_cfg=self.norm_cfg, act_cfg=None),
                ConvModule(fpn_channels, fpn_channels, 3, padding=1, norm_cfg=self.norm_cfg,
                           act_cfg=None)))
        self.mlp = nn.ModuleList(
            nn.Conv2d(fpn_channels, self.channels, 1) for _ in self.scale_factors)
        self.fuse = ConvModule(self.channels * len(self.scale_factors), self.channels, 1,
                               norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)

    def simple_fpn(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The pyramid levels (finest first) of the ViT map ``x``."""
        return [conv(resample(x)) for resample, conv in zip(self.fpn_resample, self.fpn_convs)]

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        x = self._transform_inputs(inputs)
        levels = self.simple_fpn(x)
        size = max((lvl.shape[-2:] for lvl in levels), key=lambda s: s[0] * s[1])
        outs = [resize(mlp(lvl), size=size, mode="bilinear", align_corners=self.align_corners)
                for mlp, lvl in zip(self.mlp, levels)]
        return self.cls_seg(self.fuse(torch.cat(outs, dim=1)))
