"""The benchmark: model zoo registry, profiles, provenance, runs and reports."""
