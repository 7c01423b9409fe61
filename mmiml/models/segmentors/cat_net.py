"""CAT-Net segmentor (Kwon et al., IJCV 2022): an mmseg ``EncoderDecoder`` whose backbone
(:class:`~mmiml.models.backbones.cat_net_backbone.CATNetBackbone`) also reads each sample's JPEG
DCT and quantisation table (``dct``/``qtable`` on the data samples, docs/data_contract.md), held
for each call by :class:`DCTEncoderDecoder`. Losses are the decode head's (and an auxiliary
head's, when configured): CAT-Net has no extra encoder losses.
"""

from __future__ import annotations

from mmseg.registry import MODELS

from .dct_encoder_decoder import DCTEncoderDecoder

__all__ = ["CATNet"]


@MODELS.register_module()
class CATNet(DCTEncoderDecoder):
    """CAT-Net: RGB + JPEG-DCT two-stream HRNet, 2-class (authentic / tampered) segmentation.

    Args:
        **kwargs: :class:`mmseg.models.EncoderDecoder` arguments; ``backbone`` takes
            ``(inputs, dct, qtable)`` (a ``CATNetBackbone``) and ``test_cfg.mode`` must be
            ``'whole'``.
    """
