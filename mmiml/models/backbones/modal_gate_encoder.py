"""Modal Gate Encoder of Omni-IML (docs/design/omni_iml.md, sections 1 and 2).

Two perception heads produce stride-8 maps: the Vision Perception Head (VPH: the ConvNeXt stem,
stage 0 and the stride-8 downsampling on RGB) and the Frequency Perception Head (FPH, from DTD)
on the quantised JPEG DCT. Each path has a small auxiliary coarse-mask head (stated). A gate
classifier over concat(F_rgb, F_fused, P_rgb, P_fused) picks one map per sample (stated: hard),
and the rest of the ConvNeXt backbone continues from it.

Our choices (the paper is silent), revised after the first benchmark showed a gate that sent
every image to the frequency path:

- **Matched capacity.** Both paths refine the VPH map with the same residual block
  (1x1 conv, LayerNorm, GELU, depthwise 3x3, 1x1 conv); the fused block also reads the FPH
  features.
- **A target that measures the frequency evidence.** The target asks whether *this image's*
  DCT localises its edit better than its RGB does. A training-only frequency-only coarse head
  (the same refinement block and 1x1 head as the RGB path, on the FPH features alone) is
  compared with the RGB coarse head: the target is 1 where the frequency-only loss is below the
  RGB loss by more than ``gate_margin`` (relative). Neither side can read the other's input,
  so neither wins by holding more. Authentic images (no tampered pixel) have no evidence to
  gain and give the gate no target. Two earlier targets failed on mixed batches (the joint
  training's case): "fused loss below RGB loss" (the fused path reads the RGB features too, so
  it wins whatever the DCT holds) and "fused loss below the fused loss with another image's
  frequency features" (that measures how much the head relies on them: a foreign DCT showing
  an edit elsewhere misleads it, so every image won the fused target).
- **Teacher forcing** routes by that target for the first ``teacher_forcing_iters`` optimizer
  steps (counted by the optimizer, so gradient accumulation and DDP do not shorten it; saved in
  checkpoints), in hard and soft mode alike; afterwards, and always at inference, the gate's own
  decision routes.
- **All levels are gated.** The stride-4 level (before the gate) receives the frequency
  features through a zero-initialised 1x1 projection scaled by the same per-sample routing
  weight, so an image routed to RGB carries no frequency evidence at any level.
- **Ablations remove what they name.** ``force='rgb'`` builds no FPH, fused block, fused coarse
  head, stride-4 projection or gate and reads no DCT (``reads_dct`` is False; the data pipeline
  need not load it). ``force='fused'`` routes every image to the fused path and builds no gate.
"""

from __future__ import annotations

import weakref
from typing import Any

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import nn
from torch.optim.optimizer import register_optimizer_step_post_hook

from mmiml import IGNORE_INDEX

from ..utils import LayerNorm2d
from ..utils.frequency_perception_head import FrequencyPerceptionHead
from .convnext import ConvNeXt


class _RefineBlock(nn.Module):
    """Residual refinement of the VPH map, ``f_rgb + block(x)`` with ``x`` = F_rgb (RGB path) or
    concat(F_rgb, F_freq) (fused path) and ``block`` = 1x1 conv, LayerNorm, GELU, depthwise
    3x3 conv, 1x1 conv (our choice: ConvNeXt-like, a sixth of the cost of a full 3x3 conv)."""

    def __init__(self, in_channels: int, width: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(in_channels, width, 1), LayerNorm2d(width), nn.GELU(),
            nn.Conv2d(width, width, 3, padding=1, groups=width), nn.Conv2d(width, width, 1))

    def forward(self, f_rgb: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        x = f_rgb if extra is None else torch.cat([f_rgb, extra], dim=1)
        return f_rgb + self.block(x)


def _count_optimizer_steps(encoder: ModalGateEncoder) -> Any:
    """Register a torch optimizer step hook that advances ``encoder.optimizer_steps`` after every
    step of an optimizer holding the encoder's parameters (our choice: this counts real updates
    whatever wraps the model: gradient accumulation, DDP, a skipped AMP step). The hook holds the
    encoder weakly and is removed when the encoder is collected."""
    ref = weakref.ref(encoder)
    holds: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def hook(optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        enc = ref()
        if enc is None:
            return
        if optimizer not in holds:
            ids = {id(p) for p in enc.parameters()}
            holds[optimizer] = any(id(p) in ids for group in optimizer.param_groups
                                   for p in group["params"])
        if holds[optimizer]:
            enc.optimizer_steps += 1

    handle = register_optimizer_step_post_hook(hook)
    weakref.finalize(encoder, handle.remove)
    return handle


@MODELS.register_module()
class ModalGateEncoder(BaseModule):
    """ConvNeXt encoder whose stride-8 input is chosen per sample between RGB and RGB+DCT.

    Args:
        backbone: ConvNeXt config (``type`` may be omitted); its stem, stage 0 and first
            downsampling form the VPH, stages 1 to 3 continue from the gated map.
        fph: FrequencyPerceptionHead keyword arguments (``out_channels`` is set to the stride-8
            width of the backbone; ``layout='block'`` is the fast per-block form).
        gate: ``'hard'`` (paper) or ``'soft'`` (the routing weight is the gate probability).
        force: None (gate decides), ``'rgb'`` or ``'fused'`` (ablations: forced RGB / fusion).
        teacher_forcing_iters: optimizer steps routed by the coarse-loss target.
        gate_channels: width of the gate classifier.
        gate_margin: relative margin by which the frequency-only coarse loss must beat the RGB
            one for the target to choose the fused path (our choice).
    """

    def __init__(
        self,
        backbone: dict,
        fph: dict | None = None,
        gate: str = "hard",
        force: str | None = None,
        teacher_forcing_iters: int = 1000,
        gate_channels: int = 64,
        gate_margin: float = 0.1,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if gate not in ("hard", "soft"):
            raise ValueError(f"ModalGateEncoder: gate must be 'hard' or 'soft', got {gate!r}")
        if force not in (None, "rgb", "fused"):
            raise ValueError(
                f"ModalGateEncoder: force must be None, 'rgb' or 'fused', got {force!r}")
        if not 0.0 <= gate_margin < 1.0:
            raise ValueError(f"ModalGateEncoder: gate_margin must lie in [0, 1), got "
                             f"{gate_margin!r}")
        backbone = {k: v for k, v in backbone.items() if k != "type"}
        self.convnext = ConvNeXt(**backbone)
        width = self.convnext.channels[1]  # stride-8 width
        self.gate_mode, self.force = gate, force
        self.teacher_forcing_iters = int(teacher_forcing_iters)
        self.gate_margin = float(gate_margin)
        self.reads_dct = force != "rgb"
        self.refine_rgb = _RefineBlock(width, width)
        self.coarse_rgb = nn.Conv2d(width, 1, 1)
        if self.reads_dct:
            self.fph = FrequencyPerceptionHead(**dict(fph or {}, out_channels=width))
            self.fuse = _RefineBlock(2 * width, width)
            self.coarse_fused = nn.Conv2d(width, 1, 1)
            # frequency evidence for the stride-4 level; zero at start so training decides
            self.freq_to_stride4 = nn.Conv2d(width, self.convnext.channels[0], 1)
            nn.init.zeros_(self.freq_to_stride4.weight)
            nn.init.zeros_(self.freq_to_stride4.bias)
        if force is None:
            # training only: the frequency-only coarse head that the gate's target reads
            self.refine_freq = _RefineBlock(width, width)
            self.coarse_freq = nn.Conv2d(width, 1, 1)
            # The gate looks at both maps (noise of F_fused) and both coarse predictions.
            self.gate = nn.Sequential(
                nn.Conv2d(2 * width + 2, gate_channels, 1), nn.GELU(),
                nn.Conv2d(gate_channels, gate_channels, 3, stride=2, padding=1), nn.GELU(),
                nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(gate_channels, 1))
        # Optimizer steps so far: a buffer, so it is saved in checkpoints and a resumed run
        # stays past the teacher-forcing phase.
        self.register_buffer("optimizer_steps", torch.zeros((), dtype=torch.long))
        self._step_hook = _count_optimizer_steps(self)
        self.last_aux: dict[str, Any] = {}

    @property
    def iteration(self) -> int:
        """Optimizer steps taken (drives the teacher-forcing phase)."""
        return int(self.optimizer_steps)

    @iteration.setter
    def iteration(self, value: int) -> None:
        self.optimizer_steps.fill_(int(value))

    def __getstate__(self) -> dict:
        # deepcopy/pickle (e.g. an EMA copy): neither the hook handle nor the last forward's
        # graph tensors are copied; the copy registers its own step counter
        state = self.__dict__.copy()
        state.pop("_step_hook", None)
        state["last_aux"] = {}
        return state

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self._step_hook = _count_optimizer_steps(self)

    def perceive(self, img: torch.Tensor, dct: torch.Tensor | None,
                 qtable: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        """Stride-4 stage-0 features, the VPH map, F_rgb, F_fused and F_freq (the last two None
        when the encoder reads no DCT)."""
        stage0 = self.convnext.forward_stage(img, 0)
        f_vph = self.convnext.downsample_layers[1](stage0)
        f_rgb = self.refine_rgb(f_vph)
        if not self.reads_dct:
            return stage0, f_vph, f_rgb, None, None
        if dct is None or qtable is None:
            raise ValueError("ModalGateEncoder needs the JPEG DCT and quantisation table "
                             "(force='rgb' is the variant that reads none)")
        f_freq = self.fph(dct, qtable)
        if f_freq.shape[-2:] != f_vph.shape[-2:]:  # input sides not multiples of 32
            f_freq = F.interpolate(f_freq, size=f_vph.shape[-2:], mode="bilinear",
                                   align_corners=False)
        return stage0, f_vph, f_rgb, self.fuse(f_vph, f_freq), f_freq

    def gate_target(self, loss_freq: torch.Tensor, loss_rgb: torch.Tensor, gt: torch.Tensor,
                    ignore_index: int = IGNORE_INDEX) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-sample target (1 = fused) and validity (0 for authentic images): the
        frequency-only coarse loss must beat the RGB one by the relative ``gate_margin``."""
        with torch.no_grad():
            target = loss_freq.detach() < (1.0 - self.gate_margin) * loss_rgb.detach()
            valid = ((gt == 1) & (gt != ignore_index)).flatten(1).any(1)
        return target.to(loss_freq.dtype), valid.to(loss_freq.dtype)

    def teacher_forcing(self) -> bool:
        return self.training and self.iteration < self.teacher_forcing_iters

    def route(self, f_rgb: torch.Tensor, f_fused: torch.Tensor | None, p_rgb: torch.Tensor,
              p_fused: torch.Tensor | None, target: torch.Tensor | None,
              valid: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
        """Per-sample routing weight (1 = fused) and the gate's record."""
        batch = f_rgb.shape[0]
        if self.force is not None:
            value = 1.0 if self.force == "fused" else 0.0
            choice = f_rgb.new_full((batch,), value)
            return choice, {"gate_choice": choice}
        logit = self.gate(torch.cat([f_rgb, f_fused, p_rgb.sigmoid(), p_fused.sigmoid()], 1))[:, 0]
        prob = logit.sigmoid()
        own = (prob > 0.5).to(prob.dtype)
        forced = target is not None and self.teacher_forcing()
        if forced:  # authentic images have no target: the gate's own decision routes them
            valid = torch.ones_like(target) if valid is None else valid
            choice = torch.where(valid > 0, target, own)
        else:
            choice = own
        if self.gate_mode == "soft" and not forced:
            weight = prob
        elif self.training and not forced:
            # hard choice, with a straight-through path so the gate still gets the task signal
            weight = choice + prob - prob.detach()
        else:
            weight = choice
        return weight, {"gate_logit": logit, "gate_prob": prob, "gate_choice": choice,
                        "gate_own": own}

    def forward(self, img: torch.Tensor, dct: torch.Tensor | None = None,
                qtable: torch.Tensor | None = None, gt: torch.Tensor | None = None,
                ignore_index: int = IGNORE_INDEX) -> tuple[torch.Tensor, ...]:
        """Multi-scale features (strides 4, 8, 16, 32); auxiliary outputs in ``last_aux``.

        Args:
            dct / qtable: the JPEG DCT and quantisation tables (ignored, may be None, when
                ``reads_dct`` is False).
            gt: (B, H, W) masks (0/1, ``ignore_index``) in training: they give the coarse
                losses and the gate's target.
            ignore_index: label of pixels without ground truth.
        """
        stage0, f_vph, f_rgb, f_fused, f_freq = self.perceive(img, dct, qtable)
        p_rgb = self.coarse_rgb(f_rgb)
        p_fused = self.coarse_fused(f_fused) if f_fused is not None else None
        target = valid = coarse = None
        if gt is not None:
            coarse = {"rgb": coarse_loss(p_rgb, gt, ignore_index)}
            if p_fused is not None:
                coarse["fused"] = coarse_loss(p_fused, gt, ignore_index)
            if self.force is None:
                p_freq = self.coarse_freq(self.refine_freq(f_freq))
                coarse["freq"] = coarse_loss(p_freq, gt, ignore_index)
                target, valid = self.gate_target(coarse["freq"], coarse["rgb"], gt, ignore_index)
        weight, record = self.route(f_rgb, f_fused, p_rgb, p_fused, target, valid)
        w = weight.view(-1, 1, 1, 1)
        if f_fused is None:
            routed = f_rgb
        else:
            routed = w * f_fused + (1 - w) * f_rgb
            freq4 = F.interpolate(self.freq_to_stride4(f_freq), size=stage0.shape[-2:],
                                  mode="bilinear", align_corners=False)
            stage0 = stage0 + w * freq4
        x = self.convnext.stages[1](routed)
        outs = [self.convnext.norm0(stage0), self.convnext.norm1(x)]
        for i in (2, 3):
            x = self.convnext.forward_stage(x, i)
            outs.append(getattr(self.convnext, f"norm{i}")(x))
        self.last_aux = dict(record, p_rgb=p_rgb, p_fused=p_fused, coarse=coarse,
                             target=target, target_valid=valid, routing_weight=weight)
        return tuple(outs)

    def aux_losses(self, weights: dict[str, float] | None = None) -> dict[str, torch.Tensor]:
        """Coarse-mask losses (stated) and the gate's BCE (our choice) of the last forward."""
        aux = self.last_aux
        if aux.get("coarse") is None:
            return {}
        w = {"coarse_rgb": 1.0, "coarse_fused": 1.0, "coarse_freq": 1.0, "gate": 1.0,
             **(weights or {})}
        losses = {"loss_coarse_rgb": w["coarse_rgb"] * aux["coarse"]["rgb"].mean()}
        if "fused" in aux["coarse"]:
            losses["loss_coarse_fused"] = w["coarse_fused"] * aux["coarse"]["fused"].mean()
        if "freq" in aux["coarse"]:
            losses["loss_coarse_freq"] = w["coarse_freq"] * aux["coarse"]["freq"].mean()
        if self.force is None:
            valid = aux["target_valid"]
            per_sample = F.binary_cross_entropy_with_logits(
                aux["gate_logit"], aux["target"], reduction="none")
            # mean over images with a target; 0 (kept in the graph) for an all-authentic batch
            losses["loss_gate"] = w["gate"] * (per_sample * valid).sum() / valid.sum().clamp_min(1)
        return losses


def coarse_loss(logit: torch.Tensor, gt: torch.Tensor,
                ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """Per-sample BCE of a coarse (stride-8) mask logit against the nearest-downsampled gt."""
    target = F.interpolate(gt[:, None].float(), size=logit.shape[-2:], mode="nearest")
    valid = (target != ignore_index).float()
    target = target.clamp(0, 1) * valid
    per_pixel = F.binary_cross_entropy_with_logits(logit, target, reduction="none") * valid
    return per_pixel.flatten(1).sum(1) / valid.flatten(1).sum(1).clamp_min(1.0)
