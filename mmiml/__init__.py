"""mmiml: image manipulation localization benchmark and model zoo on OpenMMLab."""
__version__ = "0.1.0"

TASKS: tuple[str, ...] = ("natural", "document", "face", "scene_text")
