"""Base for segmentors whose backbone also reads each image's JPEG DCT (Omni-IML, CAT-Net).

mmseg's call chain (``loss``/``predict``/``_forward`` -> ``extract_feat``) does not pass the data
samples down, so the batch's ``dct``/``qtable`` (docs/data_contract.md) are held for the
duration of one call and handed to the backbone as ``backbone(inputs, dct, qtable, *extra)``.
A backbone whose ``reads_dct`` is False gets ``None`` for both and needs no DCT in the data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from mmseg.models.segmentors import EncoderDecoder

from ..data_preprocessor import stack_dct
from ..utils.segmentor_cfgs import with_attribute_cfgs

__all__ = ["DCTEncoderDecoder"]


class DCTEncoderDecoder(EncoderDecoder):
    """``EncoderDecoder`` with a DCT-reading backbone; ``test_cfg.mode`` must be ``'whole'``
    (the DCT belongs to the whole image; sliding windows would need per-window DCT)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**with_attribute_cfgs(kwargs))
        name = type(self).__name__
        if self.test_cfg is not None and self.test_cfg.get("mode", "whole") != "whole":
            raise ValueError(f"{name}: only test_cfg.mode='whole' is supported (the DCT is per "
                             "image; sliding windows would need per-window DCT)")
        self._frequency: tuple[torch.Tensor, torch.Tensor] | None = None
        self._extra: tuple[Any, ...] = ()

    def backbone_extra_args(self, inputs: torch.Tensor, data_samples: list,
                            training: bool) -> tuple[Any, ...]:
        """Further backbone arguments after ``(inputs, dct, qtable)`` for this call."""
        return ()

    @contextmanager
    def dct_batch(self, inputs: torch.Tensor, data_samples: list | None,
                  training: bool) -> Iterator[None]:
        """Hold the batch's DCT (and extra backbone arguments) for one call."""
        if getattr(self.backbone, "reads_dct", True):
            self._frequency = self._batch_dct(inputs, data_samples)
        else:  # e.g. Omni-IML forced to RGB: nothing frequency-related is read, even if present
            self._frequency = (None, None)
        self._extra = self.backbone_extra_args(inputs, data_samples or [], training)
        try:
            yield
        finally:
            self._frequency, self._extra = None, ()

    def _batch_dct(self, inputs: torch.Tensor, data_samples: list | None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        name = type(self).__name__
        if data_samples is None:
            raise ValueError(f"{name} needs data samples carrying 'dct' and 'qtable'")
        dct, qtable = stack_dct(data_samples)
        if dct is None or qtable is None:
            raise ValueError(f"{name} needs the JPEG DCT: add LoadJpegDCT to the pipeline "
                             "(see configs/_base_/datasets)")
        return dct.to(inputs.device), qtable.to(inputs.device)

    def extract_feat(self, inputs: torch.Tensor) -> list[torch.Tensor]:
        if self._frequency is None:
            raise RuntimeError(f"{type(self).__name__}.extract_feat called outside "
                               "loss/predict/_forward")
        x = self.backbone(inputs, *self._frequency, *self._extra)
        if self.with_neck:
            x = self.neck(x)
        return list(x)

    def loss(self, inputs: torch.Tensor, data_samples: list) -> dict:
        with self.dct_batch(inputs, data_samples, training=True):
            return super().loss(inputs, data_samples)

    def predict(self, inputs: torch.Tensor, data_samples: list | None = None) -> list:
        with self.dct_batch(inputs, data_samples, training=False):
            return super().predict(inputs, data_samples)

    def _forward(self, inputs: torch.Tensor, data_samples: list | None = None) -> torch.Tensor:
        with self.dct_batch(inputs, data_samples, training=False):
            return super()._forward(inputs, data_samples)
