"""Modal Gate Encoder of Omni-IML (docs/design/omni_iml.md, sections 1 and 2).

Two perception heads produce stride-8 maps: the Vision Perception Head (VPH: the ConvNeXt stem,
stage 0 and the stride-8 downsampling on RGB) gives F_rgb; the Frequency Perception Head (FPH,
from DTD) on the quantised JPEG DCT is fused with F_rgb into F_fused. Each map has a small
auxiliary coarse-mask head (stated). A gate classifier over concat(F_rgb, F_fused, P_rgb,
P_fused) picks one map per sample (stated: hard), and the rest of the ConvNeXt backbone continues
from it.

Gate training is our choice: the target is 1 where the fused coarse prediction has the lower
per-sample loss (detached), trained with BCE; for the first ``teacher_forcing_iters`` training
iterations samples are routed by that target, afterwards (and always at inference) by the gate's
own decision. ``gate='soft'`` mixes the two maps by the gate probability instead, and
``force='rgb'|'fused'`` bypasses the gate for the ablations.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import nn

from mmiml import IGNORE_INDEX

from ..utils import LayerNorm2d
from ..utils.frequency_perception_head import FrequencyPerceptionHead
from .convnext import ConvNeXt


@MODELS.register_module()
class ModalGateEncoder(BaseModule):
    """ConvNeXt encoder whose stride-8 input is chosen per sample between RGB and RGB+DCT.

    Args:
        backbone: ConvNeXt config (``type`` may be omitted); its stem, stage 0 and first
            downsampling form the VPH, stages 1 to 3 continue from the gated map.
        fph: FrequencyPerceptionHead keyword arguments (``out_channels`` is set to the stride-8
            width of the backbone).
        gate: ``'hard'`` (paper) or ``'soft'``.
        force: None (gate decides), ``'rgb'`` or ``'fused'`` (ablations: forced RGB / fusion).
        teacher_forcing_iters: training iterations routed by the coarse-loss target.
        gate_channels: width of the gate classifier.
    """

    def __init__(
        self,
        backbone: dict,
        fph: dict | None = None,
        gate: str = "hard",
        force: str | None = None,
        teacher_forcing_iters: int = 1000,
        gate_channels: int = 64,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if gate not in ("hard", "soft"):
            raise ValueError(f"ModalGateEncoder: gate must be 'hard' or 'soft', got {gate!r}")
        if force not in (None, "rgb", "fused"):
            raise ValueError(
                f"ModalGateEncoder: force must be None, 'rgb' or 'fused', got {force!r}")
        backbone = {k: v for k, v in backbone.items() if k != "type"}
        self.convnext = ConvNeXt(**backbone)
        width = self.convnext.channels[1]  # stride-8 width
        self.gate_mode, self.force = gate, force
        self.teacher_forcing_iters = int(teacher_forcing_iters)
        self.fph = FrequencyPerceptionHead(**dict(fph or {}, out_channels=width))
        self.fuse = nn.Sequential(nn.Conv2d(2 * width, width, 3, padding=1),
                                  LayerNorm2d(width), nn.GELU(), nn.Conv2d(width, width, 1))
        self.coarse_rgb = nn.Conv2d(width, 1, 1)
        self.coarse_fused = nn.Conv2d(width, 1, 1)
        # The gate looks at both maps (noise of F_fused) and both coarse predictions (confidence).
        self.gate = nn.Sequential(
            nn.Conv2d(2 * width + 2, gate_channels, 3, padding=1), nn.GELU(),
            nn.Conv2d(gate_channels, gate_channels, 3, stride=2, padding=1), nn.GELU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(gate_channels, 1))
        # Supervised training forwards so far: a buffer, so it is saved in checkpoints and a
        # resumed run stays past the teacher-forcing phase (one forward per iteration).
        self.register_buffer("train_steps", torch.zeros((), dtype=torch.long))
        self.last_aux: dict[str, Any] = {}

    @property
    def iteration(self) -> int:
        """Training iterations seen (drives the teacher-forcing phase)."""
        return int(self.train_steps)

    @iteration.setter
    def iteration(self, value: int) -> None:
        self.train_steps.fill_(int(value))

    def perceive(self, img: torch.Tensor, dct: torch.Tensor, qtable: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Stride-4 stage-0 features, F_rgb and F_fused (both stride 8)."""
        stage0 = self.convnext.forward_stage(img, 0)
        f_rgb = self.convnext.downsample_layers[1](stage0)
        f_freq = self.fph(dct, qtable)
        if f_freq.shape[-2:] != f_rgb.shape[-2:]:  # input sides not multiples of 32
            f_freq = F.interpolate(f_freq, size=f_rgb.shape[-2:], mode="bilinear",
                                   align_corners=False)
        f_fused = self.fuse(torch.cat([f_rgb, f_freq], dim=1))
        return stage0, f_rgb, f_fused

    def route(self, f_rgb: torch.Tensor, f_fused: torch.Tensor, p_rgb: torch.Tensor,
              p_fused: torch.Tensor, target: torch.Tensor | None) -> tuple[torch.Tensor, dict]:
        """Choose the stride-8 map per sample; returns it and the gate's record."""
        logit = self.gate(torch.cat([f_rgb, f_fused, p_rgb.sigmoid(), p_fused.sigmoid()], 1))[:, 0]
        prob = logit.sigmoid()
        if self.force is not None:
            choice = torch.full_like(prob, 1.0 if self.force == "fused" else 0.0)
        elif self.training and target is not None and self.iteration < self.teacher_forcing_iters:
            choice = target  # teacher forcing by the coarse-loss target
        else:
            choice = (prob > 0.5).to(prob.dtype)
        if self.force is not None:
            weight = choice
        elif self.gate_mode == "soft":
            weight = prob
        else:
            # hard choice, with a straight-through path so the gate still gets the task signal
            weight = choice + prob - prob.detach() if self.training else choice
        w = weight.view(-1, 1, 1, 1)
        routed = w * f_fused + (1 - w) * f_rgb
        return routed, {"gate_logit": logit, "gate_prob": prob, "gate_choice": choice}

    def forward(self, img: torch.Tensor, dct: torch.Tensor, qtable: torch.Tensor,
                gt: torch.Tensor | None = None,
                ignore_index: int = IGNORE_INDEX) -> tuple[torch.Tensor, ...]:
        """Multi-scale features (strides 4, 8, 16, 32); auxiliary outputs in ``last_aux``.

        Args:
            gt: (B, H, W) masks (0/1, ``ignore_index``) in training: they give the gate's
                target.
            ignore_index: label of pixels without ground truth (the segmentor passes its
                decode head's).
        """
        stage0, f_rgb, f_fused = self.perceive(img, dct, qtable)
        p_rgb, p_fused = self.coarse_rgb(f_rgb), self.coarse_fused(f_fused)
        target, coarse = None, None
        if gt is not None:
            coarse = {"rgb": coarse_loss(p_rgb, gt, ignore_index),
                      "fused": coarse_loss(p_fused, gt, ignore_index)}
            target = (coarse["fused"].detach() < coarse["rgb"].detach()).to(p_rgb.dtype)
        routed, record = self.route(f_rgb, f_fused, p_rgb, p_fused, target)
        if self.training and gt is not None:
            self.train_steps += 1
        x = self.convnext.stages[1](routed)
        outs = [self.convnext.norm0(stage0), self.convnext.norm1(x)]
        for i in (2, 3):
            x = self.convnext.forward_stage(x, i)
            outs.append(getattr(self.convnext, f"norm{i}")(x))
        self.last_aux = dict(record, p_rgb=p_rgb, p_fused=p_fused, coarse=coarse, target=target)
        return tuple(outs)

    def aux_losses(self, weights: dict[str, float] | None = None) -> dict[str, torch.Tensor]:
        """Coarse-mask losses (stated) and the gate's BCE (our choice) of the last forward."""
        aux = self.last_aux
        if aux.get("coarse") is None:
            return {}
        w = {"coarse_rgb": 1.0, "coarse_fused": 1.0, "gate": 1.0, **(weights or {})}
        losses = {
            "loss_coarse_rgb": w["coarse_rgb"] * aux["coarse"]["rgb"].mean(),
            "loss_coarse_fused": w["coarse_fused"] * aux["coarse"]["fused"].mean(),
        }
        if self.force is None:
            losses["loss_gate"] = w["gate"] * F.binary_cross_entropy_with_logits(
                aux["gate_logit"], aux["target"])
        return losses


def coarse_loss(logit: torch.Tensor, gt: torch.Tensor,
                ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """Per-sample BCE of a coarse (stride-8) mask logit against the nearest-downsampled gt."""
    target = F.interpolate(gt[:, None].float(), size=logit.shape[-2:], mode="nearest")
    valid = (target != ignore_index).float()
    target = target.clamp(0, 1) * valid
    per_pixel = F.binary_cross_entropy_with_logits(logit, target, reduction="none") * valid
    return per_pixel.flatten(1).sum(1) / valid.flatten(1).sum(1).clamp_min(1.0)
