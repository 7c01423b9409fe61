"""SynthIML's pinned sources: the catalog, the fetcher's checks, and nothing from the machine."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmiml.datasets.synthesis.source_catalog import (
    USES,
    fetch_sources,
    load_catalog,
    require_sources,
    verify_sources,
)
from mmiml.datasets.synthesis.sources import load_sources
from mmiml.utils.errors import IMLDataError


def test_catalog_pins_every_package_and_file():
    packages = load_catalog()
    names = [p.name for p in packages]
    assert len(names) == len(set(names))
    for p in packages:
        assert p.registry in ("debian", "pypi"), p.name
        assert p.version and p.licence and p.size > 0, p.name
        assert len(p.sha256) == 64 and p.url.endswith(p.archive_name), p.name
        assert p.files, p.name
        for f in p.files:
            assert len(f.sha256) == 64 and set(f.use) <= set(USES), f.path
            assert len(f.faces) == len(f.identities), f.path
    uses = {u for p in packages for f in p.files for u in f.use}
    assert uses == set(USES)
    photos = [f for p in packages for f in p.files if "natural" in f.use]
    faces = [b for p in packages for f in p.files for b in f.faces]
    fonts = [f for p in packages for f in p.files if "font" in f.use]
    assert len(photos) >= 100 and len(faces) >= 10 and len(fonts) >= 100


def _deb(files: dict[str, bytes]) -> bytes:
    """A minimal Debian package (ar archive with a data.tar.xz member)."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:xz") as tf:
        for name, body in files.items():
            info = tarfile.TarInfo("./" + name)
            info.size = len(body)
            tf.addfile(info, io.BytesIO(body))
    out = b"!<arch>\n"
    for name, body in (("debian-binary", b"2.0\n"), ("data.tar.xz", data.getvalue())):
        header = f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(body):<10}`\n"
        out += header.encode() + body + (b"\n" if len(body) % 2 else b"")
    return out


def _png(seed: int, size: tuple[int, int] = (40, 30)) -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def _fake_catalog(tmp_path: Path, tamper: bool = False) -> tuple[Path, Path]:
    """A catalog of one .deb (a photo, a face photo) and one wheel (a font), with the archives
    already in the cache (so nothing is downloaded)."""
    import matplotlib

    font = (Path(matplotlib.get_data_path()) / "fonts/ttf/DejaVuSans.ttf").read_bytes()
    photo, face = _png(1, (200, 150)), _png(2, (120, 160))
    deb = _deb({"usr/share/photos/a.png": photo, "usr/share/photos/b.png": face})
    wheel_buf = io.BytesIO()
    with zipfile.ZipFile(wheel_buf, "w") as zf:
        zf.writestr("pkg/fonts/Test.ttf", font)
    wheel = wheel_buf.getvalue()
    cache = tmp_path / "cache"
    (cache / "archives").mkdir(parents=True)
    (cache / "archives" / "photos_1.0_all.deb").write_bytes(deb + (b"x" if tamper else b""))
    (cache / "archives" / "fonts-1.0-py3-none-any.whl").write_bytes(wheel)
    catalog = {"schema": "mmiml-synthiml-sources/1", "packages": [
        {"name": "photos", "registry": "debian", "version": "1.0", "licence": "CC0-1.0",
         "url": "http://127.0.0.1:9/photos_1.0_all.deb", "sha256": _sha(deb), "size": len(deb),
         "files": [{"path": "usr/share/photos/a.png", "sha256": _sha(photo),
                    "use": ["natural", "urban"]},
                   {"path": "usr/share/photos/b.png", "sha256": _sha(face), "use": ["face"],
                    "faces": [[30, 40, 50, 50]], "identity": "someone"}]},
        {"name": "fonts", "registry": "pypi", "version": "1.0", "licence": "OFL-1.1",
         "url": "http://127.0.0.1:9/fonts-1.0-py3-none-any.whl", "sha256": _sha(wheel),
         "size": len(wheel),
         "files": [{"path": "pkg/fonts/Test.ttf", "sha256": _sha(font), "use": ["font"]}]}]}
    path = tmp_path / "sources.json"
    path.write_text(json.dumps(catalog))
    return path, cache


def test_fetch_unpacks_checks_and_skips_the_second_time(tmp_path):
    path, cache = _fake_catalog(tmp_path)
    packages = load_catalog(path)
    with pytest.raises(IMLDataError, match="fetch_sources.py"):
        require_sources(cache, packages)
    report = fetch_sources(cache, packages, log=None)
    assert report["files"] == 3 and report["skipped"] == 0
    assert verify_sources(cache, packages) == []
    assert fetch_sources(cache, packages, log=None)["skipped"] == 2
    src = load_sources(cache=cache, packages=packages)
    assert [sid for sid, _ in src.photos] == ["photos:a.png"] and src.urban == ["photos:a.png"]
    assert src.fonts == [("font:Test.ttf", str(cache / "files/fonts_1.0/pkg/fonts/Test.ttf"))]
    (face,) = src.faces
    # the crop keeps room around the box, and the box is inside the crop
    x, y, w, h = face.box
    assert face.identity == "someone" and w == h == 50
    assert 0 <= x and x + w <= face.image.shape[1] and 0 <= y and y + h <= face.image.shape[0]
    # a changed file is found by verify
    unpacked = cache / "files/photos_1.0/usr/share/photos/a.png"
    unpacked.write_bytes(unpacked.read_bytes() + b"!")
    (problem,) = verify_sources(cache, packages)
    assert "a.png" in problem and "sha256" in problem


def test_a_tampered_archive_is_refused_by_name(tmp_path):
    path, cache = _fake_catalog(tmp_path, tamper=True)
    with pytest.raises(IMLDataError, match=r"photos_1\.0_all\.deb.*(differs|download)"):
        fetch_sources(cache, load_catalog(path), log=None)


def test_no_system_font_enters_the_pools(monkeypatch, tmp_path):
    """Fonts come from the catalog (and user folders) only: a font dropped into the system's
    font folders or the home folder changes nothing."""
    path, cache = _fake_catalog(tmp_path)
    packages = load_catalog(path)
    fetch_sources(cache, packages, log=None)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home/.fonts").mkdir(parents=True)
    (tmp_path / "home/.fonts/Extra.ttf").write_bytes(b"not used")
    src = load_sources(cache=cache, packages=packages)
    assert [name for name, _ in src.fonts] == ["font:Test.ttf"]


def test_sources_page_is_the_catalog():
    from mmiml.datasets.synthesis.source_catalog import catalog_markdown

    page = Path(__file__).resolve().parents[1] / "docs/synthiml/sources.md"
    assert page.read_text() == catalog_markdown(), \
        "run: python tools/fetch_sources.py --markdown docs/synthiml/sources.md"
