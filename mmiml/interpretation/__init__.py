"""Omni-IML's interpretation module: the visual reference prompt, the evidence summary, a
client for OpenAI-compatible chat endpoints, and the Omni-273k fine-tuning reader."""
from .client import ChatClient, InterpretationError, image_data_url
from .evidence import evidence_summary
from .omni273k import annotation_text, read_annotation, write_llava
from .visual_reference import blend_highlight, visual_reference

__all__ = ["ChatClient", "InterpretationError", "annotation_text", "blend_highlight",
           "evidence_summary", "image_data_url", "read_annotation", "visual_reference",
           "write_llava"]
