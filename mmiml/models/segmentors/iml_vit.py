"""IML-ViT segmentor (Ma et al., 2023): :class:`~mmiml.models.backbones.WindowedViT` +
:class:`~mmiml.models.decode_heads.IMLViTHead`, trained with pixel CE plus an edge loss.

IML-ViT up-weights the loss on the boundary band of the tampered region:
``L = L_seg + lambda * L_edge`` with ``lambda = 20``. Here ``L_seg`` is the decode head's
``loss_decode`` over all pixels (``decode.loss_ce``) and ``L_edge`` (``loss_edge``) is the
softmax cross-entropy of the same logits, upsampled to the mask size, on the edge-band pixels only
(band from :func:`mmiml.models.utils.edge_maps.mask_to_edge`, ``edge_width`` pixels either side of
the boundary). As in the paper, where the edge term is the BCE of the edge-masked prediction
against the edge-masked mask averaged over the whole image, the sum over the band is divided by
the number of valid (non-ignored) pixels, not by the band size, so ``lambda`` keeps its meaning.
Our choice: the edge loss is added in the segmentor's ``loss`` (the head stays a plain mmseg
head); 2-class softmax CE instead of the paper's 1-channel sigmoid BCE.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from mmseg.models.segmentors import EncoderDecoder
from mmseg.models.utils import resize
from mmseg.registry import MODELS

from ..utils.edge_maps import mask_to_edge
from .decode_losses import decode_losses_with_logits

__all__ = ["IMLViT"]


@MODELS.register_module()
class IMLViT(EncoderDecoder):
    """Encoder-decoder with IML-ViT's edge-weighted loss.

    Losses (``mode='loss'``): the head's ``decode.*`` losses and ``loss_edge``.

    Args:
        edge_loss_weight: lambda, the weight of the edge loss (paper: 20).
        edge_width: half-width of the edge band in pixels at the input resolution.
        **kwargs: :class:`EncoderDecoder` arguments.
    """

    def __init__(self, edge_loss_weight: float = 20.0, edge_width: int = 1,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if edge_width < 1:
            raise ValueError(f"IMLViT: edge_width must be >= 1, got {edge_width}")
        self.edge_loss_weight = edge_loss_weight
        self.edge_width = edge_width

    def loss(self, inputs: torch.Tensor, data_samples: list) -> dict:
        x, seg_logits, losses, gt = decode_losses_with_logits(self, inputs, data_samples)
        losses["loss_edge"] = self.edge_loss_weight * self.edge_loss(seg_logits, gt)
        return losses

    def edge_loss(self, seg_logits: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        """Cross-entropy on the edge band, summed and divided by the valid pixel count."""
        ignore = self.decode_head.ignore_index
        edge, valid = mask_to_edge(gt, self.edge_width, ignore)
        logits = resize(seg_logits, size=gt.shape[-2:], mode="bilinear",
                        align_corners=self.align_corners)
        ce = F.cross_entropy(logits, gt.long(), ignore_index=ignore, reduction="none")
        return (ce * edge[:, 0]).sum() / valid.sum().clamp(min=1).to(ce.dtype)
