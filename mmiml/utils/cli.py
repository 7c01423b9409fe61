"""The one guard every command-line tool runs under.

A tool's ``main`` raises; this guard decides what the user sees. A user-caused error
(:class:`~mmiml.utils.errors.MMIMLError`, a missing file, an unreadable or too-deep JSON file)
ends with **one line** on stderr that names the file and the problem, and exit status 2. Any
other exception is a bug in mmiml or a library: it is also one line (type and message, plus the
hint), exit status 1. ``--debug`` anywhere on the command line (it is removed before the tool
parses its arguments) re-raises instead, so the full traceback is printed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from .errors import MMIMLError

__all__ = ["DEBUG_FLAG", "run_cli", "one_line"]

DEBUG_FLAG = "--debug"


def one_line(text: object) -> str:
    """``text`` squeezed onto one line (newlines become `` | ``)."""
    return " | ".join(part.strip() for part in str(text).strip().splitlines() if part.strip())


def _user_error_line(err: BaseException) -> str | None:
    """The message for an error the user caused, or None when it is not one."""
    if isinstance(err, MMIMLError):
        return one_line(err)
    if isinstance(err, (FileNotFoundError, IsADirectoryError, NotADirectoryError,
                        PermissionError)) and err.filename is not None:
        return one_line(f"{err.filename}: {err.strerror or type(err).__name__}")
    if isinstance(err, RecursionError):
        return "input nested too deeply to read (RecursionError); the file being read is " \
            "malformed"
    return None


def run_cli(main: Callable[[], Any], errors: tuple[type[BaseException], ...] = (),
            *, argv: list[str] | None = None) -> NoReturn:
    """Run ``main()`` under the guard and exit with its status.

    ``main`` may return an int (the exit status) or None (0). ``errors`` adds exception types
    whose message already names the file (printed like :class:`MMIMLError`). ``argv`` is the
    command line to strip ``--debug`` from (default ``sys.argv``).
    """
    args = sys.argv if argv is None else argv
    debug = DEBUG_FLAG in args or os.environ.get("MMIML_DEBUG") == "1"
    while DEBUG_FLAG in args:
        args.remove(DEBUG_FLAG)
    try:
        status = main()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
    except BaseException as err:  # noqa: BLE001 - the guard decides what the user sees
        if debug:
            raise
        line = _user_error_line(err)
        if line is None and errors and isinstance(err, errors):
            line = one_line(err)
        sys.stdout.flush()
        if line is not None:
            print(f"error: {line}", file=sys.stderr)
            sys.exit(2)
        print(f"error: {type(err).__name__}: {one_line(err)} (an unexpected failure; rerun "
              f"with {DEBUG_FLAG} for the traceback)", file=sys.stderr)
        sys.exit(1)
    # a tool's main may return its result (a dict, say) instead of a status
    sys.exit(status if isinstance(status, int) else 0)
