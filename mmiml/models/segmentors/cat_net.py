"""CAT-Net segmentor (Kwon et al., IJCV 2022): an mmseg ``EncoderDecoder`` whose backbone
(:class:`~mmiml.models.backbones.cat_net_backbone.CATNetBackbone`) also reads each sample's JPEG
DCT and quantisation table (``dct``/``qtable`` on the data samples, docs/data_contract.md).

mmseg's call chain (``loss``/``predict``/``_forward`` -> ``extract_feat``) does not pass the data
samples down, so the batch's DCT is held for the duration of one call, as in
:class:`~mmiml.models.segmentors.omni_iml.OmniIML`. Losses are the decode head's (and an
auxiliary head's, when configured): CAT-Net has no extra encoder losses.
"""

from __future__ import annotations

from typing import Any

import torch
from mmengine.config import ConfigDict
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS

from ..data_preprocessor import stack_dct

__all__ = ["CATNet"]


@MODELS.register_module()
class CATNet(EncoderDecoder):
    """CAT-Net: RGB + JPEG-DCT two-stream HRNet, 2-class (authentic / tampered) segmentation.

    Args:
        **kwargs: :class:`mmseg.models.EncoderDecoder` arguments; ``backbone`` takes
            ``(inputs, dct, qtable)`` (a ``CATNetBackbone``) and ``test_cfg.mode`` must be
            ``'whole'`` (the DCT belongs to the whole image; sliding windows would need
            per-window DCT).
    """

    def __init__(self, **kwargs: Any) -> None:
        for key in ("train_cfg", "test_cfg"):  # mmseg reads them by attribute
            if isinstance(kwargs.get(key), dict):
                kwargs[key] = ConfigDict(kwargs[key])
        super().__init__(**kwargs)
        if self.test_cfg is not None and self.test_cfg.get("mode", "whole") != "whole":
            raise ValueError("CATNet: only test_cfg.mode='whole' is supported (the DCT is per "
                             "image; sliding windows would need per-window DCT)")
        self._frequency: tuple[torch.Tensor, torch.Tensor] | None = None

    def _set_batch(self, inputs: torch.Tensor, data_samples: list | None) -> None:
        if data_samples is None:
            raise ValueError("CATNet needs data samples carrying 'dct' and 'qtable'")
        dct, qtable = stack_dct(data_samples)
        if dct is None or qtable is None:
            raise ValueError("CATNet needs the JPEG DCT: add LoadJpegDCT to the pipeline "
                             "(see configs/_base_/datasets)")
        self._frequency = (dct.to(inputs.device), qtable.to(inputs.device))

    def extract_feat(self, inputs: torch.Tensor) -> list[torch.Tensor]:
        if self._frequency is None:
            raise RuntimeError("CATNet.extract_feat called outside loss/predict/_forward")
        x = self.backbone(inputs, *self._frequency)
        if self.with_neck:
            x = self.neck(x)
        return list(x)

    def loss(self, inputs: torch.Tensor, data_samples: list) -> dict:
        self._set_batch(inputs, data_samples)
        try:
            return super().loss(inputs, data_samples)
        finally:
            self._frequency = None

    def predict(self, inputs: torch.Tensor, data_samples: list | None = None) -> list:
        self._set_batch(inputs, data_samples)
        try:
            return super().predict(inputs, data_samples)
        finally:
            self._frequency = None

    def _forward(self, inputs: torch.Tensor, data_samples: list | None = None) -> torch.Tensor:
        self._set_batch(inputs, data_samples)
        try:
            return super()._forward(inputs, data_samples)
        finally:
            self._frequency = None
