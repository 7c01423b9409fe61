from .errors import IMLDataError, UnsafeCheckpointError

__all__ = ["IMLDataError", "UnsafeCheckpointError"]
