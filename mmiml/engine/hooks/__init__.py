from .nan_guard_hook import NaNGuardHook, NonFiniteLossError, non_finite_terms

__all__ = ["NaNGuardHook", "NonFiniteLossError", "non_finite_terms"]
