"""OmniIML segmentor: Modal Gate Encoder -> (Anomaly Enhancement) -> Dynamic Weight Decoder.

An mmseg ``EncoderDecoder`` whose backbone also needs each sample's JPEG DCT and quantisation
table (``dct``/``qtable`` on the data samples, see docs/data_contract.md), and whose training
adds the encoder's coarse-mask and gate losses (omni_iml_model.md sections 1, 3 and 5) and,
when a neck with a detection branch is configured, the Anomaly Enhancement detection losses
(section 4). The gate's decision is logged per task during training and stored on each
prediction (``gate_fused``) at test time.
"""

from __future__ import annotations

from typing import Any

import torch
from mmengine.config import ConfigDict
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS

from mmiml import TASKS

from ..data_preprocessor import stack_dct


@MODELS.register_module()
class OmniIML(EncoderDecoder):
    """Omni-IML (first public implementation; see omni_iml_model.md).

    Args:
        aux_loss_weights: weights of ``coarse_rgb``, ``coarse_fused`` and ``gate`` losses
            (default 1 each, section 5).
        **kwargs: :class:`mmseg.models.EncoderDecoder` arguments; ``backbone`` must be a
            ``ModalGateEncoder`` and ``test_cfg.mode`` must be ``'whole'`` (the DCT is per image).
    """

    def __init__(self, aux_loss_weights: dict[str, float] | None = None, **kwargs: Any) -> None:
        for key in ("train_cfg", "test_cfg"):  # mmseg reads them by attribute
            if isinstance(kwargs.get(key), dict):
                kwargs[key] = ConfigDict(kwargs[key])
        super().__init__(**kwargs)
        if self.test_cfg is not None and self.test_cfg.get("mode", "whole") != "whole":
            raise ValueError("OmniIML: only test_cfg.mode='whole' is supported (the DCT is per "
                             "image; sliding windows would need per-window DCT)")
        self.aux_loss_weights = dict(aux_loss_weights or {})
        self._frequency: tuple[torch.Tensor, torch.Tensor] | None = None
        self._gt: torch.Tensor | None = None

    # The mmseg call chain (loss/predict -> extract_feat) does not pass the data samples down,
    # so the per-batch DCT and masks are set here for the duration of one call.
    def _set_batch(self, inputs: torch.Tensor, data_samples: list | None, training: bool) -> None:
        if data_samples is None:
            raise ValueError("OmniIML needs data samples carrying 'dct' and 'qtable'")
        dct, qtable = stack_dct(data_samples)
        if dct is None or qtable is None:
            raise ValueError("OmniIML needs the JPEG DCT: add LoadJpegDCT to the pipeline "
                             "(see configs/_base_/datasets)")
        self._frequency = (dct.to(inputs.device), qtable.to(inputs.device))
        self._gt = (torch.stack([s.gt_sem_seg.data[0] for s in data_samples]).to(inputs.device)
                    if training else None)

    def extract_feat(self, inputs: torch.Tensor) -> list[torch.Tensor]:
        if self._frequency is None:
            raise RuntimeError("OmniIML.extract_feat called outside loss/predict/_forward")
        dct, qtable = self._frequency
        x = self.backbone(inputs, dct, qtable, self._gt)
        if self.with_neck:
            x = self.neck(x)
        return list(x)

    def loss(self, inputs: torch.Tensor, data_samples: list) -> dict:
        self._set_batch(inputs, data_samples, training=True)
        try:
            x = self.extract_feat(inputs)
            losses = dict(self._decode_head_forward_train(x, data_samples))
            if self.with_auxiliary_head:
                losses.update(self._auxiliary_head_forward_train(x, data_samples))
            losses.update({f"enc.{k}": v for k, v in
                           self.backbone.aux_losses(self.aux_loss_weights).items()})
            if self.with_neck and hasattr(self.neck, "detection_loss"):
                losses.update(self.neck.detection_loss(data_samples))
            losses.update(self._gate_stats(data_samples))
        finally:
            self._frequency = self._gt = None
        return losses

    def predict(self, inputs: torch.Tensor, data_samples: list | None = None) -> list:
        self._set_batch(inputs, data_samples, training=False)
        try:
            results = super().predict(inputs, data_samples)
            choice = self.backbone.last_aux["gate_choice"].detach().cpu()
            prob = self.backbone.last_aux["gate_prob"].detach().cpu()
            for sample, c, p in zip(results, choice, prob):
                sample.set_metainfo({"gate_fused": float(c), "gate_prob": float(p)})
        finally:
            self._frequency = self._gt = None
        return results

    def _forward(self, inputs: torch.Tensor, data_samples: list | None = None) -> torch.Tensor:
        self._set_batch(inputs, data_samples, training=False)
        try:
            return self.decode_head.forward(self.extract_feat(inputs))
        finally:
            self._frequency = self._gt = None

    def _gate_stats(self, data_samples: list) -> dict[str, torch.Tensor]:
        """Share of each task's samples routed to the fused (frequency) path, for the log."""
        choice = self.backbone.last_aux["gate_choice"].detach()
        stats = {"gate.fused_share": choice.mean()}
        tasks = [s.metainfo.get("task") for s in data_samples]
        for task in TASKS:
            idx = [i for i, t in enumerate(tasks) if t == task]
            if idx:
                stats[f"gate.fused_share.{task}"] = choice[idx].mean()
        return stats
