"""Generated model-zoo table: inputs, parameters, FLOPs and CPU speed of every model family.

    python benchmarks/model_zoo.py [--out docs/model_zoo.md] [--rounds 3] [--skip-speed]
                                   [--skip-paper-flops] [--csv PATH]

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
import traceback
from pathlib import Path
from typing import Any

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# (family, tiny config, paper config)
FAMILIES: list[tuple[str, str, str]] = [
    ("ConvNeXt-UPer (plain)", "configs/baseline/convnext-atto_upernet_synthiml-cpu.py",
     "configs/baseline/convnext-base_upernet_160k.py"),
    ("Omni-IML", "configs/omni_iml/omni-iml-tiny_joint_synthiml-cpu.py",
     "configs/omni_iml_joint.py"),
    ("SegFormer", "configs/segformer/segformer-tiny_joint_synthiml-cpu.py",
     "configs/segformer/segformer_joint_160k.py"),
    ("MVSS-Net", "configs/mvss_net/mvss-net-tiny_joint_synthiml-cpu.py",
     "configs/mvss_net/mvss-net_joint_160k.py"),
    ("CAT-Net", "configs/cat_net/cat-net-tiny_joint_synthiml-cpu.py",
     "configs/cat_net/cat-net_joint_160k.py"),
    ("TruFor-like", "configs/trufor_like/trufor-like-tiny_joint_synthiml-cpu.py",
     "configs/trufor_like/trufor-like_joint_160k.py"),
    ("IML-ViT", "configs/iml_vit/iml-vit-tiny_joint_synthiml-cpu.py",
     "configs/iml_vit/iml-vit_joint_160k.py"),
]
BASELINE = FAMILIES[0][0]

# Families whose model computes a noise view of the RGB (per their configs/*/README.md):
# MVSS-Net's BayarConv2d noise branch, TruFor-like's SRM + DnCNN-like noise residual extractor.
NOISE_INPUT: dict[str, str] = {
    "MVSS-Net": "noise (BayarConv, in model)",
    "TruFor-like": "noise (SRM+DnCNN, in model)",
}

PAPER_SIZE, TINY_SIZE, SPEED_BATCH = 512, 256, 4
NA = "n/a"


def _no_checkpoints(node: Any) -> None:
    """Random init: drop every ``pretrained`` path and ``Pretrained`` init_cfg in place."""
    if isinstance(node, dict):
        if isinstance(node.get("pretrained"), str):
            node["pretrained"] = None
        init = node.get("init_cfg")
        if isinstance(init, dict) and init.get("type") == "Pretrained":
            node["init_cfg"] = None
        for value in node.values():
            _no_checkpoints(value)
    elif isinstance(node, list | tuple):
        for value in node:
            _no_checkpoints(value)


def _has_transform(node: Any, name: str) -> bool:
    if isinstance(node, dict):
        return node.get("type") == name or any(_has_transform(v, name) for v in node.values())
    if isinstance(node, list | tuple):
        return any(_has_transform(v, name) for v in node)
    return False


def load(config: str) -> tuple[nn.Module, bool]:
    """The config's inference-form model (eval, random init) and whether it reads the DCT."""
    from mmengine.config import Config
    from mmseg.registry import MODELS

    from mmiml.utils.setup_env import _replace_syncbn, drop_training_only_branches

    cfg = Config.fromfile(config)
    _replace_syncbn(cfg._cfg_dict)
    _no_checkpoints(cfg._cfg_dict["model"])
    drop_training_only_branches(cfg)
    uses_dct = _has_transform(cfg.get("test_pipeline"), "LoadJpegDCT") or _has_transform(
        cfg.get("test_dataloader"), "LoadJpegDCT")
    model = MODELS.build(cfg.model)
    return model.eval(), uses_dct


class InferencePath(nn.Module):
    """The forward a test-time prediction runs (up to the decode head's logits), traceable."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, img: torch.Tensor, dct: torch.Tensor | None = None,
                qtable: torch.Tensor | None = None) -> Any:
        m = self.model
        if dct is None:
            feats = m.extract_feat(img)
        else:
            feats = m.backbone(img, dct, qtable)
            if m.with_neck:
                feats = m.neck(feats)
        return m.decode_head(list(feats))


def reads_dct(model: nn.Module) -> bool:
    from mmiml.models.segmentors.dct_encoder_decoder import DCTEncoderDecoder

    return isinstance(model, DCTEncoderDecoder)


def inputs_for(model: nn.Module, batch: int, size: int) -> tuple[torch.Tensor, ...]:
    img = torch.randn(batch, 3, size, size)
    if not reads_dct(model):
        return (img,)
    dct = torch.randint(-30, 31, (batch, 1, size, size), dtype=torch.int16)
    qtable = torch.randint(1, 40, (batch, 8, 8))
    return img, dct, qtable


def inference_params_m(model: nn.Module) -> float:
    parts = [model.backbone, model.decode_head]
    if getattr(model, "with_neck", False):
        parts.append(model.neck)
    return sum(p.numel() for part in parts for p in part.parameters()) / 1e6


def gflops(model: nn.Module, size: int, label: str) -> float | str:
    from mmengine.analysis import FlopAnalyzer

    try:
        with torch.no_grad():
            analyzer = FlopAnalyzer(InferencePath(model), inputs_for(model, 1, size))
            analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            return analyzer.total() / 1e9
    except Exception as exc:  # noqa: BLE001 - any tracing failure becomes an n/a cell
        print(f"  FLOP analysis failed for {label} at {size}x{size}: "
              f"{type(exc).__name__}: {exc}", file=sys.stderr)
        traceback.print_exc(limit=3, file=sys.stderr)
        return NA


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
    parser.add_argument("--out", default="docs/model_zoo.md")
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
        "# Model zoo",
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
