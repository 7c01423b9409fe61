from .convnext import ConvNeXt
from .modal_gate_encoder import ModalGateEncoder

__all__ = ["ConvNeXt", "ModalGateEncoder"]
