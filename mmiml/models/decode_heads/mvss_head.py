"""MVSS-Net's dual-attention decode head (Chen et al., ICCV 2021, "Image Manipulation Detection
by Multi-View Multi-Scale Supervision"); see configs/mvss_net/README.md."""

from __future__ import annotations

from typing import Any

import torch
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.da_head import CAM, PAM
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS

__all__ = ["MVSSHead"]


@MODELS.register_module()
class MVSSHead(BaseDecodeHead):
    """Dual-attention fusion of the ESB and NSB last-stage features, then 2-class logits.

    The selected inputs (``in_index``, default the ESB and NSB features of ``MVSSBranches``) are
    concatenated; two parallel paths (3x3 conv-BN-ReLU to ``channels``, position or channel
    attention, 3x3 conv-BN-ReLU) are summed and classified by ``conv_seg`` (after dropout), as
    the DANet head. The attention modules are mmseg's DANet ``PAM`` and ``CAM``. Our choice: no
    separate auxiliary PAM/CAM outputs (MVSS-Net supervises the fused one only), hence not
    mmseg's ``DAHead`` itself, whose unused auxiliary classifiers would hold parameters that get
    no gradient.

    Args:
        key_channels: query/key width of the position attention; default ``channels // 8``.
        **kwargs: :class:`BaseDecodeHead` arguments; ``in_channels`` a list matching
            ``in_index`` with ``input_transform='multiple_select'``.
    """

    def __init__(self, key_channels: int | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("input_transform", "multiple_select")
        super().__init__(**kwargs)
        in_ch = (sum(self.in_channels) if isinstance(self.in_channels, (list, tuple))
                 else self.in_channels)
        conv = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.pam_in = ConvModule(in_ch, self.channels, 3, padding=1, **conv)
        self.pam = PAM(self.channels, key_channels or max(self.channels // 8, 1))
        self.pam_out = ConvModule(self.channels, self.channels, 3, padding=1, **conv)
        self.cam_in = ConvModule(in_ch, self.channels, 3, padding=1, **conv)
        self.cam = CAM()
        self.cam_out = ConvModule(self.channels, self.channels, 3, padding=1, **conv)

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        x = self._transform_inputs(inputs)
        if isinstance(x, (list, tuple)):
            size = x[0].shape[-2:]
            x = torch.cat([t if t.shape[-2:] == size else
                           resize(t, size=size, mode="bilinear", align_corners=self.align_corners)
                           for t in x], dim=1)
        feat = self.pam_out(self.pam(self.pam_in(x))) + self.cam_out(self.cam(self.cam_in(x)))
        return self.cls_seg(feat)
