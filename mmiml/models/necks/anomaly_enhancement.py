"""Anomaly Enhancement (docs/design/omni_iml.md section 4).

Stated by the paper: a module between encoder and decoder that uses an RPN + RoI Align + box
head with box supervision during training only, is removed at inference, and improves the
contrast of forged regions. Everything else here is our reading (see the docstrings).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.config import ConfigDict
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData
from mmseg.registry import MODELS
from mmseg.utils import add_prefix
from torch import Tensor

__all__ = ["AnomalyEnhancement"]


def _det_models():
    """mmdet's MODELS registry with every mmdet module registered (heads, assigners, ...)."""
    import mmdet.models  # noqa: F401  (registers RPNHead, StandardRoIHead, task modules)
    from mmdet.registry import MODELS as DET_MODELS

    return DET_MODELS


def _default_train_cfg() -> dict:
    """Faster R-CNN (mmdet ``faster-rcnn_r50_fpn.py``) training settings."""
    return dict(
        rpn=dict(
            assigner=dict(
                type="MaxIoUAssigner", pos_iou_thr=0.7, neg_iou_thr=0.3, min_pos_iou=0.3,
                match_low_quality=True, ignore_iof_thr=-1),
            sampler=dict(
                type="RandomSampler", num=256, pos_fraction=0.5, neg_pos_ub=-1,
                add_gt_as_proposals=False),
            allowed_border=-1, pos_weight=-1, debug=False),
        rpn_proposal=dict(
            nms_pre=2000, max_per_img=1000, nms=dict(type="nms", iou_threshold=0.7),
            min_bbox_size=0),
        rcnn=dict(
            assigner=dict(
                type="MaxIoUAssigner", pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.5,
                match_low_quality=False, ignore_iof_thr=-1),
            sampler=dict(
                type="RandomSampler", num=512, pos_fraction=0.25, neg_pos_ub=-1,
                add_gt_as_proposals=True),
            pos_weight=-1, debug=False),
    )


def _default_test_cfg() -> dict:
    """Faster R-CNN test settings (only used if someone calls the heads' predict)."""
    return dict(
        rpn=dict(
            nms_pre=1000, max_per_img=1000, nms=dict(type="nms", iou_threshold=0.7),
            min_bbox_size=0),
        rcnn=dict(score_thr=0.05, nms=dict(type="nms", iou_threshold=0.5), max_per_img=100),
    )


#: keys of ``loss_weights`` -> (head, loss config key) they set
LOSS_WEIGHT_KEYS: dict[str, tuple[str, str]] = {
    "rpn_cls": ("rpn", "loss_cls"),
    "rpn_bbox": ("rpn", "loss_bbox"),
    "roi_cls": ("roi", "loss_cls"),
    "roi_bbox": ("roi", "loss_bbox"),
}


def _check_loss_weights(loss_weights: dict[str, float] | None) -> dict[str, float]:
    """``loss_weights`` checked: known keys, finite non-negative numbers."""
    weights = dict(loss_weights or {})
    unknown = sorted(set(weights) - set(LOSS_WEIGHT_KEYS))
    if unknown:
        raise ValueError(f"loss_weights: unknown key(s) {unknown}; expected some of "
                         f"{sorted(LOSS_WEIGHT_KEYS)}")
    for key, weight in weights.items():
        if isinstance(weight, bool) or not isinstance(weight, int | float) \
                or not math.isfinite(weight) or weight < 0:
            raise ValueError(f"loss_weights.{key} must be a finite number >= 0, got {weight!r}")
    return weights


@MODELS.register_module()
class AnomalyEnhancement(BaseModule):
    """Anomaly Enhancement between the backbone and the decoder (section 4).

    Enhancement block (our reading of "adds enhanced features back", kept at inference and
    task-agnostic): for every level ``i`` an independent residual branch
    ``F_ae_i = conv3x3(act(norm(conv3x3(F_i))))`` with ``hidden_ratio * C_i`` hidden channels
    (our choice: per level, no cross-level fusion, so the decoder's own FPN does the fusion);
    ``forward`` returns ``F_i + F_ae_i``.

    Detection branch (stated: RPN + RoI Align + box head with box supervision, training only):
    1x1 projections bring every level to ``det_channels`` (mmdet heads need equal channels),
    then an mmdet ``RPNHead`` (one class, anchors on exactly the levels given,
    ``DeltaXYWHBBoxCoder``, sigmoid CE + L1) and a ``StandardRoIHead`` (``SingleRoIExtractor``
    with mmcv ``RoIAlign`` 7x7, ``Shared2FCBBoxHead`` with one class) with Faster R-CNN's
    train settings. Boxes are the connected components of the mask (``gt_instances``);
    authentic images have none and still give RPN (and RoI) negatives. With the block the
    detection branch sees only ``F_ae``, so its gradient shapes the enhancement block, as the
    paper intends; without it (``with_block=False``) it sees the backbone features ``F``
    directly, so box supervision reaches the backbone with no extra capacity in between.

    The two switches make the two ablations the paper's "no AE" confounds: ``with_block=False``
    (box supervision without the block's capacity; ``forward`` is the identity) and
    ``with_detection=False`` (the block's capacity without box supervision).

    Args:
        in_channels: channels of each input level.
        strides: stride of each input level w.r.t. the network input (anchors, RoI Align).
        hidden_ratio: hidden width of the enhancement block relative to ``C_i`` (our choice).
        norm_cfg / act_cfg: of the enhancement block's middle layer (our choice: BN + ReLU).
        with_block: build the enhancement block (otherwise ``forward`` returns its input).
        with_detection: build the training-only detection branch.
        det_channels: channels of the projected maps fed to the mmdet heads.
        fc_out_channels: width of the box head's two shared FC layers (Faster R-CNN: 1024).
        anchor_scales / anchor_ratios: RPN anchors, side ``stride * scale`` on every level,
            ratio ``h / w`` (Faster R-CNN: 8, (0.5, 1, 2));
            ``tools/analysis_tools/box_stats.py`` derives them from a dataset.
        min_box_side: boxes with ``sqrt(w * h)`` under this many pixels are left out of the
            box supervision (our choice; 0 keeps all). Mask speckles of a pixel or two become
            boxes that no anchor can match, and ``add_gt_as_proposals`` would make them RoI
            positives; the mask loss still sees them.
        roi_sampling_ratio: RoI Align samples per bin side; 0 (Faster R-CNN's) adapts it to
            the RoI size, a fixed small value bounds the CPU cost of large proposals (our
            choice for the tiny twin).
        loss_weights: weights of ``rpn_cls``, ``rpn_bbox``, ``roi_cls`` and ``roi_bbox``
            (1 each), written into the mmdet loss configs; a key given here wins over a
            ``loss_weight`` in ``rpn_head`` / ``roi_head``.
        rpn_head / roi_head: dicts merged over the defaults (top-level keys replaced).
        train_cfg / test_cfg: full mmdet-style ``rpn``/``rpn_proposal``/``rcnn`` settings;
            Faster R-CNN's when ``None``.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        strides: Sequence[int] = (4, 8, 16, 32),
        hidden_ratio: float = 0.25,
        norm_cfg: dict | None = None,
        act_cfg: dict | None = None,
        with_block: bool = True,
        with_detection: bool = True,
        det_channels: int = 256,
        fc_out_channels: int = 1024,
        anchor_scales: Sequence[float] = (8,),
        anchor_ratios: Sequence[float] = (0.5, 1.0, 2.0),
        min_box_side: float = 0.0,
        roi_sampling_ratio: int = 0,
        loss_weights: dict[str, float] | None = None,
        rpn_head: dict | None = None,
        roi_head: dict | None = None,
        train_cfg: dict | None = None,
        test_cfg: dict | None = None,
        init_cfg: dict | list[dict] | None = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) != len(strides):
            raise ValueError(f"in_channels {in_channels} and strides {strides} differ in length")
        if min_box_side < 0:
            raise ValueError(f"min_box_side must be >= 0, got {min_box_side}")
        self.in_channels = list(in_channels)
        self.strides = list(strides)
        self.with_block = with_block
        self.min_box_side = float(min_box_side)
        if roi_sampling_ratio < 0:
            raise ValueError(f"roi_sampling_ratio must be >= 0, got {roi_sampling_ratio}")
        self.roi_sampling_ratio = int(roi_sampling_ratio)
        norm_cfg = norm_cfg if norm_cfg is not None else dict(type="BN", requires_grad=True)
        act_cfg = act_cfg if act_cfg is not None else dict(type="ReLU")
        if with_block:
            self.enhance = nn.ModuleList()
            for c in self.in_channels:
                hidden = max(1, int(round(c * hidden_ratio)))
                self.enhance.append(nn.Sequential(
                    ConvModule(c, hidden, 3, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg),
                    nn.Conv2d(hidden, c, 3, padding=1),
                ))
        self.with_detection = with_detection
        self.det_channels = det_channels
        # What the detection branch reads (F_ae, or F without the block) from the last
        # training forward, consumed by detection_loss.
        self._det_feats: tuple[Tensor, ...] | None = None
        if with_detection:
            self._build_detection(
                fc_out_channels, anchor_scales, anchor_ratios, rpn_head or {}, roi_head or {},
                train_cfg or _default_train_cfg(), test_cfg or _default_test_cfg(),
                _check_loss_weights(loss_weights))

    def _build_detection(
        self,
        fc_out_channels: int,
        anchor_scales: Sequence[float],
        anchor_ratios: Sequence[float],
        rpn_head: dict,
        roi_head: dict,
        train_cfg: dict,
        test_cfg: dict,
        loss_weights: dict[str, float],
    ) -> None:
        c = self.det_channels
        # mmdet heads read their cfgs by attribute (cfg.assigner, cfg.nms).
        train_cfg, test_cfg = ConfigDict(train_cfg), ConfigDict(test_cfg)
        # Plain 1x1 convs: mmdet heads need equal channels on every level.
        self.det_proj = nn.ModuleList(nn.Conv2d(ci, c, 1) for ci in self.in_channels)
        rpn_cfg = dict(
            type="RPNHead",
            in_channels=c,
            feat_channels=c,
            num_classes=1,
            anchor_generator=dict(
                type="AnchorGenerator", scales=list(anchor_scales), ratios=list(anchor_ratios),
                strides=self.strides),
            bbox_coder=dict(
                type="DeltaXYWHBBoxCoder", target_means=[0.0] * 4, target_stds=[1.0] * 4),
            loss_cls=dict(type="CrossEntropyLoss", use_sigmoid=True, loss_weight=1.0),
            loss_bbox=dict(type="L1Loss", loss_weight=1.0),
        )
        rpn_cfg.update(rpn_head)
        rpn_cfg.update(train_cfg=train_cfg.rpn, test_cfg=test_cfg.rpn)
        roi_cfg = dict(
            type="StandardRoIHead",
            bbox_roi_extractor=dict(
                type="SingleRoIExtractor",
                roi_layer=dict(type="RoIAlign", output_size=7,
                               sampling_ratio=self.roi_sampling_ratio),
                out_channels=c,
                featmap_strides=self.strides),
            bbox_head=dict(
                type="Shared2FCBBoxHead",
                in_channels=c,
                fc_out_channels=fc_out_channels,
                roi_feat_size=7,
                num_classes=1,
                bbox_coder=dict(
                    type="DeltaXYWHBBoxCoder", target_means=[0.0] * 4,
                    target_stds=[0.1, 0.1, 0.2, 0.2]),
                reg_class_agnostic=False,
                loss_cls=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
                loss_bbox=dict(type="L1Loss", loss_weight=1.0)),
        )
        roi_cfg.update(roi_head)
        roi_cfg.update(train_cfg=train_cfg.rcnn, test_cfg=test_cfg.rcnn)
        for key, weight in loss_weights.items():
            head, loss = LOSS_WEIGHT_KEYS[key]
            owner = rpn_cfg if head == "rpn" else roi_cfg.setdefault("bbox_head", {})
            owner[loss] = dict(owner[loss], loss_weight=float(weight))
        self.rpn_proposal_cfg = copy.deepcopy(train_cfg.get("rpn_proposal", test_cfg.rpn))
        det_models = _det_models()
        # A runner may set mmseg as default scope; mmdet names must resolve in mmdet's scope,
        # also for the nested builds (assigners, samplers, losses) done inside the heads.
        with DefaultScope.overwrite_default_scope("mmdet"):
            self.rpn_head = det_models.build(rpn_cfg)
            self.roi_head = det_models.build(roi_cfg)

    _DETECTION_MODULES = ("det_proj", "rpn_head", "roi_head")

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: Any,
                              **kwargs: Any) -> None:
        """A model without the detection branch (inference, ``tools/test.py``) loads training
        checkpoints: their detection weights are dropped, counted and logged, not an error."""
        if not self.with_detection:
            dropped = [k for k in list(state_dict) if k.startswith(
                tuple(f"{prefix}{m}." for m in self._DETECTION_MODULES))]
            for key in dropped:
                del state_dict[key]
            if dropped:
                print_log(f"AnomalyEnhancement: detection branch is training-only; ignored "
                          f"{len(dropped)} of its tensors in the checkpoint", logger="current")
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # ----------------------------------------------------------------------------- forward
    def _detection_input(self, feats: Sequence[Tensor]) -> tuple[Tensor, ...]:
        """What the detection branch reads: ``F_ae`` with the block, ``F`` without it."""
        if len(feats) != len(self.in_channels):
            raise ValueError(f"expected {len(self.in_channels)} levels, got {len(feats)}")
        if not self.with_block:
            return tuple(feats)
        return tuple(block(f) for block, f in zip(self.enhance, feats, strict=True))

    def forward(self, feats: Sequence[Tensor]) -> tuple[Tensor, ...]:
        """Return ``F_i + F_ae_i`` per level (``F_i`` itself without the block); keep the
        detection branch's input for ``detection_loss`` in training."""
        det_in = self._detection_input(feats)
        # Only training with the branch needs it later; do not hold graphs/memory otherwise.
        self._det_feats = det_in if (self.training and self.with_detection) else None
        if not self.with_block:
            return tuple(feats)
        return tuple(f + a for f, a in zip(feats, det_in, strict=True))

    # ---------------------------------------------------------------------- detection loss
    def _to_det_samples(
        self, data_samples: Sequence[Any], batch_input_shape: tuple[int, int], device: torch.device
    ) -> list:
        """SegDataSample -> DetDataSample with gt_instances and the metainfo mmdet reads.

        Boxes under ``min_box_side`` are left out here."""
        from mmdet.structures import DetDataSample

        det_samples = []
        for sample in data_samples:
            meta = sample.metainfo
            img_shape = tuple(meta.get("img_shape", batch_input_shape))[:2]
            pad_shape = tuple(meta.get("pad_shape", batch_input_shape))[:2]
            det = DetDataSample(metainfo=dict(
                img_shape=img_shape, pad_shape=pad_shape, batch_input_shape=batch_input_shape))
            gt = InstanceData()
            src = sample.get("gt_instances", None)
            if src is not None and "bboxes" in src and len(src) > 0:
                bboxes = torch.as_tensor(src.bboxes, dtype=torch.float32, device=device)
                gt.bboxes = self.keep_boxes(bboxes.reshape(-1, 4))
            else:
                gt.bboxes = torch.zeros((0, 4), dtype=torch.float32, device=device)
            # One class "tampered": labels are zeros whatever the source says.
            gt.labels = torch.zeros(len(gt.bboxes), dtype=torch.long, device=device)
            det.gt_instances = gt
            det_samples.append(det)
        return det_samples

    def keep_boxes(self, bboxes: Tensor) -> Tensor:
        """The xyxy boxes the detection branch is supervised with: side ``sqrt(w * h)`` at
        least ``min_box_side``."""
        if self.min_box_side <= 0 or not len(bboxes):
            return bboxes
        wh = (bboxes[:, 2:] - bboxes[:, :2]).clamp(min=0)
        return bboxes[(wh[:, 0] * wh[:, 1]).sqrt() >= self.min_box_side]

    def _default_input_shape(self, feats: Sequence[Tensor]) -> tuple[int, int]:
        h, w = feats[0].shape[-2:]
        return int(h * self.strides[0]), int(w * self.strides[0])

    def detection_loss(
        self, data_samples: Sequence[Any], batch_input_shape: tuple[int, int] | None = None
    ) -> dict[str, Tensor]:
        """RPN + RoI losses on the detection input of the last training forward, prefixed 'ae.'.

        Without a detection branch (``with_detection=False``, or stripped) there is no box
        supervision and the result is empty. ``batch_input_shape`` defaults to the finest
        level's size times its stride. mmdet returns per-level RPN losses as lists; we sum
        them into one scalar each (our choice: one logged number per loss). Empty
        ``gt_instances`` are handled by mmdet itself (MaxIoUAssigner gives all-negative
        assignments; the box losses are 0 with no positives), so authentic images are not
        special-cased.
        """
        if not self.with_detection:
            return {}
        if self._det_feats is None:
            raise RuntimeError("detection_loss needs a forward() in training mode first")
        feats, self._det_feats = self._det_feats, None  # free the maps once consumed
        if batch_input_shape is None:
            batch_input_shape = self._default_input_shape(feats)
        x = tuple(proj(a) for proj, a in zip(self.det_proj, feats, strict=True))
        samples = self._to_det_samples(data_samples, tuple(batch_input_shape), feats[0].device)

        rpn_losses, proposals = self.rpn_head.loss_and_predict(
            x, samples, proposal_cfg=self.rpn_proposal_cfg)
        losses: dict[str, Tensor] = {}
        for key, value in rpn_losses.items():
            if isinstance(value, list | tuple):
                value = sum(value)
            losses[key if "rpn" in key else f"rpn_{key}"] = value
        roi_losses = self.roi_head.loss(x, proposals, samples)
        losses.update(roi_losses)
        return add_prefix(losses, "ae")

    # --------------------------------------------------------------------------- detection
    @torch.no_grad()
    def detect(
        self,
        feats: Sequence[Tensor],
        data_samples: Sequence[Any] | None = None,
        batch_input_shape: tuple[int, int] | None = None,
    ) -> tuple[list[InstanceData], list[InstanceData]]:
        """RPN proposals and RoI-head detections of the detection branch, per image.

        ``feats`` are the neck's input (backbone features); the branch reads them as in
        training (``F_ae``, or ``F`` without the block). Uses the heads' test settings
        (``test_cfg.rpn`` / ``test_cfg.rcnn``); boxes are in network-input pixels (no
        rescaling), proposals sorted by score. ``data_samples`` give each image's
        ``img_shape`` (boxes are clipped to it); without them every image is
        ``batch_input_shape``. For diagnosis (does the branch learn?); call in eval mode.

        Returns:
            ``(proposals, detections)``: lists of InstanceData with ``bboxes`` and ``scores``.
        """
        if not self.with_detection:
            raise RuntimeError("detect needs the detection branch (build with "
                               "with_detection=True; it was stripped or never built)")
        if batch_input_shape is None:
            batch_input_shape = self._default_input_shape(feats)
        batch_input_shape = (int(batch_input_shape[0]), int(batch_input_shape[1]))
        det_in = self._detection_input(feats)
        x = tuple(proj(a) for proj, a in zip(self.det_proj, det_in, strict=True))
        if data_samples is None:
            from mmengine.structures import BaseDataElement

            data_samples = [BaseDataElement(metainfo=dict(img_shape=batch_input_shape))
                            for _ in range(len(feats[0]))]
        samples = self._to_det_samples(data_samples, batch_input_shape, feats[0].device)
        proposals = self.rpn_head.predict(x, samples, rescale=False)
        proposals = [p[p.scores.argsort(descending=True)] for p in proposals]
        detections = self.roi_head.predict(x, proposals, samples, rescale=False)
        return proposals, detections

    # ------------------------------------------------------------------------- deployment
    def strip_detection(self) -> AnomalyEnhancement:
        """Delete the training-only detection branch (deployment, complexity counting)."""
        for name in self._DETECTION_MODULES:
            if hasattr(self, name):
                delattr(self, name)
        self.with_detection = False
        self._det_feats = None
        return self

    def inference(self) -> AnomalyEnhancement:
        """Inference form: detection branch removed, eval mode."""
        return self.strip_detection().eval()
