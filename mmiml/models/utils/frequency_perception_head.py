"""Frequency Perception Head (FPH) of the Omni-IML Modal Gate Encoder.

docs/design/omni_iml.md section 1 (stated: from DTD): Y-channel quantised JPEG DCT coefficients,
``|coef|`` clipped to ``[0, 20]`` and one-hot encoded (21 channels); a dilated (rate 8) 3x3 conv
then a 1x1 conv; the 8x8 quantisation table is embedded (64 positions -> vector) and multiplies
each in-block position; an 8x8 stride-8 conv brings the result to stride 8.
"""

import torch
from mmcv.cnn import ConvModule
from torch import nn

from .dct_embedding import QuantTableEmbedding, one_hot_dct

__all__ = ["FrequencyPerceptionHead"]


class FrequencyPerceptionHead(nn.Module):
    """DCT + quantisation table -> stride-8 frequency features (docs/design/omni_iml.md section 1).

    Pipeline (stated, from DTD): one-hot(|dct| clipped to ``clip``) -> 3x3 conv with dilation 8
    (rate 8 = one JPEG block, so each coefficient sees the same frequency in the 8 neighbouring
    blocks) -> 1x1 conv -> multiply by the quantisation-table embedding tiled so pixel (y, x) gets
    entry (y % 8, x % 8) -> 8x8 stride-8 conv (one output per JPEG block).

    Our choice (the sources are silent): both pre-modulation convs have ``channels`` outputs and
    are followed by ``norm_cfg`` + ``act_cfg``; the table embedding has ``channels`` dims; the
    final block conv is followed by ``out_norm_cfg`` + ``out_act_cfg``.

    Args:
        out_channels: channels of the stride-8 output.
        channels: width of the per-pixel convs and of the table embedding.
        clip: DCT magnitude clip; the one-hot has ``clip + 1`` channels.
        qt_value_mode: ``'embedding'`` or ``'linear'``, see :class:`QuantTableEmbedding`.
        norm_cfg / act_cfg: norm and activation after the dilated and the 1x1 conv.
        out_norm_cfg / out_act_cfg: norm and activation after the 8x8 stride-8 conv.

    Shapes:
        ``forward(dct (B, 1, H, W) int, qtable (B, 8, 8))`` -> ``(B, out_channels, H/8, W/8)``;
        H and W must be multiples of 8 (crops stay on the JPEG grid, section 1).
    """

    def __init__(
        self,
        out_channels: int = 256,
        channels: int = 64,
        clip: int = 20,
        qt_value_mode: str = "embedding",
        norm_cfg: dict | None = None,
        act_cfg: dict | None = None,
        out_norm_cfg: dict | None = None,
        out_act_cfg: dict | None = None,
    ) -> None:
        super().__init__()
        norm_cfg = dict(type="BN") if norm_cfg is None else norm_cfg
        act_cfg = dict(type="ReLU") if act_cfg is None else act_cfg
        out_norm_cfg = dict(type="BN") if out_norm_cfg is None else out_norm_cfg
        out_act_cfg = dict(type="ReLU") if out_act_cfg is None else out_act_cfg
        self.clip = clip
        self.channels = channels
        self.out_channels = out_channels
        # padding = dilation keeps H x W, so block (i, j) stays at rows 8i..8i+7.
        self.dilated_conv = ConvModule(
            clip + 1, channels, 3, padding=8, dilation=8, norm_cfg=norm_cfg, act_cfg=act_cfg
        )
        self.pointwise_conv = ConvModule(channels, channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.qt_embed = QuantTableEmbedding(channels, value_mode=qt_value_mode)
        # Kernel 8 stride 8: each output sees exactly one JPEG block, all 64 positions.
        self.block_conv = ConvModule(
            channels, out_channels, 8, stride=8, norm_cfg=out_norm_cfg, act_cfg=out_act_cfg
        )

    def forward(self, dct: torch.Tensor, qtable: torch.Tensor) -> torch.Tensor:
        height, width = dct.shape[-2:]
        if height % 8 or width % 8:
            raise ValueError(f"dct height/width must be multiples of 8, got {height}x{width}")
        if qtable.shape[0] != dct.shape[0]:
            raise ValueError(f"batch mismatch: dct {dct.shape[0]} vs qtable {qtable.shape[0]}")
        x = one_hot_dct(dct, self.clip).to(self.qt_embed.pos_embed.dtype)
        x = self.pointwise_conv(self.dilated_conv(x))
        x = x * self.qt_embed.tiled(qtable, height, width)
        return self.block_conv(x)
