"""The pinned sources of SynthIML: photographs, faces, scans and fonts from registry packages.

``sources.json`` (next to this file) names every package by registry, exact version, download
address and sha256, with its licence, and every file taken from it by path and sha256, with its
uses (``natural``, ``urban``, ``camera``, ``face``, ``scan``, ``font``), face boxes and
identities. :func:`fetch_sources` downloads each archive once into a cache folder, checks its
sha256, and unpacks only the listed files, each checked again. Nothing else on the machine (no
system font, no installed package's data file) enters SynthIML, so the same command gives the
same bytes on every machine with the pinned Python stack.

The cache is ``$MMIML_SOURCES`` or ``~/.cache/mmiml/sources``. Where a download is refused, a
user can put the archive, as named in the error, into ``<cache>/archives/`` by hand: it is
checked by sha256 like a download.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmiml.utils.errors import IMLDataError

CATALOG_PATH = Path(__file__).with_name("sources.json")
CATALOG_SCHEMA = "mmiml-synthiml-sources/1"
USES = ("natural", "urban", "camera", "face", "scan", "font")
_STAMP = ".verified"


@dataclass(frozen=True)
class SourceFile:
    """One file taken from a package, with what SynthIML uses it for."""

    package: str
    version: str
    path: str
    sha256: str
    use: tuple[str, ...]
    licence: str
    credit: str | None = None
    #: face boxes ``[x, y, w, h]`` in pixels of the file (faces only)
    faces: tuple[tuple[int, int, int, int], ...] = ()
    #: one identity per face box (faces only)
    identities: tuple[str, ...] = ()

    @property
    def source_id(self) -> str:
        """The provenance id recorded in the manifest: ``<package>:<file name>``."""
        return f"{self.package}:{self.path.rsplit('/', 1)[-1]}"


@dataclass(frozen=True)
class SourcePackage:
    name: str
    registry: str
    version: str
    url: str
    sha256: str
    size: int
    licence: str
    files: tuple[SourceFile, ...] = field(default_factory=tuple)

    @property
    def archive_name(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    @property
    def folder(self) -> str:
        """The unpacked files' folder under ``<cache>/files`` (version in the name: a new pin
        never reuses an old folder)."""
        return f"{self.name}_{self.version.replace(':', '_').replace('~', '_')}"


def load_catalog(path: str | os.PathLike[str] = CATALOG_PATH) -> list[SourcePackage]:
    """The packages of the catalog, validated (every field present, uses known)."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise IMLDataError(path, f"cannot read the source catalog: {err}") from err
    if raw.get("schema") != CATALOG_SCHEMA:
        raise IMLDataError(path, f"schema {raw.get('schema')!r}, expected {CATALOG_SCHEMA!r}")
    packages = []
    for p in raw["packages"]:
        files = []
        for f in p["files"]:
            unknown = set(f["use"]) - set(USES)
            if unknown:
                raise IMLDataError(path, f"{p['name']}:{f['path']}: unknown uses "
                                         f"{sorted(unknown)}; valid: {USES}")
            boxes = tuple(tuple(int(v) for v in b) for b in f.get("faces", ()))
            identities = tuple(f["identities"]) if "identities" in f else \
                ((f["identity"],) * len(boxes) if "identity" in f else ())
            if len(identities) != len(boxes):
                raise IMLDataError(path, f"{p['name']}:{f['path']}: {len(boxes)} face boxes "
                                         f"but {len(identities)} identities")
            files.append(SourceFile(p["name"], p["version"], f["path"], f["sha256"],
                                    tuple(f["use"]), f.get("licence", p["licence"]),
                                    f.get("credit"), boxes, identities))
        packages.append(SourcePackage(p["name"], p["registry"], p["version"], p["url"],
                                      p["sha256"], int(p["size"]), p["licence"], tuple(files)))
    return packages


def default_cache() -> Path:
    return Path(os.environ.get("MMIML_SOURCES") or Path.home() / ".cache" / "mmiml" / "sources")


def file_path(cache: str | os.PathLike[str], package: SourcePackage, f: SourceFile) -> Path:
    return Path(cache) / "files" / package.folder / f.path


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _download(url: str, dest: Path, attempts: int = 3) -> None:
    tmp = dest.with_suffix(dest.suffix + ".part")
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=120) as resp, open(tmp, "wb") as out:
                shutil.copyfileobj(resp, out, 1 << 20)
            tmp.replace(dest)
            return
        except (urllib.error.URLError, OSError, TimeoutError):
            if attempt == attempts - 1:
                raise
            time.sleep(2 * (attempt + 1))


def _apt_download(package: SourcePackage, folder: Path) -> Path | None:
    """``apt-get download name=version`` into ``folder`` (a fallback when the pool address has
    moved); None when apt is missing or refuses."""
    if package.registry != "debian" or shutil.which("apt-get") is None:
        return None
    proc = subprocess.run(["apt-get", "download", f"{package.name}={package.version}"],
                          cwd=folder, capture_output=True, text=True)
    if proc.returncode != 0:
        return None
    found = sorted(folder.glob(f"{package.name}_*.deb"))
    return found[-1] if found else None


def _archive(cache: Path, package: SourcePackage) -> bytes:
    """The package's archive bytes, downloaded once and checked by sha256."""
    folder = cache / "archives"
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / package.archive_name
    if dest.exists() and _sha256(dest.read_bytes()) == package.sha256:
        return dest.read_bytes()
    errors = []
    try:
        _download(package.url, dest)
    except (urllib.error.URLError, OSError, TimeoutError) as err:
        errors.append(f"{package.url}: {err}")
        apt = _apt_download(package, folder)
        if apt is not None:
            apt.replace(dest)
        else:
            errors.append(f"apt-get download {package.name}={package.version}: failed or no apt")
    if not dest.exists():
        raise IMLDataError(dest, f"{package.name} {package.version} could not be downloaded "
                                 f"({'; '.join(errors)}); put {package.archive_name} "
                                 f"(sha256 {package.sha256}) there by hand")
    data = dest.read_bytes()
    if _sha256(data) != package.sha256:
        raise IMLDataError(dest, f"sha256 {_sha256(data)} differs from the pinned "
                                 f"{package.sha256} of {package.name} {package.version}; "
                                 "delete it and fetch again")
    return data


def _deb_data(data: bytes, name: str) -> tarfile.TarFile:
    """The ``data.tar.*`` member of a .deb (an ``ar`` archive) as an open tar file."""
    if data[:8] != b"!<arch>\n":
        raise IMLDataError(name, "not a Debian package (no ar header)")
    pos = 8
    while pos + 60 <= len(data):
        header = data[pos:pos + 60]
        member = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58])
        if member.startswith("data.tar"):
            return tarfile.open(fileobj=io.BytesIO(data[pos + 60:pos + 60 + size]))
        pos += 60 + size + (size & 1)
    raise IMLDataError(name, "Debian package without a data.tar member")


def _extract(data: bytes, package: SourcePackage, wanted: Iterable[str]) -> dict[str, bytes]:
    wanted = set(wanted)
    out: dict[str, bytes] = {}
    name = package.archive_name
    if name.endswith(".deb"):
        with _deb_data(data, name) as tf:
            for m in tf.getmembers():
                path = m.name.removeprefix("./")
                if m.isfile() and path in wanted:
                    out[path] = tf.extractfile(m).read()  # type: ignore[union-attr]
    elif name.endswith(".whl") or name.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for path in wanted & set(zf.namelist()):
                out[path] = zf.read(path)
    else:
        with tarfile.open(fileobj=io.BytesIO(data)) as tf:
            for m in tf.getmembers():
                if m.isfile() and m.name in wanted:
                    out[m.name] = tf.extractfile(m).read()  # type: ignore[union-attr]
    missing = sorted(wanted - set(out))
    if missing:
        raise IMLDataError(name, f"{len(missing)} catalogued file(s) not in the archive, e.g. "
                                 f"{missing[0]}")
    return out


def _package_ok(cache: Path, package: SourcePackage) -> bool:
    stamp = cache / "files" / package.folder / _STAMP
    return stamp.exists() and stamp.read_text().strip() == package.sha256 and all(
        file_path(cache, package, f).exists() for f in package.files)


def fetch_sources(cache: str | os.PathLike[str] | None = None,
                  packages: list[SourcePackage] | None = None,
                  log: Callable[[str], Any] | None = print) -> dict[str, Any]:
    """Download, check and unpack every catalogued file; return counts for the report.

    A package whose files were unpacked and checked before is skipped (its stamp holds the
    archive's sha256). Every file's sha256 is checked as it is written.
    """
    cache = Path(cache) if cache is not None else default_cache()
    packages = load_catalog() if packages is None else packages
    report = {"cache": str(cache), "packages": 0, "skipped": 0, "files": 0, "bytes": 0}
    for package in packages:
        report["packages"] += 1
        if _package_ok(cache, package):
            report["skipped"] += 1
            continue
        start = time.time()
        data = _archive(cache, package)
        members = _extract(data, package, (f.path for f in package.files))
        for f in package.files:
            body = members[f.path]
            if _sha256(body) != f.sha256:
                raise IMLDataError(f"{package.archive_name}:{f.path}",
                                   f"sha256 {_sha256(body)} differs from the pinned {f.sha256}")
            dest = file_path(cache, package, f)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(body)
            report["files"] += 1
            report["bytes"] += len(body)
        (cache / "files" / package.folder / _STAMP).write_text(package.sha256 + "\n")
        if log:
            log(f"[sources] {package.name} {package.version}: {len(package.files)} files "
                f"({time.time() - start:.1f} s)")
    return report


def verify_sources(cache: str | os.PathLike[str] | None = None,
                   packages: list[SourcePackage] | None = None) -> list[str]:
    """Problems with the unpacked files (missing or changed), one line each; empty when all
    are present and match their pinned sha256."""
    cache = Path(cache) if cache is not None else default_cache()
    problems = []
    for package in load_catalog() if packages is None else packages:
        for f in package.files:
            path = file_path(cache, package, f)
            if not path.exists():
                problems.append(f"{path}: missing")
            elif _sha256(path.read_bytes()) != f.sha256:
                problems.append(f"{path}: sha256 differs from the pinned {f.sha256}")
    return problems


def require_sources(cache: str | os.PathLike[str] | None = None,
                    packages: list[SourcePackage] | None = None) -> Path:
    """The cache folder, after checking that every catalogued file is there (a clear error
    naming the fetch command otherwise)."""
    cache = Path(cache) if cache is not None else default_cache()
    packages = load_catalog() if packages is None else packages
    missing = [p.name for p in packages if not _package_ok(cache, p)]
    if missing:
        raise IMLDataError(cache, f"SynthIML's pinned sources are not unpacked here "
                                  f"({len(missing)} of {len(packages)} packages missing, e.g. "
                                  f"{missing[0]}); run `python tools/fetch_sources.py` (or set "
                                  "MMIML_SOURCES to the folder that holds them)")
    return cache


def package_pins(packages: list[SourcePackage] | None = None) -> dict[str, str]:
    """``{package: version}`` of every source package, for ``synthiml.json``."""
    return {p.name: p.version for p in (load_catalog() if packages is None else packages)}


def catalog_markdown(packages: list[SourcePackage] | None = None) -> str:
    """The catalog as markdown tables: packages (registry, version, licence, size, files per
    use) and the photo and face files with their licences and credits where the package's
    copyright file names them per file. ``docs/synthiml/sources.md`` is this text."""
    packages = load_catalog() if packages is None else packages
    lines = ["# SynthIML sources", "",
             "Written by `python tools/fetch_sources.py --markdown docs/synthiml/sources.md` "
             "from `mmiml/datasets/synthesis/sources.json`; a test keeps the two equal.", "",
             "| registry | package | version | licence | download | files by use |",
             "| --- | --- | --- | --- | --- | --- |"]
    for p in packages:
        counts: dict[str, int] = {}
        for f in p.files:
            for use in f.use:
                counts[use] = counts.get(use, 0) + 1
        uses = ", ".join(f"{n} {u}" for u, n in sorted(counts.items()))
        lines.append(f"| {p.registry} | {p.name} | {p.version} | {p.licence} | "
                     f"{p.size / 1e6:.1f} MB | {uses} |")
    total_files = sum(len(p.files) for p in packages)
    lines += ["", f"{len(packages)} packages, {total_files} files, "
                  f"{sum(p.size for p in packages) / 1e6:.0f} MB to download once.", "",
              "## Photographs, faces and scans", "",
              "| file | package | uses | licence | credit | faces |",
              "| --- | --- | --- | --- | --- | --- |"]
    for p in packages:
        for f in p.files:
            if f.use == ("font",):
                continue
            faces = ", ".join(f"{ident} {list(box)}" for ident, box in
                              zip(f.identities, f.faces)) or "-"
            lines.append(f"| `{f.path.rsplit('/', 1)[-1]}` | {p.name} | {', '.join(f.use)} | "
                         f"{f.licence} | {f.credit or '-'} | {faces} |")
    return "\n".join(lines) + "\n"
