"""The model zoo: metafiles, model index and docs/model_zoo.md against their sources, and the
speed table of benchmarks/model_zoo.py."""
from __future__ import annotations

import copy
import csv
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.model_zoo import FAMILIES  # noqa: E402

_spec = importlib.util.spec_from_file_location("mmiml_make_metafiles",
                                               ROOT / "tools" / "make_metafiles.py")
mm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mm)

RESULTS = ROOT / "leaderboard" / "results"


@pytest.fixture(scope="module")
def metafiles() -> list[tuple[Path, dict]]:
    return mm.load_index()


@pytest.fixture(scope="module")
def page() -> str:
    return (ROOT / mm.ZOO_PAGE).read_text(encoding="utf-8")


def test_committed_metafiles_match_their_sources(metafiles, page) -> None:
    assert mm.verify(metafiles, page, RESULTS) == []


def test_zoo_page_is_rendered_from_metafiles(metafiles, page) -> None:
    assert page == mm.render_zoo(metafiles)
    configs = [m["Config"] for _, doc in metafiles for m in doc["Models"]]
    extras = [c for cs in mm.extra_configs().values() for c in cs]
    assert len(configs) == len(set(configs)) == len(mm.zoo_configs()) + len(extras)
    on_disk = {p.relative_to(ROOT).as_posix() for p in (ROOT / "configs").rglob("*.py")
               if "_base_" not in p.parts}
    assert on_disk == set(configs), "every config file has a Model in a metafile"
    for config in configs:
        assert (ROOT / config).is_file(), config
        assert f"(../{config})" in page, f"{config} has no row in {mm.ZOO_PAGE}"


def test_metafiles_follow_the_model_index_format(metafiles) -> None:
    index = yaml.safe_load((ROOT / mm.INDEX).read_text())
    families = {mm.family_of(m) for m, *_ in mm.zoo_configs()}
    assert sorted(index["Import"]) == sorted(f"configs/{f}/{mm.METAFILE}" for f in families)
    for path, doc in metafiles:
        (col,) = doc["Collections"]
        assert {"Name", "Metadata", "Paper", "README", "Code"} <= set(col), path
        assert {"Training Data", "Architecture"} <= set(col["Metadata"]), path
        assert col["Paper"]["Title"] and col["Paper"]["URL"].startswith("https://"), path
        assert (ROOT / col["README"]).is_file(), path
        code = col["Code"]["URL"]
        assert code.startswith("https://github.com/open-mmlab/") or (ROOT / code).is_file()
        for m in doc["Models"]:
            assert m["In Collection"] == col["Name"], m["Name"]
            assert m["Name"] == Path(m["Config"]).stem
            assert "Weights" in m and m["Weights"] is None  # no checkpoint published yet
            meta = m["Metadata"]
            for key in ("Training Data", "Iterations", "Batch Size", "Crop Size",
                        "Parameters (M)", "FLOPs (G)", "FLOPs Input"):
                assert key in meta, (m["Name"], key)
            assert meta["Parameters (M)"] > 0, m["Name"]
            for r in m["Results"]:
                assert r["Task"] == mm.TASK_NAME and set(r["Metrics"]) == set(mm.METRICS)


def test_every_tiny_config_has_results_or_is_named_as_not_run(metafiles) -> None:
    """Every tiny config has results of a committed profile (`cpu-long` or `cpu`), or is a run
    that `cpu-long` plans; a profile with results on the leaderboard names each run it covers
    and lacks ("Not run at the current code yet"); paper configs have no run yet."""
    from mmiml.benchmark.profiles import PROFILES

    leaderboard = (ROOT / "leaderboard" / "README.md").read_text()
    sections = dict(re.findall(r"^## Profile `([^`]+)`\n(.*?)(?=^## |\Z)", leaderboard,
                               re.S | re.M))
    tiny_configs = {c: (m.key, train) for m, s, train, c in mm.zoo_configs() if s == "tiny"}

    def covers(profile: str, run: tuple[str, str]) -> bool:
        prof = PROFILES[profile]
        return (run[0] in {m.key for m in prof.models_list()}
                and run[1] in prof.train_sets_list())

    for _, doc in metafiles:
        for m in doc["Models"]:
            tiny = m["Config"] in tiny_configs
            if tiny and not m["Results"]:
                run = tiny_configs[m["Config"]]
                assert covers("cpu-long", run), m["Name"]
                for profile in ("cpu", "cpu-long"):
                    if profile in sections and covers(profile, run):
                        not_run = re.search(r"\*\*Not run at the current code yet \(\d+\):\*\* "
                                            r"([^.]*)\.", sections[profile])
                        named = set(re.findall(r"`([^`]+)` (\w+)", not_run.group(1))
                                    if not_run else [])
                        assert run in named, (profile, m["Name"])
                continue
            assert bool(m["Results"]) == tiny, m["Name"]
            if tiny:  # one result file, or one per seed
                logs = m["Training Log"]
                for log in logs if isinstance(logs, list) else [logs]:
                    assert (ROOT / log).is_file(), log
                assert [r["Dataset"].split(" (")[1] for r in m["Results"]] == [
                    *(f"{t})" for t in mm.TASKS), "avg)"]


def _first_with_results(metafiles: list[tuple[Path, dict]]) -> tuple[int, int]:
    for i, (_, doc) in enumerate(metafiles):
        for j, m in enumerate(doc["Models"]):
            if m["Results"]:
                return i, j
    raise AssertionError("no metafile model has results")


def test_a_wrong_figure_path_or_paper_is_detected(metafiles, page) -> None:
    i, j = _first_with_results(metafiles)
    path = metafiles[i][0]

    bad = copy.deepcopy(metafiles)
    bad[i][1]["Models"][j]["Results"][0]["Metrics"]["IoU"] += 0.01
    problems = mm.verify(bad, page, RESULTS)
    assert any(str(path) in p and "Results differ" in p for p in problems), problems
    assert any(str(mm.ZOO_PAGE) in p for p in problems), "the page no longer matches either"

    bad = copy.deepcopy(metafiles)
    bad[i][1]["Models"][j]["Metadata"]["Parameters (M)"] *= 2
    assert any("Parameters (M)" in p for p in mm.verify(bad, mm.render_zoo(bad), RESULTS))

    bad = copy.deepcopy(metafiles)
    bad[i][1]["Models"][j]["Config"] = "configs/nowhere/missing_config.py"
    problems = mm.verify(bad, mm.render_zoo(bad), RESULTS)
    assert any("does not exist" in p for p in problems), problems
    assert any("no metafile lists the zoo's config" in p for p in problems), problems

    bad = copy.deepcopy(metafiles)
    bad[i][1]["Collections"][0]["Paper"]["BibTeX"] = "someone1999else"
    assert any("Paper BibTeX" in p for p in mm.verify(bad, mm.render_zoo(bad), RESULTS))

    assert any(str(mm.ZOO_PAGE) in p for p in mm.verify(metafiles, page + "\n", RESULTS))


def test_readmes_cite_their_papers_and_mmiml_has_citation_cff() -> None:
    keys = []
    for family in sorted({mm.family_of(m) for m, *_ in mm.zoo_configs()}):
        entries = mm.citation_entries(ROOT / "configs" / family / "README.md")
        assert all(e["url"].startswith("https://") for e in entries), family
        keys += [e["key"] for e in entries]
    assert len(keys) == len(set(keys))
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software"
    assert f'version = "{cff["version"]}"' in pyproject
    assert re.search(rf'license = {{ text = "{re.escape(cff["license"])}" }}', pyproject)
    assert cff["title"] and cff["message"] and cff["authors"]


def test_citation_parser_rejects_a_readme_without_bibtex(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# X\n\n## Citation\n\nno block\n")
    with pytest.raises(ValueError, match="no ```bibtex block"):
        mm.citation_entries(readme)
    readme.write_text("# X\n")
    with pytest.raises(ValueError, match="no '## Citation' section"):
        mm.citation_entries(readme)


def test_model_zoo_speed_table(tmp_path: Path) -> None:
    out, table_csv = tmp_path / "zoo.md", tmp_path / "zoo.csv"
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    subprocess.run([sys.executable, "benchmarks/model_zoo.py", "--skip-speed",
                    "--skip-paper-flops", "--out", str(out), "--csv", str(table_csv)],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)
    text = out.read_text()
    assert "Generated by `python benchmarks/model_zoo.py" in text
    assert "machine-dependent" in text
    rows = {r["family"]: r for r in csv.DictReader(table_csv.open())}
    assert set(rows) == {f for f, _, _ in FAMILIES}
    for family, row in rows.items():
        assert family in text
        assert float(row["paper params (M)"]) > 0, family
        assert float(row["tiny params (M)"]) > 0, family
        assert float(row["paper params (M)"]) > float(row["tiny params (M)"]), family
        assert row["inputs"].startswith("RGB"), family
    assert "DCT" in rows["Omni-IML"]["inputs"] and "DCT" in rows["CAT-Net"]["inputs"]
    assert "DCT" not in rows["SegFormer"]["inputs"]
    assert "noise" in rows["MVSS-Net"]["inputs"] and "noise" in rows["TruFor-like"]["inputs"]


def test_code_links_of_mmseg_classes_are_urls_wherever_the_environment_lives():
    """A class that mmseg defines links to mmseg's repository at the installed version, also
    when the virtual environment sits inside the checkout; mmiml's own classes stay local."""
    import mmseg

    from mmiml.utils.setup_env import register_all_modules

    register_all_modules()
    url = mm.source_of("MixVisionTransformer")
    assert url == (f"https://github.com/open-mmlab/mmsegmentation/blob/v{mmseg.__version__}/"
                   "mmseg/models/backbones/mit.py")
    assert mm.source_of("ModalGateEncoder") == "mmiml/models/backbones/modal_gate_encoder.py"
