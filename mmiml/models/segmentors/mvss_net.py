"""MVSS-Net (Chen et al., ICCV 2021, "Image Manipulation Detection by Multi-View Multi-Scale
Supervision"): our re-implementation as mmseg modules.

* ``MVSSBranches`` (mmiml/models/backbones/mvss_branches.py): the edge-supervised branch (ResNet
  + Sobel layers + Edge Residual Blocks -> edge logits) and the noise-sensitive branch
  (BayarConv2d + a second ResNet).
* :class:`MVSSHead`: dual attention (position + channel, as in DANet) on the concatenated
  last-stage features of both branches, then a 1x1 classifier to 2-class logits.
* :class:`MVSSNet`: the segmentor and its multi-scale supervision: Dice on the pixel mask
  (:class:`TamperedDiceLoss`), an edge loss against the mask's edge band computed in the model
  (:func:`mmiml.models.utils.edge_maps.mask_to_edge`), and an image-level BCE on the global max
  of the tampered probability.

Our choice throughout: the output is mmiml's 2-class softmax (class 1 = tampered) rather than the
paper's 1-channel sigmoid, so the segmentor plugs into mmseg and IMLMetric unchanged; since
``softmax(l)[1] = sigmoid(l1 - l0)`` the two parametrisations are equivalent.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.config import ConfigDict
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.segmentors import EncoderDecoder
from mmseg.models.utils import resize
from mmseg.registry import MODELS

from ..utils.edge_maps import mask_to_edge
from .decode_losses import decode_losses_with_logits

__all__ = ["MVSSHead", "MVSSNet", "TamperedDiceLoss", "batch_dice_loss"]


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
                ignore_index: int = 255, **kwargs: Any) -> torch.Tensor:
        prob = pred.softmax(dim=1)[:, self.tampered_class]
        valid = target != ignore_index
        loss = batch_dice_loss(prob, target == self.tampered_class, valid, self.smooth)
        return self.loss_weight * loss

    @property
    def loss_name(self) -> str:
        return self._loss_name


class PositionAttention(nn.Module):
    """DANet's position attention: every pixel attends to every pixel; ``x + gamma * out``."""

    def __init__(self, channels: int, key_channels: int) -> None:
        super().__init__()
        self.query = nn.Conv2d(channels, key_channels, 1)
        self.key = nn.Conv2d(channels, key_channels, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)  # B x N x K
        k = self.key(x).flatten(2)  # B x K x N
        attn = torch.softmax(torch.bmm(q, k), dim=-1)  # B x N x N
        v = self.value(x).flatten(2)  # B x C x N
        out = torch.bmm(v, attn.transpose(1, 2)).view(b, c, h, w)
        return x + self.gamma * out


class ChannelAttention(nn.Module):
    """DANet's channel attention (softmax of ``max - X X^T``); ``x + gamma * out``."""

    def __init__(self) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        f = x.flatten(2)  # B x C x N
        energy = torch.bmm(f, f.transpose(1, 2))  # B x C x C
        energy = energy.amax(dim=-1, keepdim=True) - energy
        out = torch.bmm(torch.softmax(energy, dim=-1), f).view(b, c, h, w)
        return x + self.gamma * out


@MODELS.register_module()
class MVSSHead(BaseDecodeHead):
    """Dual-attention fusion of the ESB and NSB last-stage features, then 2-class logits.

    The selected inputs (``in_index``, default the ESB and NSB features of ``MVSSBranches``) are
    concatenated; two parallel paths (3x3 conv-BN-ReLU to ``channels``, position or channel
    attention, 3x3 conv-BN-ReLU) are summed and classified by ``conv_seg`` (after dropout), as
    the DANet head. Our choice: no separate auxiliary PAM/CAM outputs (MVSS-Net supervises the
    fused one only).

    Args:
        key_channels: query/key width of the position attention; default ``channels // 8``.
        **kwargs: :class:`BaseDecodeHead` arguments; ``in_channels`` a list matching
            ``in_index`` with ``input_transform='multiple_select'``.
    """

    def __init__(self, key_channels: int | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("input_transform", "multiple_select")
        super().__init__(**kwargs)
        in_ch = (sum(self.in_channels) if isinstance(self.in_channels, (list, tuple))
                 else self.in_channels)
        conv = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.pam_in = ConvModule(in_ch, self.channels, 3, padding=1, **conv)
        self.pam = PositionAttention(self.channels, key_channels or max(self.channels // 8, 1))
        self.pam_out = ConvModule(self.channels, self.channels, 3, padding=1, **conv)
        self.cam_in = ConvModule(in_ch, self.channels, 3, padding=1, **conv)
        self.cam = ChannelAttention()
        self.cam_out = ConvModule(self.channels, self.channels, 3, padding=1, **conv)

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        x = self._transform_inputs(inputs)
        if isinstance(x, (list, tuple)):
            size = x[0].shape[-2:]
            x = torch.cat([t if t.shape[-2:] == size else
                           resize(t, size=size, mode="bilinear", align_corners=self.align_corners)
                           for t in x], dim=1)
        feat = self.pam_out(self.pam(self.pam_in(x))) + self.cam_out(self.cam(self.cam_in(x)))
        return self.cls_seg(feat)


@MODELS.register_module()
class MVSSNet(EncoderDecoder):
    """MVSS-Net segmentor: ``MVSSBranches`` backbone + ``MVSSHead`` + multi-scale supervision.

    Losses (``mode='loss'``): ``decode.loss_dice`` (the head's ``loss_decode``, pixel scale,
    weight alpha there), ``loss_edge`` (edge scale, weight ``edge_loss_weight``) and
    ``loss_image`` (image scale, weight ``image_loss_weight``). The paper weighs them
    alpha = 0.16, beta (image) = 0.04 and 1 - alpha - beta = 0.8 (edge).

    The edge target is the band of ``edge_width`` pixels either side of the mask boundary at the
    input resolution (:func:`mask_to_edge`); the stride-4 edge logits are upsampled bilinearly to
    it; padded (255) pixels are left out. The image label is "the mask has a tampered pixel"; the
    image score is the global max over the valid pixels of the tampered probability
    (computed as the max of ``l1 - l0`` through a BCE with logits, for stability).

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
        for key in ("train_cfg", "test_cfg"):  # mmseg reads them by attribute
            if isinstance(kwargs.get(key), dict):
                kwargs[key] = ConfigDict(kwargs[key])
        super().__init__(**kwargs)
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
