from mmcv.cnn.bricks import DropPath

from .edge_maps import mask_to_edge  # noqa: F401
from .forensic_filters import BayarConv2d, SobelLayer, SRMConv2d  # noqa: F401
from .norm import LayerNorm2d
from .scse import SCSE
from .segmentor_cfgs import with_attribute_cfgs
from .shifted_window_stage import ShiftedWindowStage
from .vit_block import ViTBlock

__all__ = ["SCSE", "DropPath", "LayerNorm2d", "ShiftedWindowStage", "ViTBlock",
           "with_attribute_cfgs"]
