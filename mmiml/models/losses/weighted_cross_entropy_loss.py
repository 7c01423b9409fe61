"""Class-weighted pixel cross-entropy that respects ignored pixels."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import nn

from mmiml import IGNORE_INDEX


@MODELS.register_module()
class WeightedCrossEntropyLoss(nn.Module):
    """Softmax cross-entropy over tampered/authentic pixels with per-class weights.

    mmseg 1.2.2's ``CrossEntropyLoss`` crashes when ``class_weight`` is set and the label holds
    ignored pixels (it indexes the weights with the ignore index), which every padded crop has.
    This loss takes PyTorch's weighted mean over non-ignored pixels, ``sum(w_y * l) / sum(w_y)``,
    and an optional per-pixel ``weight`` (mmseg's OHEM sampler passes one). Our choice; the paper
    only says "CE" (docs/design/omni_iml.md section 5).

    Args:
        class_weight: weight per class (authentic, tampered); None = unweighted.
        loss_weight: multiplier of the whole loss.
        loss_name: key in the loss dict (mmseg logs it as ``decode.<loss_name>``).
    """

    def __init__(
        self,
        class_weight: Sequence[float] | None = None,
        loss_weight: float = 1.0,
        loss_name: str = "loss_ce",
    ) -> None:
        super().__init__()
        self.class_weight = None if class_weight is None else [float(w) for w in class_weight]
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(
        self,
        cls_score: torch.Tensor,
        label: torch.Tensor,
        weight: torch.Tensor | None = None,
        ignore_index: int = IGNORE_INDEX,
        **kwargs,
    ) -> torch.Tensor:
        class_weight = (None if self.class_weight is None
                        else cls_score.new_tensor(self.class_weight))
        if class_weight is not None and class_weight.numel() != cls_score.shape[1]:
            raise ValueError(f"class_weight has {class_weight.numel()} entries for "
                             f"{cls_score.shape[1]} classes")
        label = label.long()
        valid = label != ignore_index
        if not valid.any():
            return cls_score.sum() * 0.0  # keeps the graph; nothing to learn from this batch
        per_pixel = F.cross_entropy(cls_score, label, weight=class_weight,
                                    ignore_index=ignore_index, reduction="none")
        pixel_weight = valid.to(cls_score.dtype)
        if class_weight is not None:
            pixel_weight = pixel_weight * class_weight[label.clamp(0, cls_score.shape[1] - 1)]
        if weight is not None:
            per_pixel = per_pixel * weight
            pixel_weight = pixel_weight * weight
        return self.loss_weight * per_pixel.sum() / pixel_weight.sum().clamp_min(1e-12)

    @property
    def loss_name(self) -> str:
        return self._loss_name
