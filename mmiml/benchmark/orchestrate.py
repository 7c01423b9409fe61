"""Plan and carry out a benchmark: every (model, training set, seed) run of a profile, each in
its own process, with skip/resume, progress, ETA and a failure summary (``tools/benchmark.py``).

Runs are started and stopped as :mod:`mmiml.benchmark.processes` describes: SIGTERM, SIGINT or
SIGHUP to the benchmark stops every active run with all it started (:class:`BenchmarkInterrupted`
reports them), and a killed benchmark takes its runs with it. This module imports nothing heavy
at the top (the run and result code load when needed), so starting it is cheap.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import processes
from .profiles import LOWER_BOUND_NAMES, LOWER_BOUND_PREFIX, BenchmarkProfile
from .zoo import TRAIN_SETS, ZooModel, pick

ROOT = Path(__file__).resolve().parents[2]


class BenchmarkInterrupted(Exception):
    """The benchmark got a stop signal; its active runs were stopped and marked
    ``interrupted``. ``signum`` is the signal, ``wall`` the seconds the benchmark ran."""

    def __init__(self, signum: int, wall: float) -> None:
        self.signum, self.wall = signum, wall
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


@dataclass
class Run:
    """One run of the plan; ``model`` is a zoo key or ``lower_bound:<predictor>``."""

    model: str
    train_set: str
    seed: int
    out: Path
    work_dir: Path
    config_hash: str | None = None
    status: str = "pending"  # pending | skipped | done | failed | interrupted
    reason: str = ""
    wall_s: float | None = None
    log_tail: list[str] = field(default_factory=list)
    cfg_options: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.model} / {self.train_set} / seed {self.seed}"


def parse_train_sets(tasks: str | None) -> list[str]:
    """``--tasks`` -> training sets in canonical order (a task or ``joint``; default all); an
    unknown name is a :class:`~mmiml.utils.errors.ConfigError` naming ``--tasks``."""
    from mmiml.utils.errors import ConfigError

    try:
        return pick(tasks, TRAIN_SETS, "training set(s)")
    except ValueError as e:
        raise ConfigError("--tasks", str(e)) from None


def plan(profile: BenchmarkProfile, models: list[ZooModel], train_sets: list[str],
         seeds: int | None, results_dir: Path, work_root: Path, *, lower_bounds: bool = True,
         cfg_options: list[str] | None = None) -> list[Run]:
    """The runs of a benchmark, in order: models in zoo order, then training sets, then seeds;
    the lower-bound references first (fast, and they show the data is readable).
    ``seeds``: seeds 0..N-1 of every run; ``None``: the profile's (``joint_seeds`` for joint
    runs, ``single_task_seeds`` for the others).
    ``cfg_options`` (``KEY=VALUE``) change every model run's config (and its config hash)."""
    from . import provenance
    from .result import result_filename
    from .run import run_config

    runs: list[Run] = []
    if lower_bounds:
        for name in LOWER_BOUND_NAMES:
            key = f"{LOWER_BOUND_PREFIX}{name}"
            fname = result_filename(f"lower_bound-{name}", "none", 0)
            runs.append(Run(key, "none", 0, results_dir / "lower_bounds" / fname,
                            work_root / "lower_bounds" / name))
    for model in models:
        for train_set in train_sets:
            if train_set not in model.train_sets:
                continue
            cfg = run_config(model, profile, train_set, 0, cfg_options)
            for seed in range(profile.seeds_for(train_set, seeds)):
                cfg.randomness = dict(seed=seed, deterministic=False)
                name = result_filename(model.key, train_set, seed)
                runs.append(Run(model.key, train_set, seed, results_dir / name,
                                work_root / name.removesuffix(".json"),
                                provenance.config_hash(cfg), cfg_options=list(cfg_options or [])))
    return runs


def mark_complete(runs: list[Run], force: bool) -> list[str]:
    """Mark runs whose valid result file matches their config as skipped; return notes about
    result files that are invalid or stale (they will be rerun)."""
    from .result import load_benchmark_result

    notes = []
    for run in runs:
        if force or not run.out.is_file():
            continue
        try:
            doc = load_benchmark_result(run.out)
        except ValueError as exc:
            notes.append(f"rerun (invalid result file): {exc}")
            continue
        if run.config_hash and doc["provenance"]["config_hash"] != run.config_hash:
            notes.append(f"rerun (config changed since the result was written): {run.out}")
            continue
        run.status, run.reason = "skipped", "complete"
        run.wall_s = doc["wall_time_s"]["total"]
    return notes


def _fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _estimate(run: Run, history: dict[str, list[float]], fallback: list[float]) -> float | None:
    if history.get(run.model):
        return statistics.mean(history[run.model])
    return statistics.mean(fallback) if fallback else None


def _previous_wall_times(results_dir: Path) -> dict[str, list[float]]:
    """Wall times of earlier result files, per model: the ETA's first guess."""
    times: dict[str, list[float]] = {}
    for path in sorted(results_dir.rglob("*.json")) if results_dir.is_dir() else []:
        try:
            doc = json.loads(path.read_text())
            times.setdefault(doc["model"], []).append(float(doc["wall_time_s"]["total"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # invalid files are reported by mark_complete
    return times


def _base_name(profile: BenchmarkProfile) -> str:
    return profile.name.split("@")[0]


def _command(run: Run, profile: BenchmarkProfile, resume: bool, gpus: int = 0) -> list[str]:
    """One run's process: ``python tools/benchmark_run.py``, or with ``gpus`` > 1 that script
    under torchrun, one process per GPU (as ``tools/dist_run.sh`` starts it, with the same
    ``NNODES``, ``NODE_RANK``, ``MASTER_ADDR`` and ``PORT`` variables). torchrun is started
    directly, not through the shell script, so that it is the process the benchmark's signals
    and death signal reach: it passes them on to its workers, a shell would not."""
    script = "tools/benchmark_run.py"
    if gpus > 1:
        env = os.environ
        head = [sys.executable, "-m", "torch.distributed.run",
                f"--nnodes={env.get('NNODES', '1')}", f"--node_rank={env.get('NODE_RANK', '0')}",
                f"--master_addr={env.get('MASTER_ADDR', '127.0.0.1')}",
                f"--master_port={env.get('PORT', '29500')}", f"--nproc_per_node={gpus}", script]
        tail = ["--launcher", "pytorch"]
    else:
        head, tail = [sys.executable, script], []
    cmd = [*head, "--profile", _base_name(profile),
           "--model", run.model, "--train-set", run.train_set, "--seed", str(run.seed),
           "--work-dir", str(run.work_dir), "--out", str(run.out)]
    if profile.max_iters is not None:
        cmd += ["--max-iters", str(profile.max_iters)]
    if run.cfg_options:
        cmd += ["--cfg-options", *run.cfg_options]
    return cmd + (["--resume"] if resume else []) + tail


def _tail(path: Path, n: int = 12) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return list(deque(f, maxlen=n))
    except OSError:
        return []


def execute(runs: list[Run], profile: BenchmarkProfile, *, resume: bool, jobs: int,
            log=print, gpus: int = 0) -> float:
    """Run the pending runs, ``jobs`` at a time, each with cores/jobs threads (and ``gpus``
    processes under torchrun when more than one); return the wall time. A failed run is
    recorded and the others go on.

    SIGTERM, SIGINT or SIGHUP stops the active runs and everything they started (each run is a
    process group of its own), marks them ``interrupted`` and raises
    :class:`BenchmarkInterrupted`; the runs not started yet stay ``pending``.
    """
    with processes.signals_caught() as caught:
        return _execute(runs, profile, resume=resume, jobs=jobs, log=log, gpus=gpus,
                        caught=caught)


def _execute(runs: list[Run], profile: BenchmarkProfile, *, resume: bool, jobs: int, log,
             gpus: int, caught: list[int]) -> float:
    todo = [r for r in runs if r.status == "pending"]
    total, done_before = len(runs), sum(r.status == "skipped" for r in runs)
    history = _previous_wall_times(runs[0].out.parent) if runs else {}
    finished: list[float] = []
    threads = max(1, (os.cpu_count() or 1) // jobs)
    # MMIML_DEBUG: a run's log keeps the full traceback of a failure (our choice: rerunning a
    # run to see it costs the whole training)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                       os.environ.get("PYTHONPATH")])),
           processes.RUN_ENV: "1", "MMIML_DEBUG": "1"}
    t0 = time.perf_counter()
    active: list[tuple[Run, subprocess.Popen, float, Any]] = []
    counter = done_before

    def eta() -> str:
        pending = [r for r in todo if r.status == "pending"]
        estimates = [_estimate(r, history, finished) for r in pending]
        if any(e is None for e in estimates):
            return "ETA ? (no timing yet)"
        running_left = sum(max(0.0, (_estimate(r, history, finished) or 0.0)
                               - (time.perf_counter() - started)) for r, _, started, _ in active)
        left = (sum(estimates) - sum(_estimate(r, history, finished) or 0.0
                                     for r, *_ in active) + running_left) / jobs
        return f"ETA {_fmt_duration(left)}"

    def stop(signum: int) -> BenchmarkInterrupted:
        name = signal.Signals(signum).name
        log(f"benchmark: {name}: stopping {len(active)} active run(s) and their processes")
        processes.stop_groups([proc for _, proc, _, _ in active])
        for run, _, started, logf in active:
            logf.close()
            run.status, run.reason = "interrupted", f"stopped by {name}"
            run.wall_s = time.perf_counter() - started
            run.log_tail = _tail(run.work_dir / "benchmark.log")
            log(f"      INTERRUPTED {run.label}; log: {run.work_dir / 'benchmark.log'}")
        active.clear()
        return BenchmarkInterrupted(signum, time.perf_counter() - t0)

    # the training-free references need no process of their own (seconds each)
    for run in [r for r in todo if r.model.startswith(LOWER_BOUND_PREFIX)]:
        if caught:
            raise stop(caught[0])
        counter += 1
        log(f"[{counter}/{total}] {run.label}")
        _run_in_process(run, profile)
        log(f"      {'done ' if run.status == 'done' else 'FAILED'} {run.label} in "
            f"{_fmt_duration(run.wall_s)}" + (f" ({run.reason})" if run.reason else ""))
    queue = deque(r for r in todo if r.status == "pending")
    try:
        while queue or active:
            while queue and len(active) < jobs and not caught:
                run = queue.popleft()
                counter += 1
                run.work_dir.mkdir(parents=True, exist_ok=True)
                if not resume:
                    _clear_work_dir(run.work_dir)
                logf = open(run.work_dir / "benchmark.log", "w", encoding="utf-8")  # noqa: SIM115
                run_env = {**env, "PYTHON": sys.executable, "PORT": str(29500 + counter % 1000)}
                proc = subprocess.Popen(_command(run, profile, resume, gpus), cwd=ROOT,
                                        env=run_env, stdout=logf, stderr=subprocess.STDOUT,
                                        **processes.popen_options())
                active.append((run, proc, time.perf_counter(), logf))
                log(f"[{counter}/{total}] start {run.label} "
                    f"(elapsed {_fmt_duration(time.perf_counter() - t0)}, {eta()})")
            if caught:
                raise stop(caught[0])
            time.sleep(0.5)
            for item in list(active):
                run, proc, started, logf = item
                if proc.poll() is None:
                    continue
                active.remove(item)
                logf.close()
                if processes.group_alive(proc.pid):  # what the run left behind ends with it
                    processes.stop_groups([proc], grace_s=2.0)
                run.wall_s = time.perf_counter() - started
                if proc.returncode == 0 and run.out.is_file():
                    run.status = "done"
                    finished.append(run.wall_s)
                    history.setdefault(run.model, []).append(run.wall_s)
                    log(f"      done  {run.label} in {_fmt_duration(run.wall_s)}")
                else:
                    run.status = "failed"
                    run.reason = f"exit code {proc.returncode}"
                    run.log_tail = _tail(run.work_dir / "benchmark.log")
                    log(f"      FAILED {run.label} ({run.reason}); log: "
                        f"{run.work_dir / 'benchmark.log'}")
    except BaseException:
        # a failure of the benchmark itself must not leave its runs running either
        processes.stop_groups([proc for _, proc, _, _ in active])
        raise
    return time.perf_counter() - t0


def _run_in_process(run: Run, profile: BenchmarkProfile) -> None:
    run.work_dir.mkdir(parents=True, exist_ok=True)
    log_path = run.work_dir / "benchmark.log"
    started = time.perf_counter()
    from .run import run_lower_bound

    with open(log_path, "w", encoding="utf-8") as logf, contextlib.redirect_stdout(logf):
        try:
            run_lower_bound(_base_name(profile), run.model.removeprefix(LOWER_BOUND_PREFIX),
                            str(run.work_dir), str(run.out), profile.max_iters)
            run.status = "done"
        except Exception as exc:  # noqa: BLE001 - a failed run is reported, the others go on
            traceback.print_exc(file=logf)
            run.status, run.reason = "failed", f"{type(exc).__name__}: {exc}"
    run.wall_s = time.perf_counter() - started
    if run.status == "failed":
        run.log_tail = _tail(log_path)


def _clear_work_dir(work_dir: Path) -> None:
    """A fresh start: forget checkpoints and the train-done marker of an earlier attempt."""
    for name in ("last_checkpoint", "train_done.json"):
        (work_dir / name).unlink(missing_ok=True)
    for ckpt in work_dir.glob("*.pth"):
        ckpt.unlink()


def summary(runs: list[Run], wall: float) -> str:
    counts = {s: sum(r.status == s for r in runs) for s in ("done", "skipped", "failed",
                                                             "interrupted", "pending")}
    lines = [f"benchmark: {len(runs)} runs: {counts['done']} done, {counts['skipped']} skipped "
             f"(already complete), {counts['failed']} failed, "
             + (f"{counts['interrupted']} interrupted, " if counts["interrupted"] else "")
             + f"{counts['pending']} not run; wall time {_fmt_duration(wall)}"]
    for run in runs:
        if run.status in ("failed", "interrupted"):
            lines.append(f"{run.status.upper()} {run.label}: {run.reason}; "
                         f"log {run.work_dir / 'benchmark.log'}")
            lines.extend(f"    | {line.rstrip()}" for line in run.log_tail)
    return "\n".join(lines)
