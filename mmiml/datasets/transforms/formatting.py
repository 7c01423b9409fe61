"""Packing of a pipeline's results into model inputs (docs/data_contract.md, "Packed sample")."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import InstanceData, PixelData
from mmseg.registry import TRANSFORMS
from mmseg.structures import SegDataSample

from mmiml import IGNORE_INDEX
from mmiml.datasets.transforms.loading import boxes_from_seg_map

__all__ = ["PackIMLInputs"]

DEFAULT_META_KEYS: tuple[str, ...] = (
    "img_path",
    "sample_id",  # the image's path relative to its manifest (IMLDataset)
    "seg_map_path",
    "ori_shape",
    "img_shape",
    "pad_shape",
    "scale_factor",
    "flip",
    "flip_direction",
    "reduce_zero_label",
    "task",
    "task_id",
    "source",
    "group",  # optional: a probe dataset's group (docs/data_contract.md)
    "img_label",
    "sample_idx",
)


@TRANSFORMS.register_module()
class PackIMLInputs(BaseTransform):
    """Pack ``img``, masks, boxes and JPEG DCT into ``inputs`` and a ``SegDataSample``.

    Follows mmseg's ``PackSegInputs`` (docs/data_contract.md):

    * ``inputs``: 3xHxW uint8 tensor (BGR; the data preprocessor converts).
    * ``gt_sem_seg``: PixelData 1xHxW int64 (0/1, 255 ignore), as mmseg's losses expect.
    * ``gt_instances``: InstanceData with ``bboxes`` (N,4 float32 xyxy) and ``labels`` (N int64
      zeros), recomputed from the final ``gt_seg_map`` (255 treated as authentic), so earlier
      geometric transforms never leave stale boxes (our choice).
    * ``dct`` (PixelData 1xHxW int16) and ``qtable`` (8x8 int64 tensor), when the pipeline
      produced ``dct_coef`` / ``qtable`` (docs/design/omni_iml.md section 1).
    * metainfo: the ``meta_keys`` present in ``results``; ``flip`` defaults to False and
      ``flip_direction`` to None when no flip transform ran, as mmseg's post-processing reads them.

    Args:
        meta_keys: results keys copied into the metainfo.
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        packed: dict = {}
        img = results.get("img")
        if img is not None:
            if img.ndim == 2:
                img = img[..., None]
            # transpose + ascontiguousarray copies, so the tensor never aliases a strided view
            packed["inputs"] = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))

        sample = SegDataSample()
        seg = results.get("gt_seg_map")
        if seg is not None:
            sample.gt_sem_seg = PixelData(
                data=torch.from_numpy(np.ascontiguousarray(seg[None], dtype=np.int64))
            )
            boxes, labels = boxes_from_seg_map(seg, IGNORE_INDEX)
            instances = InstanceData()
            instances.bboxes = torch.from_numpy(boxes)
            instances.labels = torch.from_numpy(labels)
            sample.gt_instances = instances

        dct = results.get("dct_coef")
        if dct is not None:
            if img is not None and dct.shape != img.shape[:2]:
                raise ValueError(
                    f"{results.get('img_path')}: dct_coef {dct.shape} does not match the image "
                    f"{img.shape[:2]}; a transform changed one without the other"
                )
            dct_t = torch.from_numpy(np.ascontiguousarray(dct[None], dtype=np.int16))
            sample.set_field(PixelData(data=dct_t), "dct")
        qtable = results.get("qtable")
        if qtable is not None:
            qt = torch.from_numpy(np.asarray(qtable, dtype=np.int64).reshape(8, 8).copy())
            sample.set_field(qt, "qtable")

        meta = {key: results[key] for key in self.meta_keys if key in results}
        if "flip" in self.meta_keys:
            meta.setdefault("flip", False)
        if "flip_direction" in self.meta_keys:
            meta.setdefault("flip_direction", None)
        sample.set_metainfo(meta)
        packed["data_samples"] = sample
        return packed

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(meta_keys={self.meta_keys})"
