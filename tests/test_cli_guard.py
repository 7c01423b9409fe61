"""The shared command-line guard (mmiml.utils.cli.run_cli) and the JSON reader every tool uses."""

from __future__ import annotations

import pytest

from mmiml.utils.cli import run_cli
from mmiml.utils.errors import CheckpointError, ConfigError, IMLDataError, UnsafeCheckpointError
from mmiml.utils.fileio import read_json


def _exit(capsys: pytest.CaptureFixture[str], main, argv: list[str] | None = None
          ) -> tuple[int, list[str]]:
    with pytest.raises(SystemExit) as info:
        run_cli(main, argv=argv if argv is not None else ["tool"])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    return info.value.code, lines


@pytest.mark.parametrize("err", [IMLDataError("data/m.jsonl:3", "bad\nline"),
                                 ConfigError("cfg.py", "unknown key"),
                                 CheckpointError("w.pth", "empty state_dict"),
                                 FileNotFoundError(2, "No such file or directory", "x.pth")])
def test_user_errors_are_one_line_naming_the_file_exit_2(capsys, err) -> None:
    def main() -> int:
        raise err

    code, lines = _exit(capsys, main)
    assert code == 2 and len(lines) == 1
    assert lines[0].startswith("error: ") and ("m.jsonl:3" in lines[0] or "cfg.py" in lines[0]
                                               or "w.pth" in lines[0] or "x.pth" in lines[0])


def test_unexpected_error_is_one_line_exit_1_and_debug_shows_the_traceback(capsys) -> None:
    def main() -> int:
        raise KeyError(101)

    code, lines = _exit(capsys, main)
    assert code == 1 and len(lines) == 1 and "KeyError" in lines[0] and "--debug" in lines[0]
    argv = ["tool", "--debug", "x"]
    with pytest.raises(KeyError):
        run_cli(main, argv=argv)
    assert argv == ["tool", "x"]  # removed before the tool parses its arguments


def test_status_and_interrupt(capsys) -> None:
    assert _exit(capsys, lambda: 3)[0] == 3
    assert _exit(capsys, lambda: {"result": 1})[0] == 0  # a tool may return its result
    assert _exit(capsys, lambda: None)[0] == 0

    def interrupted() -> None:
        raise KeyboardInterrupt

    assert _exit(capsys, interrupted)[0] == 130


def test_unsafe_checkpoint_error_keeps_both_forms() -> None:
    old = UnsafeCheckpointError("a.pth: refused to load: the checkpoint pickles posix.system")
    new = UnsafeCheckpointError("a.pth", "refused to load")
    assert old.path == "a.pth" and str(old).startswith("a.pth: refused")
    assert str(new) == "a.pth: refused to load" and isinstance(new, CheckpointError)


@pytest.mark.parametrize("content,problem", [
    (b"[" * 50_000 + b"]" * 50_000, "nested too deeply"),
    (b'{"a": ', "invalid JSON"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b"  \n", "is empty"),
])
def test_read_json_names_the_file(tmp_path, content: bytes, problem: str) -> None:
    path = tmp_path / "r.json"
    path.write_bytes(content)
    with pytest.raises(IMLDataError, match=problem) as info:
        read_json(path)
    assert str(info.value).startswith(str(path))
    with pytest.raises(IMLDataError, match="not found"):
        read_json(tmp_path / "missing.json")
    with pytest.raises(IMLDataError, match="not a regular file"):
        read_json(tmp_path)
