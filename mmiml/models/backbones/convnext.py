"""ConvNeXt backbone with mmpretrain's parameter names.

mmpretrain (and so its ConvNeXt) cannot be installed beside torch 2.13 here, because it imports
torchvision. This re-implementation keeps mmpretrain's module layout and parameter names
(``downsample_layers``, ``stages``, ``norm{i}``, ``depthwise_conv``, ``pointwise_conv1/2``,
``gamma``), so a published mmseg UperNet-ConvNeXt (ADE20k) checkpoint loads into it with
``init_cfg=dict(type='Pretrained', checkpoint=LOCAL_PATH, prefix='backbone.')``.
Omni-IML uses ConvNeXt-Base initialised that way (docs/design/omni_iml.md, section 2).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModule, ModuleList, Sequential
from mmengine.model.weight_init import trunc_normal_
from mmseg.registry import MODELS
from torch import nn

from ..utils import DropPath, LayerNorm2d


class ConvNeXtBlock(BaseModule):
    """One ConvNeXt block: 7x7 depthwise conv, LayerNorm, MLP (as Linear), layer scale."""

    def __init__(
        self,
        channels: int,
        mlp_ratio: float = 4.0,
        drop_path_rate: float = 0.0,
        layer_scale_init_value: float = 1e-6,
        with_cp: bool = False,
    ) -> None:
        super().__init__()
        self.with_cp = with_cp
        self.depthwise_conv = nn.Conv2d(channels, channels, 7, padding=3, groups=channels)
        self.norm = LayerNorm2d(channels, eps=1e-6)
        hidden = int(mlp_ratio * channels)
        self.pointwise_conv1 = nn.Linear(channels, hidden)
        self.act = nn.GELU()
        self.pointwise_conv2 = nn.Linear(hidden, channels)
        self.gamma = (
            nn.Parameter(layer_scale_init_value * torch.ones(channels))
            if layer_scale_init_value > 0
            else None
        )
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    def _inner_forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.depthwise_conv(x).permute(0, 2, 3, 1)  # NHWC: Linear acts on channels
        x = F.layer_norm(x, (x.shape[-1],), self.norm.weight, self.norm.bias, self.norm.eps)
        x = self.pointwise_conv2(self.act(self.pointwise_conv1(x)))
        if self.gamma is not None:
            x = x * self.gamma
        return shortcut + self.drop_path(x.permute(0, 3, 1, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            return torch.utils.checkpoint.checkpoint(self._inner_forward, x, use_reentrant=False)
        return self._inner_forward(x)


@MODELS.register_module()
class ConvNeXt(BaseModule):
    """ConvNeXt (Liu et al., 2022) returning multi-scale features for segmentation.

    Args:
        arch: a name in ``arch_zoo`` or a dict with ``depths`` and ``channels``. ``atto`` and
            ``pico`` are the CPU-sized variants; ``base`` is the paper scale (section 2).
        in_channels: input channels (3 for RGB).
        stem_patch_size: stride of the patchify stem.
        out_indices: stages whose (normalised) outputs are returned.
        drop_path_rate: stochastic depth, linearly increasing over blocks.
        layer_scale_init_value: initial layer scale; mmseg's ConvNeXt configs use 1.0.
        frozen_stages: stages (with their downsampling) kept frozen; -1 freezes nothing.
        with_cp: gradient checkpointing per block, to save memory.
        pretrained: local path of a checkpoint whose ``backbone.*`` weights to load (an mmseg
            UperNet-ConvNeXt or mmpretrain ConvNeXt file); shorthand for
            ``init_cfg=dict(type='Pretrained', checkpoint=PATH, prefix='backbone.')``.
        pretrained_missing: when ``pretrained`` does not exist: ``'error'`` (default) raises
            naming the path; ``'warn'`` logs a warning and keeps the random initialisation
            (the paper configs, whose ADE20k checkpoint a user may not have).
    """

    arch_zoo: dict[str, dict[str, list[int]]] = {
        "atto": {"depths": [2, 2, 6, 2], "channels": [40, 80, 160, 320]},
        "femto": {"depths": [2, 2, 6, 2], "channels": [48, 96, 192, 384]},
        "pico": {"depths": [2, 2, 6, 2], "channels": [64, 128, 256, 512]},
        "nano": {"depths": [2, 2, 8, 2], "channels": [80, 160, 320, 640]},
        "tiny": {"depths": [3, 3, 9, 3], "channels": [96, 192, 384, 768]},
        "small": {"depths": [3, 3, 27, 3], "channels": [96, 192, 384, 768]},
        "base": {"depths": [3, 3, 27, 3], "channels": [128, 256, 512, 1024]},
        "large": {"depths": [3, 3, 27, 3], "channels": [192, 384, 768, 1536]},
    }

    def __init__(
        self,
        arch: str | dict = "tiny",
        in_channels: int = 3,
        stem_patch_size: int = 4,
        out_indices: Sequence[int] = (0, 1, 2, 3),
        drop_path_rate: float = 0.0,
        layer_scale_init_value: float = 1e-6,
        frozen_stages: int = -1,
        with_cp: bool = False,
        pretrained: str | None = None,
        pretrained_missing: str = "error",
        init_cfg: dict | list | None = None,
    ) -> None:
        if pretrained_missing not in ("error", "warn"):
            raise ValueError("ConvNeXt: pretrained_missing must be 'error' or 'warn', "
                             f"got {pretrained_missing!r}")
        if pretrained is not None and not os.path.isfile(pretrained):
            problem = f"ConvNeXt: pretrained checkpoint {pretrained!r} does not exist"
            if pretrained_missing == "error":
                raise FileNotFoundError(problem)
            print_log(f"{problem}; starting from RANDOM initialisation (put the checkpoint there "
                      "or set model...pretrained=None to silence this)", logger="current",
                      level=logging.WARNING)
            pretrained = None
        if pretrained is not None:
            if init_cfg is not None:
                raise ValueError("ConvNeXt: give either pretrained or init_cfg, not both")
            init_cfg = dict(type="Pretrained", checkpoint=pretrained, prefix="backbone.")
        super().__init__(init_cfg=init_cfg)
        if isinstance(arch, str):
            if arch not in self.arch_zoo:
                raise KeyError(
                    f"ConvNeXt arch {arch!r} unknown; choose from {sorted(self.arch_zoo)}")
            arch = self.arch_zoo[arch]
        if not {"depths", "channels"} <= set(arch) or len(arch["depths"]) != len(arch["channels"]):
            raise ValueError(f"ConvNeXt arch needs equal-length 'depths' and 'channels': {arch}")
        self.depths = list(arch["depths"])
        self.channels = list(arch["channels"])
        num_stages = len(self.depths)
        self.out_indices = [i % num_stages for i in out_indices]
        self.frozen_stages = frozen_stages

        rates = torch.linspace(0, drop_path_rate, sum(self.depths)).tolist()
        self.downsample_layers = ModuleList()
        self.downsample_layers.append(
            nn.Sequential(
                nn.Conv2d(in_channels, self.channels[0], stem_patch_size, stride=stem_patch_size),
                LayerNorm2d(self.channels[0], eps=1e-6),
            )
        )
        self.stages = ModuleList()
        block_idx = 0
        for i, (depth, ch) in enumerate(zip(self.depths, self.channels)):
            if i > 0:
                self.downsample_layers.append(
                    nn.Sequential(
                        LayerNorm2d(self.channels[i - 1], eps=1e-6),
                        nn.Conv2d(self.channels[i - 1], ch, 2, stride=2),
                    )
                )
            self.stages.append(
                Sequential(
                    *[
                        ConvNeXtBlock(ch, drop_path_rate=rates[block_idx + j],
                                      layer_scale_init_value=layer_scale_init_value,
                                      with_cp=with_cp)
                        for j in range(depth)
                    ]
                )
            )
            block_idx += depth
            if i in self.out_indices:
                self.add_module(f"norm{i}", LayerNorm2d(ch, eps=1e-6))
        self._freeze_stages()

    def init_weights(self) -> None:
        if self.init_cfg is not None:
            super().init_weights()  # Pretrained from a local path the user gives
            return
        for m in self.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward_stage(self, x: torch.Tensor, i: int) -> torch.Tensor:
        """Downsample then run stage ``i`` (Omni-IML feeds its gated map into stage 1 on)."""
        return self.stages[i](self.downsample_layers[i](x))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outs = []
        for i in range(len(self.stages)):
            x = self.forward_stage(x, i)
            if i in self.out_indices:
                outs.append(getattr(self, f"norm{i}")(x))
        return tuple(outs)

    def _freeze_stages(self) -> None:
        for i in range(self.frozen_stages + 1):
            for module in (self.downsample_layers[i], self.stages[i]):
                module.eval()
                for p in module.parameters():
                    p.requires_grad = False

    def train(self, mode: bool = True) -> ConvNeXt:
        super().train(mode)
        self._freeze_stages()
        return self
