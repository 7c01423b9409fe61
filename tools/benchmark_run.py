"""One benchmark run as a script: what ``tools/benchmark.py`` starts for each run, alone or
under torchrun with ``--gpus N`` (``--launcher pytorch``):

    python tools/benchmark_run.py --profile cpu --model segformer --train-set joint \\
        --work-dir DIR --out RESULT.json [--resume]

See ``mmiml/benchmark/run.py``. Started by the benchmark, the run first ties itself to it
(``mmiml.benchmark.processes.die_with_parent``: it ends, with every process it started, when the
benchmark stops or dies), before the seconds of heavy imports.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmiml.benchmark.processes import die_with_parent  # noqa: E402
from mmiml.utils.cli import run_cli  # noqa: E402

if __name__ == "__main__":
    die_with_parent()
    from mmiml.benchmark.run import main

    run_cli(main)
