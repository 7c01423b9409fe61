"""Shared training step of segmentors that add losses on top of the decode head's."""

from __future__ import annotations

import torch
from mmseg.models.segmentors import EncoderDecoder
from mmseg.utils import add_prefix

__all__ = ["decode_losses_with_logits"]


def decode_losses_with_logits(
    segmentor: EncoderDecoder, inputs: torch.Tensor, data_samples: list
) -> tuple[list[torch.Tensor], torch.Tensor, dict, torch.Tensor]:
    """mmseg's decode (and auxiliary head) losses, keeping what extra losses need.

    Returns ``(features, seg_logits, losses, gt)``: the backbone/neck features, the decode
    head's logits (before resizing), the ``decode.*``/``aux.*`` losses, and the batch's masks
    (B, H, W) on the inputs' device.
    """
    x = segmentor.extract_feat(inputs)
    seg_logits = segmentor.decode_head.forward(x)
    losses = add_prefix(segmentor.decode_head.loss_by_feat(seg_logits, data_samples), "decode")
    if segmentor.with_auxiliary_head:
        losses.update(segmentor._auxiliary_head_forward_train(x, data_samples))
    gt = torch.stack([s.gt_sem_seg.data[0] for s in data_samples]).to(inputs.device)
    return x, seg_logits, losses, gt
