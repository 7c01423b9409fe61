"""GPU check of the paper-scale Omni-IML: inference images/s at 512x512 and a few
training iterations. Run through ``bash benchmarks/gpu_check.sh`` (under 8 minutes on one GPU).

Inference form (no detection branch), random weights: fp32, then bf16 autocast with
channels_last; batch 1 (the paper's 7.1 images/s is per image) and batch 8. Training: the full
model (detection branch included) for ``--train-iters`` AdamW steps on synthetic 512x512 batches
with one tampered box each; seconds/iteration and peak memory.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def build(config: str, inference: bool, device: str) -> torch.nn.Module:
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmseg.registry import MODELS

    from mmiml.utils.setup_env import drop_training_only_branches

    cfg = Config.fromfile(config)
    cfg.model.backbone.backbone.pretrained = None
    if inference:
        drop_training_only_branches(cfg)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))  # one process, no process group
    model.init_weights()
    return model.to(device)


def set_memory_format(model: torch.nn.Module, fmt: torch.memory_format) -> None:
    """NHWC for the 4-D weights (the DWD's 5-D candidate kernels stay as they are)."""
    for param in model.parameters():
        if param.ndim == 4:
            param.data = param.data.contiguous(memory_format=fmt)


def batch(n: int, size: int, train: bool) -> dict:
    from mmengine.structures import InstanceData, PixelData
    from mmseg.structures import SegDataSample

    inputs, samples = [], []
    for i in range(n):
        inputs.append(torch.randint(0, 256, (3, size, size), dtype=torch.uint8))
        s = SegDataSample()
        s.set_field(PixelData(data=torch.randint(-20, 21, (1, size, size), dtype=torch.int16)),
                    "dct")
        s.set_field(torch.randint(1, 50, (8, 8)), "qtable")
        s.set_metainfo(dict(task=("natural", "document", "face", "scene_text")[i % 4],
                            img_shape=(size, size), ori_shape=(size, size),
                            pad_shape=(size, size)))
        if train:
            gt = torch.zeros(1, size, size, dtype=torch.long)
            # at 512: a 160x128 box from (96, 64 + 32 i)
            y0, x0 = size // 8 + size // 16 * (i % 4), size * 3 // 16
            h, w = size // 4, size * 5 // 16
            gt[:, y0:y0 + h, x0:x0 + w] = 1
            s.gt_sem_seg = PixelData(data=gt)
            inst = InstanceData()
            inst.bboxes = torch.tensor([[x0, y0, x0 + w, y0 + h]], dtype=torch.float32)
            inst.labels = torch.zeros(1, dtype=torch.long)
            s.gt_instances = inst
        samples.append(s)
    return {"inputs": inputs, "data_samples": samples}


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_inference(model, data, n_img: int, iters: int, bf16: bool, device: str) -> float:
    kind = device.split(":")[0]
    ctx = torch.autocast(kind, dtype=torch.bfloat16, enabled=bf16)
    with torch.no_grad(), ctx:
        for _ in range(min(3, iters)):
            model.test_step(data)
        sync(device)
        t0 = time.perf_counter()
        for _ in range(iters):
            model.test_step(data)
        sync(device)
    return n_img * iters / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/omni_iml_joint.py")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--train-iters", type=int, default=10)
    parser.add_argument("--train-batch", type=int, default=4)
    parser.add_argument("--batches", default="1,8", help="inference batch sizes")
    parser.add_argument("--device", default="cuda",
                        help="'cpu' only to check the script itself (tests do, at a tiny size)")
    args = parser.parse_args()
    device = args.device
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("gpu_check: no CUDA device visible")
    from mmengine.optim import OptimWrapper

    from mmiml.utils.setup_env import register_all_modules

    register_all_modules()
    from mmengine.registry import init_default_scope

    init_default_scope("mmseg")
    name = torch.cuda.get_device_name(0) if device.startswith("cuda") else "CPU"
    print(f"device: {name}, torch {torch.__version__}")
    model = build(args.config, inference=True, device=device).eval()
    for bs in (int(b) for b in args.batches.split(",")):
        data = batch(bs, args.size, train=False)
        fp32 = time_inference(model, data, bs, args.iters, bf16=False, device=device)
        set_memory_format(model, torch.channels_last)
        bf16 = time_inference(model, data, bs, args.iters, bf16=True, device=device)
        set_memory_format(model, torch.contiguous_format)
        print(f"inference {args.size}x{args.size} batch {bs}: fp32 {fp32:.1f} images/s, "
              f"bf16+channels_last {bf16:.1f} images/s (paper: 7.1 images/s)")
    del model
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()

    model = build(args.config, inference=False, device=device).train()
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05))
    data = batch(args.train_batch, args.size, train=True)
    times = []
    for it in range(args.train_iters):
        sync(device)
        t0 = time.perf_counter()
        log = model.train_step(data, optim)
        sync(device)
        times.append(time.perf_counter() - t0)
        if it == 0:
            print("training losses (first step): " + ", ".join(
                f"{k} {float(v.detach()):.3f}" for k, v in log.items() if "loss" in k))
    steady = times[2:] or times
    peak = (f", peak memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB"
            if device.startswith("cuda") else "")
    print(f"training {args.size}x{args.size} batch {args.train_batch}: "
          f"{sum(steady) / len(steady):.3f} s/iteration over {len(steady)} steps{peak}")


if __name__ == "__main__":
    main()
