"""PSCC-Net (X. Liu, Y. Liu, J. Chen, X. Liu, "PSCC-Net: Progressive Spatio-Channel Correlation
Network for Image Manipulation Detection and Localization", IEEE TCSVT 2022): our
re-implementation as mmseg modules.

* backbone: mmseg's ``HRNet`` (the top-down path, Sec. III-A), four branches at strides
  4/8/16/32;
* :class:`~mmiml.models.decode_heads.PSCCHead`: the bottom-up path, an SCCM and a mask per scale,
  coarse to fine, each conditioned on the previous mask, and the detection head;
* :class:`PSCCNet`: the segmentor and its losses (Sec. III-E): the localisation loss on the mask
  of every scale and the image-level detection BCE.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import add_prefix
from torch import nn

from mmiml import IGNORE_INDEX

from ..utils.segmentor_cfgs import with_attribute_cfgs

__all__ = ["PSCCNet", "downsample_mask"]


def downsample_mask(gt: torch.Tensor, size: Sequence[int], ignore_index: int = IGNORE_INDEX,
                    tampered_class: int = 1) -> torch.Tensor:
    """The (B, H, W) label map ``gt`` reduced to ``size`` by area majority.

    A cell is tampered when at least half of its valid pixels are, authentic otherwise, and
    ``ignore_index`` when it holds no valid pixel (padding). Our choice: nearest-neighbour
    sampling would keep or drop a small region depending on where the cell centre falls.
    """
    valid = (gt != ignore_index).to(torch.float32)[:, None]
    tampered = (gt == tampered_class).to(torch.float32)[:, None]
    v = F.adaptive_avg_pool2d(valid, tuple(size))[:, 0]
    t = F.adaptive_avg_pool2d(tampered, tuple(size))[:, 0]
    label = (t >= 0.5 * v).long() * tampered_class
    return label.masked_fill(v <= 0, ignore_index)


@MODELS.register_module()
class PSCCNet(EncoderDecoder):
    """PSCC-Net segmentor: HRNet + ``PSCCHead`` with deep (per-scale) and image supervision.

    Losses (``mode='loss'``):

    * ``decode.*``: the head's ``loss_decode`` on the finest (stride-4) mask, upsampled to the
      input as in every mmseg head;
    * ``loss_mask<i>`` for the coarser levels ``i = 1, 2, 3`` (strides 8, 16, 32): the same
      ``loss_decode`` on that level's logits against the mask downsampled to its size
      (:func:`downsample_mask`), weighted by ``mask_loss_weights[i - 1]``;
    * ``loss_det``: BCE of the detection logit against "the mask has a tampered pixel",
      weighted by ``det_loss_weight``.

    The paper sums a pixel BCE over the scales with the detection BCE (Sec. III-E); the
    weights (1 per scale, 1 for detection) are our choice.

    Args:
        mask_loss_weights: weights of the coarser masks' losses, fine to coarse.
        det_loss_weight: weight of the detection loss.
        **kwargs: :class:`EncoderDecoder` arguments; ``decode_head`` a ``PSCCHead``.

    ``mode='predict'`` and ``mode='tensor'`` are EncoderDecoder's: 2xHxW ``seg_logits`` and
    ``pred_sem_seg`` at each input's original size, or the stride-4 logits.
    """

    def __init__(self, mask_loss_weights: Sequence[float] = (1.0, 1.0, 1.0),
                 det_loss_weight: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**with_attribute_cfgs(kwargs))
        n = len(self.decode_head.in_channels)
        if len(mask_loss_weights) != n - 1:
            raise ValueError(f"PSCCNet: {len(mask_loss_weights)} mask_loss_weights for "
                             f"{n - 1} coarser levels")
        self.mask_loss_weights = [float(w) for w in mask_loss_weights]
        self.det_loss_weight = det_loss_weight

    def loss(self, inputs: torch.Tensor, data_samples: list) -> dict:
        x = self.extract_feat(inputs)
        head = self.decode_head
        masks, det_logit = head.forward_all(x)
        losses = add_prefix(head.loss_by_feat(masks[0], data_samples), "decode")
        if self.with_auxiliary_head:
            losses.update(self._auxiliary_head_forward_train(x, data_samples))
        gt = torch.stack([s.gt_sem_seg.data[0] for s in data_samples]).to(inputs.device)
        for i, (logits, w) in enumerate(zip(masks[1:], self.mask_loss_weights), start=1):
            losses[f"loss_mask{i}"] = w * self.scale_loss(logits, gt)
        label = (gt == 1).flatten(1).any(dim=1).to(det_logit.dtype)
        losses["loss_det"] = self.det_loss_weight * F.binary_cross_entropy_with_logits(
            det_logit, label)
        return losses

    def predict(self, inputs: torch.Tensor, data_samples: list | None = None) -> list:
        """EncoderDecoder's predictions, each carrying the detection head's probability that
        the image is manipulated as ``img_score`` (Sec. III-D): the image-level score the
        metric uses instead of pooling the map."""
        results = super().predict(inputs, data_samples)
        logit = self.decode_head.last_det_logit
        if logit.shape[0] != len(results):  # sliding-window inference: one logit per window
            return results
        scores = torch.sigmoid(logit.float()).cpu().tolist()
        for sample, score in zip(results, scores, strict=True):
            sample.set_metainfo({"img_score": float(score)})
        return results

    def scale_loss(self, logits: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        """The head's ``loss_decode`` (summed if several) on ``logits`` against ``gt`` reduced
        to their size."""
        ignore = self.decode_head.ignore_index
        label = downsample_mask(gt, logits.shape[-2:], ignore)
        fns = self.decode_head.loss_decode
        fns = fns if isinstance(fns, nn.ModuleList) else [fns]
        return sum(fn(logits, label, weight=None, ignore_index=ignore) for fn in fns)
