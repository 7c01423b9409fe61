from .omni_iml import OmniIML

__all__ = ["OmniIML"]
