"""Encoder of DTD, the Document Tampering Detector (Qu, Luo, et al., "Towards Robust Tampered Text
Detection in Document Image: New Dataset and New Solution", CVPR 2023, section 4, the method).

Paper (section 4): a Visual Perception Head (VPH, ConvNeXt-style conv blocks on RGB) and
a Frequency Perception Head (FPH, the Y-channel quantised JPEG DCT, clipped and embedded,
modulated by the quantisation table, reduced per 8x8 block, then refined by a few MobileNet-style
blocks) meet at stride 8; a multi-modality Swin encoder with scSE attention fuses them and goes on
to strides 16 and 32. The stride-4 VPH map and the three transformer stages form the pyramid that
the Multi-view Iterative Decoder reads.

Our re-implementation, reusing the suite's pieces:

* VPH: :class:`~mmiml.models.backbones.convnext.ConvNeXt` with two stages (stem + stage 0 at
  stride 4, downsampling + stage 1 at stride 8), as Omni-IML's VPH.
* FPH: :class:`~mmiml.models.utils.frequency_perception_head.FrequencyPerceptionHead` (one-hot
  ``|DCT| <= clip``, dilated conv, x quantisation-table embedding, 8x8 stride-8 conv; it is the
  same head Omni-IML and CAT-Net use) followed by ``fph_blocks`` of mmseg's MobileNetV2
  ``InvertedResidual`` (the paper's "MobileConv" refinement). The paper concatenates the raw and
  the table-modulated DCT features and adds CoordConv positions before the block reduction; the
  reused head multiplies instead and its table embedding carries the in-block position (our
  simplification).
* Fusion (our reading of "multi-modality transformer with scSE"): concat(VPH, FPH) at stride 8,
  1x1 conv + LayerNorm, then concurrent spatial and channel squeeze-excitation (scSE), then the
  first transformer stage.
* Transformer stages: Swin-style. A stage starts with mmcv's ``PatchMerging`` (2x2 merge, LN,
  linear; the first stage keeps stride 8 and only projects when widths differ) and stacks
  :class:`~mmiml.models.utils.vit_block.ViTBlock` (IML-ViT's pre-norm window-attention
  block). Odd blocks shift the windows by half a window with a cyclic roll, as Swin does, but
  without Swin's attention mask for the wrapped-around windows and without its relative position
  bias (our simplification: the tokens carry no positional embedding; the convolutional VPH/FPH
  features before them are position-aware enough for a dense task). Each stage output gets a
  LayerNorm (Swin's ``out_indices`` norms).

Output: ``(VPH stride 4, stage strides 8, 16, 32)`` as NCHW tensors.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.models.utils import InvertedResidual
from mmseg.registry import MODELS
from torch import nn

from ..utils import LayerNorm2d
from ..utils.frequency_perception_head import FrequencyPerceptionHead
from ..utils.scse import SCSE
from ..utils.shifted_window_stage import ShiftedWindowStage
from ..utils.weight_init import init_linear_and_layernorm
from .convnext import ConvNeXt

__all__ = ["DTDEncoder"]


@MODELS.register_module()
class DTDEncoder(BaseModule):
    """VPH + FPH fused at stride 8, then Swin-style stages (DTD, section 4).

    Args:
        vph: :class:`ConvNeXt` arguments of the Visual Perception Head; ``arch`` must have two
            stages (strides 4 and 8). ``type`` may be given and is ignored.
        fph: :class:`FrequencyPerceptionHead` arguments (``out_channels`` defaults to the VPH's
            stride-8 width).
        fph_blocks: MobileNetV2 inverted-residual blocks refining the FPH output (paper: 3).
        fph_expand_ratio: their expansion ratio (our choice: 4).
        stage_channels: widths of the transformer stages (strides 8, 16, 32).
        stage_depths: blocks per stage.
        num_heads: attention heads per stage.
        window_size: window side in tokens (all stages).
        mlp_ratio: FFN ratio of the transformer blocks.
        drop_path_rate: stochastic depth, rising linearly over all transformer blocks.
        scse_ratio: squeeze ratio of the scSE channel gate.
        norm_cfg: norm of the FPH refinement blocks (BN; SyncBN in the configs).
        init_cfg: mmengine init config; None = truncated-normal init of the new layers.
    """

    def __init__(
        self,
        vph: dict,
        fph: dict | None = None,
        fph_blocks: int = 3,
        fph_expand_ratio: int = 4,
        stage_channels: Sequence[int] = (192, 384, 768),
        stage_depths: Sequence[int] = (2, 18, 2),
        num_heads: Sequence[int] = (6, 12, 24),
        window_size: int = 8,
        mlp_ratio: float = 4.0,
        drop_path_rate: float = 0.0,
        scse_ratio: int = 4,
        norm_cfg: dict | None = None,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if not len(stage_channels) == len(stage_depths) == len(num_heads):
            raise ValueError("DTDEncoder: stage_channels, stage_depths and num_heads need the same "
                             "length")
        norm_cfg = dict(type="BN", requires_grad=True) if norm_cfg is None else norm_cfg
        vph = {k: v for k, v in vph.items() if k != "type"}
        self.vph = ConvNeXt(**dict(vph, out_indices=(0, 1)))
        if len(self.vph.channels) != 2:
            raise ValueError("DTDEncoder: the VPH ConvNeXt needs exactly two stages (strides 4 "
                             f"and 8), got channels {self.vph.channels}")
        vph4, vph8 = self.vph.channels
        fph = dict(fph or {})
        fph.setdefault("out_channels", vph8)
        self.fph = FrequencyPerceptionHead(**fph)
        width = self.fph.out_channels
        self.fph_refine = nn.Sequential(*[
            InvertedResidual(width, width, stride=1, expand_ratio=fph_expand_ratio,
                             norm_cfg=norm_cfg) for _ in range(fph_blocks)])
        fused = stage_channels[0]
        self.fuse = nn.Sequential(nn.Conv2d(vph8 + width, fused, 1), LayerNorm2d(fused),
                                  SCSE(fused, ratio=scse_ratio))
        total = sum(stage_depths)
        rates = torch.linspace(0, drop_path_rate, total).tolist() if total > 1 else [0.0] * total
        self.stages = nn.ModuleList()
        start, in_ch = 0, fused
        for i, (ch, depth, heads) in enumerate(zip(stage_channels, stage_depths, num_heads)):
            self.stages.append(ShiftedWindowStage(
                in_ch, ch, depth, heads, window_size, downsample=i > 0, mlp_ratio=mlp_ratio,
                drop_path_rates=rates[start:start + depth]))
            start, in_ch = start + depth, ch
        self.out_channels = [vph4, *stage_channels]

    def init_weights(self) -> None:
        if self.init_cfg is not None:
            super().init_weights()
            return
        self.vph.init_weights()
        # the VPH/FPH keep their own init
        init_linear_and_layernorm(m for name, m in self.named_modules()
                                  if not name.startswith(("vph", "fph.")))

    def perceive(self, img: torch.Tensor, dct: torch.Tensor, qtable: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """Stride-4 VPH map and the fused stride-8 map (before the transformer stages)."""
        vph4, vph8 = self.vph(img)
        freq = self.fph_refine(self.fph(dct, qtable))
        if freq.shape[-2:] != vph8.shape[-2:]:  # only if a side is not a multiple of 8
            freq = F.interpolate(freq, size=vph8.shape[-2:], mode="bilinear", align_corners=False)
        return vph4, self.fuse(torch.cat([vph8, freq], dim=1))

    def forward(self, img: torch.Tensor, dct: torch.Tensor | None,
                qtable: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        if dct is None or qtable is None:
            raise ValueError("DTDEncoder needs the JPEG DCT and quantisation table: add "
                             "LoadJpegDCT to the pipeline (see configs/_base_/datasets)")
        if dct.shape[-2:] != img.shape[-2:]:
            raise ValueError(f"dct {tuple(dct.shape[-2:])} is not pixel-aligned with the inputs "
                             f"{tuple(img.shape[-2:])}")
        vph4, x = self.perceive(img, dct, qtable)
        outs = [vph4]
        for stage in self.stages:
            x = stage(x)
            outs.append(x)
        return tuple(outs)
