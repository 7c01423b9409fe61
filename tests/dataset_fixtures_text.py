"""Tiny copies of the document, scene-text and face datasets in the layouts they ship in, with
their known defects, for the converter tests (``test_converters_text.py``).

Each ``make_<name>(root)`` writes the copy under ``root`` and returns what a correct
conversion finds: ``counts`` (split -> tampered/authentic), the report findings (file names
that must appear in each report list) and ``polarity`` (``orig_image`` -> a pixel ``(x, y)``
inside a tampered region and one inside a real-text/real-face region, or None).
"""
from __future__ import annotations

import io
import json
import os
import pickle
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

W, H = 64, 48  # every fixture image, as (width, height)


def _pixels(seed: int, size: tuple[int, int] = (W, H)) -> np.ndarray:
    w, h = size
    rng = np.random.default_rng(seed)
    base = np.linspace(40, 200, w, dtype=np.float64)[None, :, None]
    noise = rng.normal(0, 20, (h, w, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def jpeg_bytes(seed: int, size: tuple[int, int] = (W, H), quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(_pixels(seed, size)).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _write_jpeg(path: Path, seed: int, size: tuple[int, int] = (W, H)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jpeg_bytes(seed, size))


def _png_bytes(array: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", array)
    assert ok
    return buf.tobytes()


def _counts(**splits: tuple[int, int]) -> dict[str, dict[str, int]]:
    return {s: {"tampered": t, "authentic": a} for s, (t, a) in splits.items()}


# ---------------------------------------------------------------------------------- DocTamper
class _Evil:
    """Pickles to a call of ``os.system``: a safe loader must refuse it before it runs."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return os.system, (f"touch {self.marker}",)


def _write_lmdb(folder: Path, records: list[tuple[bytes, bytes]]) -> None:
    import lmdb

    folder.mkdir(parents=True, exist_ok=True)
    env = lmdb.open(str(folder), map_size=2**24)
    with env.begin(write=True) as txn:
        txn.put(b"num-samples", str(len(records)).encode())
        for i, (image, label) in enumerate(records):
            txn.put(f"image-{i:09d}".encode(), image)
            txn.put(f"label-{i:09d}".encode(), label)
    env.close()


def doctamper_label(value: int) -> np.ndarray:
    """A 0/``value`` label, tampered in the square rows/cols 8..23."""
    label = np.zeros((H, W), np.uint8)
    label[8:24, 8:24] = value
    return label


#: TestingSet_75 records by index: 1 to 3 JPEG qualities in the order they are applied
DOCTAMPER_RECORDS: list[Any] = [[90], [85, 75], np.array([95, 80, 75], np.int64), [80],
                                [90, 85]]


def make_doctamper(root: Path) -> dict[str, Any]:
    """DocTamperV1-TrainingSet (2 records: a 0/255 label; a PNG image with a 0/1 label) and
    DocTamperV1-TestingSet (5: 0/1, 0/255, all-zero, random-bytes image, value-2 label); FCD and
    SCD absent; pks/ with DocTamperV1-TestingSet_75.pk and qt_table.pk; evil.pk that would run
    ``os.system``."""
    png = io.BytesIO()
    Image.fromarray(_pixels(1)).save(png, "PNG")
    train = [(jpeg_bytes(0), _png_bytes(doctamper_label(255))),
             (png.getvalue(), _png_bytes(doctamper_label(1)))]
    test = [(jpeg_bytes(10), _png_bytes(doctamper_label(1))),
            (jpeg_bytes(11), _png_bytes(doctamper_label(255))),
            (jpeg_bytes(12), _png_bytes(doctamper_label(0))),
            (np.random.default_rng(0).bytes(300), _png_bytes(doctamper_label(1))),
            (jpeg_bytes(14), _png_bytes(doctamper_label(2)))]
    _write_lmdb(root / "DocTamperV1-TrainingSet", train)
    _write_lmdb(root / "DocTamperV1-TestingSet", test)
    pks = root / "pks"
    pks.mkdir()
    with open(pks / "DocTamperV1-TestingSet_75.pk", "wb") as f:
        pickle.dump(DOCTAMPER_RECORDS, f)
    tables = {q: np.full(64, q, np.int64) for q in (75, 80, 85, 90, 95)}
    with open(pks / "qt_table.pk", "wb") as f:
        pickle.dump(tables, f, protocol=2)  # protocol 2 stores array bytes via _codecs.encode
    marker = root / "pwned"
    with open(root / "evil.pk", "wb") as f:
        pickle.dump(_Evil(marker), f)
    db = "DocTamperV1-TestingSet/data.mdb"
    return {
        "counts": _counts(train=(2, 0), test=(3, 0)),
        "empty_masks": [f"{db}#label-000000002"],
        "undecodable": [f"{db}#image-000000003"],
        "skipped": ["DocTamperV1-FCD", "DocTamperV1-SCD"],
        "lmdb": {"TrainingSet": train, "TestingSet": test},
        "extensions": {("TrainingSet", 0): ".jpg", ("TrainingSet", 1): ".png"},
        "qualities": {0: [90], 1: [85, 75], 4: [90, 85]},
        "evil": root / "evil.pk",
        "marker": marker,
        "polarity": {f"{db}#image-{i:09d}": ((10, 10), None) for i in (0, 1, 4)},
    }


# ---------------------------------------------------------------------------------- T-SROIE
def _quad(x1: int, y1: int, x2: int, y2: int) -> list[int]:
    return [x1, y1, x2, y1, x2, y2, x1, y2]


def make_tsroie(root: Path) -> dict[str, Any]:
    """sroie_{train,test}_1011.json + train/, test/: a tampered receipt, one with only real
    text, one without annotations, one on disk that no JSON lists and one listed but missing."""
    for name, seed in (("train/X001.jpg", 0), ("train/X002.jpg", 1), ("train/X003.jpg", 2),
                       ("test/X101.jpg", 3), ("test/X102.jpg", 4)):
        _write_jpeg(root / name, seed)
    categories = [{"id": 1, "name": "text"}, {"id": 2, "name": "text_temp"}]

    def ann(aid: int, iid: int, cat: int, quad: list[int], nested: bool = False) -> dict:
        xs, ys = quad[0::2], quad[1::2]
        return {"id": aid, "image_id": iid, "category_id": cat,
                "segmentation": [quad] if nested else quad, "iscrowd": 0,
                "bbox": [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]}

    train = {"images": [{"id": 1, "file_name": "X001.jpg", "width": W, "height": H},
                        {"id": 2, "file_name": "X002.jpg", "width": W, "height": H},
                        {"id": 4, "file_name": "X004.jpg", "width": W, "height": H}],
             "annotations": [ann(1, 1, 2, _quad(4, 4, 30, 16)), ann(2, 1, 1, _quad(36, 30, 60, 44)),
                             ann(3, 2, 1, _quad(4, 4, 30, 16))],
             "categories": categories}
    test = {"images": [{"id": 12, "file_name": "X101.jpg", "width": W, "height": H},
                       {"id": 13, "file_name": "X102.jpg", "width": W, "height": H}],
            "annotations": [ann(7, 12, 2, _quad(20, 10, 50, 30), nested=True),
                            ann(8, 12, 1, _quad(2, 36, 16, 46))],
            "categories": categories}
    (root / "sroie_train_1011.json").write_text(json.dumps(train), encoding="utf-8")
    (root / "sroie_test_1011.json").write_text(json.dumps(test), encoding="utf-8")
    return {
        "counts": _counts(train=(1, 1), test=(1, 1)),
        "unpaired_images": ["train/X003.jpg"],
        "unpaired_masks": ["X004.jpg"],
        "polarity": {"train/X001.jpg": ((10, 10), (50, 40)),
                     "test/X101.jpg": ((30, 20), (8, 40))},
    }


# ---------------------------------------------------------------------------------- Tampered-IC13
def make_tampered_ic13(root: Path, *, malformed: bool = False) -> dict[str, Any]:
    """{train,test}_{img,gt}/: a tampered image (<stem>.txt), one with only real text
    (gt_<stem>.txt), one without GT, a GT without image, a test GT line with a transcription.
    ``malformed``: img_1.txt gets a line with three fields (line 2)."""
    for name, seed in (("train_img/img_1.jpg", 0), ("train_img/img_2.jpg", 1),
                       ("train_img/img_3.jpg", 2), ("test_img/img_10.jpg", 3)):
        _write_jpeg(root / name, seed)
    gt = root / "train_gt"
    gt.mkdir()
    lines = ["4,4,30,16,2", "36,30,60,44,1"]
    if malformed:
        lines.insert(1, "10,20,30")
    (gt / "img_1.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (gt / "gt_img_2.txt").write_text("4,4,30,16,1\n", encoding="utf-8")
    (gt / "img_9.txt").write_text("1,1,5,5,2\n", encoding="utf-8")
    (root / "test_gt").mkdir()
    (root / "test_gt" / "gt_img_10.txt").write_text("20,10,50,30,2,Hello, world\n"
                                                    "2,36,16,46,1,###\n", encoding="utf-8")
    return {
        "counts": _counts(train=(1, 1), test=(1, 0)),
        "unpaired_images": ["train_img/img_3.jpg"],
        "unpaired_masks": ["train_gt/img_9.txt"],
        "malformed_at": "img_1.txt:2",
        "polarity": {"train_img/img_1.jpg": ((10, 10), (50, 40)),
                     "test_img/img_10.jpg": ((30, 20), (8, 40))},
    }


# ---------------------------------------------------------------------------------- OSTF
def make_ostf(root: Path) -> dict[str, Any]:
    """mmacc/{srnet,anytext}_{train,test}.pk + mmacc/{srnet,anytext}/: a tampered image, one
    with only real text, a w/h mismatch, a missing image, a key relative to mmacc/, numpy
    boxes, an image no pk lists."""
    mmacc = root / "mmacc"
    for name, seed, size in (("srnet/a.jpg", 0, (W, H)), ("srnet/b.jpg", 1, (W, H)),
                             ("srnet/c.jpg", 2, (W, H)), ("srnet/d.jpg", 3, (W, H)),
                             ("anytext/e.jpg", 4, (W, H)), ("anytext/f.jpg", 5, (W, H))):
        _write_jpeg(mmacc / name, seed, size)
    srnet_train = {
        "a.jpg": {"w": W, "h": H, "b": [[4, 4, 30, 16, 1], [36, 30, 60, 44, 0]]},
        "b.jpg": {"w": W, "h": H, "b": [[4, 4, 30, 16, 0]]},
        "c.jpg": {"w": 100, "h": 80, "b": [[4, 4, 30, 16, 1]]},
        "gone.jpg": {"w": W, "h": H, "b": [[4, 4, 30, 16, 1]]},
    }
    srnet_test = {"srnet/d.jpg": {"w": W, "h": H, "b": [(20.5, 10.2, 50.0, 30.9, 1)]}}
    anytext_test = {"e.jpg": {"w": np.int64(W), "h": np.int64(H),
                              "b": np.array([[20, 10, 50, 30, 1], [2, 36, 16, 46, 0]])}}
    for name, data in (("srnet_train.pk", srnet_train), ("srnet_test.pk", srnet_test),
                       ("anytext_test.pk", anytext_test)):
        with open(mmacc / name, "wb") as f:
            pickle.dump(data, f)
    return {
        "counts": _counts(train=(1, 1), test=(2, 0)),
        "unpaired_images": ["mmacc/anytext/f.jpg"],
        "unpaired_masks": ["mmacc/srnet_train.pk#gone.jpg"],
        "skipped": ["mmacc/srnet/c.jpg"],
        "methods": {"mmacc/srnet/a.jpg": "srnet", "mmacc/anytext/e.jpg": "anytext"},
        "polarity": {"mmacc/srnet/a.jpg": ((10, 10), (50, 40)),
                     "mmacc/srnet/d.jpg": ((30, 20), None),
                     "mmacc/anytext/e.jpg": ((30, 20), (8, 40))},
    }


# ---------------------------------------------------------------------------------- OpenForensics
def _rle_box(x1: int, y1: int, x2: int, y2: int) -> dict[str, Any]:
    """An uncompressed COCO RLE (column-major runs) of the box [x1, x2) x [y1, y2)."""
    mask = np.zeros((H, W), np.uint8)
    mask[y1:y2, x1:x2] = 1
    flat = mask.T.reshape(-1)
    counts, current, run = [], 0, 0
    for v in flat:
        if v == current:
            run += 1
        else:
            counts.append(run)
            current, run = int(v), 1
    counts.append(run)
    return {"counts": counts, "size": [H, W]}


def make_openforensics(root: Path) -> dict[str, Any]:
    """{Train,Val,Test-Dev}_poly.json (no Test-Challenge) + Images/{Train,Val,Test-Dev}/: fake
    and real faces, only real faces, a fake crowd RLE (uncompressed), a compressed RLE, a missing
    image, an image no file lists; Val names its files without ``Images/``."""
    for name, seed in (("Train/a.jpg", 0), ("Train/b.jpg", 1), ("Train/c.jpg", 2),
                       ("Train/d.jpg", 3), ("Train/extra.jpg", 4), ("Val/v1.jpg", 5),
                       ("Test-Dev/t1.jpg", 6), ("Test-Dev/t2.jpg", 7)):
        _write_jpeg(root / "Images" / name, seed)
    categories = [{"id": 0, "name": "Real"}, {"id": 1, "name": "Fake"}]

    def poly(aid: int, iid: int, cat: int, x1: int, y1: int, x2: int, y2: int) -> dict:
        return {"id": aid, "image_id": iid, "category_id": cat, "iscrowd": 0,
                "segmentation": [_quad(x1, y1, x2, y2)], "bbox": [x1, y1, x2 - x1, y2 - y1],
                "area": (x2 - x1) * (y2 - y1)}

    def crowd(aid: int, iid: int, seg: dict) -> dict:
        return {"id": aid, "image_id": iid, "category_id": 1, "iscrowd": 1,
                "segmentation": seg, "bbox": [20, 10, 30, 20], "area": 600}

    def image(iid: int, file_name: str) -> dict:
        return {"id": iid, "file_name": file_name, "width": W, "height": H}

    train = {"images": [image(1, "Images/Train/a.jpg"), image(2, "Images/Train/b.jpg"),
                        image(3, "Images/Train/c.jpg"), image(4, "Images/Train/d.jpg"),
                        image(5, "Images/Train/missing.jpg")],
             "annotations": [poly(1, 1, 1, 4, 4, 30, 16), poly(2, 1, 0, 36, 30, 60, 44),
                             poly(3, 2, 0, 4, 4, 30, 16), crowd(4, 3, _rle_box(20, 10, 50, 30)),
                             poly(5, 3, 0, 2, 36, 16, 46),
                             crowd(6, 4, {"counts": "PPYo0", "size": [H, W]})],
             "categories": categories}
    val = {"images": [image(1, "Val/v1.jpg")],
           "annotations": [poly(1, 1, 1, 4, 4, 30, 16)], "categories": categories}
    test = {"images": [image(1, "Images/Test-Dev/t1.jpg"), image(2, "Images/Test-Dev/t2.jpg")],
            "annotations": [poly(1, 1, 0, 4, 4, 30, 16), poly(2, 2, 1, 20, 10, 50, 30)],
            "categories": categories}
    for name, data in (("Train", train), ("Val", val), ("Test-Dev", test)):
        (root / f"{name}_poly.json").write_text(json.dumps(data), encoding="utf-8")
    return {
        "counts": _counts(train=(2, 1), val=(1, 0), test=(1, 1)),
        "unpaired_images": ["Images/Train/extra.jpg"],
        "unpaired_masks": ["missing.jpg"],
        "skipped": ["Test-Challenge_poly.json", "Images/Train/d.jpg"],
        "subsets": {"Images/Test-Dev/t2.jpg": "Test-Dev", "Images/Val/v1.jpg": "Val"},
        "polarity": {"Images/Train/a.jpg": ((10, 10), (50, 40)),
                     "Images/Train/c.jpg": ((30, 20), (8, 40)),
                     "Images/Val/v1.jpg": ((10, 10), None)},
    }
