"""TruFor-like dual encoder (Guillaro et al., CVPR 2023), our re-implementation.

TruFor feeds the RGB image and its Noiseprint++ residual to two SegFormer MiT encoders and fuses
them at every stage with CMX's cross-modal feature rectification (FRM) and feature fusion (FFM)
modules. Here:

* :class:`NoiseResidualExtractor`: the Noiseprint++ stand-in, a small DnCNN-like fully
  convolutional stack (3x3 conv + BN + ReLU blocks) that outputs a 3-channel residual. It is
  trained from scratch together with the rest (the Noiseprint++ weights are not available here
  and TruFor's contrastive pre-training of it is not reproduced). Fixed SRM high-pass filters
  and/or a constrained Bayar convolution (``mmiml.models.utils.forensic_filters``) can be put in
  front of it: their outputs are concatenated to the image.
* :class:`CrossModalRectifyFuse`: our simplification of CMX's FRM + FFM. Channel weights (an MLP
  on the global average and max pools of both modalities) and spatial weights (two 1x1 convs on
  both modalities) are computed for each modality; each modality is rectified by adding the other
  one re-weighted, ``rgb' = rgb + l_c * w_c[noise] * noise + l_s * w_s[noise] * noise`` (and
  symmetrically), as in CMX's FRM. The rectified features feed the next stage of their own
  encoder, and a 1x1 conv + norm + ReLU on their concatenation gives the fused feature of the
  stage (CMX's FFM uses cross-attention and a channel embedding instead).
* :class:`TruForLikeEncoder`: takes the RGB input only (the noise extractor is inside) and
  returns the four fused stage features (strides 4, 8, 16, 32).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.models.backbones import MixVisionTransformer
from mmseg.models.utils import nlc_to_nchw
from mmseg.registry import MODELS

from ..utils.forensic_filters import BayarConv2d, SRMConv2d

__all__ = ["CrossModalRectifyFuse", "NoiseResidualExtractor", "TruForLikeEncoder"]


class NoiseResidualExtractor(nn.Module):
    """DnCNN-like noise-residual extractor (learned Noiseprint++ stand-in).

    ``[x, SRM(x), Bayar(x)] -> conv3x3 -> norm -> ReLU -> (depth - 2) x (conv3x3 -> norm -> ReLU)
    -> conv3x3 -> out_channels``. Our choice: the first conv is normalised too (the SRM outputs
    and the image have different scales).

    Args:
        in_channels: image channels.
        out_channels: channels of the residual (3, the MiT input of the noise branch).
        channels: width of the hidden convs (DnCNN / Noiseprint: 64).
        depth: number of convs including the first and the last (DnCNN / Noiseprint: 17).
        use_srm: concatenate the three fixed SRM residuals (:class:`SRMConv2d`) to the input.
        use_bayar: concatenate a 3-channel constrained convolution (:class:`BayarConv2d`).
        srm_clip: clamp of the SRM outputs (None: no clamp; the input is ImageNet-normalised).
        norm_cfg: normalisation of the hidden convs.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, channels: int = 64,
                 depth: int = 17, use_srm: bool = True, use_bayar: bool = False,
                 srm_clip: float | None = None,
                 norm_cfg: dict | None = None) -> None:
        super().__init__()
        if depth < 2:
            raise ValueError(f"NoiseResidualExtractor: depth must be >= 2, got {depth}")
        norm_cfg = dict(type="BN", requires_grad=True) if norm_cfg is None else norm_cfg
        self.srm = SRMConv2d(in_channels, clip=srm_clip) if use_srm else None
        self.bayar = BayarConv2d(in_channels, 3, kernel_size=5) if use_bayar else None
        c_in = in_channels + (3 if use_srm else 0) + (3 if use_bayar else 0)
        layers: list[nn.Module] = []
        for _ in range(depth - 1):
            layers.append(ConvModule(c_in, channels, 3, padding=1, norm_cfg=norm_cfg,
                                     act_cfg=dict(type="ReLU")))
            c_in = channels
        self.body = nn.Sequential(*layers)
        self.out_conv = nn.Conv2d(channels, out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = [x]
        if self.srm is not None:
            parts.append(self.srm(x))
        if self.bayar is not None:
            parts.append(self.bayar(x))
        return self.out_conv(self.body(torch.cat(parts, dim=1)))


class CrossModalRectifyFuse(nn.Module):
    """Cross-modal rectification + 1x1 fusion of one stage (our simplification of CMX).

    Args:
        channels: channels of each modality at this stage.
        reduction: reduction ratio of the hidden layers of the weight branches.
        lambda_c: weight of the channel-wise rectification (CMX: 0.5).
        lambda_s: weight of the spatial rectification (CMX: 0.5).
        norm_cfg: normalisation of the fusion conv.
    """

    def __init__(self, channels: int, reduction: int = 1, lambda_c: float = 0.5,
                 lambda_s: float = 0.5, norm_cfg: dict | None = None) -> None:
        super().__init__()
        norm_cfg = dict(type="BN", requires_grad=True) if norm_cfg is None else norm_cfg
        hidden = max(channels // reduction, 8)
        self.lambda_c = lambda_c
        self.lambda_s = lambda_s
        self.channel_weights = nn.Sequential(  # [avg, max] pools of [rgb, noise] -> 2C gates
            nn.Linear(4 * channels, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, 2 * channels), nn.Sigmoid())
        self.spatial_weights = nn.Sequential(  # [rgb, noise] -> one gate map per modality
            nn.Conv2d(2 * channels, hidden, 1), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, 2, 1), nn.Sigmoid())
        self.fuse = ConvModule(2 * channels, channels, 1, norm_cfg=norm_cfg,
                               act_cfg=dict(type="ReLU"))

    def forward(self, rgb: torch.Tensor, noise: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        n, c = rgb.shape[:2]
        both = torch.cat([rgb, noise], dim=1)
        pooled = torch.cat([F.adaptive_avg_pool2d(both, 1), F.adaptive_max_pool2d(both, 1)],
                           dim=1).flatten(1)
        wc = self.channel_weights(pooled).view(n, 2, c, 1, 1)  # index 0: rgb, 1: noise
        ws = self.spatial_weights(both)  # N x 2 x H x W
        rgb_r = rgb + self.lambda_c * wc[:, 1] * noise + self.lambda_s * ws[:, 1:2] * noise
        noise_r = noise + self.lambda_c * wc[:, 0] * rgb + self.lambda_s * ws[:, 0:1] * rgb
        fused = self.fuse(torch.cat([rgb_r, noise_r], dim=1))
        return rgb_r, noise_r, fused


@MODELS.register_module()
class TruForLikeEncoder(BaseModule):
    """RGB + learned-noise dual MiT encoder fused at every stage (TruFor-like).

    Args:
        mit: :class:`mmseg.models.backbones.MixVisionTransformer` keyword arguments, used for
            both encoders (``in_channels`` of the noise encoder is the residual's channels).
        noise_extractor: :class:`NoiseResidualExtractor` keyword arguments.
        fusion: :class:`CrossModalRectifyFuse` keyword arguments (without ``channels``).
        norm_cfg: normalisation of the noise extractor and the fusion convs.
        init_cfg: mmengine initialisation config.

    ``forward(x)`` returns the fused features of the stages in ``mit['out_indices']``.
    ``last_noise_residual`` keeps the residual of the last forward (for inspection).
    """

    def __init__(self, mit: dict, noise_extractor: dict | None = None,
                 fusion: dict | None = None, norm_cfg: dict | None = None,
                 init_cfg: Any = None) -> None:
        super().__init__(init_cfg=init_cfg)
        mit = dict(mit)
        mit.pop("type", None)
        noise_cfg = dict(noise_extractor or {})
        if norm_cfg is not None:
            noise_cfg.setdefault("norm_cfg", norm_cfg)
        self.noise_extractor = NoiseResidualExtractor(**noise_cfg)
        self.rgb_encoder = MixVisionTransformer(**mit)
        noise_mit = dict(mit, in_channels=self.noise_extractor.out_conv.out_channels)
        self.noise_encoder = MixVisionTransformer(**noise_mit)
        embed, heads = mit.get("embed_dims", 64), mit.get("num_heads", [1, 2, 4, 8])
        self.stage_channels: Sequence[int] = [embed * h for h in heads]
        self.out_indices = tuple(self.rgb_encoder.out_indices)
        fusion_cfg = dict(fusion or {})
        if norm_cfg is not None:
            fusion_cfg.setdefault("norm_cfg", norm_cfg)
        self.fusions = nn.ModuleList(
            [CrossModalRectifyFuse(c, **fusion_cfg) for c in self.stage_channels])
        self.last_noise_residual: torch.Tensor | None = None

    @staticmethod
    def _stage(layer: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
        patch_embed, blocks, norm = layer
        x, hw_shape = patch_embed(x)
        for block in blocks:
            x = block(x, hw_shape)
        return nlc_to_nchw(norm(x), hw_shape)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        noise = self.noise_extractor(x)
        self.last_noise_residual = noise.detach()
        rgb, outs = x, []
        for i, (rgb_layer, noise_layer) in enumerate(zip(self.rgb_encoder.layers,
                                                          self.noise_encoder.layers)):
            rgb = self._stage(rgb_layer, rgb)
            noise = self._stage(noise_layer, noise)
            rgb, noise, fused = self.fusions[i](rgb, noise)
            if i in self.out_indices:
                outs.append(fused)
        return outs
