"""DTD segmentor (Qu, Luo, et al., "Towards Robust Tampered Text Detection in Document Image: New
Dataset and New Solution", CVPR 2023): an mmseg ``EncoderDecoder`` whose backbone
(:class:`~mmiml.models.backbones.dtd_encoder.DTDEncoder`) also reads each sample's JPEG DCT and
quantisation table (``dct``/``qtable`` on the data samples, docs/data_contract.md), held for each
call by :class:`DCTEncoderDecoder`. The decode head is the Multi-view Iterative Decoder
(:class:`~mmiml.models.decode_heads.MultiViewIterativeDecoder`); the losses are the decode head's
(the paper-scale config adds a Lovasz-softmax term to cross-entropy, our reading of the paper's
loss). CLTD, the paper's curriculum over compression qualities (section 4), is a training-data
schedule, not part of the model, and is not implemented.
"""

from __future__ import annotations

from mmseg.registry import MODELS

from .dct_encoder_decoder import DCTEncoderDecoder

__all__ = ["DTD"]


@MODELS.register_module()
class DTD(DCTEncoderDecoder):
    """DTD: VPH + FPH, Swin-style multi-modality encoder, MID; 2-class (authentic / tampered).

    Args:
        **kwargs: :class:`mmseg.models.EncoderDecoder` arguments; ``backbone`` takes
            ``(inputs, dct, qtable)`` (a ``DTDEncoder``) and ``test_cfg.mode`` must be
            ``'whole'``.
    """
