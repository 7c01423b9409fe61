"""Drawing predictions: heat maps, masks and overlays (``render``)."""
from .render import TAMPERED_RGB, heatmap, mask_image, overlay

__all__ = ["TAMPERED_RGB", "heatmap", "mask_image", "overlay"]
