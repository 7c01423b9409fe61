"""Data preprocessor that keeps the JPEG DCT pixel-aligned with the padded input batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.registry import MODELS
from mmseg.utils import stack_batch

__all__ = ["IMLDataPreProcessor", "stack_dct"]


def _pad_dct(sample: Any, padding_size: Sequence[int]) -> None:
    """Pad ``sample.dct`` like its image: (left, right, top, bottom), zeros = "no coefficient"."""
    if "dct" not in sample:
        return
    dct = sample.dct.data
    if any(int(p) for p in padding_size):
        padded = F.pad(dct, [int(p) for p in padding_size], value=0)
        del sample.dct.data
        sample.dct.data = padded


def stack_dct(data_samples: Sequence[Any]) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Batch the (already padded) per-sample DCT maps and quantisation tables.

    Returns:
        ``(dct, qtable)``: ``dct`` Bx1xHxW (the samples' dtype, int16) and ``qtable`` Bx8x8 int64,
        each None when no sample carries it. Samples must all carry it or none (a batch mixing
        DCT and non-DCT samples is a pipeline error).
    """
    has_dct = ["dct" in s for s in data_samples]
    has_qt = ["qtable" in s for s in data_samples]
    if any(has_dct) and not all(has_dct):
        raise ValueError("some samples in the batch carry 'dct' and some do not")
    if any(has_qt) and not all(has_qt):
        raise ValueError("some samples in the batch carry 'qtable' and some do not")
    dct = torch.stack([s.dct.data for s in data_samples]) if data_samples and all(has_dct) else None
    qtable = (
        torch.stack([s.qtable.to(torch.int64) for s in data_samples])
        if data_samples and all(has_qt)
        else None
    )
    return dct, qtable


@MODELS.register_module()
class IMLDataPreProcessor(SegDataPreProcessor):
    """mmseg's ``SegDataPreProcessor`` plus JPEG DCT handling (docs/design/omni_iml.md section 1).

    Normalisation, BGR->RGB, bottom/right padding of inputs (``pad_val``) and ``gt_sem_seg``
    (``seg_pad_val``) are mmseg 1.2.2's, via ``mmseg.utils.stack_batch``. In addition each
    sample's ``dct`` (PixelData 1xHxW int16) gets exactly the same bottom/right padding as its
    image, with 0, so coefficient (y, x) stays under pixel (y, x). ``qtable`` (8x8) is not
    spatial and is left as is; :func:`stack_dct` batches both for the model.

    Testing also accepts a batch of images of different sizes (our choice; mmseg asserts equal
    sizes): they are padded to the largest (rounded to ``test_cfg.size_divisor`` if given) and
    each sample's ``img_padding_size`` lets mmseg's post-processing remove the padding.
    A DCT model needs inputs whose sides are multiples of 8: use ``test_cfg=dict(size_divisor=32)``
    (or 8) when test images keep their own size.
    """

    def forward(self, data: dict, training: bool = False) -> dict[str, Any]:
        data = self.cast_data(data)  # type: ignore[assignment]
        inputs = data["inputs"]
        data_samples = data.get("data_samples", None)
        if self.channel_conversion and inputs[0].size(0) == 3:
            inputs = [_input[[2, 1, 0], ...] for _input in inputs]
        inputs = [_input.float() for _input in inputs]
        if self._enable_normalize:
            inputs = [(_input - self.mean) / self.std for _input in inputs]

        if training:
            assert data_samples is not None, "During training, `data_samples` must be defined."
            inputs, data_samples = stack_batch(
                inputs=inputs,
                data_samples=data_samples,
                size=self.size,
                size_divisor=self.size_divisor,
                pad_val=self.pad_val,
                seg_pad_val=self.seg_pad_val,
            )
            for sample in data_samples:
                _pad_dct(sample, sample.metainfo["padding_size"])
            if self.batch_augments is not None:
                inputs, data_samples = self.batch_augments(inputs, data_samples)
            return dict(inputs=inputs, data_samples=data_samples)

        same_size = all(_input.shape[1:] == inputs[0].shape[1:] for _input in inputs)
        if self.test_cfg or not same_size:
            test_cfg = self.test_cfg or {}
            size = test_cfg.get("size", None)
            size_divisor = test_cfg.get("size_divisor", None)
            if size is None and size_divisor is None:
                size_divisor = 1  # stack_batch needs one of them: 1 = pad to the largest
            inputs, padded_samples = stack_batch(
                inputs=inputs,
                size=size,
                size_divisor=size_divisor,
                pad_val=self.pad_val,
                seg_pad_val=self.seg_pad_val,
            )
            if data_samples is not None:
                for sample, pad_info in zip(data_samples, padded_samples, strict=True):
                    sample.set_metainfo({**pad_info})
                    _pad_dct(sample, pad_info["img_padding_size"])
        else:
            inputs = torch.stack(inputs, dim=0)
        return dict(inputs=inputs, data_samples=data_samples)
