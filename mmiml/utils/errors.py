"""Exceptions with messages that name the offending file or value.

Every error a user can cause by what they give a tool (a file, a config, an option) is an
:class:`MMIMLError`: the command-line guard (:func:`mmiml.utils.cli.run_cli`) prints it as one
line, ``error: <file>: <problem>``, and exits 2.
"""


class MMIMLError(Exception):
    """A user-supplied file or value is unusable; the message starts with what it concerns."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class IMLDataError(MMIMLError, ValueError):
    """A dataset file, manifest entry, prediction or result file is unusable.

    The message always starts with the file (or manifest line) it concerns, so a user can act on
    it without a debugger.
    """


class ConfigError(MMIMLError, ValueError):
    """A config file or a ``--cfg-options`` override is unusable (file and key named)."""


class CheckpointError(MMIMLError, RuntimeError):
    """A checkpoint is missing, corrupt, not a state dict, or does not fit the model."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint carries pickled objects outside mmiml's allow-list."""

    def __init__(self, path: object, problem: str | None = None) -> None:
        # Older callers passed one finished message; it already starts with the file.
        if problem is None:
            text = str(path)
            Exception.__init__(self, text)
            self.path, self.problem = text.split(": ", 1)[0], text
            return
        super().__init__(path, problem)
