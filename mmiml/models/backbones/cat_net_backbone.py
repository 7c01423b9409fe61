"""Two-stream encoder of CAT-Net (Kwon et al., IJCV 2022, "Learning JPEG Compression Artifacts
for Image Manipulation Detection and Localization").

* **RGB stream**: an HRNet (mmseg's ``HRNet``), four branches at strides 4, 8, 16 and 32.
* **DCT stream**: the Y-channel quantised JPEG DCT, ``|coef|`` clipped to 20 and one-hot encoded
  (21 channels), a dilated (rate 8) 3x3 conv then a 1x1 conv, modulated by the quantisation
  table, and an 8x8 stride-8 block conv; i.e. exactly mmiml's
  :class:`~mmiml.models.utils.frequency_perception_head.FrequencyPerceptionHead` (the stem that
  Omni-IML's FPH took from DTD, itself derived from CAT-Net), which is reused here. Then residual
  blocks at stride 8 and a small multi-resolution HRNet-like stack (HRModules) ending with three
  branches at strides 8, 16 and 32.
* **Fusion**: the RGB stream's stride-8/16/32 features are concatenated with the DCT stream's
  same-stride features (the stride-4 RGB branch is kept alone) and a final four-branch HRNet
  stage fuses them. Its four outputs feed a concat-all-scales head (mmseg ``FCNHead`` with
  ``input_transform='resize_concat'``, as in HRNetV2 and CAT-Net).

CAT-Net's own DCT stem reshapes each 8x8 block of a 4-channel map into 256 channels and multiplies
by the quantisation table; the FPH's learned table embedding tiled over the in-block positions
followed by a learned 8x8 stride-8 conv is our choice of the same operation (it contains the
reshape as a special case). Widths, depths and the per-stage layout of the DCT stream and the
fusion stage are our reading of the paper's figure and description (the paper does not list
every width); the configs state them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from mmcv.cnn import ConvModule, build_conv_layer, build_norm_layer
from mmengine.model import BaseModule, Sequential
from mmseg.models.backbones.hrnet import HRModule, HRNet
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from torch import nn

from ..utils.frequency_perception_head import FrequencyPerceptionHead

__all__ = ["CATNetBackbone"]

_BLOCKS = HRNet.blocks_dict  # {'BASIC': BasicBlock, 'BOTTLENECK': Bottleneck}


def _stage_keys_ok(stage: dict, where: str) -> None:
    for key in ("num_modules", "num_branches", "block", "num_blocks", "num_channels"):
        if key not in stage:
            raise KeyError(f"{where}: missing '{key}'")
    if not (len(stage["num_blocks"]) == len(stage["num_channels"]) == stage["num_branches"]):
        raise ValueError(f"{where}: num_blocks and num_channels need num_branches entries")


class _Transition(nn.Module):
    """HRNet-style transition between stages (our own implementation of the usual rule).

    Existing branch ``i``: identity, or a 3x3 conv-norm-ReLU when its width changes. New branch
    ``i >= len(in_channels)``: a chain of stride-2 3x3 convs from the lowest-resolution input.
    """

    def __init__(self, in_channels: Sequence[int], out_channels: Sequence[int],
                 conv_cfg: dict | None, norm_cfg: dict) -> None:
        super().__init__()
        self.num_in = len(in_channels)
        layers: list[nn.Module] = []
        for i, out_c in enumerate(out_channels):
            if i < self.num_in:
                layers.append(nn.Identity() if in_channels[i] == out_c else ConvModule(
                    in_channels[i], out_c, 3, padding=1, bias=False, conv_cfg=conv_cfg,
                    norm_cfg=norm_cfg))
            else:
                steps, c = [], in_channels[-1]
                for j in range(i + 1 - self.num_in):
                    nxt = out_c if j == i - self.num_in else c
                    steps.append(ConvModule(c, nxt, 3, stride=2, padding=1, bias=False,
                                            conv_cfg=conv_cfg, norm_cfg=norm_cfg))
                    c = nxt
                layers.append(nn.Sequential(*steps))
        self.layers = nn.ModuleList(layers)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        return [layer(xs[i] if i < self.num_in else xs[-1]) for i, layer in enumerate(self.layers)]


def _hr_stage(stage: dict, in_channels: Sequence[int], conv_cfg: dict | None, norm_cfg: dict,
              with_cp: bool) -> tuple[Sequential, list[int]]:
    """``num_modules`` mmseg HRModules; returns them and their output widths."""
    block = _BLOCKS[stage["block"]]
    channels = list(in_channels)
    modules = []
    for _ in range(stage["num_modules"]):
        # HRModule rewrites its in_channels list in place; give it a copy.
        modules.append(HRModule(stage["num_branches"], block, list(stage["num_blocks"]),
                                list(channels), list(stage["num_channels"]),
                                multiscale_output=True, with_cp=with_cp, conv_cfg=conv_cfg,
                                norm_cfg=norm_cfg))
        channels = [c * block.expansion for c in stage["num_channels"]]
    return Sequential(*modules), channels


@MODELS.register_module()
class CATNetBackbone(BaseModule):
    """CAT-Net encoder: RGB HRNet + JPEG DCT stream, fused at strides 8, 16 and 32.

    Args:
        rgb: mmseg ``HRNet`` config (``type`` may be omitted; ``norm_cfg``/``conv_cfg`` default
            to this module's). Its stage 4 must have 4 branches.
        dct_stem: :class:`FrequencyPerceptionHead` keyword arguments (``channels``,
            ``out_channels``, ``clip``, ``qt_value_mode``); norms default to ``norm_cfg``.
        dct_layer: ``dict(num_blocks, num_channels)``: residual BasicBlocks at stride 8 after
            the stem (our choice: CAT-Net has such a layer; widths are ours).
        dct_stages: HRNet stage dicts (``num_modules``, ``num_branches``, ``block``,
            ``num_blocks``, ``num_channels``), each adding branches; the last must have 3
            branches (strides 8, 16, 32).
        fuse_stage: one HRNet stage dict with 4 branches, fed with
            ``[rgb_4, cat(rgb_8, dct_8), cat(rgb_16, dct_16), cat(rgb_32, dct_32)]``; each
            branch's first block projects the concatenated width (1x1 shortcut, mmseg HRModule).
        norm_cfg / conv_cfg / with_cp: shared by all parts.

    Forward: ``(inputs (B, 3, H, W), dct (B, 1, H, W) int, qtable (B, 8, 8))`` -> four maps at
    strides 4, 8, 16, 32 with ``fuse_stage.num_channels`` widths. H and W must be multiples of 8
    (the preprocessor's ``size_divisor=32`` keeps both streams on the same grid; a DCT map that
    still differs in size from its RGB partner is resized bilinearly, our choice).
    """

    def __init__(
        self,
        rgb: dict,
        dct_stem: dict | None = None,
        dct_layer: dict | None = None,
        dct_stages: Sequence[dict] = (),
        fuse_stage: dict | None = None,
        norm_cfg: dict | None = None,
        conv_cfg: dict | None = None,
        with_cp: bool = False,
        init_cfg: Any = None,
    ) -> None:
        if init_cfg is None:  # HRNet's own default initialisation
            init_cfg = [dict(type="Kaiming", layer="Conv2d"),
                        dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"])]
        super().__init__(init_cfg)
        norm_cfg = dict(type="BN", requires_grad=True) if norm_cfg is None else dict(norm_cfg)
        if fuse_stage is None:
            raise ValueError("CATNetBackbone needs fuse_stage (a 4-branch HRNet stage dict)")

        # RGB stream
        self.rgb = MODELS.build(dict(dict(type="HRNet", norm_cfg=norm_cfg, conv_cfg=conv_cfg,
                                          with_cp=with_cp), **rgb))
        rgb_stage4 = self.rgb.extra["stage4"]
        if rgb_stage4["num_branches"] != 4:
            raise ValueError("CATNetBackbone: the RGB HRNet's stage4 must have 4 branches")
        rgb_channels = [c * _BLOCKS[rgb_stage4["block"]].expansion
                        for c in rgb_stage4["num_channels"]]

        # DCT stream: stem (reused FPH) -> stride-8 residual blocks -> multi-resolution stages
        stem = dict(dict(channels=64, out_channels=256, norm_cfg=norm_cfg,
                         out_norm_cfg=norm_cfg), **(dct_stem or {}))
        self.dct_stem = FrequencyPerceptionHead(**stem)
        width = self.dct_stem.out_channels
        dct_layer = dict(dict(num_blocks=2, num_channels=width), **(dct_layer or {}))
        basic = _BLOCKS["BASIC"]
        blocks = []
        for i in range(dct_layer["num_blocks"]):
            c_in = width if i == 0 else dct_layer["num_channels"]
            c_out = dct_layer["num_channels"]
            down = None if c_in == c_out else nn.Sequential(
                build_conv_layer(conv_cfg, c_in, c_out, kernel_size=1, bias=False),
                build_norm_layer(norm_cfg, c_out)[1])
            blocks.append(basic(c_in, c_out, downsample=down, with_cp=with_cp,
                                norm_cfg=norm_cfg, conv_cfg=conv_cfg))
        self.dct_layer = Sequential(*blocks) if blocks else nn.Identity()
        channels = [dct_layer["num_channels"] if blocks else width]
        if not dct_stages or dct_stages[-1]["num_branches"] != 3:
            raise ValueError("CATNetBackbone: dct_stages must end with a 3-branch stage "
                             "(strides 8, 16, 32)")
        self.dct_transitions = nn.ModuleList()
        self.dct_stages = nn.ModuleList()
        for k, stage in enumerate(dct_stages):
            _stage_keys_ok(stage, f"dct_stages[{k}]")
            expansion = _BLOCKS[stage["block"]].expansion
            self.dct_transitions.append(_Transition(
                channels, [c * expansion for c in stage["num_channels"]], conv_cfg, norm_cfg))
            module, channels = _hr_stage(stage, [c * expansion for c in stage["num_channels"]],
                                         conv_cfg, norm_cfg, with_cp)
            self.dct_stages.append(module)
        dct_channels = channels

        # Fusion stage over [rgb_4, cat(rgb_8, dct_8), cat(rgb_16, dct_16), cat(rgb_32, dct_32)]
        _stage_keys_ok(fuse_stage, "fuse_stage")
        if fuse_stage["num_branches"] != 4:
            raise ValueError("CATNetBackbone: fuse_stage must have 4 branches")
        fuse_in = [rgb_channels[0]] + [r + d for r, d in zip(rgb_channels[1:], dct_channels,
                                                               strict=True)]
        self.fuse, self.out_channels = _hr_stage(fuse_stage, fuse_in, conv_cfg, norm_cfg, with_cp)
        self.rgb_channels, self.dct_channels = rgb_channels, dct_channels

    def forward_dct(self, dct: torch.Tensor, qtable: torch.Tensor) -> list[torch.Tensor]:
        """DCT stream alone: three maps at strides 8, 16, 32."""
        xs = [self.dct_layer(self.dct_stem(dct, qtable))]
        for transition, stage in zip(self.dct_transitions, self.dct_stages, strict=True):
            xs = stage(transition(xs))
        return xs

    def forward(self, inputs: torch.Tensor, dct: torch.Tensor | None,
                qtable: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        if dct is None or qtable is None:
            raise ValueError("CATNetBackbone needs the JPEG DCT and quantisation table: add "
                             "LoadJpegDCT to the pipeline (see configs/_base_/datasets)")
        if dct.shape[-2:] != inputs.shape[-2:]:
            raise ValueError(f"dct {tuple(dct.shape[-2:])} is not pixel-aligned with the inputs "
                             f"{tuple(inputs.shape[-2:])}")
        rgb = self.rgb(inputs)
        freq = self.forward_dct(dct, qtable)
        fused = [rgb[0]]
        for r, d in zip(rgb[1:], freq, strict=True):
            if d.shape[-2:] != r.shape[-2:]:
                d = resize(d, size=r.shape[-2:], mode="bilinear", align_corners=False)
            fused.append(torch.cat([r, d], dim=1))
        return tuple(self.fuse(fused))
