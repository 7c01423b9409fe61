from .learning_curve_hook import LearningCurveHook, curve_point, read_curve
from .nan_guard_hook import NaNGuardHook, NonFiniteLossError, non_finite_terms

__all__ = ["LearningCurveHook", "NaNGuardHook", "NonFiniteLossError", "curve_point",
           "non_finite_terms", "read_curve"]
