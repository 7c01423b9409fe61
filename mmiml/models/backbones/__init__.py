from .cat_net_backbone import CATNetBackbone  # noqa: F401
from .convnext import ConvNeXt
from .dtd_encoder import DTDEncoder  # noqa: F401
from .modal_gate_encoder import ModalGateEncoder
from .mvss_branches import ERB, MVSSBranches  # noqa: F401
from .trufor_like_encoder import TruForLikeEncoder  # noqa: F401
from .windowed_vit import WindowedViT  # noqa: F401

__all__ = ["ConvNeXt", "ModalGateEncoder"]
