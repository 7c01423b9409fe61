from mmcv.cnn.bricks import DropPath

from .norm import LayerNorm2d

__all__ = ["DropPath", "LayerNorm2d"]
