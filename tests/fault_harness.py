"""Running the command-line tools as a user would, for the fault tests (``test_faults_*.py``).

``run_tool`` runs ``tools/<name>.py`` in this process (fast: the heavy imports are paid once)
with ``sys.argv`` set, and turns what the user would see into a :class:`ToolRun`: the exit
status and the captured output. An exception that escapes the tool counts as Python would
report it: status 1 and a traceback. ``subprocess=True`` runs a real ``python`` process instead,
for the cases where the process itself matters.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import runpy
import subprocess as sp
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class ToolRun:
    """What a user sees of one tool run."""

    rc: int
    stdout: str
    stderr: str

    @property
    def last_line(self) -> str:
        """The last non-empty line the user sees (stderr first: errors go there)."""
        for text in (self.stderr, self.stdout):
            lines = [line for line in text.splitlines() if line.strip()]
            if lines:
                return lines[-1]
        return ""

    def __str__(self) -> str:  # shown by pytest when an assertion fails
        return f"rc={self.rc}\n--- stdout\n{self.stdout[-3000:]}\n--- stderr\n{self.stderr[-3000:]}"


def run_tool(name: str, *args: object, subprocess: bool = False, timeout: float = 600,
             env: dict[str, str] | None = None) -> ToolRun:
    """Run ``tools/<name>.py ARGS``; never raises for what the tool does."""
    script = ROOT / "tools" / f"{name}.py"
    argv = [str(script), *map(str, args)]
    if subprocess:
        proc = sp.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True,
                      timeout=timeout, env={**os.environ, **(env or {})})
        return ToolRun(proc.returncode, proc.stdout, proc.stderr)
    out, err = io.StringIO(), io.StringIO()
    old_argv, old_cwd = sys.argv, os.getcwd()
    rc = 0
    sys.argv = argv
    try:
        os.chdir(ROOT)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                runpy.run_path(str(script), run_name="__main__")
            except SystemExit as exc:
                if exc.code is None:
                    rc = 0
                elif isinstance(exc.code, int):
                    rc = exc.code
                else:  # sys.exit("message") prints the message and exits 1
                    print(exc.code, file=sys.stderr)
                    rc = 1
            except BaseException:  # noqa: BLE001 - what an uncaught exception shows a user
                traceback.print_exc()
                rc = 1
    finally:
        sys.argv = old_argv
        os.chdir(old_cwd)
    return ToolRun(rc, out.getvalue(), err.getvalue())


def assert_fails_naming(run: ToolRun, *names: object) -> None:
    """The run failed (non-zero exit), without a traceback, and its last line names every one
    of ``names`` (a path is matched by its file name, so relative and absolute both count)."""
    assert run.rc != 0, f"expected a failure, got exit 0\n{run}"
    assert "Traceback (most recent call last)" not in run.stderr + run.stdout, str(run)
    line = run.last_line
    for name in names:
        wanted = Path(name).name if isinstance(name, Path) or os.sep in str(name) else str(name)
        assert wanted in line, f"last line does not name {wanted!r}: {line!r}\n{run}"


def snapshot(*paths: Path) -> dict[Path, str | None]:
    """sha256 of every file under ``paths`` (None for a path that does not exist)."""
    found: dict[Path, str | None] = {}
    for path in paths:
        files = sorted(p for p in Path(path).rglob("*") if p.is_file()) if Path(path).is_dir() \
            else [Path(path)]
        for f in files:
            found[f] = hashlib.sha256(f.read_bytes()).hexdigest() if f.is_file() else None
    return found


def assert_unchanged(before: dict[Path, str | None]) -> None:
    """Every file of a :func:`snapshot` is as it was, and none was removed."""
    paths = list(before)
    after = snapshot(*paths)
    changed = [str(p) for p in paths if after.get(p) != before[p]]
    assert not changed, f"files changed or removed: {changed}"
