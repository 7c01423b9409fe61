"""Drawing predictions: heat maps, masks and overlays (``render``), and the test-time panel
visualizer (``IMLLocalVisualizer``)."""
from .iml_visualizer import IMLLocalVisualizer, image_iou, panel_row
from .render import TAMPERED_RGB, heatmap, mask_image, overlay

__all__ = ["TAMPERED_RGB", "IMLLocalVisualizer", "heatmap", "image_iou", "mask_image",
           "overlay", "panel_row"]
