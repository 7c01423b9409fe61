"""Omni-IML's Dynamic Weight Decoder (docs/design/omni_iml.md section 3) as an mmseg decode head."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.necks import FPN
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from torch import nn

from ..utils.dynamic_weight_filter import DynamicWeightFilter


@MODELS.register_module()
class DynamicWeightDecoder(BaseDecodeHead):
    """FPN fusion followed by a stack of Dynamic Weight Filters (docs/design/omni_iml.md section 3).

    Stated in section 3: top-down FPN fusion of the four backbone levels gives F1..F4, a global
    image vector ``V_g`` conditions the filters, and the reduced features pass through Dynamic
    Weight Filters with different dilation rates. ``mode`` gives the ablation
    switches: ``'dynamic'`` (the model), ``'fixed'`` (learned sample-independent mixing
    weights) and ``'off'`` (plain FPN head: no filters, fused map straight to ``cls_seg``).

    Our choices: the FPN is mmseg's ``FPN`` neck (1x1 lateral ConvModules, top-down
    upsample-and-add, a 3x3 ConvModule on every level, no PPM on the top level) with the head's
    norm and activation and bilinear upsampling (mmseg's default is nearest); ``V_g`` is the
    global average of the deepest backbone level (stride 32, before the FPN) projected by one
    linear layer to ``global_channels``. It must carry image-level information that a filter's
    own input lacks: each filter also averages its input (the fused FPN map) to ``V_c``, and a
    ``V_g`` taken from the same FPN map (GAP(F1), our first reading) left "dynamic" and
    "fixed" mixing nearly the same. The levels are fused by upsampling to F1's size,
    concatenating and a 1x1 ConvModule down to ``channels``. The last forward's per-sample
    mixing weights are in ``last_mix`` (B, filters, K) for the metric.

    Args:
        in_channels: channels of the four backbone levels (strides 4, 8, 16, 32).
        channels: decoder width C.
        mode: ``'dynamic'``, ``'fixed'`` or ``'off'``.
        dilations: dilation of each Dynamic Weight Filter, in order.
        num_kernels: candidate kernels per filter (K=4 in the paper).
        global_channels: length G of ``V_g``; None = ``channels``.
        filter_groups: channel groups of the candidate kernels (1 = full C->C kernels).
        **kwargs: passed to ``BaseDecodeHead`` (num_classes, norm_cfg, loss_decode, ...).
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        channels: int,
        mode: str = "dynamic",
        dilations: Sequence[int] = (1, 2, 4),
        num_kernels: int = 4,
        global_channels: int | None = None,
        filter_groups: int = 1,
        **kwargs,
    ) -> None:
        kwargs.setdefault("input_transform", "multiple_select")
        super().__init__(in_channels=list(in_channels), channels=channels, **kwargs)
        if mode not in ("dynamic", "fixed", "off"):
            raise ValueError(f"DynamicWeightDecoder mode must be dynamic/fixed/off, got {mode!r}")
        if self.input_transform != "multiple_select":
            raise ValueError("DynamicWeightDecoder needs input_transform='multiple_select'")
        self.mode = mode
        conv_kw = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        # init_cfg=None keeps ConvModule's own (Kaiming) init instead of FPN's Xavier default
        self.fpn = FPN(self.in_channels, channels, num_outs=len(self.in_channels),
                       upsample_cfg=dict(mode="bilinear", align_corners=self.align_corners),
                       init_cfg=None, **conv_kw)
        self.fuse = ConvModule(len(self.in_channels) * channels, channels, 1, **conv_kw)

        # 'off' builds neither the projection nor filters, so no parameter goes unused.
        self.global_channels = global_channels or channels
        self.global_proj: nn.Linear | None = None
        self.filters = nn.ModuleList()
        if mode != "off":
            if mode == "dynamic":
                self.global_proj = nn.Linear(self.in_channels[-1], self.global_channels)
            self.filters.extend(
                DynamicWeightFilter(
                    channels, self.global_channels, num_kernels=num_kernels, dilation=d,
                    groups=filter_groups, mode=mode, norm_cfg=self.norm_cfg,
                    act_cfg=self.act_cfg)
                for d in dilations)

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Logits (B, num_classes, H/4, W/4) from the four backbone levels."""
        levels = self._transform_inputs(inputs)
        feats = self.fpn(levels)  # [F1, F2, F3, F4], ``channels`` each
        size = feats[0].shape[2:]
        fused = self.fuse(torch.cat(
            [feats[0]] + [resize(f, size=size, mode="bilinear", align_corners=self.align_corners)
                          for f in feats[1:]], dim=1))
        global_vec = None
        if self.global_proj is not None:
            global_vec = self.global_proj(levels[-1].mean(dim=(2, 3)))  # V_g: deepest level
        for dw_filter in self.filters:
            fused = dw_filter(fused, global_vec)
        return self.cls_seg(fused)

    @property
    def last_mix(self) -> torch.Tensor | None:
        """Mixing weights of the last forward, (B, filters, K); None without filters."""
        if not self.filters or any(f.last_mix is None for f in self.filters):
            return None
        return torch.stack([f.last_mix for f in self.filters], dim=1)
