"""MVSS-Net's two branches (Chen et al., ICCV 2021): edge-supervised ESB and noise-sensitive NSB.

``MVSSBranches`` runs both on the RGB input and returns ``[edge_logits, esb_c4, nsb_c4]``:

* ESB: a ResNet on RGB; after each of its 4 stages a :class:`SobelLayer` and an Edge Residual
  Block (:class:`ERB`); the four edge maps are fused into one edge prediction (1 channel, stride
  4, logits), supervised by the edge band of the mask (``MVSSNet`` computes the loss).
* NSB: :class:`BayarConv2d` (5x5, 3 outputs) on RGB, then a second ResNet of the same shape.

The last-stage features of both go to the dual-attention head (``MVSSHead``).
"""

from __future__ import annotations

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.registry import MODELS

from ..utils.forensic_filters import BayarConv2d, SobelLayer

__all__ = ["ERB", "MVSSBranches"]


class ERB(nn.Module):
    """Edge Residual Block: 1x1 conv, then ``act(x + conv3x3-BN-ReLU-conv3x3-BN(x))``.

    Our choice: a BN after the second 3x3 conv too (the residual is then normalised like the
    rest of the network); ``forward(x, act=False)`` skips the final ReLU (last block, whose
    output feeds the edge classifier).
    """

    def __init__(self, in_channels: int, out_channels: int, norm_cfg: dict | None = None) -> None:
        super().__init__()
        norm_cfg = norm_cfg or dict(type="BN", requires_grad=True)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 1)
        self.res = nn.Sequential(
            ConvModule(out_channels, out_channels, 3, padding=1, norm_cfg=norm_cfg),
            ConvModule(out_channels, out_channels, 3, padding=1, norm_cfg=norm_cfg, act_cfg=None),
        )

    def forward(self, x: torch.Tensor, act: bool = True) -> torch.Tensor:
        x = self.conv1(x)
        x = x + self.res(x)
        return F.relu(x) if act else x


def _stage_channels(resnet: nn.Module) -> list[int]:
    """Output channels of each residual stage of an mmseg ResNet."""
    return [resnet.block.expansion * resnet.base_channels * 2**i
            for i in range(len(resnet.res_layers))]


@MODELS.register_module()
class MVSSBranches(BaseModule):
    """Edge-supervised branch (ESB) + noise-sensitive branch (NSB) of MVSS-Net.

    Args:
        resnet: mmseg ResNet config for the ESB (``out_indices`` is set to all 4 stages).
            MVSS-Net uses ResNet-50; we use a dilated one (output stride 8, DANet's setting,
            our choice) so the attention head sees a finer map.
        noise_resnet: ResNet config for the NSB; default: a copy of ``resnet`` (only the last
            stage is used).
        edge_channels: width of the ERB chain (our choice; the authors' code uses 1).
        sobel_reduce: channel reduction before the Sobel filters (see :class:`SobelLayer`).
        bayar: :class:`BayarConv2d` arguments (default 3 -> 3 channels, 5x5).
        norm_cfg: norm of the ERBs.
        init_cfg: mmengine init config.

    Returns (forward): ``[edge_logits (Bx1xH/4xW/4), esb_c4, nsb_c4]``.
    """

    def __init__(self, resnet: dict, noise_resnet: dict | None = None, edge_channels: int = 32,
                 sobel_reduce: str = "mean", bayar: dict | None = None,
                 norm_cfg: dict | None = None, init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        esb_cfg = copy.deepcopy(dict(resnet))
        esb_cfg["out_indices"] = (0, 1, 2, 3)
        nsb_cfg = copy.deepcopy(dict(noise_resnet if noise_resnet is not None else resnet))
        nsb_cfg["out_indices"] = (3,)
        bayar_cfg = dict(in_channels=3, out_channels=3, kernel_size=5)
        bayar_cfg.update(bayar or {})
        nsb_cfg["in_channels"] = bayar_cfg["out_channels"]
        self.esb = MODELS.build(esb_cfg)
        self.bayar = BayarConv2d(**bayar_cfg)
        self.nsb = MODELS.build(nsb_cfg)
        chans = _stage_channels(self.esb)
        self.esb_channels = chans
        self.nsb_channels = _stage_channels(self.nsb)
        self.sobel = nn.ModuleList(
            SobelLayer(c, reduce=sobel_reduce) for c in chans)
        self.erb_in = nn.ModuleList(ERB(c, edge_channels, norm_cfg) for c in chans)
        self.erb_fuse = nn.ModuleList(
            ERB(edge_channels, edge_channels, norm_cfg) for _ in chans[1:])
        self.edge_cls = nn.Conv2d(edge_channels, 1, 1)

    def edge_features(self, feats: list[torch.Tensor]) -> torch.Tensor:
        """Sobel + ERB on every stage, fused shallow to deep at the stride-4 resolution.

        ``e = ERB_in1(S(c1)); e = ERB_fuse_i(e + up(ERB_in_{i+1}(S(c_{i+1}))))`` for i = 1..3,
        the last ERB without its final ReLU, then a 1x1 classifier. (Our reading of the paper's
        Fig. 2: each stage's edge map is added to the running one, from shallow to deep.)
        """
        e = self.erb_in[0](self.sobel[0](feats[0]))
        for i in range(1, len(feats)):
            d = self.erb_in[i](self.sobel[i](feats[i]))
            if d.shape[-2:] != e.shape[-2:]:
                d = F.interpolate(d, size=e.shape[-2:], mode="bilinear", align_corners=False)
            e = self.erb_fuse[i - 1](e + d, act=i < len(feats) - 1)
        return self.edge_cls(e)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = list(self.esb(x))
        edge = self.edge_features(feats)
        noise = self.nsb(self.bayar(x))[-1]
        return [edge, feats[-1], noise]
