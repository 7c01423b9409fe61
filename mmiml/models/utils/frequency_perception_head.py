"""Frequency Perception Head (FPH) of the Omni-IML Modal Gate Encoder.

docs/design/omni_iml.md section 1 (stated: from DTD): Y-channel quantised JPEG DCT coefficients,
``|coef|`` clipped to ``[0, 20]`` and one-hot encoded (21 channels); a dilated (rate 8) 3x3 conv
then a 1x1 conv; the 8x8 quantisation table is embedded (64 positions -> vector) and multiplies
each in-block position; an 8x8 stride-8 conv brings the result to stride 8.

``layout='block'`` (our choice, for speed) computes the same kind of features per 8x8 block at
stride 8 and never builds a full-resolution feature map; see the class docstring.
"""

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_activation_layer, build_norm_layer
from torch import nn

from .dct_embedding import QuantTableEmbedding, one_hot_dct

__all__ = ["FrequencyPerceptionHead"]

BLOCK_AREA = 64  # positions in a JPEG block


class FrequencyPerceptionHead(nn.Module):
    """DCT + quantisation table -> stride-8 frequency features (docs/design/omni_iml.md section 1).

    Pipeline (stated, from DTD): one-hot(|dct| clipped to ``clip``) -> 3x3 conv with dilation 8
    (rate 8 = one JPEG block, so each coefficient sees the same frequency in the 8 neighbouring
    blocks) -> 1x1 conv -> multiply by the quantisation-table embedding tiled so pixel (y, x) gets
    entry (y % 8, x % 8) -> 8x8 stride-8 conv (one output per JPEG block).

    Our choice (the sources are silent): both pre-modulation convs have ``channels`` outputs and
    are followed by ``norm_cfg`` + ``act_cfg``; the table embedding has ``channels`` dims; the
    final block conv is followed by ``out_norm_cfg`` + ``out_act_cfg``.

    ``layout='block'`` (our choice; the sources describe the per-pixel form): every coefficient
    of a block, at in-block position p with clipped magnitude v, looks up a learned vector
    ``E[p, v]`` (``channels`` long; one per frequency and value, like the one-hot input of a
    1x1 conv), is multiplied by the table embedding of position p, and a linear map over the 64
    positions gives the block's feature (the 8x8 stride-8 conv of the pixel form). Because all
    of this is linear, it folds into one table per image, ``G[p, v]`` of ``out_channels``, and
    the block feature is the sum of the 64 looked-up rows (``F.embedding_bag``): per pixel it
    costs one addition per output channel instead of a 21-channel dilated 3x3 conv. Norm and
    activation follow, then a 3x3 conv over neighbouring blocks (the context that the rate-8
    dilated conv gives the pixel form) with ``out_norm_cfg`` + ``out_act_cfg``.

    Args:
        out_channels: channels of the stride-8 output.
        channels: width of the per-pixel convs and of the table embedding.
        clip: DCT magnitude clip; the one-hot has ``clip + 1`` channels.
        qt_value_mode: ``'embedding'`` or ``'linear'``, see :class:`QuantTableEmbedding`.
        norm_cfg / act_cfg: norm and activation after the dilated and the 1x1 conv.
        out_norm_cfg / out_act_cfg: norm and activation after the 8x8 stride-8 conv
            (``'block'``: after the 3x3 block-context conv).
        layout: ``'pixel'`` (DTD's per-pixel pipeline) or ``'block'`` (per block, stride 8).

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
        layout: str = "pixel",
    ) -> None:
        super().__init__()
        if layout not in ("pixel", "block"):
            raise ValueError(f"FrequencyPerceptionHead: layout must be 'pixel' or 'block', "
                             f"got {layout!r}")
        norm_cfg = dict(type="BN") if norm_cfg is None else norm_cfg
        act_cfg = dict(type="ReLU") if act_cfg is None else act_cfg
        out_norm_cfg = dict(type="BN") if out_norm_cfg is None else out_norm_cfg
        out_act_cfg = dict(type="ReLU") if out_act_cfg is None else out_act_cfg
        self.clip = clip
        self.channels = channels
        self.out_channels = out_channels
        self.layout = layout
        self.qt_embed = QuantTableEmbedding(channels, value_mode=qt_value_mode)
        if layout == "block":
            self._build_block_layout(norm_cfg, act_cfg, out_norm_cfg, out_act_cfg)
            return
        # padding = dilation keeps H x W, so block (i, j) stays at rows 8i..8i+7.
        self.dilated_conv = ConvModule(
            clip + 1, channels, 3, padding=8, dilation=8, norm_cfg=norm_cfg, act_cfg=act_cfg
        )
        self.pointwise_conv = ConvModule(channels, channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        # Kernel 8 stride 8: each output sees exactly one JPEG block, all 64 positions.
        self.block_conv = ConvModule(
            channels, out_channels, 8, stride=8, norm_cfg=out_norm_cfg, act_cfg=out_act_cfg
        )

    def _build_block_layout(self, norm_cfg: dict, act_cfg: dict, out_norm_cfg: dict,
                            out_act_cfg: dict) -> None:
        bins, c, out = self.clip + 1, self.channels, self.out_channels
        # E[p, v]: one vector per in-block position and clipped magnitude
        self.value_vectors = nn.Parameter(torch.empty(BLOCK_AREA, bins, c))
        # the linear map over the 64 positions (the pixel form's 8x8 stride-8 conv)
        self.block_weight = nn.Parameter(torch.empty(out, BLOCK_AREA, c))
        self.block_bias = nn.Parameter(torch.zeros(out))
        nn.init.normal_(self.value_vectors, std=1.0)
        nn.init.kaiming_uniform_(self.block_weight.view(out, -1), a=5 ** 0.5)
        self.block_norm = build_norm_layer(norm_cfg, out)[1] if norm_cfg else nn.Identity()
        self.block_act = build_activation_layer(act_cfg) if act_cfg else nn.Identity()
        self.context_conv = ConvModule(out, out, 3, padding=1, norm_cfg=out_norm_cfg,
                                       act_cfg=out_act_cfg)

    def block_features(self, dct: torch.Tensor, qtable: torch.Tensor) -> torch.Tensor:
        """``layout='block'``: the linear per-block features (B, out_channels, H/8, W/8), before
        norm, activation and the block-context conv."""
        batch, _, height, width = dct.shape
        h, w = height // 8, width // 8
        bins = self.clip + 1
        # (B, 64, h*w): the clipped magnitude of in-block position p of every block
        value = dct.to(torch.int64).abs().clamp_(max=self.clip)
        value = F.pixel_unshuffle(value.to(torch.float32), 8).to(torch.int64).flatten(2)
        # per image: G[p, v] = sum_c W[:, p, c] * Q[p, c] * E[p, v, c], (B, 64 * bins, out)
        q = self.qt_embed(qtable).flatten(2).transpose(1, 2)  # (B, 64, C)
        table = torch.einsum("opc,bpc,pvc->bpvo", self.block_weight, q, self.value_vectors)
        table = table.reshape(batch * BLOCK_AREA * bins, self.out_channels)
        # row of (image b, position p, value v) in the flattened tables
        rows = (value + (torch.arange(BLOCK_AREA, device=dct.device) * bins)[None, :, None]
                + (torch.arange(batch, device=dct.device) * BLOCK_AREA * bins)[:, None, None])
        rows = rows.permute(0, 2, 1).reshape(batch * h * w, BLOCK_AREA)
        x = F.embedding_bag(rows, table, mode="sum") + self.block_bias
        return x.view(batch, h, w, self.out_channels).permute(0, 3, 1, 2)

    def forward(self, dct: torch.Tensor, qtable: torch.Tensor) -> torch.Tensor:
        height, width = dct.shape[-2:]
        if height % 8 or width % 8:
            raise ValueError(f"dct height/width must be multiples of 8, got {height}x{width}")
        if qtable.shape[0] != dct.shape[0]:
            raise ValueError(f"batch mismatch: dct {dct.shape[0]} vs qtable {qtable.shape[0]}")
        if self.layout == "block":
            x = self.block_features(dct, qtable)
            return self.context_conv(self.block_act(self.block_norm(x)))
        x = one_hot_dct(dct, self.clip).to(self.qt_embed.pos_delta.dtype)
        x = self.pointwise_conv(self.dilated_conv(x))
        x = x * self.qt_embed.tiled(qtable, height, width)
        return self.block_conv(x)
