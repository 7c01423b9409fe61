"""Exceptions with messages that name the offending file or value."""


class IMLDataError(ValueError):
    """A dataset file or manifest entry is unusable.

    The message always starts with the file (or manifest line) it concerns, so a user can act on
    it without a debugger.
    """

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class UnsafeCheckpointError(RuntimeError):
    """A checkpoint carries pickled objects outside mmiml's allow-list."""
