"""OmniIML segmentor: Modal Gate Encoder -> (Anomaly Enhancement) -> Dynamic Weight Decoder.

An mmseg ``EncoderDecoder`` whose backbone also needs each sample's JPEG DCT and quantisation
table (``dct``/``qtable`` on the data samples, see docs/data_contract.md), and whose training
adds the encoder's coarse-mask and gate losses (docs/design/omni_iml.md sections 1, 3 and 5) and,
when a neck with a detection branch is configured, the Anomaly Enhancement detection losses
(section 4). The gate's decision is logged per task during training and stored on each
prediction (``gate_fused``) at test time.
"""

from __future__ import annotations

from typing import Any

import torch
from mmseg.registry import MODELS

from mmiml import TASKS

from .dct_encoder_decoder import DCTEncoderDecoder


@MODELS.register_module()
class OmniIML(DCTEncoderDecoder):
    """Omni-IML (first public implementation; see docs/design/omni_iml.md).

    Args:
        aux_loss_weights: weights of ``coarse_rgb``, ``coarse_fused`` and ``gate`` losses
            (default 1 each, section 5).
        **kwargs: :class:`mmseg.models.EncoderDecoder` arguments; ``backbone`` must be a
            ``ModalGateEncoder`` and ``test_cfg.mode`` must be ``'whole'`` (the DCT is per image).
    """

    def __init__(self, aux_loss_weights: dict[str, float] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.aux_loss_weights = dict(aux_loss_weights or {})

    def backbone_extra_args(self, inputs: torch.Tensor, data_samples: list,
                            training: bool) -> tuple[Any, ...]:
        """The masks and the head's ignore index in training: they give the gate its per-sample
        target."""
        if not training:
            return ()
        gt = torch.stack([s.gt_sem_seg.data[0] for s in data_samples]).to(inputs.device)
        return gt, self.decode_head.ignore_index

    def loss(self, inputs: torch.Tensor, data_samples: list) -> dict:
        losses = super().loss(inputs, data_samples)  # decode (and auxiliary head) losses
        losses.update({f"enc.{k}": v for k, v in
                       self.backbone.aux_losses(self.aux_loss_weights).items()})
        if self.with_neck and getattr(self.neck, "with_detection", False):
            losses.update(self.neck.detection_loss(data_samples))
        losses.update(self._gate_stats(data_samples))
        return losses

    def predict(self, inputs: torch.Tensor, data_samples: list | None = None) -> list:
        """Predictions carrying the gate's decision and probability (``gate_fused``,
        ``gate_prob``; absent when an ablation bypasses the gate) and the Dynamic Weight
        Filters' per-sample mixing weights (``dwd_mix``: one list of K weights per filter;
        absent without filters)."""
        results = super().predict(inputs, data_samples)
        aux = self.backbone.last_aux
        per_sample: list[dict] = [{} for _ in results]
        if "gate_prob" in aux:
            for meta, c, p in zip(per_sample, aux["gate_own"].tolist(),
                                  aux["gate_prob"].tolist(), strict=True):
                meta.update(gate_fused=float(c), gate_prob=float(p))
        batch_mix = getattr(self.decode_head, "last_mix", None)  # (B, filters, K)
        if batch_mix is not None:
            for meta, mix in zip(per_sample, batch_mix.cpu().tolist(), strict=True):
                meta["dwd_mix"] = mix
        for sample, meta in zip(results, per_sample, strict=True):
            sample.set_metainfo(meta)
        return results

    def _gate_stats(self, data_samples: list) -> dict[str, torch.Tensor]:
        """For the log: share of each task's samples routed to the fused (frequency) path, and,
        with a gate, the share its own decision and its target would route there."""
        aux = self.backbone.last_aux
        choice = aux["gate_choice"].detach()
        stats = {"gate.fused_share": choice.mean()}
        if "gate_own" in aux:
            stats["gate.own_fused_share"] = aux["gate_own"].detach().mean()
            valid = aux.get("target_valid")
            if valid is not None and valid.sum() > 0:
                stats["gate.target_fused_share"] = (aux["target"] * valid).sum() / valid.sum()
        tasks = [s.metainfo.get("task") for s in data_samples]
        for task in TASKS:
            idx = [i for i, t in enumerate(tasks) if t == task]
            if idx:
                stats[f"gate.fused_share.{task}"] = choice[idx].mean()
        return stats
