"""MVSS-Net (Chen et al., ICCV 2021, "Image Manipulation Detection by Multi-View Multi-Scale
Supervision"): our re-implementation as mmseg modules.

* ``MVSSBranches`` (mmiml/models/backbones/mvss_branches.py): the edge-supervised branch (ResNet
  + Sobel layers + Edge Residual Blocks -> edge logits) and the noise-sensitive branch
  (BayarConv2d + a second ResNet).
* ``MVSSHead`` (mmiml/models/decode_heads/mvss_head.py): dual attention (mmseg's DANet
  position + channel attention) on the concatenated last-stage features of both branches, then
  a 1x1 classifier to 2-class logits.
* :class:`MVSSNet`: the segmentor and its multi-scale supervision: Dice on the pixel mask
  (``TamperedDiceLoss``, mmiml/models/losses/tampered_dice_loss.py), an edge loss against the
  mask's edge band computed in the model (:func:`mmiml.models.utils.edge_maps.mask_to_edge`),
  and an image-level BCE on the global max of the tampered probability.

Our choice throughout: the output is mmiml's 2-class softmax (class 1 = tampered) rather than the
paper's 1-channel sigmoid, so the segmentor plugs into mmseg and IMLMetric unchanged; since
``softmax(l)[1] = sigmoid(l1 - l0)`` the two parametrisations are equivalent.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from mmseg.models.segmentors import EncoderDecoder
from mmseg.models.utils import resize
from mmseg.registry import MODELS

from ..losses.tampered_dice_loss import batch_dice_loss
from ..utils.edge_maps import mask_to_edge
from ..utils.segmentor_cfgs import with_attribute_cfgs
from .decode_losses import decode_losses_with_logits

__all__ = ["MVSSNet"]


@MODELS.register_module()
class MVSSNet(EncoderDecoder):
    """MVSS-Net segmentor: ``MVSSBranches`` backbone + ``MVSSHead`` + multi-scale supervision.

    Losses (``mode='loss'``): ``decode.loss_dice`` (the head's ``loss_decode``, pixel scale,
    weight alpha there), ``loss_edge`` (edge scale, weight ``edge_loss_weight``) and
    ``loss_image`` (image scale, weight ``image_loss_weight``). The paper weighs them
    alpha = 0.16, beta (image) = 0.04 and 1 - alpha - beta = 0.8 (edge).

    The edge target is the band of ``edge_width`` pixels either side of the mask boundary at the
    input resolution (:func:`mask_to_edge`); the stride-4 edge logits are upsampled bilinearly to
    it; padded (the head's ``ignore_index``) pixels are left out. The image label is "the mask
    has a tampered pixel"; the image score is the global max over the valid pixels of the
    tampered probability (computed as the max of ``l1 - l0`` through a BCE with logits, for
    stability).

    Args:
        edge_loss_weight: weight of the edge loss.
        image_loss_weight: weight of the image loss.
        edge_width: half-width of the edge band (pixels at the input resolution).
        edge_loss: ``'bce'`` (default) or ``'dice'`` (the paper's edge loss is Dice).
        edge_pos_weight: BCE weight of edge pixels (None = 1).
        **kwargs: :class:`mmseg.models.EncoderDecoder` arguments; ``backbone`` must return
            ``[edge_logits, ...features]`` like ``MVSSBranches``.

    ``mode='predict'`` and ``mode='tensor'`` are EncoderDecoder's: 2xHxW ``seg_logits`` and
    ``pred_sem_seg`` at each input's original size, or the head's stride-8 logits.
    """

    def __init__(self, edge_loss_weight: float = 0.8, image_loss_weight: float = 0.04,
                 edge_width: int = 1, edge_loss: str = "bce",
                 edge_pos_weight: float | None = None, **kwargs: Any) -> None:
        super().__init__(**with_attribute_cfgs(kwargs))
        if edge_loss not in ("bce", "dice"):
            raise ValueError(f"MVSSNet: edge_loss must be 'bce' or 'dice', got {edge_loss!r}")
        self.edge_loss_weight = edge_loss_weight
        self.image_loss_weight = image_loss_weight
        self.edge_width = edge_width
        self.edge_loss = edge_loss
        self.edge_pos_weight = edge_pos_weight

    def loss(self, inputs: torch.Tensor, data_samples: list) -> dict:
        x, seg_logits, losses, gt = decode_losses_with_logits(self, inputs, data_samples)
        ignore = self.decode_head.ignore_index
        losses["loss_edge"] = self.edge_loss_weight * self._edge_loss(x[0], gt, ignore)
        losses["loss_image"] = self.image_loss_weight * self._image_loss(seg_logits, gt, ignore)
        return losses

    def _edge_loss(self, edge_logits: torch.Tensor, gt: torch.Tensor,
                   ignore: int) -> torch.Tensor:
        target, valid = mask_to_edge(gt, self.edge_width, ignore)
        logits = F.interpolate(edge_logits, size=gt.shape[-2:], mode="bilinear",
                               align_corners=False)
        if self.edge_loss == "dice":
            return batch_dice_loss(torch.sigmoid(logits), target, valid)
        pos_weight = (None if self.edge_pos_weight is None
                      else logits.new_tensor(self.edge_pos_weight))
        bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none",
                                                 pos_weight=pos_weight)
        v = valid.to(bce.dtype)
        return (bce * v).sum() / v.sum().clamp(min=1.0)

    def _image_loss(self, seg_logits: torch.Tensor, gt: torch.Tensor,
                    ignore: int) -> torch.Tensor:
        logits = resize(seg_logits, size=gt.shape[-2:], mode="bilinear",
                        align_corners=self.align_corners)
        diff = logits[:, 1] - logits[:, 0]  # logit of the tampered probability
        diff = diff.masked_fill(gt == ignore, -1e4)
        score = diff.flatten(1).amax(dim=1)
        label = (gt == 1).flatten(1).any(dim=1).to(score.dtype)
        return F.binary_cross_entropy_with_logits(score, label)
