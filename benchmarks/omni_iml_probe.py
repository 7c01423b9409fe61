"""Does Omni-IML's Modal Gate route on evidence? Train and test the model and its variants on the
SynthIML probe over several seeds, and report each group of the probe on its own.

    python benchmarks/omni_iml_probe.py                       # every variant, 3 seeds
    python benchmarks/omni_iml_probe.py --variants routed,force-rgb --seeds 2 --resume
    python benchmarks/omni_iml_probe.py --summary-only        # the table from existing results
    python benchmarks/omni_iml_probe.py --variants routed --seeds 1 --max-iters 20 \\
        --results-dir work_dirs/probe_check/results           # a quick check of the machinery

The probe (docs/synthiml/README.md, "The probe profile") has two groups of natural images: in
``compression`` the edit is visible only in the JPEG history, in ``pixel`` only in the pixels. A
model that routes on evidence sends the first to the RGB+DCT path and the second to the RGB path.

Every (variant, seed) is trained by ``tools/train.py`` and tested by ``tools/test.py``, each in a
process (and process group) of its own, with ``--cfg-options randomness.seed=K`` and
``--work-dir <work root>/<variant>/seed<K>``; the test writes the result JSON
``<results dir>/<variant>__seed<K>.json``. ``--resume`` skips a run whose result exists, tests a
run whose training finished, and resumes an interrupted training from the work dir's last
checkpoint. Without ``--resume`` a run starts from scratch (the work dir's checkpoints are
removed first). ``--max-iters N`` shortens the schedule (learning-rate schedule and teacher
forcing stretched in proportion); its work dirs go under ``<work root>-<N>it`` so that a short
run is never resumed as a full one, and it needs ``--results-dir`` so that it never writes into
the committed results.

The summary reads ``per_group`` of each result (IMLMetric scores every group of samples that
carry a ``group`` in their metainfo), and gives, per variant and group, mean ± sample std over
seeds of pixel IoU and F1 (per-image aggregation by default, the leaderboard's primary figures),
the share of images the gate sent to the RGB+DCT path and its mean probability of that path
(forced variants build no gate: "-"). It is printed as a markdown table and written to
``<results dir>/summary.md``.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from mmiml.benchmark import processes  # noqa: E402
from mmiml.utils.cli import run_cli  # noqa: E402
from mmiml.utils.errors import ConfigError, IMLDataError  # noqa: E402
from mmiml.utils.fileio import read_json  # noqa: E402

CONFIG_DIR = "configs/omni_iml/probe"
_SUFFIX = "convnext-atto_1xb8-1k_synthiml-probe-128x128.py"
#: variant name -> config, in the order of the summary
VARIANTS: dict[str, str] = {
    "routed": f"{CONFIG_DIR}/omni-iml_{_SUFFIX}",
    "force-rgb": f"{CONFIG_DIR}/omni-iml-force-rgb_{_SUFFIX}",
    "force-fused": f"{CONFIG_DIR}/omni-iml-force-fused_{_SUFFIX}",
    "dwd-fixed": f"{CONFIG_DIR}/omni-iml-dwd-fixed_{_SUFFIX}",
    "dwd-off": f"{CONFIG_DIR}/omni-iml-dwd-off_{_SUFFIX}",
    "ae-box-off": f"{CONFIG_DIR}/omni-iml-ae-box-off_{_SUFFIX}",
}
GROUPS: tuple[str, ...] = ("compression", "pixel")
DEFAULT_RESULTS = Path("configs/omni_iml/results/probe")
DEFAULT_WORK_ROOT = Path("work_dirs/probe")
SUMMARY_NAME = "summary.md"
RESULT_NAME = re.compile(r"^(?P<variant>[a-z0-9-]+)__seed(?P<seed>\d+)\.json$")
#: (column, key in per_group[group], shown as)
FIGURES: tuple[tuple[str, str], ...] = (
    ("IoU", "pixel_iou_{agg}"),
    ("F1", "pixel_f1_{agg}"),
    ("fused share", "gate_fused_share"),
    ("gate p(fused)", "gate_prob_mean"),
)


@dataclass
class ProbeRun:
    """One (variant, seed) of the study and where its files go."""

    variant: str
    seed: int
    config: Path
    work_dir: Path
    result: Path
    status: str = "pending"  # pending | skipped | done | failed
    reason: str = ""

    @property
    def label(self) -> str:
        return f"{self.variant} seed {self.seed}"


def parse_variants(text: str | None) -> list[str]:
    """``--variants`` (comma-separated) -> variant names in summary order; all when None."""
    if not text:
        return list(VARIANTS)
    names = [v.strip() for v in text.split(",") if v.strip()]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown or not names:
        raise ConfigError("--variants", f"unknown variant(s) {unknown or text!r}; valid: "
                                        f"{', '.join(VARIANTS)}")
    return [v for v in VARIANTS if v in names]


def result_path(results_dir: Path, variant: str, seed: int) -> Path:
    return results_dir / f"{variant}__seed{seed}.json"


def plan(variants: Sequence[str], seeds: int, results_dir: Path, work_root: Path
         ) -> list[ProbeRun]:
    """Every (variant, seed), variants in summary order, seeds 0..seeds-1."""
    if seeds < 1:
        raise ConfigError("--seeds", f"must be at least 1, got {seeds}")
    return [ProbeRun(v, k, ROOT / VARIANTS[v], work_root / v / f"seed{k}",
                     result_path(results_dir, v, k))
            for v in variants for k in range(seeds)]


# ---------------------------------------------------------------------------- commands
def _scaled(value: int, max_iters: int, old: int) -> int:
    return max(1, round(value * max_iters / old)) if value else 0


def schedule_overrides(config: Path, max_iters: int | None) -> list[str]:
    """``--cfg-options`` that shorten the config's schedule to ``max_iters`` (none for the
    config's own): schedulers and teacher forcing stretched in proportion, a checkpoint at the
    end, validation during training left to the test."""
    if max_iters is None:
        return []
    if max_iters < 1:
        raise ConfigError("--max-iters", f"must be at least 1, got {max_iters}")
    from mmengine.config import Config

    cfg = Config.fromfile(str(config))
    old = int(cfg.train_cfg.max_iters)
    opts = [f"train_cfg.max_iters={max_iters}", f"train_cfg.val_interval={max_iters}",
            f"default_hooks.checkpoint.interval={max_iters}",
            f"default_hooks.logger.interval={max(1, min(50, max_iters // 10))}"]
    for i, sched in enumerate(cfg.get("param_scheduler") or []):
        for key in ("begin", "end"):
            if sched.get(key) is not None:
                opts.append(f"param_scheduler.{i}.{key}={_scaled(sched[key], max_iters, old)}")
    tf = cfg.model.get("backbone", {}).get("teacher_forcing_iters")
    if tf:
        opts.append(f"model.backbone.teacher_forcing_iters={_scaled(tf, max_iters, old)}")
    return opts


def train_command(run: ProbeRun, overrides: Sequence[str], resume: bool) -> list[str]:
    """tools/train.py for ``run``; validation off (the test after training replaces it)."""
    cmd = [sys.executable, str(ROOT / "tools" / "train.py"), str(run.config),
           "--work-dir", str(run.work_dir), "--cfg-options", f"randomness.seed={run.seed}",
           "val_dataloader=None", "val_cfg=None", "val_evaluator=None", *overrides]
    if resume:
        cmd.append("--resume")
    return cmd


def test_command(run: ProbeRun, checkpoint: Path) -> list[str]:
    return [sys.executable, str(ROOT / "tools" / "test.py"), str(run.config), str(checkpoint),
            "--work-dir", str(run.work_dir), "--out", str(run.result)]


def portable_checkpoint_record(result: Path) -> None:
    """The committed probe results name no machine's folders: the checkpoint's path relative
    to the repository, no absolute path (its sha256 still identifies it)."""
    doc = json.loads(result.read_text())
    record = doc.get("checkpoint") or {}
    record.pop("abs_path", None)
    path = Path(record.get("path", ""))
    if path.is_absolute() and path.is_relative_to(ROOT):
        record["path"] = path.relative_to(ROOT).as_posix()
    result.write_text(json.dumps(doc, indent=2) + "\n")


def last_checkpoint(work_dir: Path) -> Path | None:
    """The checkpoint mmengine's ``last_checkpoint`` marker names, when it exists."""
    marker = work_dir / "last_checkpoint"
    if not marker.is_file():
        return None
    path = Path(marker.read_text().strip())
    return path if path.is_file() else None


def finished_checkpoint(work_dir: Path, max_iters: int) -> Path | None:
    path = work_dir / f"iter_{max_iters}.pth"
    return path if path.is_file() else None


def clear_checkpoints(work_dir: Path) -> None:
    """Remove a previous attempt's checkpoints (logs stay, in their timestamped folders)."""
    for path in list(work_dir.glob("*.pth")) + [work_dir / "last_checkpoint"]:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def configured_iters(config: Path) -> int:
    from mmengine.config import Config

    return int(Config.fromfile(str(config)).train_cfg.max_iters)


# ---------------------------------------------------------------------------- execution
Runner = Callable[[list[str], Path], int]


class ProbeInterrupted(Exception):
    """A stop signal arrived; the active run was stopped with everything it started."""


def run_logged(cmd: list[str], log: Path) -> int:
    """Run ``cmd`` from the repository root in a process group of its own, output to ``log``;
    a stop signal to this script stops the group and raises :class:`ProbeInterrupted`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]), PYTHONUNBUFFERED="1")
    with open(log, "ab") as out, processes.signals_caught() as caught:
        out.write(f"$ {' '.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env,
                                **processes.popen_options())
        while proc.poll() is None:
            if caught:
                processes.stop_groups([proc])
                raise ProbeInterrupted(f"stopped by signal {caught[0]} during: {' '.join(cmd)}")
            time.sleep(0.2)
        return proc.returncode


def _tail(path: Path, n: int = 8) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join("    " + line for line in lines[-n:])


def execute(runs: Sequence[ProbeRun], *, resume: bool, max_iters: int | None,
            runner: Runner = run_logged, log: Callable[[str], None] = print) -> None:
    """Train and test each run in turn; a failed run is reported and the next one starts."""
    overrides: dict[Path, list[str]] = {}
    iters: dict[Path, int] = {}
    for i, run in enumerate(runs, 1):
        head = f"[{i}/{len(runs)}] {run.label}"
        if resume and run.result.is_file():
            run.status, run.reason = "skipped", f"result exists: {run.result}"
            log(f"{head}: skipped, {run.reason}")
            continue
        if run.config not in overrides:
            overrides[run.config] = schedule_overrides(run.config, max_iters)
            iters[run.config] = max_iters or configured_iters(run.config)
        run.work_dir.mkdir(parents=True, exist_ok=True)
        if not resume:
            clear_checkpoints(run.work_dir)
        ckpt = finished_checkpoint(run.work_dir, iters[run.config])
        t0 = time.perf_counter()
        if ckpt is None:
            again = resume and last_checkpoint(run.work_dir) is not None
            log(f"{head}: training" + (" (resumed)" if again else "")
                + f", log {run.work_dir / 'probe_train.log'}")
            cmd = train_command(run, overrides[run.config], again)
            if runner(cmd, run.work_dir / "probe_train.log") != 0:
                run.status, run.reason = "failed", "training failed"
                log(f"{head}: training FAILED\n{_tail(run.work_dir / 'probe_train.log')}")
                continue
            ckpt = finished_checkpoint(run.work_dir, iters[run.config]) or \
                last_checkpoint(run.work_dir)
            if ckpt is None:
                run.status, run.reason = "failed", "training left no checkpoint"
                log(f"{head}: FAILED, training left no checkpoint in {run.work_dir}")
                continue
        else:
            log(f"{head}: training finished before ({ckpt.name})")
        run.result.parent.mkdir(parents=True, exist_ok=True)
        log(f"{head}: testing {ckpt.name}")
        if runner(test_command(run, ckpt), run.work_dir / "probe_test.log") != 0 \
                or not run.result.is_file():
            run.status, run.reason = "failed", "test failed"
            log(f"{head}: test FAILED\n{_tail(run.work_dir / 'probe_test.log')}")
            continue
        portable_checkpoint_record(run.result)
        run.status = "done"
        log(f"{head}: done in {time.perf_counter() - t0:.0f} s -> {run.result}")


# ---------------------------------------------------------------------------- summary
def _number(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise IMLDataError(where, f"expected a number or null, got {value!r}")
    return float(value)


def result_files(results_dir: Path, variants: Iterable[str] | None = None
                 ) -> list[tuple[str, int, Path]]:
    """(variant, seed, path) of the result files in ``results_dir``, in summary order; other
    files (the summary, logs) are ignored, and so are unknown variants' files."""
    keep = set(variants) if variants is not None else set(VARIANTS)
    found = []
    for path in sorted(results_dir.glob("*.json")):
        match = RESULT_NAME.match(path.name)
        if match and match["variant"] in keep:
            found.append((match["variant"], int(match["seed"]), path))
    order = {v: i for i, v in enumerate(VARIANTS)}
    return sorted(found, key=lambda f: (order[f[0]], f[1]))


def load_probe_results(results_dir: Path, variants: Iterable[str] | None = None,
                       aggregation: str = "image") -> pd.DataFrame:
    """One row per (variant, seed, group): the figures of :data:`FIGURES` read from each result
    file's ``per_group``.

    Raises:
        IMLDataError: no result file, or one without ``per_group`` or without a probe group,
            naming the file.
    """
    files = result_files(results_dir, variants)
    if not files:
        raise IMLDataError(results_dir, "no probe result file (<variant>__seed<K>.json); run "
                                        "benchmarks/omni_iml_probe.py without --summary-only")
    rows = []
    for variant, seed, path in files:
        doc = read_json(path, "result file")
        per_group = doc.get("per_group") if isinstance(doc, dict) else None
        if not isinstance(per_group, dict):
            raise IMLDataError(path, "no 'per_group' section: the result was written by an "
                               "IMLMetric without per-group scoring, or the test samples carried "
                               "no 'group' in their metainfo (the probe configs pack it); test "
                               "the checkpoint again with the probe config")
        for group in GROUPS:
            scores = per_group.get(group)
            if not isinstance(scores, dict):
                raise IMLDataError(path, f"per_group has no '{group}' scores (groups found: "
                                         f"{', '.join(map(str, per_group)) or 'none'}); was it "
                                         "tested on the probe's test split?")
            row: dict[str, Any] = {"variant": variant, "seed": seed, "group": group,
                                   "num_images": scores.get("num_images")}
            for column, key in FIGURES:
                key = key.format(agg=aggregation)
                row[column] = _number(scores.get(key), f"{path}: per_group.{group}.{key}")
            rows.append(row)
    return pd.DataFrame(rows)


def mean_std(values: Iterable[float | None], digits: int = 3) -> str:
    """``mean ± std`` (sample std, ddof 1) of the defined values; one value alone; ``-`` for
    none."""
    vals = [float(v) for v in values if v is not None and not pd.isna(v)]
    if not vals:
        return "-"
    mean = sum(vals) / len(vals)
    if len(vals) == 1:
        return f"{mean:.{digits}f}"
    std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1))
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def summary_table(df: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """Rows (variant, group) in summary order; columns: seeds, then each figure as mean ± std
    over seeds."""
    rows = []
    for variant in [v for v in VARIANTS if v in set(df["variant"])]:
        for group in GROUPS:
            part = df[(df["variant"] == variant) & (df["group"] == group)]
            if part.empty:
                continue
            row = {"variant": variant, "group": group, "seeds": int(part["seed"].nunique())}
            for column, _ in FIGURES:
                row[column] = mean_std(part[column], digits)
            rows.append(row)
    return pd.DataFrame(rows)


def summary_markdown(table: pd.DataFrame, aggregation: str = "image") -> str:
    """The table as markdown, with a legend."""
    legend = (
        f"IoU and F1: pixel figures, {aggregation} aggregation, over the tampered images of the "
        "group; mean ± sample std over seeds. fused share: share of the group's images the "
        "Modal Gate sent to the RGB+DCT path; gate p(fused): its mean probability of that path; "
        "'-' where the variant builds no gate (forced variants). Written by "
        "benchmarks/omni_iml_probe.py.")
    # numparse off: "0.000" stays as written, not reformatted to "0"
    body = table.to_markdown(index=False, disable_numparse=True)
    return f"# Omni-IML on the SynthIML probe\n\n{body}\n\n{legend}\n"


def write_summary(results_dir: Path, variants: Iterable[str] | None = None,
                  aggregation: str = "image") -> tuple[Path, str]:
    df = load_probe_results(results_dir, variants, aggregation)
    text = summary_markdown(summary_table(df), aggregation)
    out = results_dir / SUMMARY_NAME
    out.write_text(text, encoding="utf-8")
    return out, text


# ---------------------------------------------------------------------------- command line
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variants", help=f"comma-separated, from {', '.join(VARIANTS)} (default: "
                                      "all)")
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per variant (default 3)")
    p.add_argument("--resume", action="store_true",
                   help="skip runs with a result, resume interrupted trainings")
    p.add_argument("--max-iters", type=int,
                   help="shorter schedule for a quick check (needs --results-dir)")
    p.add_argument("--results-dir", type=Path, default=None,
                   help=f"result JSON and summary folder (default {DEFAULT_RESULTS})")
    p.add_argument("--work-root", type=Path, default=None,
                   help=f"work dirs go to WORK_ROOT/<variant>/seed<K> (default "
                        f"{DEFAULT_WORK_ROOT})")
    p.add_argument("--summary-only", action="store_true",
                   help="only summarise the results already in the results folder")
    p.add_argument("--aggregation", choices=("image", "dataset"), default="image",
                   help="pixel IoU/F1 aggregation of the summary (default image)")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    variants = parse_variants(args.variants)
    if args.max_iters is not None and args.results_dir is None and not args.summary_only:
        raise ConfigError("--max-iters", "a shortened run must not write into "
                          f"{DEFAULT_RESULTS}; give --results-dir")
    # the defaults lie in the repository, given folders are taken from the current one
    results_dir = args.results_dir.resolve() if args.results_dir else ROOT / DEFAULT_RESULTS
    failed: list[ProbeRun] = []
    if not args.summary_only:
        work_root = args.work_root or ROOT / DEFAULT_WORK_ROOT
        if args.max_iters is not None:
            work_root = work_root.with_name(f"{work_root.name}-{args.max_iters}it")
        work_root = work_root.resolve()
        from mmiml.datasets.synthesis.generator import ensure_synthiml

        t0 = time.perf_counter()
        print(f"probe data: {ensure_synthiml('probe', root=ROOT / 'data' / 'synthiml')} "
              f"({time.perf_counter() - t0:.0f} s)")
        runs = plan(variants, args.seeds, results_dir, work_root)
        try:
            execute(runs, resume=args.resume, max_iters=args.max_iters)
        except ProbeInterrupted as e:
            print(f"interrupted: {e}", file=sys.stderr)
            return 130
        failed = [r for r in runs if r.status == "failed"]
        for run in failed:
            print(f"FAILED: {run.label}: {run.reason} (logs in {run.work_dir})", file=sys.stderr)
        if all(r.status == "failed" for r in runs):
            return 1
    path, text = write_summary(results_dir, variants, args.aggregation)
    print(text)
    print(f"summary: {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    run_cli(main)
