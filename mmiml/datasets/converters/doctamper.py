"""DocTamper (Qu et al., "Towards Robust Tampered Text Detection in Document Image", CVPR 2023;
repository ``qcf-568/DocTamper``).

The dataset ships as four LMDB databases, ``DocTamperV1-{TrainingSet,TestingSet,FCD,SCD}/``
(``data.mdb`` + ``lock.mdb``), each with the keys ``num-samples`` (the count as text),
``image-%09d`` (encoded image bytes) and ``label-%09d`` (encoded mask bytes), 0-based
(``dataloader.py``). Every sample is tampered: the authentic documents were not released.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from mmiml.utils.errors import ConfigError, IMLDataError

from .base import ConversionContext, DatasetConverter
from .safe_pickle import load_pickle

__all__ = ["DOCTAMPER_SUBSETS", "MIN_QUALITIES", "DocTamperConverter", "compression_records",
           "doctamper_recompress", "record_qualities"]

#: LMDB folder -> (subset name in the entries, split)
DOCTAMPER_SUBSETS: dict[str, tuple[str, str]] = {
    "DocTamperV1-TrainingSet": ("TrainingSet", "train"),
    "DocTamperV1-TestingSet": ("TestingSet", "test"),
    "DocTamperV1-FCD": ("FCD", "test"),
    "DocTamperV1-SCD": ("SCD", "test"),
}
#: the ``--minq`` values the published per-sample compression records exist for
MIN_QUALITIES: tuple[int, ...] = (75, 80, 85, 90)
_PIL_EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "BMP": ".bmp", "TIFF": ".tif",
                   "WEBP": ".webp", "GIF": ".gif"}


def doctamper_recompress(image_bytes: bytes, qualities: list[int]) -> bytes:
    """The JPEG bytes a DocTamper test image becomes under the published compression protocol.

    ``qualities`` is one record of ``pks/<lmdb>_<minq>.pk`` (1 to 3 qualities, in the order
    they are applied; the last is the final one). The reference loader (``dataloader.py`` /
    ``models/eval_dtd.py``) converts the image to grayscale, then saves it as JPEG at
    ``record[-3]``, ``record[-2]`` (those present) and ``record[-1]``, reopening it after each
    save. As coded it writes every save into the same temporary file without truncating it, so
    what is decoded is effectively one compression at ``record[0]`` (the authors call it an
    oversight on their issue tracker; FFDN, ``Rapisurazurite/FFDN``,
    ``doc_tamper_transforms.py``, therefore applies ``record[0]`` once). This function
    implements the intended sequence, our choice: grayscale, then each of the last three
    qualities in order, each save decoded again before the next; the result carries the final
    quality's quantisation table, as the reference loader's ``qtb`` does.

    Raises:
        ValueError: no quality, or one outside 1..100.
        IMLDataError: ``image_bytes`` is not a decodable image.
    """
    qs = [int(q) for q in qualities][-3:]
    if not qs:
        raise ValueError("doctamper_recompress needs at least one JPEG quality")
    if any(not 1 <= q <= 100 for q in qs):
        raise ValueError(f"JPEG qualities must be in 1..100, got {list(qualities)}")
    try:
        img = Image.open(io.BytesIO(image_bytes))
        img = img.convert("L")
    except (OSError, SyntaxError, ValueError) as e:
        raise IMLDataError("<image bytes>", f"not a decodable image ({e})") from None
    data = b""
    for q in qs:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=q)
        data = buf.getvalue()
        img = Image.open(io.BytesIO(data))
        img.load()
    return data


def compression_records(pks: Path, folder: str, minq: int) -> tuple[Path, Any]:
    """``(pk path, records)`` of the LMDB ``folder`` (``DocTamperV1-FCD``) at minimum quality
    ``minq``: ``pks/DocTamperV1-<subset>_<minq>.pk`` (``<subset>_<minq>.pk`` accepted too, our
    choice), loaded without running code; `record_qualities` reads one
    sample's record from it.

    Raises:
        IMLDataError: no such file, or it is not a collection of records.
    """
    names = [f"{folder}_{minq}.pk", f"{DOCTAMPER_SUBSETS[folder][0]}_{minq}.pk"]
    found = next((pks / n for n in names if (pks / n).is_file()), None)
    if found is None:
        raise IMLDataError(str(pks), f"no {' or '.join(names)}: the compression record "
                                     f"of {folder} at min quality {minq}")
    records = load_pickle(found)
    if not isinstance(records, (dict, list, tuple, np.ndarray)):
        raise IMLDataError(str(found), f"expected a dict or list of quality records "
                                       f"indexed by sample, got {type(records).__name__}")
    return found, records


def record_qualities(pk: Path, records: Any, index: int) -> list[int] | None:
    """The qualities of sample ``index`` (None when the pk has no record for it)."""
    if isinstance(records, dict):
        record = records.get(index, records.get(str(index)))
    else:
        record = records[index] if index < len(records) else None
    if record is None:
        return None
    seq = np.asarray(record).reshape(-1) if not isinstance(record, (str, bytes)) else None
    if seq is None or seq.size == 0 or seq.dtype.kind not in "iuf":
        raise IMLDataError(str(pk), f"record {index}: expected 1 to 3 JPEG qualities, got "
                                    f"{record!r}")
    qs = [int(q) for q in seq]
    if any(q != v or not 1 <= q <= 100 for q, v in zip(qs, seq.tolist())):
        raise IMLDataError(str(pk), f"record {index}: JPEG qualities must be integers in "
                                    f"1..100, got {record!r}")
    return qs



def _image_extension(data: bytes) -> str | None:
    """The file extension the encoded ``data`` needs (``.jpg`` for JPEG), None if PIL cannot
    identify it."""
    if data[:2] == b"\xff\xd8":
        return ".jpg"
    try:
        with Image.open(io.BytesIO(data)) as img:
            return _PIL_EXTENSIONS.get(img.format or "")
    except (OSError, SyntaxError, ValueError):
        return None


def _label_scale(label: np.ndarray) -> str:
    top = int(label.max())
    return {0: "all zero", 1: "0/1", 255: "0/255"}.get(top, f"max {top}")


class DocTamperConverter(DatasetConverter):
    """DocTamper: ``DocTamperV1-{TrainingSet,TestingSet,FCD,SCD}/data.mdb`` under the root.

    Splits: TrainingSet = train; TestingSet, FCD and SCD = test; each entry records its
    ``subset`` (``TrainingSet``, ``TestingSet``, ``FCD``, ``SCD``) and ``lmdb_index``. Subsets
    not present are reported as skipped; at least one must be.

    Images: each record's bytes are written unchanged (no re-encoding, so the JPEG's DCT
    coefficients and quantisation tables survive) to ``<manifest stem>_images/<subset>/<index>
    .jpg`` beside the manifest (the extension follows the bytes when they are not JPEG).
    Labels: decoded as grayscale and binarised ``!= 0``: the shipped labels are 0/1 for most
    samples, 0/255 for some, and some hold the value 2 (the authors' answers on the
    repository's issue tracker; ``vizlmdb.py`` scales a label by 255 when its maximum is 1);
    how many of each a subset holds is one ``defects`` line. An all-zero label is an empty mask
    (reported, left out), a record that does not decode is reported as undecodable.

    Compression protocol (options ``min_quality`` in :data:`MIN_QUALITIES`, CLI
    ``--doctamper-min-quality``, and ``pks``, default ``<root>/pks``): every test entry gets
    ``compression_qualities`` (the record of ``<pks>/DocTamperV1-<subset>_<minq>.pk`` for its
    index; ``<subset>_<minq>.pk`` is accepted too, our choice) and ``doctamper_min_quality``;
    :func:`doctamper_recompress` applies them. ``qt_table.pk`` (in ``pks`` or at the root) is
    checked to hold a table for every final quality, as the reference loader needs. The
    TrainingSet has no record (training compresses at random). The pickles are read with
    :func:`~mmiml.datasets.converters.safe_pickle.load_pickle` (data only).
    """

    NAME = "doctamper"
    SOURCE = "DocTamper"
    TASK = "document"
    SPLIT = "test"
    LAYOUT = ("DocTamperV1-{TrainingSet,TestingSet,FCD,SCD}/data.mdb (LMDB: num-samples, "
              "image-%09d, label-%09d); pks/DocTamperV1-<subset>_<minq>.pk, qt_table.pk")
    PROTOCOLS = ("doctamper", "omni")

    # ------------------------------------------------------------------ options
    def _min_quality(self) -> int | None:
        value = self.options.get("min_quality")
        if value is None:
            return None
        try:
            q = int(value)
        except (TypeError, ValueError):
            q = -1
        if q not in MIN_QUALITIES:
            raise ConfigError("--doctamper-min-quality", f"expected one of "
                              f"{', '.join(map(str, MIN_QUALITIES))}, got {value!r}")
        return q

    def _records(self, ctx: ConversionContext, minq: int, folders: list[str]
                 ) -> tuple[dict[str, tuple[Path, Any]], Path]:
        """folder -> (pk path, its records) for the test subsets present; the pks folder."""
        option = self.options.get("pks")
        pks = Path(option) if option else ctx.find_dir("pks", required=False)
        if pks is None or not pks.is_dir():
            raise IMLDataError(str(pks or ctx.root / "pks"),
                               "no pks folder: the compression protocol (--doctamper-min-"
                               "quality) needs DocTamper's pks/DocTamperV1-<subset>_<minq>.pk")
        out = {folder: compression_records(pks, folder, minq) for folder in folders
               if DOCTAMPER_SUBSETS[folder][1] == "test"}
        return out, pks

    @staticmethod
    def _qt_tables(ctx: ConversionContext, pks: Path) -> tuple[Path, set[int]] | None:
        for path in (pks / "qt_table.pk", ctx.root / "qt_table.pk"):
            if path.is_file():
                tables = load_pickle(path)
                if not isinstance(tables, dict):
                    raise IMLDataError(str(path), f"expected a dict quality -> 64-entry "
                                                  f"quantisation table, got "
                                                  f"{type(tables).__name__}")
                try:
                    return path, {int(k) for k in tables}
                except (TypeError, ValueError):
                    raise IMLDataError(str(path), "its keys must be JPEG qualities") from None
        return None

    # ------------------------------------------------------------------ conversion
    def convert(self, ctx: ConversionContext) -> list[dict[str, Any]]:
        import lmdb  # only this converter needs it

        present: list[tuple[str, Path]] = []
        for folder in DOCTAMPER_SUBSETS:
            path = ctx.find_dir(folder, required=False)
            if path is None:
                ctx.report.skipped.append((folder, "not present under the root"))
            elif not (path / "data.mdb").is_file():
                ctx.report.skipped.append((ctx.rel(path), "no data.mdb in it"))
            else:
                present.append((folder, path))
        if not present:
            raise IMLDataError(str(ctx.root), "no DocTamperV1-{TrainingSet,TestingSet,FCD,SCD}/"
                                              "data.mdb: is this the DocTamper root?")
        minq = self._min_quality()
        records: dict[str, tuple[Path, Any]] = {}
        tables: tuple[Path, set[int]] | None = None
        if minq is not None:
            records, pks = self._records(ctx, minq, [f for f, _ in present])
            tables = self._qt_tables(ctx, pks)
            if tables is None:
                ctx.report.defects.append(f"{ctx.rel(pks)}: no qt_table.pk (in it or at the "
                                          f"root); the final qualities were not checked "
                                          f"against it")
        export_root = ctx.out.parent / f"{ctx.out.stem}_images"
        entries: list[dict[str, Any]] = []
        for folder, path in present:
            try:
                env = lmdb.open(str(path), readonly=True, lock=False, readahead=False,
                                meminit=False)
            except lmdb.Error as e:
                raise IMLDataError(str(path / "data.mdb"), f"cannot open the LMDB ({e})"
                                   ) from None
            try:
                entries += self._subset(ctx, env, folder, path, export_root,
                                        records.get(folder), minq, tables)
            finally:
                env.close()
        return entries

    def _subset(self, ctx: ConversionContext, env: Any, folder: str, path: Path,
                export_root: Path, record: tuple[Path, Any] | None, minq: int | None,
                tables: tuple[Path, set[int]] | None) -> list[dict[str, Any]]:
        subset, split = DOCTAMPER_SUBSETS[folder]
        split = self.split_of(split)
        db = f"{ctx.rel(path)}/data.mdb"
        entries: list[dict[str, Any]] = []
        scales: dict[str, int] = {}
        with env.begin(write=False) as txn:
            raw = txn.get(b"num-samples")
            try:
                n = int(bytes(raw).decode("utf-8").strip())
            except (TypeError, ValueError):
                raise IMLDataError(db, f"record 'num-samples' must be the sample count as "
                                       f"text, got {raw!r}") from None
            stored = env.stat()["entries"]
            if stored != 2 * n + 1:  # more or fewer records than num-samples says
                ctx.report.defects.append(f"{db}: {stored} records, expected {2 * n + 1} "
                                          f"(num-samples = {n}: an image and a label each); "
                                          f"only indices 0..{n - 1} are read")
            for index in range(n):
                img_key, lab_key = f"image-{index:09d}", f"label-{index:09d}"
                orig_image, orig_mask = f"{db}#{img_key}", f"{db}#{lab_key}"
                image_bytes, label_bytes = txn.get(img_key.encode()), txn.get(lab_key.encode())
                if image_bytes is None:
                    if label_bytes is None:
                        ctx.report.skipped.append((f"{db}#{index}", "neither image nor label "
                                                                    "record exists"))
                    else:
                        ctx.report.unpaired_masks.append(orig_mask)
                    continue
                if label_bytes is None:
                    ctx.report.unpaired_images.append(orig_image)
                    continue
                image_bytes, label_bytes = bytes(image_bytes), bytes(label_bytes)
                ext = _image_extension(image_bytes)
                if ext is None:
                    ctx.report.undecodable.append((orig_image, "image record is not an image "
                                                               "PIL can identify"))
                    continue
                label = cv2.imdecode(np.frombuffer(label_bytes, np.uint8), cv2.IMREAD_GRAYSCALE)
                if label is None:
                    ctx.report.undecodable.append((orig_mask, "label record is not a decodable "
                                                              "image"))
                    continue
                scale = _label_scale(label)
                scales[scale] = scales.get(scale, 0) + 1
                extra: dict[str, Any] = {"subset": subset, "lmdb_index": index,
                                         "orig_image": orig_image}
                if record is not None and minq is not None:
                    qs = record_qualities(record[0], record[1], index)
                    if qs is None:
                        ctx.report.skipped.append((orig_image, f"no compression record in "
                                                               f"{ctx.rel(record[0])}"))
                        continue
                    if tables is not None and qs[-1] not in tables[1]:
                        raise IMLDataError(str(tables[0]), f"no quantisation table for quality "
                                                           f"{qs[-1]} (record {index} of "
                                                           f"{record[0].name})")
                    extra.update(compression_qualities=qs, doctamper_min_quality=minq)
                image = export_root / subset / f"{index}{ext}"
                image.parent.mkdir(parents=True, exist_ok=True)
                image.write_bytes(image_bytes)  # unchanged: no DCT information is lost
                bad_before = len(ctx.report.undecodable)
                entry = ctx.tampered(image, (label != 0).astype(np.uint8), split,
                                     encoding="LMDB label decoded as grayscale, != 0",
                                     orig_mask=orig_mask, mask_name=f"{subset}/{index}",
                                     **extra)
                if entry is None:
                    image.unlink(missing_ok=True)  # the export holds the manifest's images only
                    if len(ctx.report.undecodable) > bad_before:  # name the record, not the copy
                        ctx.report.undecodable[-1] = (orig_image, ctx.report.undecodable[-1][1])
                    continue
                entries.append(entry)
        if scales:
            ctx.report.defects.append(
                f"{db}: label scales (0/1, 0/255 and other values are shipped; all are "
                f"binarised != 0): " + ", ".join(f"{k}: {v}" for k, v in sorted(scales.items())))
        return entries
