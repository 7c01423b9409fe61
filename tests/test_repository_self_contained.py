"""The repository stands on its own: no file in it points at anything outside it.

Scanned: every file git knows (tracked, plus untracked files that are not ignored, so a new file
is checked before it is committed), text files only (a file with a NUL byte in its first 8 KiB
or that is not UTF-8 counts as binary and is skipped). Three rules, each reported as
``path:line: what``:

(a) Outside paths: a reference to the private notes this project grew from (the ``shared``
    design and seed folders, the old design note's file name) or to this machine's work tree
    (an absolute path whose first folder is ``work``). Scratch paths under ``tmp`` in recorded
    results are not flagged: they name where a command wrote, not something to read.
(b) Work items: this project's numbered work items, i.e. the word "issue" or "issues" followed
    by a number, with or without a "#", possibly several numbers joined by "and" or commas, also
    inside identifiers (``test_..._issueN_...``). A citation of another project's issue is fine
    when it is written as ``Project #N`` (the word "issue" is absent, e.g. "IMDL-BenCo #109") or
    when the line gives the issue's URL (``https://.../issues/N`` or ``.../pull/N``, same N).
(c) Markdown links: a relative link ``[text](path)`` or ``![alt](path)`` (and reference-style
    ``[id]: path``) in a ``.md`` file must resolve inside the repository to a file or folder
    that exists. URLs, mail links and in-page anchors are not checked; ``#anchor`` and
    ``?query`` suffixes are dropped; links inside code blocks and code spans are not links.

The forbidden strings are assembled from pieces so that this file does not match them itself.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# (a) Assembled from pieces: the literal strings would flag this very file.
_SHARED = "shared"
OUTSIDE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(re.escape("../" + _SHARED)), "path into the private shared folder"),
    (re.compile(re.escape(_SHARED + "/" + "design")), "private design folder"),
    (re.compile(re.escape(_SHARED + "/" + "seed")), "private seed folder"),
    (re.compile(re.escape("omni_iml" + "_model.md")),
     "private design note (now docs/design/omni_iml.md)"),
    (re.compile(r"(?<![\w.~/-])/" + "work" + r"/"), "absolute path of the machine's work tree"),
)

# (b) "issue" / "issues", optional separator and '#', a number, then optionally more numbers
# joined by ',', 'and', '&' or '/' (several numbers in one mention).
_ISSUE = "iss" + "ue"
WORK_ITEM = re.compile(
    rf"(?<![A-Za-z]){_ISSUE}s?[ _-]?#?(\d+)((?:\s*(?:,|and|&|/)\s*#?\d+)*)", re.IGNORECASE)
ISSUE_URL = re.compile(r"https?://\S+/(?:issues|pull)/(\d+)")

# (c) Inline links and images, and reference-style definitions.
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
FENCE = re.compile(r"^\s{0,3}(```|~~~)")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def outside_references(text: str) -> list[tuple[int, str]]:
    """(line number, message) for every reference to a path outside the repository."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for pattern, what in OUTSIDE_PATTERNS:
            match = pattern.search(line)
            if match:  # one report per line is enough to find it
                found.append((number, f"{what}: {match.group(0)!r}"))
                break
    return found


def work_item_mentions(text: str) -> list[tuple[int, str]]:
    """(line number, message) for every mention of this project's numbered work items."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        cited = set(ISSUE_URL.findall(line))
        for match in WORK_ITEM.finditer(line):
            numbers = {match.group(1), *re.findall(r"\d+", match.group(2))}
            if numbers <= cited:
                continue  # another project's issue, cited with its URL
            found.append((number, f"numbered work item: {match.group(0)!r} (say what the "
                                  "thing is; cite other projects as 'Project #N' or by URL)"))
    return found


def _markdown_link_lines(text: str) -> list[str]:
    """The lines of a markdown text with fenced code blocks emptied and code spans blanked."""
    lines, fence = [], None
    for line in text.splitlines():
        opening = FENCE.match(line)
        if fence is None and opening:
            fence = opening.group(1)
            lines.append("")
        elif fence is not None:
            if line.strip().startswith(fence):
                fence = None
            lines.append("")
        else:
            lines.append(CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line))
    return lines


def broken_markdown_links(text: str, md_path: Path, root: Path) -> list[tuple[int, str]]:
    """(line number, message) for relative links of ``md_path`` that leave ``root`` or point at
    nothing."""
    found = []
    root = root.resolve()
    for number, line in enumerate(_markdown_link_lines(text), start=1):
        targets = INLINE_LINK.findall(line)
        reference = REFERENCE_LINK.match(line)
        if reference:
            targets.append(reference.group(1))
        for target in targets:
            if SCHEME.match(target) or target.startswith("#"):
                continue
            path = re.split(r"[#?]", target, maxsplit=1)[0]
            if not path:
                continue
            if path.startswith("/"):
                found.append((number, f"absolute link {target!r}: use a path relative to "
                                      f"{md_path.name}"))
                continue
            resolved = (md_path.parent / path).resolve()
            if not resolved.is_relative_to(root):
                found.append((number, f"link {target!r} leaves the repository"))
            elif not resolved.exists():
                found.append((number, f"link {target!r}: no such file in the repository"))
    return found


def repository_text_files(root: Path) -> dict[str, str]:
    """Relative path -> text of every text file git tracks or would track under ``root``."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=root, check=True, capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"{root} is not a git checkout ({exc}); nothing to list")
    files = {}
    for name in sorted(set(filter(None, listed.decode().split("\0")))):
        path = root / name
        if not path.is_file():  # deleted or moved in the working tree, not yet staged
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue
        try:
            files[name] = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
    return files


# ------------------------------------------------------------------------------ the scanners
_DESIGN = "../" + _SHARED + "/design/metrics.md"


@pytest.mark.parametrize("line", [
    f"see {_DESIGN}",
    "Format (public, see " + _SHARED + "/design/metrics.md)",
    "notes in " + _SHARED + "/seed/summary.md",
    "``omni_iml" + "_model.md`` section 3",
    "log under /" + "work/main/work_dirs",
])
def test_outside_reference_scanner_flags(line: str) -> None:
    assert [n for n, _ in outside_references(f"ok\n{line}\n")] == [2]


@pytest.mark.parametrize("line", [
    "see docs/design/omni_iml.md section 3",
    "python tools/train.py CONFIG --work-dir work_dirs/x",
    '"pred": "/tmp/lb_cpu/ela/preds"',
    "mmiml/benchmark/work/shared_design.py",
])
def test_outside_reference_scanner_passes(line: str) -> None:
    assert outside_references(line) == []


@pytest.mark.parametrize("line", [
    "Parameters and FLOPs (" + _ISSUE + " 4).",
    "the benchmark (" + _ISSUE + " 6)",
    _ISSUE.capitalize() + " 5: PSCC-Net and DTD families",
    "done in " + _ISSUE + "s 5 and 6",
    "see " + _ISSUE + " #6",
    "def test_zoo_has_the_" + _ISSUE + "5_models():",
    "mmcv " + _ISSUE + " 1234, see https://github.com/open-mmlab/mmcv/" + _ISSUE + "s/99",
])
def test_work_item_scanner_flags(line: str) -> None:
    assert [n for n, _ in work_item_mentions(f"first line\n{line}")] == [2]


@pytest.mark.parametrize("line", [
    "IMDL-BenCo #109 drops the last batch",
    "mmcv " + _ISSUE + " https://github.com/open-mmlab/mmcv/" + _ISSUE + "s/2345",
    "mmcv " + _ISSUE + " #2345 (https://github.com/open-mmlab/mmcv/" + _ISSUE + "s/2345)",
    "a voucher " + _ISSUE + "d 2024",
    "known " + _ISSUE + "s with CMYK files",
])
def test_work_item_scanner_passes(line: str) -> None:
    assert work_item_mentions(line) == []


def test_markdown_link_scanner(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "metrics.md").write_text("# metrics\n")
    (tmp_path / "README.md").write_text("# x\n")
    page = tmp_path / "docs" / "page.md"
    text = "\n".join([
        "[metrics](metrics.md#compatibility) and [top](../README.md) and ![img](./metrics.md)",
        "[web](https://example.org/a.md) [anchor](#top) [mail](mailto:a@b.c)",
        f"[private](../{_DESIGN})",
        "[missing](nothing_here.md)",
        "[absolute](/docs/metrics.md)",
        "`[code](not_a_link.md)` and a code span is not a link",
        "```",
        "[fenced](also_not_a_link.md)",
        "```",
        "[ref]: ../../outside.md",
        "[dir](.)",
    ])
    found = broken_markdown_links(text, page, tmp_path)
    assert [n for n, _ in found] == [3, 4, 5, 10]
    assert "leaves the repository" in found[0][1]
    assert "no such file" in found[1][1]
    assert "absolute link" in found[2][1]


# ------------------------------------------------------------------------ the repository
@pytest.fixture(scope="module")
def repo_files() -> dict[str, str]:
    files = repository_text_files(ROOT)
    assert "README.md" in files and "mmiml/__init__.py" in files, "git listing looks wrong"
    return files


def _report(found: dict[str, list[tuple[int, str]]]) -> str:
    return "\n".join(f"{name}:{number}: {what}" for name, hits in sorted(found.items())
                     for number, what in hits)


def test_no_file_refers_outside_the_repository(repo_files: dict[str, str]) -> None:
    found = {name: hits for name, text in repo_files.items() if (hits := outside_references(text))}
    assert not found, "references outside the repository:\n" + _report(found)


def test_no_file_mentions_numbered_work_items(repo_files: dict[str, str]) -> None:
    found = {name: hits for name, text in repo_files.items() if (hits := work_item_mentions(text))}
    assert not found, "mentions of this project's work items:\n" + _report(found)


def test_markdown_links_resolve_inside_the_repository(repo_files: dict[str, str]) -> None:
    found = {}
    for name, text in repo_files.items():
        if name.endswith(".md"):
            hits = broken_markdown_links(text, ROOT / name, ROOT)
            if hits:
                found[name] = hits
    assert not found, "broken or outside markdown links:\n" + _report(found)
