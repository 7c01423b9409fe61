"""TruFor-like decoders: anomaly (2-class logits) and confidence (1 channel), both all-MLP.

The anomaly decoder is mmseg's :class:`SegformerHead`; a second all-MLP decoder of the same
shape (its own 1x1 projections, fusion and a 1-channel classifier) gives the confidence logit at
stride 4 (``sigmoid`` -> confidence in [0, 1]).

Confidence training follows TruFor's second phase: the target is the probability that the
(detached) anomaly prediction gives to the true class (TCP), the loss is the MSE between
``sigmoid(confidence)`` and it on the valid pixels at label resolution. TruFor trains the
confidence decoder in a separate phase with the encoder frozen; we train both in one phase and,
by default, stop the confidence gradient at the encoder features (``detach_features``), which
keeps the encoder trained by the anomaly loss only, as in TruFor.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads import SegformerHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS

__all__ = ["TruForLikeHead"]


@MODELS.register_module()
class TruForLikeHead(SegformerHead):
    """SegFormer all-MLP anomaly head + an all-MLP confidence head.

    Args:
        conf_channels: width of the confidence decoder (None: ``channels``).
        confidence_loss_weight: weight of the confidence MSE (``loss_conf``).
        detach_features: stop the confidence gradient at the encoder features.
        tampered_class: unused by the losses; documents that class 1 is "tampered".
        **kwargs: :class:`SegformerHead` arguments.

    ``forward`` returns the anomaly logits only (so mmseg's inference paths work unchanged);
    :meth:`forward_confidence` returns the stride-4 confidence logit.
    """

    def __init__(self, conf_channels: int | None = None, confidence_loss_weight: float = 1.0,
                 detach_features: bool = True, tampered_class: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        conf_channels = self.channels if conf_channels is None else conf_channels
        self.confidence_loss_weight = confidence_loss_weight
        self.detach_features = detach_features
        self.tampered_class = tampered_class
        self.conf_convs = nn.ModuleList([
            ConvModule(c, conf_channels, 1, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
            for c in self.in_channels])
        self.conf_fusion = ConvModule(conf_channels * len(self.in_channels), conf_channels, 1,
                                      norm_cfg=self.norm_cfg)
        self.conf_out = nn.Conv2d(conf_channels, 1, 1)

    def forward_confidence(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        """Confidence logit (N x 1 x H/4 x W/4)."""
        feats = self._transform_inputs(inputs)
        if self.detach_features:
            feats = [f.detach() for f in feats]
        size = feats[0].shape[2:]
        outs = [resize(conv(f), size=size, mode=self.interpolate_mode,
                       align_corners=self.align_corners)
                for conv, f in zip(self.conf_convs, feats)]
        return self.conf_out(self.conf_fusion(torch.cat(outs, dim=1)))

    def loss(self, inputs: list[torch.Tensor], batch_data_samples: list,
             train_cfg: Any) -> dict:
        seg_logits = self.forward(inputs)
        losses = self.loss_by_feat(seg_logits, batch_data_samples)
        conf_logits = self.forward_confidence(inputs)
        losses["loss_conf"] = self.confidence_loss_weight * self.confidence_loss(
            seg_logits, conf_logits, self._stack_batch_gt(batch_data_samples))
        return losses

    def confidence_loss(self, seg_logits: torch.Tensor, conf_logits: torch.Tensor,
                        gt: torch.Tensor) -> torch.Tensor:
        """MSE between the confidence and the true-class probability of the detached anomaly
        prediction, on the pixels whose label is not ``ignore_index``."""
        gt = gt[:, 0] if gt.dim() == 4 else gt
        size = gt.shape[-2:]
        prob = F.softmax(resize(seg_logits.detach(), size=size, mode="bilinear",
                                align_corners=self.align_corners), dim=1)
        conf = torch.sigmoid(resize(conf_logits, size=size, mode="bilinear",
                                    align_corners=self.align_corners))[:, 0]
        valid = gt != self.ignore_index
        label = gt.masked_fill(~valid, 0).long()
        tcp = prob.gather(1, label.unsqueeze(1))[:, 0]
        err = (conf - tcp) ** 2 * valid.to(conf.dtype)
        return err.sum() / valid.sum().clamp(min=1).to(conf.dtype)
