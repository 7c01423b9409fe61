"""mmiml: image manipulation localization benchmark and model zoo on OpenMMLab."""
__version__ = "0.1.0"

TASKS: tuple[str, ...] = ("natural", "document", "face", "scene_text")

#: Label of pixels without ground truth (padding) in ``gt_seg_map``, per docs/data_contract.md:
#: the one ignore index of datasets, losses and metrics (mmseg's decode heads default to it too).
IGNORE_INDEX: int = 255
