from .learning_curve_hook import LearningCurveHook, curve_point, read_curve
from .nan_guard_hook import NaNGuardHook, NonFiniteLossError, non_finite_terms
from .save_predictions_hook import SavePredictionsHook

__all__ = ["LearningCurveHook", "NaNGuardHook", "NonFiniteLossError", "SavePredictionsHook",
           "curve_point", "non_finite_terms", "read_curve"]
