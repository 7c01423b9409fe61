"""Parameters and FLOPs of Omni-IML at paper scale, inference path only.

    python benchmarks/omni_iml_complexity.py [--config configs/omni_iml_joint.py] [--size 512]

Builds the config's model (random init, BN for SyncBN), counts parameters in training form and
in inference form (Anomaly Enhancement detection branch removed, as ``tools/test.py`` builds it),
and runs mmengine's FlopAnalyzer on the inference path (Modal Gate Encoder -> enhancement block ->
Dynamic Weight Decoder) at ``size`` x ``size``. FLOPs are mmengine's count (one multiply-add = 1).
It also prints a per-component breakdown and, for comparison with the paper's 152 M, the size of
mmseg's UperNet-ConvNeXt-B decode heads that an implementation keeping the ADE20k checkpoint's
head would carry.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PAPER_PARAMS_M = 152.0


class InferencePath(nn.Module):
    """The exact ops ``OmniIML.predict`` runs for one batch, as a traceable module."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, img: torch.Tensor, dct: torch.Tensor, qtable: torch.Tensor) -> torch.Tensor:
        feats = self.model.backbone(img, dct, qtable)
        if self.model.with_neck:
            feats = self.model.neck(feats)
        return self.model.decode_head(list(feats))


def millions(module: nn.Module | None) -> float:
    return 0.0 if module is None else sum(p.numel() for p in module.parameters()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/omni_iml_joint.py")
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()

    from mmengine.analysis import FlopAnalyzer
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmseg.registry import MODELS

    from mmiml.utils.setup_env import register_all_modules

    register_all_modules()
    from mmengine.registry import init_default_scope

    init_default_scope("mmseg")
    cfg = Config.fromfile(args.config)
    cfg.model.backbone.backbone.pretrained = None  # counting needs no weights
    model = revert_sync_batchnorm(MODELS.build(cfg.model)).eval()
    train_m = millions(model)
    if model.with_neck and hasattr(model.neck, "strip_detection"):
        model.neck.strip_detection()
        det_m = train_m - millions(model)
    else:
        det_m = 0.0
    infer_m = millions(model)
    enc = model.backbone
    rows = [
        ("ConvNeXt (VPH + stages 1-3)", millions(enc.convnext)),
        ("FPH + fusion + coarse heads + gate",
         millions(enc.fph) + millions(enc.fuse) + millions(enc.coarse_rgb)
         + millions(enc.coarse_fused) + millions(enc.gate)),
        ("Anomaly Enhancement block", millions(model.neck) if model.with_neck else 0.0),
        ("Dynamic Weight Decoder", millions(model.decode_head)),
    ]
    print(f"config: {args.config}")
    print(f"parameters, training form:  {train_m:8.2f} M (detection branch {det_m:.2f} M)")
    print(f"parameters, inference form: {infer_m:8.2f} M")
    for name, m in rows:
        print(f"  {name:38s} {m:8.2f} M")

    size = args.size
    img = torch.randn(1, 3, size, size)
    dct = torch.randint(-30, 31, (1, 1, size, size), dtype=torch.int16)
    qtable = torch.randint(1, 40, (1, 8, 8))
    with torch.no_grad():
        analyzer = FlopAnalyzer(InferencePath(model), (img, dct, qtable))
        analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        total = analyzer.total()
        by_module = analyzer.by_module()
    print(f"FLOPs at {size}x{size}, inference path: {total / 1e9:.1f} G")
    for name, key in [("encoder", "model.backbone"), ("enhancement", "model.neck"),
                      ("decoder", "model.decode_head")]:
        if key in by_module:
            print(f"  {name:12s} {by_module[key] / 1e9:8.1f} G")

    # What a UperNet-ConvNeXt-B head would add (mmseg's ADE20k model: UPerHead 512 + FCN aux).
    bn = dict(type="BN", requires_grad=True)
    uper = MODELS.build(dict(type="UPerHead", in_channels=[128, 256, 512, 1024],
                             in_index=[0, 1, 2, 3], pool_scales=(1, 2, 3, 6), channels=512,
                             num_classes=2, norm_cfg=bn))
    fcn = MODELS.build(dict(type="FCNHead", in_channels=512, in_index=2, channels=256,
                            num_convs=1, num_classes=2, norm_cfg=bn))
    uper_m, fcn_m = millions(uper), millions(fcn)
    gap = (PAPER_PARAMS_M - infer_m) / PAPER_PARAMS_M
    print(f"paper: {PAPER_PARAMS_M:.0f} M; ours (inference) is {100 * gap:.1f}% smaller")
    print(f"  mmseg UPerHead-512 {uper_m:.2f} M + FCN aux head {fcn_m:.2f} M; ours with those in "
          f"place of the DWD: {infer_m - rows[3][1] + uper_m + fcn_m:.2f} M; "
          f"plus our detection branch: {train_m - rows[3][1] + uper_m + fcn_m:.2f} M")


if __name__ == "__main__":
    main()
