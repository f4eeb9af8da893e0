"""``codecascade sandbox probe`` and ``codecascade sandbox check``."""

from __future__ import annotations

import json

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
