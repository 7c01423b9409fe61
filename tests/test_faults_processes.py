"""A benchmark that is stopped or killed leaves no run (and nothing a run started) behind.

The parent is the real orchestrator, :func:`mmiml.benchmark.orchestrate.execute`, with one run
whose command is a stand-in for ``tools/benchmark_run.py``: it does what that script does first
(:func:`mmiml.benchmark.processes.die_with_parent`), starts a grandchild (as a run starts
DataLoader or torchrun workers; the grandchild does nothing about signals) and sleeps. The test
then signals or kills the parent and checks that the run and its grandchild are gone within a
few seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fault_harness import ROOT
from helpers import subprocess_env

pytestmark = [pytest.mark.faults,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")]

#: the run's stand-in: ``sys.argv[1]`` is where it writes "<its pid> <grandchild pid>"
CHILD = """
import os, subprocess, sys, time
from mmiml.benchmark.processes import die_with_parent
die_with_parent()
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
with open(sys.argv[1] + ".part", "w") as f:
    f.write(f"{os.getpid()} {grandchild.pid}")
os.replace(sys.argv[1] + ".part", sys.argv[1])
time.sleep(60)
"""

#: the benchmark's stand-in: tools/benchmark.py's execute and interrupted report, one run
PARENT = """
import sys
from pathlib import Path
from mmiml.benchmark import orchestrate
from mmiml.benchmark.profiles import PROFILES

tmp = Path(sys.argv[1])
child = sys.argv[2]
orchestrate._command = lambda run, profile, resume, gpus=0: [
    sys.executable, "-c", child, str(tmp / "pids")]
run = orchestrate.Run("stand_in", "face", 0, tmp / "result.json", tmp / "work")
try:
    orchestrate.execute([run], PROFILES["smoke"], resume=False, jobs=1,
                        log=lambda m: print(m, flush=True))
except orchestrate.BenchmarkInterrupted as stop:
    print(orchestrate.summary([run], stop.wall), flush=True)
    sys.exit(128 + stop.signum)
"""


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to read its status counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _wait_gone(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = [p for p in pids if _alive(p)]
        if not left:
            return []
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


@pytest.mark.parametrize("sig", [pytest.param(signal.SIGTERM, id="sigterm-parent"),
                                 pytest.param(signal.SIGINT, id="sigint-parent"),
                                 pytest.param(signal.SIGKILL, id="sigkill-parent")])
def test_runs_die_with_the_benchmark(tmp_path, sig):
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path), CHILD], cwd=ROOT,
                              env=subprocess_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    pids: list[int] = []
    try:
        deadline = time.monotonic() + 20
        while not (tmp_path / "pids").exists():
            assert parent.poll() is None, parent.communicate()[0]
            assert time.monotonic() < deadline, "the run did not start"
            time.sleep(0.05)
        pids = [int(p) for p in (tmp_path / "pids").read_text().split()]
        assert all(_alive(p) for p in pids)
        parent.send_signal(sig)
        out = parent.communicate(timeout=20)[0]
        left = _wait_gone(pids, 5.0)
        assert not left, f"still running after the benchmark ended: {left}\n{out}"
        if sig != signal.SIGKILL:  # stopped, not killed: it says so and exits non-zero
            assert parent.returncode == 128 + sig, out
            assert "INTERRUPTED stand_in / face / seed 0" in out, out
            assert "1 interrupted" in out, out
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        for pid in pids:  # on a failure, do not leave the stand-ins running
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


FAKE_PYTHON = """#!{python}
# tools/benchmark_all.sh's interpreter, standing in for both tools it runs
import os, signal, sys, time
from pathlib import Path
log = Path(os.environ["FAKE_LOG"])
def note(text):
    with open(log, "a") as f:
        f.write(text + "\\n")
if sys.argv[1].endswith("benchmark.py"):
    def stop(signum, frame):
        note(f"benchmark got {{signal.Signals(signum).name}}")
        sys.exit(128 + signum)
    signal.signal(signal.SIGTERM, stop)
    note(f"benchmark {{os.getpid()}}")
    time.sleep(30)
    note("benchmark finished")
else:
    note("leaderboard")
"""


def test_benchmark_all_forwards_sigterm_and_skips_the_leaderboard(tmp_path):
    """id benchmark-all-sigterm: SIGTERM to tools/benchmark_all.sh reaches the benchmark; the
    script exits with its status and does not regenerate the leaderboard from a partial run."""
    fake = tmp_path / "python"
    fake.write_text(FAKE_PYTHON.format(python=sys.executable))
    fake.chmod(0o755)
    log = tmp_path / "log"
    proc = subprocess.Popen(["bash", str(ROOT / "tools/benchmark_all.sh"), "--profile", "smoke"],
                            env={**os.environ, "PYTHON": str(fake), "FAKE_LOG": str(log)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    bench = 0
    try:
        deadline = time.monotonic() + 10
        while not (log.exists() and "benchmark " in log.read_text()):
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline
            time.sleep(0.05)
        bench = int(log.read_text().split()[1])
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=10)[0]
        assert _wait_gone([bench], 3.0) == [], "the benchmark outlived benchmark_all.sh"
        assert "benchmark got SIGTERM" in log.read_text(), log.read_text()
        assert "leaderboard" not in log.read_text()
        assert proc.returncode == 128 + signal.SIGTERM, out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if bench and _alive(bench):
            os.kill(bench, signal.SIGKILL)
