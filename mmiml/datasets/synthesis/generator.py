"""SynthIML: generate the four-task benchmark, in parallel and deterministically.

Every sample draws from its own random stream, seeded by (seed, task, split, index), so the
output does not depend on the number of workers or their scheduling: the same arguments give
byte-identical images, masks and manifests.

Two designs: ``tasks`` (the four-task benchmark, every profile but one) and ``probe`` (natural
images in two groups whose evidence lies either only in the compression history or only in
the pixels, see :mod:`.probe`); the design is a property of the profile.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mmiml import TASKS
from mmiml.utils.versions import installed_versions

from ..manifest import write_manifest
from .postprocess import post_process
from .source_catalog import CATALOG_PATH, package_pins
from .sources import Sources, load_sources
from .types import SynthSample, mask_iou

SPLITS: tuple[str, ...] = ("train", "val", "test")
SCHEMA = "mmiml-synthiml/1"


DESIGNS: tuple[str, ...] = ("tasks", "probe")


@dataclass(frozen=True)
class Profile:
    """Sizes of a SynthIML build: images per task and split, and the image side; ``design``
    and ``tasks`` say what is generated (the probe has one task, ``natural``)."""

    name: str
    size: int
    per_split: dict[str, int] = field(default_factory=dict)
    design: str = "tasks"
    tasks: tuple[str, ...] = TASKS


#: ``smoke`` for CI (seconds), ``cpu`` for the README's main job, ``paper`` for GPU runs,
#: ``probe`` for the routing study of Omni-IML's Modal Gate (docs/synthiml/README.md).
PROFILES: dict[str, Profile] = {
    "smoke": Profile("smoke", 64, {"train": 8, "val": 2, "test": 6}),
    "cpu": Profile("cpu", 128, {"train": 1000, "val": 100, "test": 300}),
    "paper": Profile("paper", 512, {"train": 10000, "val": 500, "test": 2000}),
    "probe": Profile("probe", 128, {"train": 1600, "val": 100, "test": 400}, design="probe",
                     tasks=("natural",)),
}
# A stream id of the probe's samples, beside the task indices: the probe's image i shares no
# random stream with the natural task's image i.
_PROBE_STREAM = 1000


def split_counts(per_task: int) -> dict[str, int]:
    """Split ``per_task`` images 70/10/20 into train/val/test (our choice)."""
    val, test = per_task // 10, per_task // 5
    return {"train": per_task - val - test, "val": val, "test": test}


def task_generators() -> dict[str, Callable[..., SynthSample]]:
    from .document import generate_document
    from .face import generate_face
    from .natural import generate_natural
    from .scene_text import generate_scene_text

    return {"natural": generate_natural, "document": generate_document, "face": generate_face,
            "scene_text": generate_scene_text}


def sample_rng(seed: int, task: str, split: str, index: int, design: str = "tasks"
               ) -> np.random.Generator:
    stream = _PROBE_STREAM if design == "probe" else TASKS.index(task)
    return np.random.default_rng(
        np.random.SeedSequence([seed, stream, SPLITS.index(split), index]))


# Worker state, set once per process (forked workers inherit it from the parent).
_STATE: dict[str, Any] = {}


def _init_worker(sources: Sources, out: str, size: int, seed: int, authentic_ratio: float,
                 design: str = "tasks") -> None:
    _STATE.update(sources=sources, out=out, size=size, seed=seed,
                  authentic_ratio=authentic_ratio, generators=task_generators(), design=design)


def make_sample(job: tuple[str, str, int]) -> dict[str, Any]:
    """Generate, post-process and write one sample; return its manifest record."""
    if _STATE.get("design") == "probe":
        return make_probe_sample(job)
    task, split, index = job
    rng = sample_rng(_STATE["seed"], task, split, index)
    authentic = bool(rng.random() < _STATE["authentic_ratio"])
    sample = _STATE["generators"][task](rng, _STATE["size"], _STATE["sources"], authentic)
    data, ext, region, changed, post = post_process(sample, rng)
    stem = f"{task}_{split}_{index:05d}"
    out = Path(_STATE["out"])
    image_rel = f"images/{split}/{stem}{ext}"
    (out / image_rel).write_bytes(data)
    record: dict[str, Any] = {"image": str(out / image_rel), "mask": None, "task": task,
                              "source": "synthiml", "split": split}
    if region is not None and changed is not None:
        record["mask"] = _write_mask(out / f"masks/{split}/{stem}.png", region)
        record["mask_changed"] = _write_mask(out / f"masks_changed/{split}/{stem}.png", changed)
        record["mask_iou"] = round(mask_iou(region, changed), 4)
    record.update({"manipulation": sample.manipulation, "provenance": list(sample.provenance),
                   "details": _plain(sample.details), "post": _plain(post)})
    return record


def _write_mask(path: Path, mask: np.ndarray) -> str:
    Image.fromarray((mask > 0).astype(np.uint8) * 255).save(path, compress_level=6)
    return str(path)


def make_probe_sample(job: tuple[str, str, int]) -> dict[str, Any]:
    """Generate and write one sample of the probe design (its own storage, no
    ``post_process``); return its manifest record, with the ``group``."""
    from .probe import generate_probe, probe_authentic, probe_group

    task, split, index = job
    rng = sample_rng(_STATE["seed"], task, split, index, design="probe")
    group = probe_group(index)
    sample = generate_probe(rng, _STATE["size"], _STATE["sources"], group,
                            probe_authentic(index, _STATE["authentic_ratio"]))
    stem = f"{group}_{split}_{index:05d}"
    out = Path(_STATE["out"])
    image_rel = f"images/{split}/{stem}{sample.ext}"
    (out / image_rel).write_bytes(sample.data)
    mask_path = None
    if sample.mask is not None:
        mask_path = str(out / f"masks/{split}/{stem}.png")
        Image.fromarray((sample.mask > 0).astype(np.uint8) * 255).save(mask_path,
                                                                        compress_level=6)
    return {"image": str(out / image_rel), "mask": mask_path, "task": task,
            "source": "synthiml", "split": split, "group": group,
            "manipulation": sample.manipulation, "provenance": list(sample.provenance),
            "details": _plain(sample.details), "post": _plain(sample.post)}


def _plain(value: Any) -> Any:
    """JSON-ready copy: numpy scalars and arrays become Python numbers and lists."""
    return json.loads(json.dumps(value, default=lambda v: v.tolist() if hasattr(v, "tolist")
                                 else str(v)))


#: numpy picks SIMD kernels for the CPU at run time (AVX2, AVX-512...), and some of them round
#: differently (the same code wrote other bytes on an AVX-512 machine than on the machine of the
#: reference). SynthIML is therefore generated with every dispatched kernel switched off, numpy's
#: baseline code only: the variable must be set before numpy is imported, so a process whose
#: numpy runs dispatched kernels generates in a child process that sets it.
NUMPY_DISPATCH_ENV = "NPY_DISABLE_CPU_FEATURES"


def numpy_dispatch_active() -> list[str]:
    """The numpy SIMD targets this process dispatches to (empty: baseline code only)."""
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    return [t for t in __cpu_dispatch__ if __cpu_features__.get(t, False)]


def _generate_in_baseline_process(kwargs: dict[str, Any]) -> Path:
    """Run :func:`make_synthiml` in a child Python whose numpy has its dispatched targets off
    (only those this machine has: naming others would stop numpy's import)."""
    import subprocess
    import sys
    import tempfile

    env = {**os.environ, NUMPY_DISPATCH_ENV: ",".join(numpy_dispatch_active())}
    # the child imports the same mmiml as this process
    paths = [p for p in sys.path if p]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(kwargs, handle)
    try:
        proc = subprocess.run([sys.executable, "-m", "mmiml.datasets.synthesis.generator",
                               handle.name], env=env, check=False)
    finally:
        os.unlink(handle.name)
    if proc.returncode != 0:
        raise RuntimeError(f"SynthIML generation into {kwargs['out_dir']} failed in its "
                           f"baseline-numpy process (exit status {proc.returncode}; its error "
                           "is printed above)")
    return Path(kwargs["out_dir"]) / "manifest.jsonl"


def make_synthiml(
    out_dir: str | os.PathLike[str],
    *,
    per_split: dict[str, int],
    size: int,
    seed: int = 0,
    workers: int = 1,
    authentic_ratio: float = 0.2,
    tasks: Sequence[str] = TASKS,
    photo_dirs: Sequence[str] = (),
    face_dirs: Sequence[str] = (),
    font_dirs: Sequence[str] = (),
    progress: bool = True,
    design: str = "tasks",
    sources_cache: str | os.PathLike[str] | None = None,
) -> Path:
    """Write SynthIML under ``out_dir``; return the path of its combined manifest.

    Writes ``images/<split>/``, ``masks/<split>/`` (the primary masks: the edited regions,
    filled), ``masks_changed/<split>/`` (exactly the changed pixels; the four-task design),
    ``manifest.jsonl`` (all splits; tampered records carry ``mask_changed`` and ``mask_iou``, the
    IoU of the two masks), ``<split>.jsonl`` per split, and ``synthiml.json`` with the arguments,
    counts and source and library versions.
    ``design='probe'`` writes the probe (``tasks`` must then be ``('natural',)``): images
    alternate between its two groups, and exactly ``authentic_ratio`` of each is authentic.
    ``sources_cache`` is the folder of the fetched sources (default: ``$MMIML_SOURCES`` or
    ``~/.cache/mmiml/sources``; ``tools/fetch_sources.py`` fills it).
    """
    if not 0.0 <= authentic_ratio <= 1.0:
        raise ValueError(f"authentic_ratio must be in [0, 1], got {authentic_ratio}")
    unknown = set(tasks) - set(TASKS)
    if unknown:
        raise ValueError(f"unknown tasks {sorted(unknown)}; valid: {TASKS}")
    if design not in DESIGNS:
        raise ValueError(f"unknown design {design!r}; valid: {DESIGNS}")
    if design == "probe" and tuple(tasks) != ("natural",):
        raise ValueError(f"the probe design has one task, natural; got tasks {list(tasks)}")
    if numpy_dispatch_active():
        return _generate_in_baseline_process(dict(
            out_dir=os.fspath(out_dir), per_split=dict(per_split), size=size, seed=seed,
            workers=workers, authentic_ratio=authentic_ratio, tasks=list(tasks),
            photo_dirs=list(photo_dirs), face_dirs=list(face_dirs),
            font_dirs=list(font_dirs), progress=progress, design=design,
            sources_cache=None if sources_cache is None else os.fspath(sources_cache)))
    out = Path(out_dir)
    for split in SPLITS:
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "masks" / split).mkdir(parents=True, exist_ok=True)
        if design == "tasks":
            (out / "masks_changed" / split).mkdir(parents=True, exist_ok=True)
    sources = load_sources(tuple(photo_dirs), tuple(face_dirs), tuple(font_dirs),
                           cache=sources_cache)
    jobs = [(task, split, i) for split in SPLITS for task in tasks
            for i in range(per_split.get(split, 0))]
    init_args = (sources, str(out), size, seed, authentic_ratio, design)
    records: list[dict[str, Any]] = []
    bar = _progress(len(jobs), progress)
    import cv2

    # one OpenCV thread in the generating process(es): no oversubscription, no result that
    # could depend on how a filter was split across threads. Set in the parent before the
    # workers fork (changing it inside a forked child can hang on the parent's thread pool),
    # and restored afterwards.
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        if workers <= 1:
            _init_worker(*init_args)
            for job in jobs:
                records.append(make_sample(job))
                bar.update(1)
        else:
            ctx = mp.get_context("fork")  # workers inherit the loaded sources
            with ctx.Pool(workers, initializer=_init_worker, initargs=init_args) as pool:
                for record in pool.imap(make_sample, jobs, chunksize=8):
                    records.append(record)
                    bar.update(1)
    finally:
        cv2.setNumThreads(threads)
    bar.close()
    write_manifest(records, out / "manifest.jsonl")
    for split in SPLITS:
        write_manifest([r for r in records if r["split"] == split], out / f"{split}.jsonl")
    info = {
        "schema": SCHEMA,
        "args": {"design": design, "per_split": per_split, "size": size, "seed": seed,
                 "authentic_ratio": authentic_ratio, "tasks": list(tasks),
                 "photo_dirs": list(photo_dirs), "face_dirs": list(face_dirs),
                 "font_dirs": list(font_dirs)},
        "fonts": [name for name, _ in sources.fonts],
        "source_packages": package_pins(),
        "libraries": library_versions(),
        "numpy_dispatch": "off (baseline kernels only)",
        "counts": {split: sum(r["split"] == split for r in records) for split in SPLITS},
    }
    (out / "synthiml.json").write_text(json.dumps(info, indent=1, sort_keys=True) + "\n")
    return out / "manifest.jsonl"


def _progress(total: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc="SynthIML", unit="img", disable=not enabled, mininterval=1.0)


def profile_args(profile: str | Profile) -> dict[str, Any]:
    """``make_synthiml`` arguments of a profile (design and tasks only where they are not the
    defaults, so the cache keys of the four-task profiles stay as they were)."""
    prof = PROFILES[profile] if isinstance(profile, str) else profile
    args: dict[str, Any] = {"per_split": dict(prof.per_split), "size": prof.size}
    if prof.design != "tasks":
        args["design"] = prof.design
    if tuple(prof.tasks) != TASKS:
        args["tasks"] = list(prof.tasks)
    return args


def ensure_synthiml(
    profile: str = "cpu", root: str | os.PathLike[str] = "data/synthiml", *, seed: int = 0,
    workers: int | None = None,
) -> Path:
    """Generate a profile under ``root/<profile>`` on first use, then reuse the cache.

    The cache is keyed by a hash of the generation arguments and of the generator's code, so a
    change to either regenerates instead of silently reusing stale data.
    """
    args = dict(profile_args(profile), seed=seed)
    key = hashlib.sha256(
        (json.dumps(args, sort_keys=True) + _code_digest()).encode()).hexdigest()[:16]
    out = Path(root) / (profile if isinstance(profile, str) else profile.name)
    stamp = out / ".complete"
    if stamp.exists() and stamp.read_text().strip() == key:
        return out / "manifest.jsonl"
    manifest = make_synthiml(out, workers=workers or min(4, os.cpu_count() or 1), **args)
    stamp.write_text(key + "\n")
    return manifest


def _code_digest() -> str:
    """The generator's code, its source catalog and the versions of the libraries whose
    output enters the bytes (a new Pillow may encode JPEG differently)."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in [*sorted(here.glob("*.py")), CATALOG_PATH]:
        h.update(path.read_bytes())
    h.update(json.dumps(library_versions(), sort_keys=True).encode())
    return h.hexdigest()


#: the libraries whose output enters SynthIML's bytes (JPEG and PNG coding, resampling,
#: inpainting, random streams, fonts)
BYTE_LIBRARIES: tuple[str, ...] = ("numpy", "pillow", "opencv-python", "scikit-image", "scipy")


def library_versions() -> dict[str, str]:
    return installed_versions(BYTE_LIBRARIES)


#: content hashes of the ``smoke`` profile (seed 0) on the pinned stack: the reference that
#: ``tests/test_synthiml_content_hash.py`` and ``make_synthetic.py --check-reference`` compare
REFERENCE_PATH = Path(__file__).with_name("content_hashes.json")


def content_hashes(manifest: str | os.PathLike[str]) -> dict[str, dict[str, str]]:
    """``{split: {task: hash}}``: sha256 (16 hex) of each split's records and files
    (:func:`mmiml.benchmark.provenance.test_data_hashes`), independent of where they lie."""
    from mmiml.benchmark.provenance import test_data_hashes

    return {split: test_data_hashes(manifest, split) for split in SPLITS}


def write_reference(hashes: dict[str, dict[str, str]], path: Path = REFERENCE_PATH) -> None:
    record = {"profile": "smoke", "seed": 0, "libraries": library_versions(),
              "source_packages": package_pins(), "hashes": hashes}
    path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")


def compare_with_reference(hashes: dict[str, dict[str, str]], path: Path = REFERENCE_PATH
                           ) -> list[str]:
    """What differs from the committed reference, one phrase each (library versions first:
    another Pillow or OpenCV may encode other bytes, which is a set-up problem, not a
    generator change)."""
    ref = json.loads(path.read_text())
    problems = [f"{name} {have} installed, reference made with {want}"
                for name, want in ref["libraries"].items()
                if (have := library_versions().get(name)) != want]
    problems += [f"source {name} {have}, reference {want}"
                 for name, want in ref["source_packages"].items()
                 if (have := package_pins().get(name)) != want]
    for split, tasks in ref["hashes"].items():
        for task, want in tasks.items():
            have = hashes.get(split, {}).get(task)
            if have != want:
                problems.append(f"{split}/{task}: {have}, reference {want}")
    return problems


def _main(argv: list[str]) -> int:
    """``python -m mmiml.datasets.synthesis.generator ARGS.json``: make_synthiml with the
    keyword arguments in the file (how :func:`_generate_in_baseline_process` calls it)."""
    kwargs = json.loads(Path(argv[0]).read_text())
    if numpy_dispatch_active():  # the variable did not take: never write other bytes
        raise SystemExit(f"numpy still dispatches to {numpy_dispatch_active()} with "
                         f"{NUMPY_DISPATCH_ENV}={os.environ.get(NUMPY_DISPATCH_ENV)!r}")
    make_synthiml(**kwargs)
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(_main(sys.argv[1:]))


__all__ = ["DESIGNS", "REFERENCE_PATH", "compare_with_reference", "content_hashes",
           "write_reference", "PROFILES", "Profile", "SPLITS", "ensure_synthiml", "make_synthiml",
           "profile_args", "split_counts"]
