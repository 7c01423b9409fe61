"""TruFor-like segmentor (Guillaro et al., CVPR 2023), our re-implementation.

``TruForLikeEncoder`` (learned noise residual + RGB, two MiT encoders fused at every stage) and
``TruForLikeHead`` (anomaly + confidence all-MLP decoders). Losses (``mode='loss'``):
``decode.loss_ce`` (anomaly, the head's ``loss_decode``) and ``decode.loss_conf`` (confidence
MSE against the true-class probability).

``mode='predict'`` gives, per sample, EncoderDecoder's 2xHxW ``seg_logits`` and ``pred_sem_seg``
at the original size, plus ``pred_confidence`` (1xHxW PixelData, sigmoid, in [0, 1]) restored the
same way (padding removed, flip undone, resized) and ``pred_integrity`` (a 1-element tensor).

Detection/integrity: TruFor learns an image-level integrity score from confidence-weighted
pooled statistics of the anomaly map. We have no learned detection head; ``pred_integrity`` is a
parameter-free stand-in, the maximum over pixels of ``confidence * P(tampered)`` (our choice).
Confidence and integrity are given in ``test_cfg.mode='whole'`` only; in ``'slide'`` mode the
prediction is EncoderDecoder's without them.
"""

from __future__ import annotations

from typing import Any

import torch
from mmengine.structures import PixelData
from mmseg.models.segmentors import EncoderDecoder
from mmseg.models.utils import resize
from mmseg.registry import MODELS

from ..utils.segmentor_cfgs import with_attribute_cfgs

__all__ = ["TruForLike"]


@MODELS.register_module()
class TruForLike(EncoderDecoder):
    """EncoderDecoder whose predictions also carry the confidence map (see the module doc).

    Args:
        **kwargs: :class:`mmseg.models.EncoderDecoder` arguments; ``decode_head`` must have
            ``forward_confidence`` like :class:`TruForLikeHead`.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**with_attribute_cfgs(kwargs))

    def predict(self, inputs: torch.Tensor, data_samples: list | None = None) -> list:
        if self.test_cfg.get("mode", "whole") != "whole":
            return super().predict(inputs, data_samples)
        if data_samples is not None:
            metas = [s.metainfo for s in data_samples]
        else:
            metas = [dict(ori_shape=inputs.shape[2:], img_shape=inputs.shape[2:],
                          pad_shape=inputs.shape[2:], padding_size=[0, 0, 0, 0])
                     ] * inputs.shape[0]
        feats = self.extract_feat(inputs)
        seg_logits = self.decode_head.predict_by_feat(self.decode_head.forward(feats), metas)
        conf = torch.sigmoid(self.decode_head.predict_by_feat(
            self.decode_head.forward_confidence(feats), metas))
        results = self.postprocess_result(seg_logits, data_samples)
        for i, sample in enumerate(results):
            c = self._restore(conf[i:i + 1], metas[i] if data_samples is not None else None)
            sample.set_field(PixelData(data=c), "pred_confidence")
            p = sample.seg_logits.data.softmax(dim=0)[self.decode_head.tampered_class]
            sample.set_field((c[0] * p).amax().reshape(1), "pred_integrity")
        return results

    def _restore(self, x: torch.Tensor, meta: dict | None) -> torch.Tensor:
        """Undo padding and flip and resize to ``ori_shape`` (as postprocess_result does)."""
        if meta is None:
            return x[0]
        h, w = x.shape[2:]
        left, right, top, bottom = meta.get("img_padding_size",
                                            meta.get("padding_size", [0] * 4))
        x = x[:, :, top:h - bottom, left:w - right]
        if meta.get("flip", None):
            x = x.flip(dims=(3,) if meta.get("flip_direction") == "horizontal" else (2,))
        return resize(x, size=meta["ori_shape"], mode="bilinear",
                      align_corners=self.align_corners, warning=False)[0]
