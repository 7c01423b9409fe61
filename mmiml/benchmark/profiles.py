"""Benchmark profiles: which configs, how long, on which data.

A profile turns a model's config into the config a benchmark run trains: the scale of the
config (tiny CPU twin or paper), an optional iteration budget (the schedule is rescaled to it,
warm-up included), the data (SynthIML profile and crop) and the checkpoint interval that bounds
what a killed benchmark loses.
"""
from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass

from mmengine.config import Config

from mmiml.utils.config import find_type, iter_dicts
from mmiml.utils.errors import ConfigError

from .zoo import JOINT, TRAIN_SETS, ZOO, ZooModel, get_models, pick

#: the training-free references scored beside the models (mmiml.evaluation.lower_bounds)
LOWER_BOUND_NAMES: tuple[str, ...] = ("all_tampered", "centre_blob", "ela", "noise_residual")

#: ``--model`` of a lower-bound run: this prefix and one of LOWER_BOUND_NAMES
LOWER_BOUND_PREFIX = "lower_bound:"


@dataclass(frozen=True)
class BenchmarkProfile:
    """How a profile builds, trains and tests its runs.

    Attributes:
        name: ``smoke``, ``cpu``, ``cpu-long``, ``paper`` or a protocol's.
        scale: which config of each model (``tiny`` or ``paper``).
        models: the default model keys (comma-separated), ``None`` for the whole zoo.
        train_sets: the default training sets (``--tasks`` syntax), ``None`` for every task
            and ``joint``.
        max_iters: training iterations of every run; ``None`` keeps the config's schedule.
        checkpoint_interval: iterations between checkpoints (resume granularity).
        synthiml: the SynthIML profile to train and test on; ``None`` keeps the config's data.
        crop: training crop for ``synthiml`` data; ``None`` keeps the config's.
        batch_size: per-process training batch; ``None`` keeps the config's.
        jobs: runs at once by default, each with cpu_count/jobs threads (on 2 cores, two
            one-thread runs train more images per second than one two-thread run).
        curve_points: validations on the val split during training, at equal intervals (the
            last at the end); each run's result file keeps them as its learning curve. 0: none.
        robustness_per_task: test images per task of the robustness protocol
            (``mmiml.evaluation.robustness``) run after the test of every joint run of seed 0;
            ``None``: no robustness axis.
        robustness_kinds: the degradations of that protocol.
        joint_seeds: seeds 0..N-1 of every jointly trained run (``--seeds`` overrides).
        single_task_seeds: seeds of every single-task run (``--seeds`` overrides).
        protocol: a real-data protocol (``mmiml.benchmark.protocols``): the runs train and test
            on the manifests ``tools/benchmark.py --data-root`` prepared, joint runs only.
        description: one line for the leaderboard.
    """

    name: str
    scale: str
    models: str | None
    max_iters: int | None
    checkpoint_interval: int
    train_sets: str | None = None
    synthiml: str | None = None
    crop: int | None = None
    batch_size: int | None = None
    jobs: int = 1
    curve_points: int = 0
    robustness_per_task: int | None = None
    robustness_kinds: tuple[str, ...] = ("jpeg", "blur", "noise", "resize")
    joint_seeds: int = 1
    single_task_seeds: int = 1
    protocol: str | None = None
    description: str = ""

    def seeds_for(self, train_set: str, override: int | None = None) -> int:
        """How many seeds a run on ``train_set`` gets: ``override`` (``--seeds``) when given,
        else the profile's joint or single-task count."""
        if override is not None:
            return override
        return self.joint_seeds if train_set == JOINT else self.single_task_seeds

    def train_sets_list(self) -> tuple[str, ...]:
        """The training sets a run of this profile covers without ``--tasks``."""
        return tuple(pick(self.train_sets, TRAIN_SETS, "training set(s)"))

    def models_list(self, keys: str | None = None) -> list[ZooModel]:
        """``--models`` (default: the profile's) -> zoo models; an unknown key is a
        :class:`ConfigError` naming ``--models``."""
        try:
            return get_models(keys if keys else self.models)
        except ValueError as e:
            raise ConfigError("--models", str(e)) from None

    def budget(self, cfg: Config) -> str:
        """The training budget of a resolved run config, in words (printed on the leaderboard)."""
        crop = crop_of(cfg) or "?"
        return (f"{cfg.train_cfg.max_iters} iterations x batch {cfg.train_dataloader.batch_size}"
                f" at {crop}x{crop} px")


#: the zoo without the Omni-IML ablations
MAIN_MODELS = ",".join(m.key for m in ZOO if m.ablation_of is None)

PROFILES: dict[str, BenchmarkProfile] = {
    "smoke": BenchmarkProfile(
        "smoke", "tiny", "plain_convnext_uper,iml_vit", max_iters=20, checkpoint_interval=10,
        synthiml="smoke", crop=64, batch_size=4, jobs=2, curve_points=2,
        robustness_per_task=2, robustness_kinds=("jpeg", "resize"),
        description="CI: two tiny models, 20 iterations on SynthIML `smoke` (64 px); checks "
                    "the pipeline, the figures mean nothing"),
    # The default: fits 2 hours on 2 CPU cores (joint runs of the nine models, 3 seeds each,
    # robustness on seed 0). 500 iterations is what fits, not what converges: see `cpu-long`.
    "cpu": BenchmarkProfile(
        "cpu", "tiny", MAIN_MODELS, max_iters=500, checkpoint_interval=100, train_sets=JOINT,
        jobs=2, curve_points=4, robustness_per_task=8, joint_seeds=3, single_task_seeds=1,
        description="the nine models as tiny twins, trained jointly (3 seeds) on SynthIML "
                    "`cpu` (128 px), from scratch, on 2 CPU cores; fits 2 hours"),
    # The science: the budget the plain baseline's learning curve asks for (docs/benchmark.md,
    # "Choosing the budget"), single-task runs for the degradation report and every ablation.
    "cpu-long": BenchmarkProfile(
        "cpu-long", "tiny", None, max_iters=1050, checkpoint_interval=150, jobs=2,
        curve_points=7, robustness_per_task=25, joint_seeds=3, single_task_seeds=1,
        description="every model and ablation as its tiny twin, single-task and joint (3 "
                    "seeds), at the learning-curve budget on SynthIML `cpu`; hours on 2 cores"),
    "paper": BenchmarkProfile(
        "paper", "paper", None, max_iters=None, checkpoint_interval=8000,
        description="paper configs (160k iterations, 512 crops) on SynthIML `paper`; GPUs"),
}


def _protocol_profiles() -> dict[str, BenchmarkProfile]:
    """Two profiles per real-data protocol: ``<name>`` (tiny twins, their 1k-iteration schedule,
    CPU) and ``<name>-paper`` (the paper configs; GPUs with ``--gpus N``)."""
    from .protocols import PROTOCOLS

    out = {}
    for name, protocol in PROTOCOLS.items():
        out[name] = BenchmarkProfile(
            name, "tiny", MAIN_MODELS, max_iters=None, checkpoint_interval=100, jobs=2,
            protocol=name, description=f"{protocol.title}; tiny twins on CPU")
        out[f"{name}-paper"] = BenchmarkProfile(
            f"{name}-paper", "paper", MAIN_MODELS, max_iters=None, checkpoint_interval=8000,
            protocol=name, description=f"{protocol.title}; paper configs on GPUs")
    return out


PROFILES.update(_protocol_profiles())


def get_profile(name: str, max_iters: int | None = None) -> BenchmarkProfile:
    """A profile by name; ``max_iters`` derives a profile with another budget, named
    ``<name>@<N>it`` so its results never mix with the profile's own."""
    if name not in PROFILES:
        raise ConfigError("--profile", f"unknown profile {name!r}: expected one of "
                                       f"{', '.join(PROFILES)}")
    if max_iters is not None and (isinstance(max_iters, bool) or not isinstance(max_iters, int)
                                  or max_iters < 1):
        raise ConfigError("--max-iters", f"must be a whole number of at least 1, got "
                                         f"{max_iters!r}")
    profile = PROFILES[name]
    if max_iters is None or max_iters == profile.max_iters:
        return profile
    return dataclasses.replace(
        profile, name=f"{name}@{max_iters}it", max_iters=max_iters,
        checkpoint_interval=min(profile.checkpoint_interval, max_iters),
        description=f"{profile.description} (budget changed to {max_iters} iterations)")


def crop_of(cfg: Config) -> int | None:
    """The training crop side of a resolved config (its ``GridAlignedRandomCrop``), or
    ``None`` when the training pipeline has no such crop."""
    crop = find_type(cfg.train_dataloader.dataset.get("pipeline", []), "GridAlignedRandomCrop")
    return int(crop["crop_size"][0]) if crop else None


def _rescale_schedule(cfg: Config, max_iters: int) -> None:
    """Set ``max_iters`` and stretch every iteration-based scheduler to it proportionally."""
    old = cfg.train_cfg.max_iters
    cfg.train_cfg.max_iters = max_iters
    cfg.train_cfg.val_interval = max_iters
    for sched in cfg.get("param_scheduler") or []:
        if sched.get("by_epoch", True) is not False:
            raise ValueError(f"{sched.get('type')}: only iteration-based schedulers can be "
                             "rescaled to a profile's budget")
        for key in ("begin", "end"):
            if key in sched and sched[key] is not None:
                sched[key] = max(1, round(sched[key] * max_iters / old)) if sched[key] else 0
    # the teacher-forcing switch of the Modal Gate Encoder is counted in iterations too
    backbone = cfg.model.get("backbone", {})
    if isinstance(backbone, dict) and backbone.get("teacher_forcing_iters"):
        backbone["teacher_forcing_iters"] = round(
            backbone["teacher_forcing_iters"] * max_iters / old)


def _learning_curve(cfg: Config, points: int) -> None:
    """Validate ``points`` times during training on the val split of every task (the test
    set's manifest), keeping each validation in the work dir (``LearningCurveHook``)."""
    import copy

    max_iters = cfg.train_cfg.max_iters
    interval = max(1, max_iters // points)
    cfg.val_dataloader = copy.deepcopy(cfg.test_dataloader)
    cfg.val_dataloader.dataset.split = "val"
    cfg.val_evaluator = dict(type="IMLMetric", per_image=False, log_table=False)
    cfg.val_cfg = dict(type="ValLoop")
    cfg.train_cfg.val_interval = interval
    # no best-checkpoint saving: the benchmark tests the last checkpoint, as every run
    cfg.default_hooks.checkpoint.pop("save_best", None)
    hooks = [h for h in cfg.get("custom_hooks") or [] if h.get("type") != "LearningCurveHook"]
    cfg.custom_hooks = [*hooks, dict(type="LearningCurveHook")]


def apply_profile(cfg: Config, profile: BenchmarkProfile, *, seed: int) -> Config:
    """Adapt a model config to ``profile`` in place (and return it).

    Every run is tested on all four tasks' test splits (the single-task runs too, so a
    single-task model's transfer to the other tasks is on record). Validation during training
    runs ``profile.curve_points`` times on the val split of every task, for the learning curve;
    with 0 it is switched off.
    """
    if profile.max_iters is not None:
        _rescale_schedule(cfg, profile.max_iters)
    hooks = cfg.default_hooks
    hooks.checkpoint.interval = profile.checkpoint_interval
    hooks.checkpoint.max_keep_ckpts = 1
    hooks.checkpoint.save_last = True
    hooks.logger.interval = min(hooks.logger.interval, max(1, cfg.train_cfg.max_iters // 10))
    cfg.randomness = dict(seed=seed, deterministic=False)
    if profile.synthiml is not None:
        ann = f"data/synthiml/{profile.synthiml}/manifest.jsonl"
        spec = dict(profile=profile.synthiml, root="data/synthiml")
        for loader in ("train_dataloader", "test_dataloader"):
            cfg[loader].dataset.ann_file = ann
            cfg[loader].dataset.synthiml = spec
    if profile.crop is not None:
        for node in iter_dicts(cfg.train_dataloader.dataset.get("pipeline", [])):
            if node.get("type") == "GridAlignedRandomCrop":
                node["crop_size"] = (profile.crop, profile.crop)
    if profile.batch_size is not None:
        cfg.train_dataloader.batch_size = profile.batch_size
    cfg.test_dataloader.dataset.pop("tasks", None)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.train_cfg.pop("val_interval", None)
    if profile.protocol:
        _protocol_data(cfg, profile.protocol)
    if profile.curve_points:
        _learning_curve(cfg, profile.curve_points)
    return cfg


def _protocol_data(cfg: Config, name: str) -> None:
    """Train on the protocol's prepared training manifest, drawing its tasks by the protocol's
    weights, and test on its test manifest (every dataset scored as a group)."""
    from .protocols import protocol_dir, read_prepared

    info = read_prepared(name)
    folder = protocol_dir(name)
    for loader, split in (("train_dataloader", "train"), ("test_dataloader", "test")):
        dataset = cfg[loader].dataset
        dataset.pop("synthiml", None)
        dataset.pop("tasks", None)
        dataset.pop("data_root", None)
        dataset.ann_file = str(folder / f"{split}.jsonl")
        dataset.split = split
    cfg.train_dataloader.sampler = dict(type="TaskWeightedInfiniteSampler",
                                        task_weights=info["task_weights"])
    # the data's identity enters the config hash: new data, new runs
    digest = hashlib.sha256()
    for name_ in ("protocol.json", "train.jsonl", "test.jsonl"):
        digest.update((folder / name_).read_bytes())
    cfg.protocol_data = digest.hexdigest()[:16]
