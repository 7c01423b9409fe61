from .metrics import IMLMetric  # noqa: F401
