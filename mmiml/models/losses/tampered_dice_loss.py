"""Dice loss on the tampered-class probability, MVSS-Net's pixel-scale loss (Chen et al., ICCV
2021); see configs/mvss_net/README.md."""

from __future__ import annotations

from typing import Any

import torch
from mmseg.registry import MODELS
from torch import nn

from mmiml import IGNORE_INDEX

__all__ = ["TamperedDiceLoss", "batch_dice_loss"]


def batch_dice_loss(prob: torch.Tensor, target: torch.Tensor, valid: torch.Tensor,
                    smooth: float = 1.0) -> torch.Tensor:
    """``1 - (2 sum(p t) + s) / (sum(p^2) + sum(t^2) + s)`` over the whole batch's valid pixels.

    The batch is pooled (our reading of the authors' code), so authentic images (no positive
    pixel) still push their probabilities down through the denominator.
    """
    v = valid.to(prob.dtype)
    p = prob * v
    t = target.to(prob.dtype) * v
    inter = (p * t).sum()
    union = (p * p).sum() + (t * t).sum()
    return 1.0 - (2.0 * inter + smooth) / (union + smooth)


@MODELS.register_module()
class TamperedDiceLoss(nn.Module):
    """Dice loss on the tampered-class softmax probability, ignoring ``ignore_index`` pixels.

    (mmseg's ``DiceLoss`` drops the *class channel* numbered ``ignore_index``, not the pixels, so
    padded pixels would still count; hence this small one.)

    Args:
        loss_weight: weight of the loss (MVSS-Net: alpha = 0.16).
        smooth: additive smoothing of numerator and denominator.
        tampered_class: the positive class index.
        loss_name: key in the loss dict (must start with ``loss_``).
    """

    def __init__(self, loss_weight: float = 1.0, smooth: float = 1.0, tampered_class: int = 1,
                 loss_name: str = "loss_dice") -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.smooth = smooth
        self.tampered_class = tampered_class
        self._loss_name = loss_name

    def forward(self, pred: torch.Tensor, target: torch.Tensor, weight: Any = None,
                ignore_index: int = IGNORE_INDEX, **kwargs: Any) -> torch.Tensor:
        prob = pred.softmax(dim=1)[:, self.tampered_class]
        valid = target != ignore_index
        loss = batch_dice_loss(prob, target == self.tampered_class, valid, self.smooth)
        return self.loss_weight * loss

    @property
    def loss_name(self) -> str:
        return self._loss_name
