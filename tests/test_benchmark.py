"""The benchmark: profiles, result schema and checksum, planning, skip/resume, the
leaderboard's determinism and the degradation report."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, subprocess_env
from mmengine.config import Config

from mmiml import TASKS
from mmiml.benchmark.orchestrate import mark_complete, parse_train_sets, plan
from mmiml.benchmark.profiles import PROFILES, apply_profile, get_profile
from mmiml.benchmark.result import (
    checksum,
    load_benchmark_result,
    load_results,
    validate_benchmark_result,
    write_benchmark_result,
)
from mmiml.benchmark.zoo import BY_KEY, JOINT, OMNI, TRAIN_SETS, ZOO, get_models


def test_every_zoo_config_exists_and_the_zoo_has_every_model_family():
    for model in ZOO:
        for train_set in model.train_sets:
            for scale in ("tiny", "paper"):
                path = ROOT / model.config(scale, train_set)
                assert path.is_file(), f"{model.key} {scale} {train_set}: {path}"
    families = {m.key for m in ZOO if m.ablation_of is None}
    assert {"plain_convnext_uper", "segformer", "mvss_net", "pscc_net", "cat_net", "dtd",
            "trufor_like", "iml_vit", OMNI} <= families
    assert len([m for m in ZOO if m.ablation_of == OMNI]) == 6


def test_model_and_train_set_selection_errors_name_the_value():
    assert [m.key for m in get_models("iml_vit,segformer")] == ["segformer", "iml_vit"]
    with pytest.raises(ValueError, match="nope"):
        get_models("segformer,nope")
    assert parse_train_sets("joint,face") == ["face", JOINT]
    with pytest.raises(ValueError, match="faces"):
        parse_train_sets("faces")
    with pytest.raises(ValueError, match="not trained on 'face'"):
        BY_KEY[f"{OMNI}-ae-box-off"].config("tiny", "face")


def test_cpu_profile_rescales_the_schedule_and_tests_every_task():
    model = BY_KEY[OMNI]
    cfg = Config.fromfile(str(ROOT / model.config("tiny", "face")))
    assert cfg.train_cfg.max_iters == 1000
    apply_profile(cfg, PROFILES["cpu"], seed=3)
    assert cfg.train_cfg.max_iters == 500
    assert [(s.begin, s.end) for s in cfg.param_scheduler] == [(0, 15), (15, 500)]
    assert cfg.model.backbone.teacher_forcing_iters == 50  # 100 of 1000 -> 50 of 500
    assert cfg.randomness.seed == 3
    assert cfg.default_hooks.checkpoint.interval == 100
    assert "tasks" not in cfg.test_dataloader.dataset  # tested on all four tasks
    assert cfg.train_dataloader.dataset.tasks == ["face"]
    # the learning curve: 4 validations on every task's val split, kept by the hook
    assert cfg.train_cfg.val_interval == 125 and cfg.val_cfg == {"type": "ValLoop"}
    assert cfg.val_dataloader.dataset.split == "val" and "tasks" not in cfg.val_dataloader.dataset
    assert cfg.val_evaluator["per_image"] is False
    assert [h["type"] for h in cfg.custom_hooks].count("LearningCurveHook") == 1
    # a profile without curve points validates nothing
    import dataclasses

    plain = Config.fromfile(str(ROOT / model.config("tiny", "face")))
    apply_profile(plain, dataclasses.replace(PROFILES["cpu"], curve_points=0), seed=0)
    assert plain.val_dataloader is None and plain.val_cfg is None


def test_smoke_profile_reads_synthiml_smoke_at_64px():
    cfg = Config.fromfile(str(ROOT / BY_KEY["iml_vit"].config("tiny", JOINT)))
    apply_profile(cfg, PROFILES["smoke"], seed=0)
    assert cfg.train_dataloader.dataset.ann_file == "data/synthiml/smoke/manifest.jsonl"
    assert cfg.test_dataloader.dataset.synthiml.profile == "smoke"
    crops = [t.crop_size for t in cfg.train_dataloader.dataset.pipeline
             if t.type == "GridAlignedRandomCrop"]
    assert crops == [(64, 64)] and cfg.train_dataloader.batch_size == 4
    derived = get_profile("smoke", 7)
    assert derived.name == "smoke@7it" and derived.max_iters == 7
    with pytest.raises(ValueError, match="unknown profile"):
        get_profile("gpu")


def test_plan_covers_single_and_joint_runs_of_every_model(tmp_path):
    from mmiml.utils.setup_env import register_all_modules

    register_all_modules()
    runs = plan(PROFILES["cpu"], list(ZOO), list(TRAIN_SETS), 2, tmp_path / "res",
                tmp_path / "work")
    trained = [r for r in runs if not r.model.startswith("lower_bound:")]
    families = [m for m in ZOO if m.ablation_of is None]
    assert len(trained) == 2 * (5 * len(families) + 6)  # 6 joint-only Omni-IML ablations
    assert len(runs) - len(trained) == 4
    assert len({r.out for r in runs}) == len(runs)  # one file per (model, train set, seed)
    # the seed is part of the config hash, the training set too
    assert len({r.config_hash for r in trained}) == len(trained)


def test_plan_takes_the_profiles_seeds_per_training_set_unless_overridden(tmp_path):
    from mmiml.utils.setup_env import register_all_modules

    register_all_modules()
    cpu = PROFILES["cpu"]
    assert cpu.joint_seeds >= 3  # joint runs carry the intervals

    def seeds(runs, train_set):
        return sorted(r.seed for r in runs if r.train_set == train_set)

    default = plan(cpu, get_models("plain_convnext_uper"), ["face", JOINT], None,
                   tmp_path / "res", tmp_path / "work", lower_bounds=False)
    assert seeds(default, JOINT) == list(range(cpu.joint_seeds))
    assert seeds(default, "face") == list(range(cpu.single_task_seeds))
    override = plan(cpu, get_models("plain_convnext_uper"), ["face", JOINT], 2,
                    tmp_path / "res", tmp_path / "work", lower_bounds=False)
    assert seeds(override, JOINT) == seeds(override, "face") == [0, 1]


def test_default_cpu_profile_is_the_nine_models_jointly_and_cpu_long_is_everything(tmp_path):
    """`cpu` is what fits 2 hours (joint runs of the main models, 3 seeds); `cpu-long` adds the
    single-task runs and the ablations at a longer budget."""
    from mmiml.utils.setup_env import register_all_modules

    register_all_modules()
    cpu, long = PROFILES["cpu"], PROFILES["cpu-long"]
    assert cpu.train_sets_list() == (JOINT,)
    assert long.train_sets_list() == TRAIN_SETS
    main = [m for m in ZOO if m.ablation_of is None]
    assert [m.key for m in cpu.models_list()] == [m.key for m in main]
    assert len(long.models_list()) == len(ZOO) > len(main)
    assert long.max_iters > cpu.max_iters

    runs = plan(cpu, cpu.models_list(), list(cpu.train_sets_list()), None, tmp_path / "r",
                tmp_path / "w", lower_bounds=False)
    assert {r.train_set for r in runs} == {JOINT}
    assert len(runs) == len(main) * cpu.joint_seeds
    runs = plan(long, long.models_list(), list(long.train_sets_list()), None, tmp_path / "r",
                tmp_path / "w", lower_bounds=False)
    assert len(runs) == (len(main) * (4 * long.single_task_seeds + long.joint_seeds)
                         + (len(ZOO) - len(main)) * long.joint_seeds)
    # the command line takes the profile's training sets unless --tasks names others
    def dry_run(*extra: str) -> list[str]:
        out = subprocess.run(
            [sys.executable, "tools/benchmark.py", "--dry-run", "--no-lower-bounds",
             "--results-root", str(tmp_path / "r"), "--work-root", str(tmp_path / "w"),
             "--models", "plain_convnext_uper", *extra],
            cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, check=True).stdout
        return [line.split(": ")[0].split(". ", 1)[1] for line in out.splitlines()
                if " -> " in line]

    assert dry_run() == [f"plain_convnext_uper / joint / seed {k}" for k in range(3)]
    assert dry_run("--tasks", "face") == ["plain_convnext_uper / face / seed 0"]


# ------------------------------------------------------------------ result files
def _result(model: str = "segformer", train_set: str = JOINT, seed: int = 0,
            kind: str = "model", ious: dict[str, float] | None = None) -> dict:
    ious = ious or dict(zip(TASKS, (0.3, 0.1, 0.4, 0.2), strict=True))
    figures = dict.fromkeys(("pixel_f1_image", "pixel_precision_image", "pixel_recall_image",
                             "pixel_f1_dataset", "pixel_iou_dataset", "pixel_auc_image",
                             "best_f1", "image_auc", "image_bacc", "image_f1",
                             "false_alarm_rate", "false_alarm_area"), 0.5)
    per_task = {t: {"num_images": 10, "num_tampered": 8, "num_authentic": 2, **figures,
                    "pixel_iou_image": v, "pixel_f1_image": min(1.0, 1.5 * v)}
                for t, v in ious.items()}
    avg = {"num_images": 10 * len(per_task), "num_tampered": 8 * len(per_task),
           "num_authentic": 2 * len(per_task), **figures,
           "pixel_iou_image": sum(ious.values()) / len(ious),
           "pixel_f1_image": sum(min(1.0, 1.5 * v) for v in ious.values()) / len(ious)}
    result = {"schema": "mmiml-result/1", "num_images": avg["num_images"],
              "num_tampered": avg["num_tampered"], "num_authentic": avg["num_authentic"],
              "spec": {"threshold": 0.5, "authentic_policy": "exclude",
                       "resolution": "original"},
              "per_task": per_task, "avg": avg}
    return {
        "schema": "mmiml-benchmark/1", "profile": "cpu", "model": model,
        "model_name": BY_KEY[model].name if model in BY_KEY else model.replace(
            "lower_bound-", "lower bound: "),
        "train_set": train_set, "seed": seed, "kind": kind,
        "ablation_of": OMNI if kind == "ablation" else None, "note": "",
        "config": "configs/x.py",
        "budget": {"max_iters": 400, "batch_size": 8, "crop": 128,
                   "description": "400 iterations x batch 8 at 128x128 px"},
        "result": result,
        "complexity": {"params_m": 1.0, "params_train_m": 1.5, "gflops": 0.5,
                       "flops_input": "128x128"},
        "throughput": {"train_images_per_s": 20.0, "test_images_per_s": 40.0},
        "wall_time_s": {"train": 100.0, "test": 20.0, "total": 130.0},
        "provenance": {"git_commit": "a" * 40, "code_hash": "c0de", "code_dirty": False,
                       "config_hash": f"{model}-{train_set}-{seed}",
                       "test_data": {t: "d474" for t in TASKS},
                       "metric_schema": "mmiml-result/1", "metric_spec_version": "1",
                       "packages": {"torch": "2.13.0"}, "machine": "test",
                       "finished_at": "2026-11-27T00:00:00Z", "resumed": False},
    }


def test_result_file_round_trip_and_hand_edits_are_rejected(tmp_path):
    path = write_benchmark_result(_result(), tmp_path / "r.json")
    doc = load_benchmark_result(path)
    assert doc["sha256"] == checksum(doc)
    edited = json.loads(path.read_text())
    edited["result"]["per_task"]["face"]["pixel_iou_image"] = 0.99  # a "better" figure
    path.write_text(json.dumps(edited))
    with pytest.raises(ValueError, match=r"r\.json: .*checksum mismatch"):
        load_benchmark_result(path)
    path.write_text("{not json")
    with pytest.raises(ValueError, match=r"r\.json: (not a readable JSON|invalid JSON)"):
        load_benchmark_result(path)


def _drop_face_and_train_on_it(d: dict) -> None:
    d["train_set"] = "face"
    d["result"]["per_task"].pop("face")
    d["result"].update(num_images=30, num_tampered=24, num_authentic=6)


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.pop("provenance"), r"benchmark\.provenance: missing"),
    (lambda d: d["provenance"].pop("config_hash"), r"provenance\.config_hash: missing"),
    (lambda d: d.update(extra=1), r"benchmark\.extra: unknown key"),
    (lambda d: d.update(train_set="faces"), r"benchmark\.train_set"),
    (lambda d: d["result"]["per_task"]["face"].update(pixel_iou_image=1.5),
     r"per_task\.face\.pixel_iou_image: 1\.5 is above"),
    (lambda d: d.update(kind="ablation", ablation_of=None), "names the model it ablates"),
    (_drop_face_and_train_on_it, "not tested on it"),
])
def test_malformed_result_names_the_key(edit, message):
    doc = _result()
    edit(doc)
    doc["sha256"] = checksum(doc)
    with pytest.raises(ValueError, match=message):
        validate_benchmark_result(doc, "somewhere.json")


def _write_set(folder: Path, extra: list[dict] | None = None) -> None:
    """A small profile: two models (single-task and joint), an ablation and a lower bound."""
    docs = []
    for model, base in (("segformer", 0.30), (OMNI, 0.35)):
        docs.append(_result(model, JOINT, ious={t: base - 0.02 * i for i, t in enumerate(TASKS)}))
        for i, t in enumerate(TASKS):
            docs.append(_result(model, t, ious={t: base + 0.05 - 0.01 * i}))
    docs.append(_result(f"{OMNI}-ae-box-off", JOINT, kind="ablation"))
    lb = _result("lower_bound-all_tampered", "none", kind="lower_bound")
    docs.append(lb)
    for d in docs + (extra or []):
        write_benchmark_result(d, folder / f"{d['model']}__{d['train_set']}__{d['seed']}.json")


def test_mark_complete_skips_valid_results_and_reruns_stale_or_invalid(tmp_path):
    from mmiml.utils.setup_env import register_all_modules

    register_all_modules()
    runs = plan(PROFILES["smoke"], get_models("iml_vit"), ["face", JOINT], 1, tmp_path,
                tmp_path / "w", lower_bounds=False)
    face, joint = runs
    good = _result("iml_vit", "face")
    good["provenance"]["config_hash"] = face.config_hash
    write_benchmark_result(good, face.out)
    stale = copy.deepcopy(good)
    stale["train_set"] = JOINT
    write_benchmark_result(stale, joint.out)  # another config's hash
    notes = mark_complete(runs, force=False)
    assert face.status == "skipped" and joint.status == "pending"
    assert any("config changed" in n for n in notes)
    face.out.write_text(face.out.read_text().replace("0.3", "0.9"))
    face.status = "pending"
    notes = mark_complete(runs, force=False)
    assert face.status == "pending" and any("invalid result file" in n for n in notes)


def test_degradation_is_joint_minus_single_task_in_points(tmp_path):
    from mmiml.benchmark import report

    _write_set(tmp_path)
    df = report.frame(load_results(tmp_path))
    deg = report.degradation_frame(df)
    seg = deg[(deg.model == "segformer") & (deg.metric == "pixel_iou_image")].iloc[0]
    # joint: .30 - .02 i; single: .35 - .01 i  ->  -5 - 1 i points
    for i, t in enumerate(TASKS):
        assert seg[t] == pytest.approx(-5.0 - i)
    assert seg["mean"] == pytest.approx(-6.5)
    assert set(deg.model) == {"segformer", OMNI}  # the ablation has no single-task runs
    table = report.ranked_table(df, [("pixel_iou_image", "IoU")])
    assert list(table["model"][:2]) == ["Omni-IML", "SegFormer"]
    assert table["rank"].iloc[-1] == "ref"


def _run_tool(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, env=subprocess_env(),
                          capture_output=True, text=True, timeout=600)


def test_leaderboard_is_deterministic_and_rejects_edited_results(tmp_path):
    root = tmp_path / "results"
    _write_set(root / "cpu")
    outs = []
    for name in ("a", "b"):
        proc = _run_tool("tools/make_leaderboard.py", "--results-root", str(root),
                         "--out", str(tmp_path / name))
        assert proc.returncode == 0, proc.stderr
        outs.append(tmp_path / name)
    files = sorted(p.relative_to(outs[0]) for p in outs[0].rglob("*") if p.is_file())
    assert {str(f) for f in files} >= {"README.md", "cpu/iou_per_task.png",
                                       "cpu/degradation.png"}
    for f in files:
        assert (outs[0] / f).read_bytes() == (outs[1] / f).read_bytes(), f
    text = (outs[0] / "README.md").read_text()
    for heading in ("Joint training", "`dataset` aggregation", "Image level", "Degradation",
                    "Omni-IML ablations", "Complexity", "Provenance"):
        assert heading in text
    assert "*lower bound: all_tampered*" in text
    proc = _run_tool("tools/make_leaderboard.py", "--results-root", str(root), "--out",
                     str(outs[0]), "--check")
    assert proc.returncode == 0, proc.stderr
    # a changed result changes the page: --check fails
    doc = json.loads((root / "cpu" / "segformer__joint__0.json").read_text())
    doc["seed"] = 1
    write_benchmark_result(doc, root / "cpu" / "segformer__joint__1.json")
    proc = _run_tool("tools/make_leaderboard.py", "--results-root", str(root), "--out",
                     str(outs[0]), "--check")
    assert proc.returncode == 1 and "README.md: differs" in proc.stderr
    # a hand-edited file is rejected with its path
    edited = root / "cpu" / "segformer__face__0.json"
    edited.write_text(edited.read_text().replace('"seed": 0', '"seed": 5'))
    proc = _run_tool("tools/make_leaderboard.py", "--results-root", str(root), "--out",
                     str(tmp_path / "c"))
    assert proc.returncode == 2 and "segformer__face__0.json" in proc.stderr


def test_leaderboard_refuses_a_missing_root_and_a_result_in_another_profiles_folder(tmp_path):
    out = tmp_path / "board"
    out.mkdir()
    page = out / "README.md"
    page.write_text("the page before\n")
    proc = _run_tool("tools/make_leaderboard.py", "--results-root", str(tmp_path / "reslts"),
                     "--out", str(out))
    assert proc.returncode == 2 and "reslts" in proc.stderr and "nothing written" in proc.stderr
    assert page.read_text() == "the page before\n"
    root = tmp_path / "results"
    _write_set(root / "cpu")
    (root / "smoke").mkdir()
    shutil.copy(root / "cpu" / "segformer__face__0.json", root / "smoke")
    proc = _run_tool("tools/make_leaderboard.py", "--results-root", str(root), "--out", str(out))
    assert proc.returncode == 2, proc.stderr
    assert "smoke/segformer__face__0.json" in proc.stderr and "'cpu'" in proc.stderr
    assert page.read_text() == "the page before\n"


def test_degradation_report_tool_writes_md_csv_png(tmp_path):
    _write_set(tmp_path / "res")
    proc = _run_tool("tools/degradation_report.py", str(tmp_path / "res"), "--out-dir",
                     str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    for ext in ("md", "csv", "png"):
        assert (tmp_path / "out" / f"degradation.{ext}").is_file()
    assert "omni_iml-ae-box-off: has joint; needs a single-task run" in proc.stdout
    csv = (tmp_path / "out" / "degradation.csv").read_text()
    assert "-6.5000" in csv


@pytest.mark.slow
def test_smoke_benchmark_end_to_end_with_skip_and_resume(tmp_path):
    """tools/benchmark_all.sh on one model: results, leaderboard, then a rerun skips it all;
    a run whose result is lost is retrained from its checkpoint with --resume."""
    res, lb, work = tmp_path / "res", tmp_path / "lb", tmp_path / "work"
    cmd = ["bash", "tools/benchmark_all.sh", "--profile", "smoke", "--models", "iml_vit",
           "--tasks", "face,joint", "--results-root", str(res), "--leaderboard", str(lb),
           "--work-root", str(work)]
    proc = subprocess.run(cmd, cwd=ROOT, env=subprocess_env(), capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "[6/6]" in proc.stdout and "ETA" in proc.stdout
    docs = load_results(res / "smoke")
    assert {(d["model"], d["train_set"]) for d in docs if d["kind"] == "model"} == {
        ("iml_vit", "face"), ("iml_vit", JOINT)}
    face = next(d for d in docs if d["train_set"] == "face")
    assert set(face["result"]["per_task"]) == set(TASKS)  # tested on every task
    assert face["budget"]["max_iters"] == 20 and not face["provenance"]["resumed"]
    # learning curve: the profile's two validations (every task's val split) in the result
    curve = face["learning_curve"]
    assert [p["iter"] for p in curve] == [10, 20]
    # a task whose tiny val split leaves every figure undefined has no entry
    assert {"iter", "avg"} <= set(curve[-1]) <= {"iter", *TASKS, "avg"}
    assert 0.0 <= curve[-1]["avg"]["pixel_iou_image"] <= 1.0
    # robustness: the joint run of seed 0 only, the smoke profile's two kinds, 2 images/task
    joint = next(d for d in docs if d["train_set"] == JOINT)
    assert "robustness" not in face
    rob = joint["robustness"]
    assert set(rob["curves"]) == {"jpeg", "resize"} and rob["subset"]["per_task"] == 2
    assert rob["subset"]["num_images"] == 8 and len(rob["curves"]["jpeg"]) == 6
    assert "### Robustness" in (lb / "README.md").read_text()
    assert (lb / "README.md").is_file()
    # lose the face result and the train marker: --resume continues from the checkpoint
    (res / "smoke" / "iml_vit__face__seed0.json").unlink()
    (work / "smoke" / "iml_vit__face__seed0" / "train_done.json").unlink()
    proc = subprocess.run([*cmd, "--resume"], cwd=ROOT, env=subprocess_env(),
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "5 already complete, 1 to run" in proc.stdout
    again = load_benchmark_result(res / "smoke" / "iml_vit__face__seed0.json")
    assert again["provenance"]["resumed"]


def test_failed_run_is_summarised_and_the_exit_status_is_nonzero(tmp_path):
    """A run that cannot start (its data path is broken) fails alone; the summary names it."""
    from mmiml.benchmark.orchestrate import Run, execute, summary

    profile = PROFILES["smoke"]
    bad = Run("no_such_model", "face", 0, tmp_path / "r.json", tmp_path / "w")
    wall = execute([bad], profile, resume=False, jobs=1, log=lambda m: None)
    assert bad.status == "failed" and bad.reason.startswith("exit code")
    text = summary([bad], wall)
    assert "1 failed" in text and "FAILED no_such_model / face / seed 0" in text
    assert any("unknown model" in line for line in bad.log_tail)


@pytest.mark.slow
def test_distributed_run_scores_every_test_image_once(tmp_path):
    """``--gpus 2``: each run is two processes under torchrun (gloo on CPU); rank 0 writes one
    result over the whole test split, the same image counts as a one-process run."""
    proc = _run_tool("tools/benchmark.py", "--profile", "smoke", "--models", "iml_vit",
                     "--tasks", "joint", "--gpus", "2", "--jobs", "1", "--no-lower-bounds",
                     "--results-root", str(tmp_path / "res"), "--work-root",
                     str(tmp_path / "work"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = load_benchmark_result(tmp_path / "res" / "smoke" / "iml_vit__joint__seed0.json")
    assert doc["result"]["num_images"] == 24  # 6 test images per task in SynthIML `smoke`
    assert all(t["num_images"] == 6 for t in doc["result"]["per_task"].values())
    log = (tmp_path / "work" / "smoke" / "iml_vit__joint__seed0" / "benchmark.log").read_text()
    assert "Distributed launcher: pytorch" in log


def test_cfg_options_change_the_plan_the_command_and_are_refused_when_malformed(tmp_path):
    """A study of a variant without a zoo entry: --cfg-options reach every run's config (hash),
    its command line and its result file's key; a malformed option names itself, and the
    leaderboard's folders are refused."""
    from mmiml.benchmark.orchestrate import _command
    from mmiml.benchmark.run import parse_cfg_options, run_config
    from mmiml.utils.errors import ConfigError
    from mmiml.utils.setup_env import register_all_modules

    register_all_modules()
    option = ["model.backbone.fph.layout=pixel"]
    args = (PROFILES["cpu"], [BY_KEY[OMNI]], ["document"], 2, tmp_path / "r", tmp_path / "w")
    plain, pixel = plan(*args, lower_bounds=False), plan(*args, lower_bounds=False,
                                                          cfg_options=option)
    assert [r.out.name for r in plain] == [r.out.name for r in pixel]
    assert all(a.config_hash != b.config_hash for a, b in zip(plain, pixel, strict=True))
    assert _command(pixel[0], PROFILES["cpu"], resume=False)[-2:] == ["--cfg-options", *option]
    assert "--cfg-options" not in _command(plain[0], PROFILES["cpu"], resume=False)
    cfg = run_config(BY_KEY[OMNI], PROFILES["cpu"], "document", 0, option)
    assert cfg.model.backbone.fph.layout == "pixel"
    assert cfg.model.backbone.fph.channels == 16  # the rest of the dict is kept
    assert parse_cfg_options(["a.b=[1,2]", "c=x"]) == {"a.b": [1, 2], "c": "x"}
    with pytest.raises(ConfigError, match="--cfg-options.*'layout' is not KEY=VALUE"):
        parse_cfg_options(["layout"])
    proc = subprocess.run([sys.executable, "tools/benchmark.py", "--models", OMNI,
                           "--cfg-options", *option, "--dry-run"], cwd=ROOT,
                          env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "give --results-root" in proc.stderr
    doc = _result(OMNI, "document")
    doc["cfg_options"] = option
    write_benchmark_result(doc, tmp_path / "x.json")
    assert load_benchmark_result(tmp_path / "x.json")["cfg_options"] == option


def test_each_model_is_scored_with_its_own_image_score():
    """PSCC-Net's detection head gives its image score (the pooling is only a fallback),
    MVSS-Net's detection is the map's maximum, the others pool the top 100 pixels; the val
    evaluator of the learning curve does the same."""
    from mmiml.benchmark.run import run_config
    from mmiml.benchmark.zoo import BY_KEY

    expected = {"pscc_net": "max", "mvss_net": "max", "plain_convnext_uper": "topk_mean",
                "omni_iml": "topk_mean"}
    for key, pooling in expected.items():
        cfg = run_config(BY_KEY[key], PROFILES["cpu"], JOINT, 0)
        assert cfg.test_evaluator["image_pooling"] == pooling, key
        assert cfg.val_evaluator["image_pooling"] == pooling, key
    assert BY_KEY["pscc_net"].image_score == "model"
