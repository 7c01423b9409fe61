"""Model-zoo speed table: inputs, parameters, FLOPs and CPU speed of every model family.

    python benchmarks/model_zoo.py [--out docs/model_zoo_speed.md] [--rounds 3] [--skip-speed]
                                   [--skip-paper-flops] [--csv PATH]

The speed figures depend on the machine, so they live on their own page, which
``docs/model_zoo.md`` links to; that page is rendered from the metafiles by
``tools/make_metafiles.py``, whose ``--check`` must give the same bytes on any machine.

For each family it builds the tiny (CPU, SynthIML) config's model and the paper config's model
(random init, no checkpoint read, BN for SyncBN, test-time form from
``drop_training_only_branches``) and reports:

- inputs: RGB always; ``DCT`` when the config's test pipeline has ``LoadJpegDCT``; ``noise`` for
  the families whose README says the model computes a noise view (``NOISE_INPUT`` below: the
  noise residual is computed inside the model from the RGB, nothing extra is loaded);
- parameters of the inference form (backbone + neck + decode head, the modules the test-time
  forward runs; none of these configs has an auxiliary head);
- FLOPs from mmengine's ``FlopAnalyzer`` of that forward (one multiply-add = 1 FLOP) at 512x512
  for the paper model and 256x256 for the tiny one. DCT models are traced as
  ``backbone(img, dct, qtable)`` -> neck -> decode head (as ``benchmarks/omni_iml_complexity.py``
  does), the others as ``decode_head(extract_feat(img))``. When tracing fails the cell is
  ``n/a`` and the error is printed; no number is made up;
- CPU inference images/s of the tiny models at 256x256, batch 4, timed side by side in
  alternating rounds in one process (median round), as ``benchmarks/omni_iml_speed.py`` does.
  Absolute numbers depend on the machine; the ratio column is the comparable one.
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmiml.benchmark.complexity import (  # noqa: E402
    NA,
    InferencePath,
    gflops,
    inference_params_m,
    inputs_for,
    load,
)
from mmiml.benchmark.zoo import JOINT, ZOO  # noqa: E402

# (family, tiny config, paper config): the zoo's models trained jointly, ablations left out
FAMILIES: list[tuple[str, str, str]] = [
    (m.name, m.config("tiny", JOINT), m.config("paper", JOINT)) for m in ZOO
    if m.ablation_of is None
]
BASELINE = FAMILIES[0][0]

# Families whose model computes a noise view of the RGB (per their configs/*/README.md):
# MVSS-Net's BayarConv2d noise branch, TruFor-like's SRM + DnCNN-like noise residual extractor.
NOISE_INPUT: dict[str, str] = {
    "MVSS-Net": "noise (BayarConv, in model)",
    "TruFor-like": "noise (SRM+DnCNN, in model)",
}

PAPER_SIZE, TINY_SIZE, SPEED_BATCH = 512, 256, 4


def measure_speed(models: dict[str, nn.Module], rounds: int, iters: int) -> dict[str, float]:
    """Images/s per model: alternating rounds in one process, median round."""
    paths = {k: InferencePath(m) for k, m in models.items()}
    inputs = {k: inputs_for(m, SPEED_BATCH, TINY_SIZE) for k, m in models.items()}
    times: dict[str, list[float]] = {k: [] for k in models}
    with torch.no_grad():
        for k, p in paths.items():  # warm-up
            p(*inputs[k])
        for _ in range(rounds):
            for k, p in paths.items():
                t0 = time.perf_counter()
                for _ in range(iters):
                    p(*inputs[k])
                times[k].append((time.perf_counter() - t0) / (iters * SPEED_BATCH))
    return {k: 1.0 / statistics.median(v) for k, v in times.items()}


def fmt(value: float | str, digits: int) -> str:
    return value if isinstance(value, str) else f"{value:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/model_zoo_speed.md")
    parser.add_argument("--rounds", type=int, default=3, help="alternating speed rounds")
    parser.add_argument("--iters", type=int, default=2, help="forward passes per speed round")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-paper-flops", action="store_true",
                        help="skip paper-scale FLOP tracing (slow)")
    parser.add_argument("--csv", help="also write the table as CSV (raw values)")
    args = parser.parse_args()
    t_start = time.perf_counter()

    import pandas as pd
    from mmengine.registry import init_default_scope

    from mmiml.utils.setup_env import register_all_modules

    register_all_modules()
    init_default_scope("mmseg")

    rows: list[dict[str, Any]] = []
    tiny_models: dict[str, nn.Module] = {}
    flop_failed = False
    for family, tiny_cfg, paper_cfg in FAMILIES:
        print(f"[{time.perf_counter() - t_start:6.1f} s] {family}", flush=True)
        paper, paper_dct = load(paper_cfg)
        paper_params = inference_params_m(paper)
        paper_flops = NA if args.skip_paper_flops else gflops(paper, PAPER_SIZE,
                                                               f"{family} (paper)")
        del paper
        gc.collect()
        tiny, tiny_dct = load(tiny_cfg)
        tiny_params = inference_params_m(tiny)
        tiny_flops = gflops(tiny, TINY_SIZE, f"{family} (tiny)")
        flop_failed |= (tiny_flops == NA) or (paper_flops == NA and not args.skip_paper_flops)
        tiny_models[family] = tiny
        inputs = ["RGB"]
        if family in NOISE_INPUT:
            inputs.append(NOISE_INPUT[family])
        if paper_dct or tiny_dct:
            inputs.append("DCT")
        rows.append({
            "family": family,
            "inputs": " + ".join(inputs),
            "paper params (M)": paper_params,
            f"paper GFLOPs @{PAPER_SIZE}": paper_flops,
            "tiny params (M)": tiny_params,
            f"tiny GFLOPs @{TINY_SIZE}": tiny_flops,
        })

    threads = torch.get_num_threads()
    speed_col = f"tiny CPU img/s @{TINY_SIZE} b{SPEED_BATCH}"
    ratio_col = f"speed vs {BASELINE.split(' ')[0]}"
    if not args.skip_speed:
        print(f"[{time.perf_counter() - t_start:6.1f} s] speed, {args.rounds} rounds", flush=True)
        speed = measure_speed(tiny_models, args.rounds, args.iters)
        for row in rows:
            row[speed_col] = speed[row["family"]]
            row[ratio_col] = speed[row["family"]] / speed[BASELINE]

    df = pd.DataFrame(rows)
    if args.csv:
        df.to_csv(args.csv, index=False)
    digits = {"paper params (M)": 2, "tiny params (M)": 3, f"paper GFLOPs @{PAPER_SIZE}": 1,
              f"tiny GFLOPs @{TINY_SIZE}": 2, speed_col: 1, ratio_col: 2}
    shown = df.copy()
    for col, d in digits.items():
        if col in shown:
            shown[col] = [fmt(v, d) for v in shown[col]]
    try:
        import tabulate  # noqa: F401

        table = shown.to_markdown(index=False)
    except ImportError:
        table = "```text\n" + shown.to_string(index=False) + "\n```"

    elapsed = time.perf_counter() - t_start
    command = " ".join(["python benchmarks/model_zoo.py", *sys.argv[1:]])
    notes = [
        "Parameters: inference form (backbone + neck + decode head; Omni-IML without its "
        "training-only detection branch), random init. FLOPs: mmengine `FlopAnalyzer` of the "
        "same forward at batch 1 (one multiply-add = 1 FLOP; ops it cannot count are left out).",
        "Inputs: `DCT` when the test pipeline has `LoadJpegDCT`; `noise` is computed inside the "
        "model from the RGB (per the family README), nothing extra is loaded.",
    ]
    if args.skip_paper_flops:
        notes.append("Paper GFLOPs: n/a because this run used `--skip-paper-flops`.")
    if flop_failed:
        notes.append("n/a FLOP cells (without `--skip-paper-flops`): FlopAnalyzer failed to "
                     "trace that model; the error is printed by the script.")
    if args.skip_speed:
        notes.append("Speed: not measured (`--skip-speed`).")
    else:
        notes.append(f"Speed: tiny models at {TINY_SIZE}x{TINY_SIZE}, batch {SPEED_BATCH}, "
                     f"median of {args.rounds} alternating rounds x {args.iters} forward passes "
                     "in one process. **Machine-dependent**: compare the ratio column, not the "
                     "absolute images/s, across machines.")
    header = [
        "# Model zoo: CPU speed side by side",
        "",
        f"Generated by `{command}` (do not edit by hand).",
        "",
        f"Machine: {platform.machine()} {platform.processor() or ''}".rstrip()
        + f", {os.cpu_count()} CPUs, torch {torch.__version__} with {threads} thread(s) "
        f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}); the speed columns are "
        f"machine-dependent. Script wall time: {elapsed:.0f} s.",
        "",
        "",
    ]
    text = "\n".join(header) + table + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    print(f"wrote {out} in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
