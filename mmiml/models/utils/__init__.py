from mmcv.cnn.bricks import DropPath

from .edge_maps import mask_to_edge  # noqa: F401
from .forensic_filters import BayarConv2d, SobelLayer, SRMConv2d  # noqa: F401
from .norm import LayerNorm2d

__all__ = ["DropPath", "LayerNorm2d"]
