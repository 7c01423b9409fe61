"""A benchmark run never outlives the benchmark that started it (our choice of mechanisms).

``tools/benchmark.py`` starts every run as a process of its own (``tools/benchmark_run.py``, or
torchrun with ``--gpus N``), and a run starts more: DataLoader workers, torchrun's workers.
However the benchmark ends, none of them is left running:

* **Own process group.** Each run starts a session and process group of its own
  (:func:`popen_options`): a terminal's Ctrl-C reaches only the benchmark, which then stops
  every active run with all it started by one ``os.killpg`` each (:func:`stop_groups`:
  SIGTERM, a grace period, then SIGKILL) and reports the runs as interrupted.
* **Death signal.** On Linux the run is asked, between fork and exec, to get SIGTERM when the
  benchmark dies (``prctl(PR_SET_PDEATHSIG)``), so even ``kill -9`` of the benchmark ends it.
* **In the run** (:func:`die_with_parent`, the first thing ``tools/benchmark_run.py`` does):
  SIGTERM takes the run's whole process group down (a signal to one process would leave its
  workers running), and a watchdog thread does the same when the parent process goes away
  (platforms without PDEATHSIG, and torchrun's workers, whose parent is torchrun).

This module imports nothing heavy: a run calls it before it imports torch.
"""
from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

__all__ = ["RUN_ENV", "STOP_SIGNALS", "die_with_parent", "group_alive", "popen_options",
           "signals_caught", "stop_groups"]

#: set to "1" in a run's environment by the benchmark: :func:`die_with_parent` acts only then,
#: so a run started by hand (``nohup python tools/benchmark_run.py ... &``) is left alone
RUN_ENV = "MMIML_BENCHMARK_RUN"

#: the signals that stop a benchmark (and, forwarded as SIGTERM, its runs)
STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

#: seconds the runs get to end after SIGTERM before their groups get SIGKILL
GRACE_S = 10.0

_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


# looked up once here: between fork and exec the child may call it but should not load anything
_PRCTL = _load_prctl()


# ------------------------------------------------------------------ the benchmark's side
def _before_exec(parent: int) -> None:
    """Runs in the new child between fork and exec: ask for SIGTERM when the benchmark dies.

    PDEATHSIG fires when the *thread* that forked the child ends; the benchmark forks from its
    main thread, which lives as long as the process. The parent may have died before the
    ``prctl``: then the child is already orphaned and ends here.
    """
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
    if os.getppid() != parent:
        os._exit(128 + signal.SIGTERM)


def popen_options() -> dict[str, Any]:
    """Keyword arguments for ``subprocess.Popen`` that start a run in a process group of its
    own, tied to this process (see the module docstring); add :data:`RUN_ENV` to its env."""
    return {"start_new_session": True,
            "preexec_fn": functools.partial(_before_exec, os.getpid())}


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of the group ``pgid``."""
    if not os.path.isdir("/proc/self"):
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        except PermissionError:
            pass
        return [pgid]
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while we looked
        # fields after the command: state, ppid, pgrp, ...
        if fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
            members.append(int(entry))
    return members


def group_alive(pgid: int) -> bool:
    """Whether any process of the group ``pgid`` still runs."""
    return bool(_group_members(pgid))


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def stop_groups(procs: Sequence[subprocess.Popen], grace_s: float = GRACE_S) -> None:
    """Stop runs started with :func:`popen_options`, and everything they started: SIGTERM to
    each run's group, up to ``grace_s`` seconds for the groups to empty, then SIGKILL.

    SIGTERM is sent whichever signal stopped the benchmark (our choice): its default action
    ends any process, which SIGINT's does not always (Python turns it into an exception that a
    ``try`` block may swallow).
    """
    for proc in procs:
        _killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    left = list(procs)
    while left and time.monotonic() < deadline:
        left = [p for p in left if p.poll() is None or group_alive(p.pid)]
        if left:
            time.sleep(0.05)
    for proc in left:
        _killpg(proc.pid, signal.SIGKILL)
    for proc in procs:
        proc.wait()


@contextlib.contextmanager
def signals_caught(signals: Sequence[int] = STOP_SIGNALS) -> Iterator[list[int]]:
    """While the block runs, ``signals`` (by default SIGTERM, SIGINT, SIGHUP) do not end the
    process: they are appended to the yielded list, for the caller to stop its runs cleanly.
    Outside the main thread (where Python cannot set handlers) nothing is caught."""
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return
    previous = {sig: signal.getsignal(sig) for sig in signals}
    for sig in signals:
        signal.signal(sig, lambda signum, frame: caught.append(signum))
    try:
        yield caught
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


# ------------------------------------------------------------------ the run's side
_guarded = False


def _end_group(sig: int) -> None:
    """``sig`` to this process's group when it leads one (everything the run started), else to
    this process alone (a DataLoader worker forked by a run, say)."""
    with contextlib.suppress(OSError):
        if os.getpgrp() == os.getpid():
            os.killpg(os.getpid(), sig)
        else:
            os.kill(os.getpid(), sig)


def _on_sigterm(signum: int, frame: Any) -> None:
    # default action again, so the group signal below ends this process as well
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _end_group(signal.SIGTERM)
    os._exit(128 + signal.SIGTERM)  # not reached unless the signal could not be sent


def _watch_parent(parent: int, poll_s: float, grace_s: float) -> None:
    while os.getppid() == parent:
        time.sleep(poll_s)
    # the parent is gone: SIGTERM (the main thread's handler takes the group down once it
    # runs Python again), then SIGKILL in case the main thread is stuck in a C call
    _end_group(signal.SIGTERM)
    time.sleep(grace_s)
    _end_group(signal.SIGKILL)


def die_with_parent(poll_s: float = 0.5, grace_s: float = 5.0) -> bool:
    """In a process started by the benchmark (:data:`RUN_ENV` set): make SIGTERM end this
    process's whole group and end it when the parent process goes away. Returns whether it
    acts; calling it again does nothing. Call it from the main thread, early."""
    global _guarded
    if _guarded or os.environ.get(RUN_ENV) != "1":
        return _guarded
    _guarded = True
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    threading.Thread(target=_watch_parent, args=(os.getppid(), poll_s, grace_s), daemon=True,
                     name="mmiml-parent-watchdog").start()
    return True
