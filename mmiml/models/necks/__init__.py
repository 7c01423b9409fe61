from .anomaly_enhancement import AnomalyEnhancement  # noqa: F401
