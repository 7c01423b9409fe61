"""Entry point shared by the command-line tools."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from .errors import IMLDataError


def run_cli(main: Callable[[], Any], errors: tuple[type[BaseException], ...] = (IMLDataError,)
            ) -> None:
    """Run ``main``; a data error is printed as one line naming the file, with exit code 2."""
    try:
        main()
    except errors as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
