"""Run the benchmark: train every model of a profile on each task and jointly, test each run on
every task's test split, write one result file per (model, training set, seed).

    python tools/benchmark.py [--profile smoke|cpu|cpu-long|paper] [--models a,b] [--tasks t1,joint]
        [--seeds N] [--resume] [--force] [--jobs N] [--gpus N] [--max-iters N]
        [--results-root DIR]
        [--work-root DIR] [--dry-run]
    python tools/benchmark.py --profile mvss|catnet|doctamper|omni[-paper] --data-root DIR ...

The real-data protocols (mvss, catnet, doctamper, omni; ``-paper``: the paper configs, on GPUs
with ``--gpus N``) first convert the datasets found under ``--data-root`` (docs/datasets.md names
the folders), name the ones missing and go on with the rest; their runs are joint runs only.

Complete runs (a valid result file for the same resolved config) are skipped. An interrupted
run restarts from iteration 0, or with ``--resume`` from its last checkpoint (a killed
benchmark loses at most one checkpoint interval). A failed run is reported at the end and the
others go on; the exit status is 1 if any run failed, 2 for bad arguments (nothing ran).
SIGTERM, SIGINT (Ctrl-C) or SIGHUP stops the active runs with every process they started,
reports them as interrupted and exits with 128 + the signal number; a killed benchmark
(``kill -9``) takes its runs with it too. ``tools/benchmark_all.sh`` runs this and then
regenerates the leaderboard.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmiml.benchmark.orchestrate import (  # noqa: E402
    BenchmarkInterrupted,
    execute,
    mark_complete,
    parse_train_sets,
    plan,
    summary,
)
from mmiml.benchmark.profiles import PROFILES, get_profile  # noqa: E402
from mmiml.benchmark.zoo import JOINT  # noqa: E402
from mmiml.utils.cli import run_cli  # noqa: E402
from mmiml.utils.errors import ConfigError  # noqa: E402

DEFAULT_RESULTS_ROOT = "leaderboard/results"
DEFAULT_WORK_ROOT = "work_dirs/benchmark"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", default="cpu", choices=list(PROFILES))
    p.add_argument("--models", help="comma-separated zoo keys (default: the profile's)")
    p.add_argument("--tasks", help="training sets: tasks and/or 'joint' (default: the "
                        "profile's; cpu: joint, cpu-long and smoke: every task and joint)")
    p.add_argument("--seeds", type=int,
                   help="seeds 0..N-1 of every run (default: the profile's; cpu and cpu-long: 3 "
                        "for joint runs, 1 for single-task runs)")
    p.add_argument("--resume", action="store_true",
                   help="continue interrupted runs from their last checkpoint")
    p.add_argument("--force", action="store_true", help="rerun complete runs too")
    p.add_argument("--gpus", type=int, default=0,
                   help="with N > 1, each run is N processes under torchrun "
                        "(tools/dist_run.sh), one per GPU; the paper profile's way")
    p.add_argument("--max-iters", type=int,
                   help="another training budget (at least 1); results go to "
                        "RESULTS_ROOT/<profile>@<N>it/")
    p.add_argument("--jobs", type=int,
                   help="runs at once; each gets cpu_count/jobs threads (default: the "
                        "profile's: 2 for smoke and cpu, 1 for paper)")
    p.add_argument("--results-root", default=DEFAULT_RESULTS_ROOT,
                   help="result files go to RESULTS_ROOT/<profile>/")
    p.add_argument("--work-root", default=DEFAULT_WORK_ROOT,
                   help="checkpoints and logs go to WORK_ROOT/<profile>/<run>/")
    p.add_argument("--no-lower-bounds", action="store_true",
                   help="skip the training-free reference rows")
    p.add_argument("--data-root", metavar="DIR",
                   help="protocol profiles: the folder holding the datasets (CASIAv2/, "
                        "CASIAv1/, ...; docs/datasets.md); converted on first use, again when "
                        "they change")
    p.add_argument("--dry-run", action="store_true", help="print the plan and exit")
    p.add_argument("--cfg-options", nargs="+", metavar="KEY=VALUE",
                   help="config overrides for every model run, after the profile's: a study "
                        "of a variant without a zoo entry (for example "
                        "model.backbone.fph.layout=pixel); needs --results-root and "
                        "--work-root away from the leaderboard's")
    args = p.parse_args(argv)
    if (args.seeds is not None and args.seeds < 1) or (args.jobs is not None and args.jobs < 1):
        p.error("--seeds and --jobs must be at least 1")
    if args.max_iters is not None and args.max_iters < 1:
        p.error(f"--max-iters must be at least 1 (training iterations), got {args.max_iters}")
    if args.gpus < 0:
        p.error(f"--gpus must not be negative, got {args.gpus}")
    if args.cfg_options and (args.results_root == DEFAULT_RESULTS_ROOT
                             or args.work_root == DEFAULT_WORK_ROOT):
        p.error("--cfg-options changes the models, so their results must not mix with the "
                f"leaderboard's: give --results-root (not {DEFAULT_RESULTS_ROOT}) and "
                f"--work-root (not {DEFAULT_WORK_ROOT})")
    return args


def _prepare(protocol: str, data_root: str | None) -> None:
    """Convert the protocol's datasets (``--data-root``), or check an earlier preparation."""
    from mmiml.benchmark.protocols import prepare_protocol, read_prepared

    if data_root is None:
        info = read_prepared(protocol)
        print(f"benchmark: protocol {protocol} as prepared before (--data-root converts "
              "again): " + ", ".join(info["present"]), flush=True)
        return
    prepared = prepare_protocol(protocol, data_root, log=lambda m: print(m, flush=True))
    print(f"benchmark: protocol {protocol}: {', '.join(prepared.present)}; training tasks "
          f"drawn {prepared.task_weights}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    profile = get_profile(args.profile, args.max_iters)
    models = profile.models_list(args.models)
    train_sets = parse_train_sets(args.tasks or profile.train_sets)
    if profile.protocol:
        if args.tasks and train_sets != [JOINT]:
            raise ConfigError("--tasks", f"the {profile.protocol} protocol trains one model on "
                                         "its training sets: joint runs only")
        train_sets = [JOINT]
        _prepare(profile.protocol, args.data_root)
    elif args.data_root:
        protocols = ", ".join(p for p in PROFILES if PROFILES[p].protocol)
        raise ConfigError("--data-root", f"only for the protocol profiles ({protocols})")
    from mmiml.utils.setup_env import register_all_modules

    register_all_modules()
    results_dir = Path(args.results_root) / profile.name
    work_root = Path(args.work_root) / profile.name
    runs = plan(profile, models, train_sets, args.seeds, results_dir, work_root,
                lower_bounds=not args.no_lower_bounds, cfg_options=args.cfg_options)
    for note in mark_complete(runs, args.force):
        print(f"benchmark: {note}")
    pending = sum(r.status == "pending" for r in runs)
    jobs = args.jobs or profile.jobs
    print(f"benchmark: profile {profile.name} ({profile.description}); {len(runs)} runs, "
          f"{len(runs) - pending} already complete, {pending} to run, {jobs} at a time "
          f"with {max(1, (os.cpu_count() or 1) // jobs)} thread(s) each; results in "
          f"{results_dir}", flush=True)
    if args.dry_run:
        for i, run in enumerate(runs, 1):
            print(f"  {i:3d}. {run.label}: {run.status} -> {run.out}")
        return 0
    try:
        wall = execute(runs, profile, resume=args.resume, jobs=jobs, gpus=args.gpus,
                       log=lambda m: print(m, flush=True))
    except BenchmarkInterrupted as stop:  # the runs are stopped; report them, then exit
        print(summary(runs, stop.wall), flush=True)
        stopped = [r.label for r in runs if r.status == "interrupted"]
        print(f"benchmark: {stop}; {len(stopped)} run(s) stopped"
              + (f" ({'; '.join(stopped)})" if stopped else "")
              + ": rerun with --resume to continue them from their last checkpoint",
              file=sys.stderr, flush=True)
        return 128 + stop.signum
    print(summary(runs, wall), flush=True)
    return 1 if any(r.status == "failed" for r in runs) else 0


if __name__ == "__main__":
    run_cli(main)
