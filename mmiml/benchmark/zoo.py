"""The model zoo as the benchmark sees it: one entry per model, its configs and its trainings.

Single source for ``tools/benchmark.py``, ``tools/make_leaderboard.py``,
``tools/make_metafiles.py`` (the metafiles) and ``benchmarks/model_zoo.py``. Config paths are
patterns with ``{train}`` = a task or ``joint`` (written with hyphens, ``scene-text``: the file
names follow OpenMMLab's ``{algorithm}_{backbone}_{N}xb{B}-{schedule}_{data}-{crop}``, where
``_`` separates the fields).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mmiml import TASKS

JOINT = "joint"
TRAIN_SETS: tuple[str, ...] = (*TASKS, JOINT)


@dataclass(frozen=True)
class ZooModel:
    """A model of the benchmark.

    Attributes:
        key: the CLI and file name (``--models plain_convnext_uper,omni_iml``).
        name: the display name on the leaderboard.
        tiny: config pattern of the CPU twin (SynthIML ``cpu``).
        paper: config pattern at paper scale; ``{train}`` as for ``tiny``.
        train_sets: what it is trained on: the four tasks and ``joint``, or ``joint`` only
            (ablations: the paper ablates the joint model).
        ablation_of: the model an ablation modifies, else ``None``.
        note: shown in the leaderboard's model notes.
        image_score: how the benchmark scores an image as manipulated: ``"model"`` when the
            method has a detection head whose probability the predictions carry
            (``img_score``), else the pooling of the map that the metric applies
            (``"max"`` where the method trains its detection on the map's maximum, MVSS-Net;
            ``"topk_mean"``, the mean of the 100 highest pixels, for the others: our choice,
            as one stray pixel decides a max).
    """

    key: str
    name: str
    tiny: str
    paper: str
    train_sets: tuple[str, ...] = TRAIN_SETS
    ablation_of: str | None = None
    note: str = ""
    paper_overrides: dict[str, str] = field(default_factory=dict)
    image_score: str = "topk_mean"

    def config(self, scale: str, train_set: str) -> str:
        """The config path for ``scale`` (``tiny`` or ``paper``) trained on ``train_set``."""
        if train_set not in self.train_sets:
            raise ValueError(f"model {self.key!r} is not trained on {train_set!r} "
                             f"(it has {', '.join(self.train_sets)})")
        if scale == "paper" and train_set in self.paper_overrides:
            return self.paper_overrides[train_set]
        pattern = {"tiny": self.tiny, "paper": self.paper}.get(scale)
        if pattern is None:
            raise ValueError(f"unknown config scale {scale!r}: expected 'tiny' or 'paper'")
        return pattern.format(train=train_set.replace("_", "-"))


def _family(key: str, name: str, folder: str, algorithm: str, tiny_backbone: str,
            paper_backbone: str, note: str = "", **extra: Any) -> ZooModel:
    """A family whose tiny twins train 1k iterations of batch 8 on one process at 128 px and
    whose paper configs 160k iterations of 2 images on each of 8 GPUs at 512 px."""
    return ZooModel(key, name,
                    tiny=f"configs/{folder}/{algorithm}_{tiny_backbone}_1xb8-1k_"
                         "synthiml-cpu-{train}-128x128.py",
                    paper=f"configs/{folder}/{algorithm}_{paper_backbone}_8xb2-160k_"
                          "synthiml-{train}-512x512.py", note=note, **extra)


OMNI = "omni_iml"

ZOO: tuple[ZooModel, ...] = (
    _family("plain_convnext_uper", "ConvNeXt-UPer (plain)", "plain_convnext_uper", "upernet",
            "convnext-atto", "convnext-b",
            "the paper's baseline row: Omni-IML without its components"),
    _family(OMNI, "Omni-IML", "omni_iml", "omni-iml", "convnext-atto", "convnext-b",
            "ours: first public implementation",
            paper_overrides={JOINT: "configs/omni_iml_joint.py"}),
    _family("segformer", "SegFormer", "segformer", "segformer", "mit-b0", "mit-b2"),
    _family("mvss_net", "MVSS-Net", "mvss_net", "mvss-net", "r18-d8", "r50-d8",
            image_score="max"),
    _family("pscc_net", "PSCC-Net", "pscc_net", "pscc-net", "hrnetv2-w8", "hrnetv2-w18-small",
            image_score="model"),
    _family("cat_net", "CAT-Net", "cat_net", "cat-net", "hrnetv2-w8", "hrnetv2-w48"),
    _family("dtd", "DTD", "dtd", "dtd", "swin-atto", "swin-s"),
    _family("trufor_like", "TruFor-like", "trufor_like", "trufor-like", "mit-b0", "mit-b2",
            "Noiseprint++ weights are not available: the noise extractor is trained from "
            "scratch with the rest"),
    _family("iml_vit", "IML-ViT", "iml_vit", "iml-vit", "vit-atto", "vit-b"),
    *(ZooModel(f"{OMNI}-{abl}", f"Omni-IML {label}",
               tiny=f"configs/omni_iml/ablations/omni-iml-{abl}_convnext-atto_1xb8-1k_"
                    "synthiml-cpu-joint-128x128.py",
               paper=f"configs/omni_iml/ablations/omni-iml-{abl}_convnext-b_8xb2-160k_"
                     "synthiml-joint-512x512.py",
               train_sets=(JOINT,), ablation_of=OMNI, note=desc)
      for abl, label, desc in (
          ("force-rgb", "w/o frequency (forced RGB)",
           "Modal Gate bypassed: every image takes the RGB path"),
          ("force-fused", "w/o gate (forced RGB+DCT)",
           "Modal Gate bypassed: every image takes the fused RGB+DCT path"),
          ("dwd-off", "w/o DWD",
           "Dynamic Weight Decoder without its Dynamic Weight Filters (plain FPN head)"),
          ("dwd-fixed", "DWD with fixed filters",
           "Dynamic Weight Filters mix their kernels with learned, sample-independent weights"),
          ("ae-box-off", "AE: box supervision off (block kept)",
           "Anomaly Enhancement block kept, its training-only detection branch (box "
           "supervision) not built"),
          ("ae-block-off", "AE: block off (box supervision on backbone features)",
           "no Anomaly Enhancement block (the neck passes the features through); the detection "
           "branch trains on the backbone features"),
      )),
)

BY_KEY: dict[str, ZooModel] = {m.key: m for m in ZOO}


def pick(csv: str | None, known: list[str] | tuple[str, ...], what: str) -> list[str]:
    """``a,b`` -> those of ``known`` in ``known``'s order; ``None``/empty -> all of them; an
    unknown name is a ``ValueError`` that lists the known ones."""
    if not csv:
        return list(known)
    wanted = [k.strip() for k in csv.split(",") if k.strip()]
    unknown = [k for k in wanted if k not in known]
    if unknown:
        raise ValueError(f"unknown {what} {', '.join(unknown)}; expected some of "
                         f"{', '.join(known)}")
    return [k for k in known if k in wanted]


def get_models(keys: str | None) -> list[ZooModel]:
    """``a,b,c`` -> those models in the zoo's order; ``None``/empty -> the whole zoo."""
    return [BY_KEY[k] for k in pick(keys, list(BY_KEY), "model(s)")]
