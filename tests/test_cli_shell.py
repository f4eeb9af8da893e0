"""The CLI shell: every failure is one line with a meaningful exit status, never a traceback."""

from __future__ import annotations

import pytest
import typer

from planner.cli import main, run_command
from planner.errors import CodecascadeError


def _status(argv: list[str], capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        main(argv)
    return int(info.value.code), capsys.readouterr().err


def test_unknown_option_and_command_are_usage_errors(capsys):
    code, err = _status(["plan", "--bogus"], capsys)
    assert code == 2 and "No such option" in err and "Traceback" not in err
    code, err = _status(["nosuch"], capsys)
    assert code == 2 and "No such command" in err


def test_bad_profile_file_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_text("not a profile\n")
    code, err = _status(["profile", str(bad)], capsys)
    assert code == 2
    assert err.strip().count("\n") == 0 and "not a readable profile" in err


def test_exit_status_project_error_and_internal_error(capsys):
    app = typer.Typer()

    @app.command()
    def fail(kind: str) -> None:
        if kind == "exit":
            raise typer.Exit(130)
        if kind == "project":
            raise CodecascadeError("budget is too small")
        raise RuntimeError("boom")

    command = typer.main.get_command(app)
    assert run_command(command, ["exit"], "x") == 130
    assert run_command(command, ["project"], "x") == 2
    assert "error: budget is too small" in capsys.readouterr().err
    assert run_command(command, ["other"], "x") == 1
    err = capsys.readouterr().err
    assert "internal RuntimeError: boom" in err and "Traceback" not in err
