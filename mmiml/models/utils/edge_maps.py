"""Edge maps of manipulation masks, for edge supervision (MVSS-Net's edge-supervised branch)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mmiml import IGNORE_INDEX

__all__ = ["mask_to_edge"]


def mask_to_edge(gt: torch.Tensor, width: int = 1,
                 ignore_index: int = IGNORE_INDEX) -> tuple[torch.Tensor, torch.Tensor]:
    """Boundary band of the tampered region: morphological gradient (dilation - erosion).

    A pixel is an edge pixel when its ``(2*width+1)`` square neighbourhood holds both a tampered
    (1) and an authentic (0) pixel, i.e. the band reaches ``width`` pixels either side of the
    boundary (``2*width`` thick). Dilation and erosion are max-pools. Ignored pixels
    (``ignore_index``, e.g. padding) count as neither class: a mask touching the padding or the
    image frame gets no edge there.

    Args:
        gt: BxHxW (or Bx1xHxW) integer mask with 0 = authentic, 1 = tampered, ``ignore_index``.
        width: band half-width in pixels (>= 1).
        ignore_index: label of pixels without ground truth.

    Returns:
        ``(edge, valid)``: ``edge`` Bx1xHxW float in {0, 1}; ``valid`` Bx1xHxW bool, False on
        ignored pixels (leave them out of the loss).
    """
    if width < 1:
        raise ValueError(f"mask_to_edge: width must be >= 1, got {width}")
    if gt.dim() == 3:
        gt = gt.unsqueeze(1)
    if gt.dim() != 4 or gt.size(1) != 1:
        raise ValueError(f"mask_to_edge: expected BxHxW or Bx1xHxW, got {tuple(gt.shape)}")
    valid = gt != ignore_index
    fg = (gt == 1).float()
    bg = (gt == 0).float()
    k = 2 * width + 1
    # a pixel is within reach of a tampered pixel / of an authentic pixel
    near_fg = F.max_pool2d(fg, k, stride=1, padding=width)
    near_bg = F.max_pool2d(bg, k, stride=1, padding=width)
    edge = near_fg * near_bg * valid.float()
    return edge, valid
