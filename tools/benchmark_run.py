"""One benchmark run as a script, for torchrun: ``bash tools/dist_run.sh
tools/benchmark_run.py NUM_GPUS --profile paper --model ... --train-set ... --work-dir ...
--out ...`` (``tools/benchmark.py --gpus N`` starts it so). See ``mmiml/benchmark/run.py``."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmiml.benchmark.run import main  # noqa: E402

if __name__ == "__main__":
    main()
