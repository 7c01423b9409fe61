"""Inference on your own images (``init_model``, ``inference_model``, ``IMLInferencer``), as
mmsegmentation's ``mmseg.apis``."""
from .inference import IMLPrediction, expand_inputs, inference_model, init_model
from .inferencer import IMLInferencer

__all__ = ["IMLInferencer", "IMLPrediction", "expand_inputs", "inference_model", "init_model"]
