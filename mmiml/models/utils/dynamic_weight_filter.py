"""Dynamic Weight Filter of Omni-IML's Dynamic Weight Decoder (docs/design/omni_iml.md
section 3)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_activation_layer, build_norm_layer
from torch import nn


class DynamicWeightFilter(nn.Module):
    """Per-sample 3x3 convolution mixed from K candidate kernels (docs/design/omni_iml.md
    section 3).

    Stated in section 3: the filter averages its input to ``V_c``, computes
    ``A = sigmoid(FC([V_c, V_g]))`` over K=4 candidate 3x3 kernels, convolves with the per-sample
    kernel ``sum_i A_i W_i`` (grouped-conv trick, batch folded into groups) and follows with a
    depthwise and a 1x1 pointwise conv.

    Our choices: the dynamic conv is followed by norm + activation; the depthwise 3x3 conv uses
    dilation 1 (the dilation lives in the dynamic conv); the pointwise conv has norm but no
    activation, then a residual add with the filter input and a final activation, so a stack
    of filters starts close to identity-plus-refinement and trains stably.

    Args:
        channels: input and output channels C.
        global_channels: length G of the global image vector ``V_g``.
        num_kernels: number K of candidate kernels (4 in the paper).
        dilation: dilation of the dynamic 3x3 conv.
        groups: channel groups of the candidate kernels (1 = full C->C kernels; more is cheaper).
        mode: ``'dynamic'`` (A from each sample) or ``'fixed'`` (A = sigmoid of a learned,
            sample-independent vector; the ablation of section 3). ``'off'`` is decided by the
            decoder, which then builds no filters at all.
        norm_cfg: norm layer config; None = no norm (as in mmcv's ConvModule and the decoder).
        act_cfg: activation config; None = identity.
    """

    def __init__(
        self,
        channels: int,
        global_channels: int,
        num_kernels: int = 4,
        dilation: int = 1,
        groups: int = 1,
        mode: str = "dynamic",
        norm_cfg: dict | None = None,
        act_cfg: dict | None = dict(type="ReLU"),  # noqa: B006 - never mutated
    ) -> None:
        super().__init__()
        if mode not in ("dynamic", "fixed"):
            raise ValueError(f"DynamicWeightFilter mode must be 'dynamic' or 'fixed', got {mode!r}")
        if channels % groups:
            raise ValueError(f"channels={channels} not divisible by groups={groups}")
        self.channels = channels
        self.global_channels = global_channels
        self.num_kernels = num_kernels
        self.dilation = dilation
        self.groups = groups
        self.mode = mode

        self.weight = nn.Parameter(torch.empty(num_kernels, channels, channels // groups, 3, 3))
        if mode == "dynamic":
            self.fc = nn.Linear(channels + global_channels, num_kernels)
        else:
            # Logits of the sample-independent mixing weights; sigmoid(0) = 0.5 for every kernel.
            self.mix_logits = nn.Parameter(torch.zeros(num_kernels))
        self.norm = build_norm_layer(norm_cfg, channels)[1] if norm_cfg else nn.Identity()
        self.act = build_activation_layer(act_cfg) if act_cfg else nn.Identity()
        self.depthwise = ConvModule(
            channels, channels, 3, padding=1, groups=channels,
            norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.pointwise = ConvModule(channels, channels, 1, norm_cfg=norm_cfg, act_cfg=None)
        self.out_act = build_activation_layer(act_cfg) if act_cfg else nn.Identity()
        # Mixing weights of the last forward, (B, K), detached: for tests and logging.
        self.last_mix: torch.Tensor | None = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Each candidate gets nn.Conv2d's default init; BN after the conv absorbs the scale.
        for kernel in self.weight:
            nn.init.kaiming_uniform_(kernel, a=math.sqrt(5))

    def mixing_weights(self, x: torch.Tensor, global_vec: torch.Tensor | None) -> torch.Tensor:
        """A in (0, 1)^(B, K): per sample in 'dynamic' mode, shared by all samples in 'fixed'."""
        batch = x.shape[0]
        if self.mode == "fixed":
            return torch.sigmoid(self.mix_logits).unsqueeze(0).expand(batch, -1)
        if global_vec is None:
            raise ValueError("'dynamic' DynamicWeightFilter needs the global vector V_g")
        local_vec = x.mean(dim=(2, 3))  # V_c = GAP(x)
        return torch.sigmoid(self.fc(torch.cat([local_vec, global_vec], dim=1)))

    def forward(self, x: torch.Tensor, global_vec: torch.Tensor | None = None) -> torch.Tensor:
        """Filter ``x`` (B, C, H, W) with ``V_g`` (B, G); returns (B, C, H, W)."""
        batch, channels, height, width = x.shape
        mix = self.mixing_weights(x, global_vec)
        self.last_mix = mix.detach()
        pad = self.dilation
        if self.mode == "fixed":
            # One kernel for the whole batch: an ordinary conv is cheaper than the grouped trick.
            kernel = torch.einsum("k,koihw->oihw", mix[0], self.weight)
            out = F.conv2d(x, kernel, padding=pad, dilation=self.dilation, groups=self.groups)
        else:
            # Grouped-conv trick: fold the batch into groups so each sample uses its own kernel.
            kernel = torch.einsum("bk,koihw->boihw", mix, self.weight)
            kernel = kernel.reshape(batch * channels, channels // self.groups, 3, 3)
            out = F.conv2d(
                x.reshape(1, batch * channels, height, width), kernel, padding=pad,
                dilation=self.dilation, groups=batch * self.groups)
            out = out.reshape(batch, channels, height, width)
        out = self.act(self.norm(out))
        out = self.pointwise(self.depthwise(out))
        return self.out_act(out + x)
