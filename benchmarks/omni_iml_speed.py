"""CPU inference speed of the tiny Omni-IML against the tiny plain ConvNeXt-UPer.

    python benchmarks/omni_iml_speed.py [--size 256] [--batch 8] [--rounds 5] [--threads 2]

Both CPU configs' models (random init, eval mode, inference form: no detection branch) run the
same batch; the two are timed in alternating rounds in one process so machine noise hits both
alike, and the median round gives images/s. The aim is an Omni-IML overhead of at most 1.3x.
The JPEG DCT that Omni-IML also needs is read in the data pipeline, not the model: its cost per
image (LoadJpegDCT on a quality-90 JPEG of the same size) is printed separately.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

OMNI = "configs/omni_iml/omni-iml_convnext-atto_1xb8-1k_synthiml-cpu-joint-128x128.py"
PLAIN = "configs/plain_convnext_uper/upernet_convnext-atto_1xb8-1k_synthiml-cpu-128x128.py"


def build(config: str) -> torch.nn.Module:
    from mmengine.config import Config
    from mmseg.registry import MODELS

    from mmiml.utils.setup_env import drop_training_only_branches

    cfg = Config.fromfile(config)
    drop_training_only_branches(cfg)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.eval()


def dct_pipeline_ms(size: int, repeats: int = 20) -> float:
    """Milliseconds per image for loading a JPEG and its DCT (LoadJpegDCT)."""
    import cv2

    from mmiml.datasets.transforms import LoadIMLImageFromFile, LoadJpegDCT

    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.integers(0, 256, (size, size, 3), dtype=np.uint8), (5, 5), 0)
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/img.jpg"
        cv2.imwrite(path, img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        load, dct = LoadIMLImageFromFile(), LoadJpegDCT()
        info = dict(img_path=path, seg_map_path=None, task="natural", seg_fields=[])
        load.transform(dict(info))
        t0 = time.perf_counter()
        for _ in range(repeats):
            dct.transform(load.transform(dict(info)))
        t_both = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(repeats):
            load.transform(dict(info))
        t_load = time.perf_counter() - t0
    return 1000 * (t_both - t_load) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--iters", type=int, default=5, help="forward passes per round")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--channels-last", action="store_true",
                        help="NHWC models and inputs (faster for the narrow full-resolution FPH)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from mmiml.utils.setup_env import register_all_modules

    register_all_modules()
    from mmengine.registry import init_default_scope

    init_default_scope("mmseg")
    models = {"omni_iml_tiny": build(OMNI), "convnext_upernet_tiny": build(PLAIN)}
    b, s = args.batch, args.size
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    for model in models.values():  # 4-D weights only (the DWD's candidate kernels are 5-D)
        for param in model.parameters():
            if param.ndim == 4:
                param.data = param.data.contiguous(memory_format=fmt)
    img = torch.randn(b, 3, s, s).contiguous(memory_format=fmt)
    dct = torch.randint(-30, 31, (b, 1, s, s), dtype=torch.int16)
    qtable = torch.randint(1, 40, (b, 8, 8))
    omni = models["omni_iml_tiny"]

    def run_omni() -> None:
        feats = omni.backbone(img, dct, qtable)
        omni.decode_head(list(omni.neck(feats) if omni.with_neck else feats))

    plain = models["convnext_upernet_tiny"]
    # the per-pixel FPH of DTD at the same widths, for the side-by-side of the two layouts
    from mmiml.models.utils.frequency_perception_head import FrequencyPerceptionHead

    fph = omni.backbone.fph
    pixel_fph = FrequencyPerceptionHead(out_channels=fph.out_channels, channels=fph.channels,
                                        layout="pixel").eval()
    runs = {"omni_iml_tiny": run_omni,
            "convnext_upernet_tiny": lambda: plain.decode_head(list(plain.backbone(img))),
            # where the overhead goes: the FPH alone, and the decoders on the same features
            f"  omni: FPH ({fph.layout})": lambda: fph(dct, qtable),
            "  FPH (pixel layout)": lambda: pixel_fph(dct, qtable),
            "  omni: AE block + DWD": lambda: omni.decode_head(list(omni.neck(feats))),
            "  plain: UPerHead": lambda: plain.decode_head(list(feats))}
    times: dict[str, list[float]] = {k: [] for k in runs}
    with torch.no_grad():
        feats = omni.backbone(img, dct, qtable)  # same widths as the plain backbone's
        for fn in runs.values():  # warm-up
            fn()
        for _ in range(args.rounds):
            for name, fn in runs.items():
                t0 = time.perf_counter()
                for _ in range(args.iters):
                    fn()
                times[name].append((time.perf_counter() - t0) / (args.iters * b))
    print(f"CPU inference, {s}x{s}, batch {b}, {args.threads} threads, "
          f"{'channels_last' if args.channels_last else 'NCHW'}, "
          f"median of {args.rounds} alternating rounds x {args.iters} passes")
    med = {k: statistics.median(v) for k, v in times.items()}
    for name, t in med.items():
        if name in models:
            params = sum(p.numel() for p in models[name].parameters()) / 1e6
            print(f"  {name:24s} {1 / t:8.1f} images/s  ({1000 * t:6.1f} ms/image, "
                  f"{params:.2f} M params)")
        else:
            print(f"  {name:24s} {'':17s} {1000 * t:6.1f} ms/image")
    ratio = med["omni_iml_tiny"] / med["convnext_upernet_tiny"]
    print(f"  overhead: {ratio:.2f}x (aim <= 1.30x) -> {'met' if ratio <= 1.3 else 'NOT met'}")
    print(f"  JPEG DCT in the pipeline (LoadJpegDCT, Q90, {s}x{s}): "
          f"{dct_pipeline_ms(s):.2f} ms/image")


if __name__ == "__main__":
    main()
