"""``codecascade sandbox probe`` and ``codecascade sandbox check``."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import typer

from planner.cli import _register_commands, app, run_command


def _cli(*args: str) -> int:
    _register_commands()
    return run_command(typer.main.get_command(app), list(args), "codecascade")


def test_probe_prints_level_and_json(level_a, capsys):
    assert _cli("sandbox", "probe") == 0
    out = capsys.readouterr().out
    assert out.startswith("sandbox: level A (") and "interpreter:" in out
    assert _cli("sandbox", "probe", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["level"] == "A" and report["seccomp"] and report["missing"] == []


def test_probe_bad_interpreter_is_one_line_and_exit_2(capsys):
    assert _cli("sandbox", "probe", "--python", "/nonexistent/python3") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: sandbox interpreter /nonexistent/python3")
    assert len(err.strip().splitlines()) == 1


def test_check_runs_the_known_batch(level_a, capsys):
    assert _cli("sandbox", "check") == 0
    out = capsys.readouterr().out
    assert "sandbox level A, fast mode" in out
    assert "correct  pass pass pass" in out and "exits    crash" in out


def test_check_names_the_cause_when_the_sandbox_does_not_work(level_a, capsys, monkeypatch):
    """An interpreter that starts (the probe passes) but cannot run the sandbox's runner:
    every cell is harness_error, and the one line says why, not only which rows."""
    folder = Path(tempfile.mkdtemp(prefix="cc-broken-python-"))  # readable by the sandbox uid
    try:
        folder.chmod(0o755)
        wrapper = folder / "python3"
        wrapper.write_text("#!/bin/sh\ncase \"$*\" in *runner.py*) exit 1;; esac\n"
                           "exec /usr/bin/python3 \"$@\"\n")
        wrapper.chmod(0o755)
        monkeypatch.delenv("CI", raising=False)  # a wrapper outside /usr runs at level B
        assert _cli("sandbox", "check", "--python", str(wrapper)) == 2
    finally:
        shutil.rmtree(folder)
    captured = capsys.readouterr()
    assert "correct  harness_error" in captured.out
    error = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "unexpected verdicts for: correct" in error[0]
    # the runner's exit status, also when the sandbox saw the closed pipe first (it said
    # "runner pipe closed (Broken pipe)" about one run in four)
    assert "stopped working: runner exited with status 1" in error[0]
