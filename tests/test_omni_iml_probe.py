"""benchmarks/omni_iml_probe.py without training: the summary from fake result files, the run
plan, resume decisions and commands, and the probe configs' switches."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from helpers import ROOT
from mmengine.config import Config

from mmiml.datasets.transforms.formatting import PackIMLInputs
from mmiml.utils.config import find_type
from mmiml.utils.errors import ConfigError, IMLDataError

sys.path.insert(0, str(ROOT))
from benchmarks import omni_iml_probe as probe  # noqa: E402

TWIN = "configs/omni_iml/omni-iml_convnext-atto_1xb8-1k_synthiml-cpu-joint-128x128.py"


def _scores(iou: float, f1: float, gate: tuple[float, float] | None) -> dict:
    out = {"num_images": 200, "pixel_iou_image": iou, "pixel_f1_image": f1,
           "pixel_iou_dataset": iou / 2, "pixel_f1_dataset": f1 / 2}
    if gate is not None:
        out["gate_fused_share"], out["gate_prob_mean"] = gate
    return out


def _write(folder: Path, variant: str, seed: int, per_group: dict | None) -> Path:
    doc = {"schema": "mmiml-result/1", "num_images": 400, "per_task": {}, "avg": {}}
    if per_group is not None:
        doc["per_group"] = per_group
    path = folder / f"{variant}__seed{seed}.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def results(tmp_path: Path) -> Path:
    # routed: three seeds; the gate sends compression to the fused path, pixel to RGB
    for seed, (iou_c, iou_p) in enumerate([(0.5, 0.2), (0.6, 0.3), (0.7, 0.4)]):
        _write(tmp_path, "routed", seed, {
            "compression": _scores(iou_c, iou_c + 0.1, (0.9, 0.8)),
            "pixel": _scores(iou_p, iou_p + 0.1, (0.1, 0.2)),
        })
    # force-rgb: two seeds, no gate
    for seed, iou in enumerate([0.1, 0.3]):
        _write(tmp_path, "force-rgb", seed, {
            "compression": _scores(iou, iou, None), "pixel": _scores(0.5, 0.6, None)})
    (tmp_path / "summary.md").write_text("old")
    (tmp_path / "notes.json").write_text("{}")  # not a result file: ignored
    (tmp_path / "other-model__seed0.json").write_text("{}")  # unknown variant: ignored
    return tmp_path


def _row(table, variant: str, group: str) -> dict:
    rows = table[(table["variant"] == variant) & (table["group"] == group)]
    assert len(rows) == 1
    return rows.iloc[0].to_dict()


def test_summary_is_mean_and_sample_std_over_seeds_per_group(results):
    df = probe.load_probe_results(results)
    assert len(df) == (3 + 2) * 2
    table = probe.summary_table(df)
    assert list(table["variant"]) == ["routed", "routed", "force-rgb", "force-rgb"]
    routed_c = _row(table, "routed", "compression")
    assert routed_c["seeds"] == 3
    assert routed_c["IoU"] == "0.600 ± 0.100"
    assert routed_c["F1"] == "0.700 ± 0.100"
    assert routed_c["fused share"] == "0.900 ± 0.000"
    assert routed_c["gate p(fused)"] == "0.800 ± 0.000"
    routed_p = _row(table, "routed", "pixel")
    assert routed_p["IoU"] == "0.300 ± 0.100" and routed_p["fused share"] == "0.100 ± 0.000"
    rgb_c = _row(table, "force-rgb", "compression")
    assert rgb_c["seeds"] == 2
    assert rgb_c["IoU"] == "0.200 ± 0.141"  # std of (0.1, 0.3) with ddof 1
    assert rgb_c["fused share"] == "-" and rgb_c["gate p(fused)"] == "-"


def test_dataset_aggregation_and_variant_filter(results):
    df = probe.load_probe_results(results, ["routed"], aggregation="dataset")
    assert set(df["variant"]) == {"routed"}
    table = probe.summary_table(df)
    assert _row(table, "routed", "compression")["IoU"] == "0.300 ± 0.050"


def test_mean_std_formats():
    assert probe.mean_std([0.25]) == "0.250"
    assert probe.mean_std([None, float("nan")]) == "-"
    assert probe.mean_std([1.0, None, 3.0], digits=1) == "2.0 ± 1.4"


def test_summary_only_writes_the_markdown(results, capsys):
    assert probe.main(["--summary-only", "--results-dir", str(results)]) == 0
    text = (results / "summary.md").read_text()
    assert text == capsys.readouterr().out.split("summary: ")[0].rstrip("\n") + "\n"
    lines = [line for line in text.splitlines() if line.startswith("|")]
    assert len(lines) == 2 + 4  # header, separator, two variants x two groups
    assert "| routed    | compression |" in text and "0.600 ± 0.100" in text
    assert "aggregation" in text


def test_missing_per_group_fails_with_a_clear_message(tmp_path):
    path = _write(tmp_path, "routed", 0, None)
    with pytest.raises(IMLDataError, match="no 'per_group' section") as err:
        probe.load_probe_results(tmp_path)
    assert str(path) in str(err.value)
    _write(tmp_path, "routed", 0, {"compression": _scores(0.5, 0.5, None)})
    with pytest.raises(IMLDataError, match="per_group has no 'pixel' scores"):
        probe.load_probe_results(tmp_path)
    _write(tmp_path, "routed", 0, {"compression": _scores(0.5, 0.5, None),
                                   "pixel": {"pixel_iou_image": "high"}})
    with pytest.raises(IMLDataError, match="expected a number"):
        probe.load_probe_results(tmp_path)
    with pytest.raises(IMLDataError, match="no probe result file"):
        probe.load_probe_results(tmp_path / "empty")


def test_variants_option():
    assert probe.parse_variants(None) == list(probe.VARIANTS)
    assert probe.parse_variants("dwd-off, routed") == ["routed", "dwd-off"]
    with pytest.raises(ConfigError, match="unknown variant"):
        probe.parse_variants("routed,gated")


def test_a_short_run_needs_its_own_results_dir():
    with pytest.raises(ConfigError, match="--results-dir"):
        probe.main(["--variants", "routed", "--max-iters", "5"])


def test_plan_and_commands(tmp_path):
    runs = probe.plan(["routed", "force-rgb"], 2, tmp_path / "res", tmp_path / "work")
    assert [(r.variant, r.seed) for r in runs] == [
        ("routed", 0), ("routed", 1), ("force-rgb", 0), ("force-rgb", 1)]
    run = runs[3]
    assert run.work_dir == tmp_path / "work" / "force-rgb" / "seed1"
    assert run.result == tmp_path / "res" / "force-rgb__seed1.json"
    cmd = probe.train_command(run, [], resume=False)
    assert cmd[1].endswith("tools/train.py") and cmd[2] == str(run.config)
    assert cmd[cmd.index("--work-dir") + 1] == str(run.work_dir)
    assert "randomness.seed=1" in cmd and "--resume" not in cmd
    assert probe.train_command(run, [], resume=True)[-1] == "--resume"
    test = probe.test_command(run, tmp_path / "iter_5.pth")
    assert test[1].endswith("tools/test.py")
    assert test[test.index("--out") + 1] == str(run.result)
    with pytest.raises(ConfigError, match="--seeds"):
        probe.plan(["routed"], 0, tmp_path, tmp_path)


def test_short_schedule_is_stretched_in_proportion():
    config = ROOT / probe.VARIANTS["routed"]
    assert probe.schedule_overrides(config, None) == []
    opts = dict(o.split("=", 1) for o in probe.schedule_overrides(config, 20))
    assert opts["train_cfg.max_iters"] == "20"
    assert opts["default_hooks.checkpoint.interval"] == "20"
    # warm-up 30 of 1000 -> 1 of 20; poly from there to the end
    assert opts["param_scheduler.0.end"] == "1" and opts["param_scheduler.1.begin"] == "1"
    assert opts["param_scheduler.1.end"] == "20"
    assert opts["model.backbone.teacher_forcing_iters"] == "2"  # 100 of 1000


class FakeRunner:
    """Stands in for the subprocesses: records commands, writes what they would write."""

    def __init__(self, train_ok: bool = True) -> None:
        self.calls: list[list[str]] = []
        self.train_ok = train_ok

    def __call__(self, cmd: list[str], log: Path) -> int:
        self.calls.append(cmd)
        if cmd[1].endswith("train.py"):
            if not self.train_ok:
                return 1
            work = Path(cmd[cmd.index("--work-dir") + 1])
            (work / "iter_1000.pth").write_text("w")
            (work / "last_checkpoint").write_text(str(work / "iter_1000.pth"))
        else:
            Path(cmd[cmd.index("--out") + 1]).write_text("{}")
        return 0


def _tools(runner: FakeRunner) -> list[str]:
    return [Path(c[1]).name for c in runner.calls]


def test_execute_fresh_resume_skip_and_failure(tmp_path):
    runs = probe.plan(["routed"], 3, tmp_path / "res", tmp_path / "work")
    logs: list[str] = []
    # seed 0: a result exists -> skipped; seed 1: interrupted at 500 -> resumed;
    # seed 2: training finished -> tested only
    (tmp_path / "res").mkdir()
    runs[0].result.write_text("{}")
    runs[1].work_dir.mkdir(parents=True)
    (runs[1].work_dir / "iter_500.pth").write_text("w")
    (runs[1].work_dir / "last_checkpoint").write_text(str(runs[1].work_dir / "iter_500.pth"))
    runs[2].work_dir.mkdir(parents=True)
    (runs[2].work_dir / "iter_1000.pth").write_text("w")
    runner = FakeRunner()
    probe.execute(runs, resume=True, max_iters=None, runner=runner, log=logs.append)
    assert [r.status for r in runs] == ["skipped", "done", "done"]
    assert _tools(runner) == ["train.py", "test.py", "test.py"]
    assert runner.calls[0][-1] == "--resume" and "randomness.seed=1" in runner.calls[0]
    assert runner.calls[2][3] == str(runs[2].work_dir / "iter_1000.pth")

    # without --resume everything starts over: old checkpoints go, results are rewritten
    runner = FakeRunner()
    probe.execute(runs, resume=False, max_iters=None, runner=runner, log=logs.append)
    assert _tools(runner) == ["train.py", "test.py"] * 3
    assert all("--resume" not in c for c in runner.calls)
    assert not (runs[1].work_dir / "iter_500.pth").exists()

    # a failed training is reported and the next run still starts
    runs = probe.plan(["dwd-off"], 2, tmp_path / "res2", tmp_path / "work2")
    runner = FakeRunner(train_ok=False)
    probe.execute(runs, resume=False, max_iters=None, runner=runner, log=logs.append)
    assert [r.status for r in runs] == ["failed", "failed"]
    assert _tools(runner) == ["train.py", "train.py"]
    assert any("training FAILED" in line for line in logs)


# ---------------------------------------------------------------------------- configs
def test_every_variant_has_its_config_and_switch():
    expected = {
        "routed": {}, "force-rgb": {"force": "rgb"}, "force-fused": {"force": "fused"},
        "dwd-fixed": {"mode": "fixed"}, "dwd-off": {"mode": "off"},
        "ae-box-off": {"with_detection": False},
    }
    assert set(probe.VARIANTS) == set(expected)
    on_disk = {p.relative_to(ROOT).as_posix() for p in (ROOT / probe.CONFIG_DIR).glob("*.py")}
    assert on_disk == set(probe.VARIANTS.values())
    for variant, switch in expected.items():
        cfg = Config.fromfile(str(ROOT / probe.VARIANTS[variant]))
        model = cfg.model
        assert model.backbone.get("force") == switch.get("force"), variant
        assert model.decode_head.get("mode", "dynamic") == switch.get("mode", "dynamic")
        assert model.neck.get("with_detection", True) == switch.get("with_detection", True)
        assert model.neck.type == "AnomalyEnhancement", variant  # the block is always kept
        loaders = [cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader]
        for loader in loaders:
            assert loader.dataset.ann_file == "data/synthiml/probe/manifest.jsonl"
            assert loader.dataset.synthiml == {"profile": "probe", "root": "data/synthiml"}
            pipeline = loader.dataset.pipeline
            # force-rgb reads no DCT; every other variant does
            has_dct = find_type(pipeline, "LoadJpegDCT") is not None
            assert has_dct == (variant != "force-rgb"), variant
            pack = {k: v for k, v in find_type(pipeline, "PackIMLInputs").items() if k != "type"}
            assert "group" in PackIMLInputs(**pack).meta_keys, variant
        assert cfg.train_dataloader.sampler == {"type": "InfiniteSampler", "shuffle": True}
        assert cfg.test_dataloader.dataset.split == "test"


def test_routed_probe_config_is_the_tiny_twin_with_other_data():
    twin = Config.fromfile(str(ROOT / TWIN))
    routed = Config.fromfile(str(ROOT / probe.VARIANTS["routed"]))
    for key in ("model", "optim_wrapper", "param_scheduler", "train_cfg", "default_hooks",
                "randomness", "test_evaluator"):
        assert routed[key] == twin[key], key
    assert routed.train_dataloader.batch_size == twin.train_dataloader.batch_size == 8
    assert twin.train_dataloader.sampler.type == "TaskWeightedInfiniteSampler"
