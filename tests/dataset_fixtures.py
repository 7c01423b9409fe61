"""Tiny copies of the natural-image IML datasets, in the layouts they ship in, with their
known defects: the fixtures of tests/test_converters.py.

Each ``make_<name>(root)`` writes the copy under ``root`` and returns what a correct converter
must find: ``counts`` (split -> (tampered, authentic)), the files each report list must name
(relative to ``root``) and, for polarity checks, ``inside``/``outside``: image -> a pixel
``(x, y)`` that is tampered / authentic.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import cv2
import numpy as np

W, H = 48, 32
#: the tampered rectangle of every fixture mask: x 24..40, y 8..24
BOX = (24, 8, 40, 24)
IN, OUT = (30, 15), (5, 5)


def _image(path: Path, seed: int, size: tuple[int, int] = (W, H)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if path.suffix.lower() in (".jpg", ".jpeg") else []
    ext = path.suffix.lower()
    ok, buf = cv2.imencode(".jpg" if ext in (".jpg", ".jpeg") else ext, img, params)
    assert ok
    path.write_bytes(buf.tobytes())
    return path


def _box_mask(size: tuple[int, int] = (W, H), value: int = 255, background: int = 0,
              box: tuple[int, int, int, int] = BOX) -> np.ndarray:
    m = np.full((size[1], size[0]), background, np.uint8)
    x1, y1, x2, y2 = box
    m[y1:y2, x1:x2] = value
    return m


def _write(path: Path, arr: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(path.suffix.lower(), arr)
    assert ok
    path.write_bytes(buf.tobytes())
    return path


def _truncated(path: Path, seed: int) -> Path:
    _image(path, seed)
    path.write_bytes(path.read_bytes()[:60])
    return path


def make_casia1(root: Path) -> dict[str, Any]:
    tp, gt = root / "Modified Tp" / "Tp", root / "CASIA 1.0 groundtruth"
    sp_ok, cm_ok = "Sp_D_CND_A_pla0005_pla0023_0281", "Sp_S_CND_A_pla0016_pla0016_0196"
    _image(tp / "Sp" / f"{sp_ok}.jpg", 1)
    _image(tp / "Sp" / "Sp_D_NRN_A_cha0011_sec0011_0542.jpg", 2)  # the known one without mask
    _truncated(tp / "Sp" / "Sp_D_NNN_A_arc0001_arc0002_0100.jpg", 3)
    _image(tp / "CM" / f"{cm_ok}.jpg", 4)
    _image(tp / "CM" / "Sp_S_NNN_C_txt0058_txt0058_0058.jpg", 5)
    _write(gt / "Sp" / f"{sp_ok}_gt.png", _box_mask())
    _write(gt / "Sp" / "Sp_D_NNN_A_arc0001_arc0002_0100_gt.png", _box_mask())
    _write(gt / "Sp" / "Sp_D_XXX_A_ani0001_ani0002_0999_gt.png", _box_mask())  # no image
    _write(gt / "CM" / f"{cm_ok}_gt.png", _box_mask())
    _write(gt / "CM" / "Sp_S_NNN_C_txt0058_txt0058_0058_gt.png", _box_mask(value=0))  # empty
    (gt / "Sp" / "Splicing_groundtruth_list.txt").write_text("list\n")
    _image(root / "Au" / "Au_ani_0001.jpg", 6)
    _image(root / "Au" / "Au_cha_0049.JPG", 7)  # upper-case extension, as shipped
    return {
        "counts": {"test": (2, 2)},
        "unpaired_images": [], "unpaired_masks": ["CASIA 1.0 groundtruth/Sp/"
                                                  "Sp_D_XXX_A_ani0001_ani0002_0999_gt.png"],
        "empty_masks": ["CASIA 1.0 groundtruth/CM/Sp_S_NNN_C_txt0058_txt0058_0058_gt.png"],
        "undecodable": ["Modified Tp/Tp/Sp/Sp_D_NNN_A_arc0001_arc0002_0100.jpg"],
        "skipped": ["Modified Tp/Tp/Sp/Sp_D_NRN_A_cha0011_sec0011_0542.jpg"],
        "ignored_files": ["CASIA 1.0 groundtruth/Sp/Splicing_groundtruth_list.txt"],
        "defects": ["Sp_D_NRN_A_cha0011_sec0011_0542"],
        "inside": {f"Modified Tp/Tp/Sp/{sp_ok}.jpg": IN}, "outside": {
            f"Modified Tp/Tp/Sp/{sp_ok}.jpg": OUT},
    }


CASIA2_OK = "Tp_S_NRN_S_N_ani10147_ani10147_12493"
CASIA2_TIF = "Tp_S_NNN_S_N_arc20086_arc20086_02415"
CASIA2_SLIP = "Tp_D_NRD_S_N_cha10002_cha10001_20094"
CASIA2_OFF = "Tp_S_NRN_S_N_pla20080_pla20080_01980"  # mask 2 px narrower
CASIA2_T = "Tp_D_CNN_M_N_sec00011_cha00085_11227"  # mask transposed


def make_casia2(root: Path, *, lists: bool = False) -> dict[str, Any]:
    base, gt = root / "CASIA 2.0", root / "CASIA 2 Groundtruth"
    _image(base / "Tp" / f"{CASIA2_OK}.jpg", 1)
    _image(base / "Tp" / f"{CASIA2_TIF}.tif", 2)
    _image(base / "Tp" / f"{CASIA2_SLIP}.jpg", 3)
    _image(base / "Tp" / f"{CASIA2_OFF}.tif", 4)
    _image(base / "Tp" / f"{CASIA2_T}.jpg", 5)
    _image(base / "Tp" / "Tp_D_NNN_M_N_nat00001_nat00002_00001.jpg", 6)  # no mask
    for stem in (CASIA2_OK, CASIA2_TIF):
        _write(gt / f"{stem}_gt.png", _box_mask())
    _write(gt / f"{CASIA2_SLIP}_gt3.png", _box_mask())
    _write(gt / f"{CASIA2_OFF}_gt.png", _box_mask(size=(W - 2, H)))
    _write(gt / f"{CASIA2_T}_gt.png", _box_mask(size=(H, W), box=(8, 24, 24, 40)))
    _image(base / "Au" / "Au_ani_00001.jpg", 7)
    _image(base / "Au" / "Au_sec_30036.bmp", 8)
    expected: dict[str, Any] = {
        "counts": {"train": (4, 2)},
        "unpaired_images": ["CASIA 2.0/Tp/Tp_D_NNN_M_N_nat00001_nat00002_00001.jpg"],
        "unpaired_masks": [],
        "size_mismatches": {f"CASIA 2 Groundtruth/{CASIA2_OFF}_gt.png": "resized",
                            f"CASIA 2 Groundtruth/{CASIA2_T}_gt.png": "transposed"},
        "defects": [f"{CASIA2_SLIP}_gt3.png"],
        "inside": {f"CASIA 2.0/Tp/{CASIA2_OK}.jpg": IN, f"CASIA 2.0/Tp/{CASIA2_OFF}.tif": IN},
        "outside": {f"CASIA 2.0/Tp/{CASIA2_OK}.jpg": OUT},
    }
    if lists:
        folder = root / "catnet_lists"
        folder.mkdir()

        def line(stem: str, ext: str) -> str:
            return (f"CASIA 2.0/Tp/{stem}.{ext},CASIA 2 Groundtruth/{stem}_gt.png,"
                    f"CASIA 2.0/Tp/{stem}.jpg\n")
        (folder / "CASIA_v2_train_list.txt").write_text(line(CASIA2_OK, "jpg")
                                                        + line(CASIA2_OFF, "tif"))
        (folder / "CASIA_v2_valid_list.txt").write_text(line(CASIA2_TIF, "tif"))
        (folder / "CASIA_v2_test_list.txt").write_text(line(CASIA2_SLIP, "jpg"))
        (folder / "CASIA_v2_auth_train_list.txt").write_text(
            "CASIA 2.0/Au/Au_ani_00001.jpg,None,CASIA 2.0/Au/Au_ani_00001.jpg\n")
        (folder / "CASIA_v2_auth_valid_list.txt").write_text("")
        (folder / "CASIA_v2_auth_test_list.txt").write_text("")
        # not listed: the transposed one (skipped anyway) and Au_sec_30036.bmp
        expected["counts"] = {"train": (2, 1), "val": (1, 0), "test": (1, 0)}
        expected["skipped"] = ["CASIA 2.0/Au/Au_sec_30036.bmp", f"CASIA 2.0/Tp/{CASIA2_T}.jpg"]
        expected["size_mismatches"] = {f"CASIA 2 Groundtruth/{CASIA2_OFF}_gt.png": "resized"}
        expected["lists"] = folder
    return expected


def _columbia_edgemask(size: tuple[int, int] = (W, H)) -> np.ndarray:
    """RGB: left (host) red, right (spliced) green, darker away from the boundary."""
    w, h = size
    m = np.zeros((h, w, 3), np.uint8)
    m[:, : w // 2] = (200, 0, 0)
    m[:, w // 2:] = (0, 200, 0)
    m[:, w // 2 - 3: w // 2] = (255, 0, 0)
    m[:, w // 2: w // 2 + 3] = (0, 255, 0)
    return m


def make_columbia(root: Path) -> dict[str, Any]:
    splc, auth = root / "4cam_splc", root / "4cam_auth"
    _image(splc / "canong3_canonxt_sub_01.tif", 1)
    _image(splc / "nikond70_kodakdcs330_sub_05.tif", 2)  # its edge mask is missing
    edge = _columbia_edgemask()
    _write(splc / "edgemask" / "canong3_canonxt_sub_01_edgemask.jpg", edge[..., ::-1])
    _write(splc / "edgemask" / "canong3_canonxt_sub_01_edgemask_3.jpg", edge[..., ::-1])
    _image(auth / "canong3_02_sub_01.tif", 3)
    _image(auth / "nikond70_05_sub_02.tif", 4)
    return {
        "counts": {"test": (1, 2)},
        "unpaired_images": ["4cam_splc/nikond70_kodakdcs330_sub_05.tif"],
        "ignored_files": ["4cam_splc/edgemask/canong3_canonxt_sub_01_edgemask_3.jpg"],
        "inside": {"4cam_splc/canong3_canonxt_sub_01.tif": (W - 4, H // 2)},
        "outside": {"4cam_splc/canong3_canonxt_sub_01.tif": (3, H // 2)},
    }


def make_coverage(root: Path) -> dict[str, Any]:
    img, mask = root / "image", root / "mask"
    for n in (1, 2):
        _image(img / f"{n}.tif", 10 + n)
        _image(img / f"{n}t.tif", 20 + n)
    _image(img / "3t.tif", 33)  # no forged mask
    grey = _box_mask(value=255)
    grey[BOX[1], BOX[0]:BOX[2]] = 90  # a row of grey below the threshold
    _write(mask / "1forged.tif", grey)
    _write(mask / "1copy.tif", _box_mask())
    _write(mask / "1paste.tif", _box_mask())
    _write(mask / "2forged.tif", _box_mask(size=(W + 8, H + 6)))  # misaligned
    _write(mask / "4forged.tif", _box_mask())  # no image
    return {
        "counts": {"test": (2, 2)},
        "unpaired_images": ["image/3t.tif"], "unpaired_masks": ["mask/4forged.tif"],
        "ignored_files": ["mask/1copy.tif", "mask/1paste.tif"],
        "size_mismatches": {"mask/2forged.tif": "resized"},
        "inside": {"image/1t.tif": IN}, "outside": {"image/1t.tif": (BOX[0] + 2, BOX[1])},
    }


def make_nist16(root: Path) -> dict[str, Any]:
    ref = root / "reference" / "manipulation"
    for i in (1, 2, 3, 4, 5):
        _image(root / "probe" / f"NC2016_000{i}.jpg", i)
    _write(ref / "mask" / "NC2016_3942.png", _box_mask(value=0, background=255))  # black = manip.
    _write(ref / "mask" / "NC2016_3943.png", _box_mask(value=0, background=255))
    cols = ["TaskID", "ProbeFileID", "ProbeFileName", "ProbeMaskFileName", "DonorFileName",
            "IsTarget", "IsManipulationTypeRemoval", "IsManipulationTypeSplice",
            "IsManipulationTypeCopyClone"]
    rows = [
        ["manipulation", "NC2016_0001", "probe/NC2016_0001.jpg",
         "reference/manipulation/mask/NC2016_3942.png", "", "Y", "N", "Y", "N"],
        ["manipulation", "NC2016_0002", "probe/NC2016_0002.jpg", "", "", "N", "", "", ""],
        ["manipulation", "NC2016_0003", "probe/NC2016_0003.jpg",
         "reference/manipulation/mask/NC2016_9999.png", "", "Y", "Y", "N", "N"],  # mask missing
        ["manipulation", "NC2016_0004", "probe/NC2016_0004.jpg",
         "reference/manipulation/mask/NC2016_3943.png", "", "Y", "N", "N", "N"],  # no type
        ["manipulation", "NC2016_0009", "probe/NC2016_0009.jpg", "", "", "N", "", "", ""],
    ]
    ref.mkdir(parents=True, exist_ok=True)
    with open(ref / "NC2016-manipulation-ref.csv", "w", newline="") as f:
        writer = csv.writer(f, delimiter="|")
        writer.writerow(cols)
        writer.writerows(rows)
    return {
        "counts": {"test": (2, 1)},
        "unpaired_images": ["probe/NC2016_0003.jpg", "probe/NC2016_0005.jpg"],
        "skipped": ["NC2016-manipulation-ref.csv:4", "NC2016-manipulation-ref.csv:6"],
        "defects": ["NC2016_0004"],
        "manipulation": {"probe/NC2016_0001.jpg": "splice", "probe/NC2016_0004.jpg": "unknown"},
        "inside": {"probe/NC2016_0001.jpg": IN}, "outside": {"probe/NC2016_0001.jpg": OUT},
    }


def make_imd2020(root: Path) -> dict[str, Any]:
    post, z = root / "1bl55t", root / "z14"
    _image(post / "1bl55t_orig.jpg", 1)
    _image(post / "c97qv4m_0.jpg", 2)
    _write(post / "c97qv4m_0_mask.png", _box_mask())
    _image(post / "c97rkx9_0.png", 3)  # no mask
    _image(z / "00030_orig.jpg", 4)
    _image(z / "00030_fake.jpg", 5)
    _write(z / "00030_fake_mask.png", _box_mask(size=(W * 2, H * 2),
                                                box=tuple(2 * v for v in BOX)))  # mismatch
    (root / "readme.txt").write_text("IMD2020\n")
    return {
        "counts": {"test": (2, 2)},
        "unpaired_images": ["1bl55t/c97rkx9_0.png"],
        "size_mismatches": {"z14/00030_fake_mask.png": "resized"},
        "skipped": ["readme.txt"],
        "inside": {"1bl55t/c97qv4m_0.jpg": IN, "z14/00030_fake.jpg": IN},
        "outside": {"z14/00030_fake.jpg": OUT},
    }


FIXTURES = {
    "casia1": make_casia1, "casia2": make_casia2, "columbia": make_columbia,
    "coverage": make_coverage, "nist16": make_nist16, "imd2020": make_imd2020,
}
