"""Standard real-data protocols: which of a user's datasets train, which test, and the figures
published for them.

A protocol reads the datasets the user has unpacked under one data root, each in its documented
folder (:attr:`ProtocolSet.folder`, docs/datasets.md), converts them with
``mmiml.datasets.converters`` and writes one training and one test manifest to
``data/protocols/<protocol>/``. Every test entry carries its dataset as ``group``, so the metric
scores each dataset on its own as well as each task. A dataset the user lacks is named and left
out; the protocol goes on with the rest.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmiml import TASKS
from mmiml.utils.errors import ConfigError, IMLDataError

__all__ = ["PROTOCOLS", "PreparedProtocol", "Protocol", "ProtocolSet", "ReferenceRow",
           "get_protocol", "prepare_protocol", "protocol_dir", "read_prepared"]

#: where prepared protocols live (relative to the repository, like data/synthiml); the
#: environment variable :data:`PROTOCOL_ROOT_ENV` moves them (tests, shared machines)
PROTOCOL_ROOT = Path("data/protocols")
PROTOCOL_ROOT_ENV = "MMIML_PROTOCOL_ROOT"


@dataclass(frozen=True)
class ProtocolSet:
    """One dataset in a protocol.

    Attributes:
        converter: the converter's name (``mmiml.datasets.converters.CONVERTERS``).
        folder: its folder under the data root.
        role: ``train`` or ``test``.
        splits: the converted entries kept (their own split); ``None`` keeps all.
        subsets: for datasets with subsets (DocTamper, OpenForensics), the ``subset`` values
            kept; ``None`` keeps all.
        label: the ``group`` its test entries are scored under (default: the folder).
        levels: DocTamper's test protocol: one test copy per minimum JPEG quality, each image
            recompressed by its published per-sample record (``pks/<subset>_<Q>.pk``) and
            scored as ``<label>@<Q>``; without the ``pks`` folder the set is tested as shipped.
    """

    converter: str
    folder: str
    role: str
    splits: tuple[str, ...] | None = None
    subsets: tuple[str, ...] | None = None
    label: str | None = None
    levels: tuple[int, ...] = ()


@dataclass(frozen=True)
class ReferenceRow:
    """Published figures of one model under a protocol (pixel F1 per test dataset label)."""

    model: str
    f1: Mapping[str, float]


@dataclass(frozen=True)
class Protocol:
    """A training and test protocol on real datasets.

    Attributes:
        name: the benchmark profile's name (``mvss``).
        title: one line for the leaderboard.
        sets: the datasets, train and test.
        task_weights: how the training sampler draws the tasks (those without training data
            are left out of the draw).
        not_convertible: training sets the protocol names that mmiml has no converter for
            (reported as missing whatever the data root holds).
        references: published pixel-F1 rows, shown as "reported, not run here".
        reference_source: where the reference rows come from.
    """

    name: str
    title: str
    sets: tuple[ProtocolSet, ...]
    task_weights: Mapping[str, float] = field(default_factory=lambda: {"natural": 1.0})
    not_convertible: tuple[str, ...] = ()
    references: tuple[ReferenceRow, ...] = ()
    reference_source: str = ""

    def test_labels(self) -> list[str]:
        """The test groups, each DocTamper level on its own."""
        out = []
        for s in self.sets:
            if s.role == "test":
                label = s.label or s.folder
                out += [label, *[f"{label}@{q}" for q in s.levels]]
        return out


_NATURAL_TEST = tuple(ProtocolSet(c, f, "test") for c, f in (
    ("casia1", "CASIAv1"), ("columbia", "Columbia"), ("coverage", "COVERAGE"),
    ("nist16", "NIST16"), ("imd2020", "IMD2020")))

_DINO_README = ("Yu, Wang and Ma, \"DINOv3 Beats Specialized Detectors: A Simple Foundation Model "
                "Baseline for Image Forensics\" (arXiv 2025), README results tables, rows marked "
                "'Prior' (models trained with IMDL-BenCo under this protocol); the IMDL-BenCo "
                "paper's own tables could not be checked against them")

PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (
    Protocol(
        "mvss", "MVSS-Net protocol: train on CASIA v2, test on CASIA v1, Columbia, COVERAGE, "
                "NIST16 and IMD2020 (Chen et al., ICCV 2021; IMDL-BenCo's Protocol-MVSS)",
        (ProtocolSet("casia2", "CASIAv2", "train"), *_NATURAL_TEST),
        references=tuple(ReferenceRow(m, dict(zip(
            ("COVERAGE", "Columbia", "NIST16", "CASIAv1", "IMD2020"), f1, strict=True)))
            for m, f1 in (
                ("Mantra-Net", (0.090, 0.243, 0.104, 0.125, 0.055)),
                ("ObjectFormer", (0.294, 0.336, 0.173, 0.429, 0.173)),
                ("PSCC-Net", (0.231, 0.604, 0.214, 0.378, 0.235)),
                ("NCL-IML", (0.225, 0.446, 0.260, 0.502, 0.237)),
                ("MVSS-Net", (0.259, 0.386, 0.246, 0.534, 0.279)),
                ("CAT-Net", (0.296, 0.584, 0.269, 0.581, 0.273)),
                ("IML-ViT", (0.435, 0.780, 0.331, 0.721, 0.327)),
                ("TruFor", (0.419, 0.865, 0.324, 0.721, 0.322)))),
        reference_source=_DINO_README),
    Protocol(
        "catnet", "CAT-Net protocol: train on CASIA v2 and IMD2020 (of CAT-Net's training sets, "
                  "those mmiml converts), test on CASIA v1, Columbia, COVERAGE and NIST16 "
                  "(Kwon et al., IJCV 2022; IMDL-BenCo's Protocol-CAT)",
        (ProtocolSet("casia2", "CASIAv2", "train", splits=("train",)),
         ProtocolSet("imd2020", "IMD2020", "train"),
         *[s for s in _NATURAL_TEST if s.folder != "IMD2020"]),
        not_convertible=("FantasticReality", "tampCOCO", "compRAISE"),
        references=tuple(ReferenceRow(m, dict(zip(
            ("CASIAv1", "Columbia", "NIST16", "COVERAGE"), f1, strict=True))) for m, f1 in (
                ("MVSS-Net", (0.583, 0.740, 0.336, 0.486)),
                ("PSCC-Net", (0.630, 0.884, 0.346, 0.448)),
                ("CAT-Net", (0.808, 0.915, 0.252, 0.427)),
                ("TruFor", (0.818, 0.885, 0.348, 0.457)),
                ("Mesorch", (0.840, 0.890, 0.392, 0.586)))),
        reference_source=_DINO_README),
    Protocol(
        "doctamper", "DocTamper protocol: train on DocTamperV1-TrainingSet, test on TestingSet, "
                     "FCD and SCD (Qu et al., CVPR 2023)",
        (ProtocolSet("doctamper", "DocTamper", "train", subsets=("TrainingSet",)),
         *[ProtocolSet("doctamper", "DocTamper", "test", subsets=(s,), label=f"DocTamper-{s}",
                       levels=(75, 80, 85, 90)) for s in ("TestingSet", "FCD", "SCD")]),
        task_weights={"document": 1.0}),
    Protocol(
        "omni", "Omni-IML protocol: the four tasks trained jointly, drawn 10:5:2:20 (natural: "
                "CASIA v2; document: DocTamper and T-SROIE; face: OpenForensics; scene text: "
                "Tampered-IC13 and OSTF), each task tested on its own sets",
        (ProtocolSet("casia2", "CASIAv2", "train"),
         ProtocolSet("doctamper", "DocTamper", "train", subsets=("TrainingSet",)),
         ProtocolSet("tsroie", "T-SROIE", "train", splits=("train",)),
         ProtocolSet("openforensics", "OpenForensics", "train", splits=("train",)),
         ProtocolSet("tampered_ic13", "Tampered-IC13", "train", splits=("train",)),
         ProtocolSet("ostf", "OSTF", "train", splits=("train",)),
         *_NATURAL_TEST,
         ProtocolSet("doctamper", "DocTamper", "test", subsets=("FCD",), label="DocTamper-FCD"),
         ProtocolSet("tsroie", "T-SROIE", "test", splits=("test",)),
         ProtocolSet("openforensics", "OpenForensics", "test", splits=("test",)),
         ProtocolSet("tampered_ic13", "Tampered-IC13", "test", splits=("test",)),
         ProtocolSet("ostf", "OSTF", "test", splits=("test",))),
        task_weights={"natural": 10, "document": 5, "face": 2, "scene_text": 20}),
)}


def get_protocol(name: str) -> Protocol:
    if name not in PROTOCOLS:
        raise ConfigError("--profile", f"unknown protocol {name!r}; expected one of "
                                       f"{', '.join(PROTOCOLS)}")
    return PROTOCOLS[name]


def protocol_dir(name: str) -> Path:
    return Path(os.environ.get(PROTOCOL_ROOT_ENV) or PROTOCOL_ROOT) / name


@dataclass
class PreparedProtocol:
    """What :func:`prepare_protocol` wrote: the manifests and which datasets were found."""

    name: str
    train: Path
    test: Path
    present: list[str]
    missing: list[str]
    task_weights: dict[str, float]
    counts: dict[str, dict[str, int]]
    fingerprints: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"protocol": self.name, "train": self.train.name, "test": self.test.name,
                "present": self.present, "missing": self.missing,
                "task_weights": self.task_weights, "counts": self.counts,
                "fingerprints": self.fingerprints}


def _fingerprint(root: Path) -> str:
    """Names, sizes and times of the files under ``root``: a changed dataset converts again."""
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            st = p.stat()
            h.update(f"{p.relative_to(root)}|{st.st_size}|{int(st.st_mtime)}\n".encode())
    return h.hexdigest()[:16]


def _convert(pset: ProtocolSet, folder: Path, out_dir: Path, log: Callable[[str], None],
             **options: Any) -> tuple[list[dict[str, Any]], str]:
    """The converted entries of one dataset folder and its fingerprint, cached by it."""
    from mmiml.datasets.converters import convert_dataset
    from mmiml.datasets.manifest import read_manifest

    suffix = "".join(f"_{k}{v}" for k, v in sorted(options.items()))
    manifest = out_dir / "converted" / f"{pset.converter}{suffix}.jsonl"
    stamp = manifest.with_suffix(".source.json")
    key = {"root": str(folder.resolve()), "fingerprint": _fingerprint(folder), **options}
    if manifest.is_file() and stamp.is_file() and json.loads(stamp.read_text()) == key:
        return read_manifest(manifest), key["fingerprint"]
    entries, report = convert_dataset(pset.converter, folder, manifest, **options)
    log(f"protocol: converted {folder} ({pset.converter}): {report.num_entries} entries, "
        f"{report.num_left_out} left out (report: {manifest}.report.json)")
    stamp.write_text(json.dumps(key) + "\n")
    return (read_manifest(manifest) if entries else []), key["fingerprint"]


def _recompressed(pset: ProtocolSet, folder: Path, entries: list[dict[str, Any]], out: Path,
                  level: int) -> tuple[list[dict[str, Any]], int]:
    """Test entries of DocTamper at one minimum quality: each image recompressed by its
    published record (``doctamper_recompress``), written once under
    ``<out>/recompressed/q<level>/``; and how many had no record."""
    from mmiml.datasets.converters.doctamper import (
        DOCTAMPER_SUBSETS,
        compression_records,
        doctamper_recompress,
        record_qualities,
    )

    lmdb_folder = {short: name for name, (short, _) in DOCTAMPER_SUBSETS.items()}
    label = pset.label or pset.folder
    rows, no_record = [], 0
    loaded: dict[str, tuple[Path, Any]] = {}
    for e in entries:
        subset = str(e["subset"])
        if subset not in loaded:
            loaded[subset] = compression_records(folder / "pks", lmdb_folder[subset], level)
        pk, records = loaded[subset]
        qualities = record_qualities(pk, records, int(e["lmdb_index"]))
        if qualities is None:
            no_record += 1
            continue
        target = out / "recompressed" / f"q{level}" / subset / f"{e['lmdb_index']}.jpg"
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(doctamper_recompress(Path(e["image"]).read_bytes(), qualities))
        entry = {k: v for k, v in e.items() if k != "line"}
        entry.update(image=str(target), orig_split=e["split"], split="test",
                     group=f"{label}@{level}", compression_qualities=qualities,
                     doctamper_min_quality=level)
        rows.append(entry)
    return rows, no_record


def prepare_protocol(name: str, data_root: str | Path, *, out_dir: Path | None = None,
                     log: Callable[[str], None] = print) -> PreparedProtocol:
    """Convert the protocol's datasets found under ``data_root`` and write its training and
    test manifests (and ``protocol.json``) to ``out_dir`` (default ``data/protocols/<name>``).

    Raises:
        IMLDataError: the data root is missing, or it holds no training or no test set of
            the protocol (the message names every folder looked for).
    """
    from mmiml.datasets.manifest import write_manifest

    protocol = get_protocol(name)
    root = Path(data_root).expanduser()
    if not root.is_dir():
        raise IMLDataError(str(root), "data root not found")
    out = Path(out_dir) if out_dir is not None else protocol_dir(name)
    out.mkdir(parents=True, exist_ok=True)
    converted: dict[tuple[str, str], list[dict[str, Any]]] = {}
    fingerprints: dict[str, str] = {}
    present: list[str] = []
    missing: list[str] = [f"{n} (no converter in mmiml)" for n in protocol.not_convertible]
    rows: dict[str, list[dict[str, Any]]] = {"train": [], "test": []}
    for pset in protocol.sets:
        folder = root / pset.folder
        label = pset.label or pset.folder
        if not folder.is_dir():
            note = f"{label} ({pset.role}; expected folder {folder})"
            if note not in missing:
                missing.append(note)
            continue
        cache_key = (pset.converter, pset.folder)
        if cache_key not in converted:
            converted[cache_key], fingerprints[pset.folder] = _convert(pset, folder, out, log)
        kept = [e for e in converted[cache_key]
                if (pset.splits is None or e["split"] in pset.splits)
                and (pset.subsets is None or e.get("subset") in pset.subsets)]
        if not kept:
            missing.append(f"{label} ({pset.role}; {folder} holds no entries for it)")
            continue
        if pset.levels and pset.role == "test":
            if (folder / "pks").is_dir():
                for level in pset.levels:
                    try:
                        leveled, no_record = _recompressed(pset, folder, kept, out, level)
                    except IMLDataError as e:  # that level's records are not there
                        missing.append(f"{label}@{level} ({e})")
                        continue
                    rows["test"] += leveled
                    if no_record:
                        missing.append(f"{label}@{level}: {no_record} image(s) without a "
                                       "compression record")
                present.append(f"{label} ({pset.role}; at minimum quality "
                               f"{', '.join(map(str, pset.levels))}, and as shipped)")
            else:
                present.append(f"{label} ({pset.role}; as shipped)")
                missing.append(f"{label} at minimum quality "
                               f"{', '.join(map(str, pset.levels))} (no pks/ folder in "
                               f"{folder}; tested as shipped)")
        else:
            present.append(f"{label} ({pset.role})")
        for e in kept:
            entry = {k: v for k, v in e.items() if k != "line"}
            entry["orig_split"] = e["split"]
            entry["split"] = pset.role
            if pset.role == "test":
                entry["group"] = label
            rows[pset.role].append(entry)
    for role in ("train", "test"):
        if not rows[role]:
            looked = [f"{root / s.folder}" for s in protocol.sets if s.role == role]
            raise IMLDataError(str(root), f"no {role} set of the {name} protocol found (looked "
                                          f"for {', '.join(looked)}); docs/datasets.md names "
                                          "the folders")
    tasks = {e["task"] for e in rows["train"]}
    weights = {t: float(w) for t, w in protocol.task_weights.items() if t in tasks and w > 0}
    if not weights:  # the protocol's weights name none of the tasks it found: draw evenly
        weights = dict.fromkeys(sorted(tasks), 1.0)
    counts = {role: {t: sum(e["task"] == t for e in rows[role]) for t in TASKS
                     if any(e["task"] == t for e in rows[role])} for role in rows}
    prepared = PreparedProtocol(name, out / "train.jsonl", out / "test.jsonl", present, missing,
                                weights, counts)
    write_manifest(rows["train"], prepared.train)
    write_manifest(rows["test"], prepared.test)
    (out / "protocol.json").write_text(json.dumps(prepared.to_dict(), indent=1) + "\n")
    for line in missing:
        log(f"protocol {name}: missing {line}; going on without it")
    return prepared


def read_prepared(name: str, out_dir: Path | None = None) -> dict[str, Any]:
    """``protocol.json`` of a prepared protocol, or an error saying how to prepare it."""
    path = (Path(out_dir) if out_dir is not None else protocol_dir(name)) / "protocol.json"
    if not path.is_file():
        raise IMLDataError(str(path), f"the {name} protocol is not prepared: run "
                                      f"python tools/benchmark.py --profile {name} --data-root "
                                      "DIR (it converts the datasets first)")
    return json.loads(path.read_text())
