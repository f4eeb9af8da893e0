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


def test_usage_errors_are_one_line_naming_the_help(capsys):
    for argv in (["plan", "--bogus"], ["nosuch"], ["frontier", "extra"], ["plan", "--seed"]):
        code, err = _status(argv, capsys)
        assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, (argv, err)
        assert "--help" in err and "Usage:" not in err


@pytest.mark.parametrize("argv", [[], ["sandbox"]])
def test_a_group_without_its_command_shows_its_help(argv, capsys):
    """`codecascade` alone printed its whole help folded into one `error: Usage: ...` line."""
    code, err = _status(argv, capsys)
    assert code == 2 and not err.startswith("error")
    lines = err.splitlines()
    assert lines[0].startswith("Usage: codecascade") and "Commands:" in lines
    assert max(len(line) for line in lines) < 100


@pytest.mark.parametrize(("argv", "line"), [
    (["plan", "--budget"],
     "error: Option '--budget' requires an argument (see 'codecascade plan --help')"),
    (["frontier", "--plot"],
     "error: Option '--plot' requires an argument (see 'codecascade frontier --help')"),
    (["--bogus"], "error: No such option: --bogus (see 'codecascade --help')"),
])
def test_usage_errors_send_to_the_commands_help(argv, line, capsys):
    code, err = _status(argv, capsys)
    assert code == 2 and err == line + "\n"


@pytest.mark.parametrize(("argv", "line"), [
    # the CLI library's parse errors and the domain's range errors read alike
    (["plan", "--seed", "x"], "error: --seed must be a whole number, got 'x'"),
    (["plan", "--seed", "-1", "--budget", "0.01"],
     "error: --seed must be a whole number >= 0, got -1"),
    (["plan", "--budget", "abc"], "error: --budget must be a number, got 'abc'"),
    (["plan", "--budget", "-1"], "error: --budget must be a number >= 0, got -1.0"),
    (["plan", "--method", "simplex"],
     "error: --method must be one of exact, ilp, heuristic, optuna, got 'simplex'"),
    (["serve", "x.json", "-e", "e.toml", "--port", "70000"],
     "error: --port must be a whole number in [0, 65535], got 70000"),
])
def test_value_errors_share_one_phrasing(argv, line, capsys):
    code, err = _status(argv, capsys)
    assert code == 2 and err == line + "\n"


def test_version(capsys):
    import planner

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"codecascade {planner.__version__}"


def test_outputs_are_checked_before_the_work(tmp_path, capsys, monkeypatch):
    import planner.planning as planning

    def no_work(*args, **kwargs):
        raise AssertionError("the search ran although the output was bad")

    for name in ("plan", "frontier", "planning_context", "compare_methods"):
        monkeypatch.setattr(planning, name, no_work)
    spec = tmp_path / "spec.json"
    spec.write_text("{}")
    code, err = _status(["plan", "--budget", "0.01", "-o", str(spec)], capsys)
    assert code == 2 and "exists; pass --overwrite" in err and spec.read_text() == "{}"
    code, err = _status(["plan", "--budget", "0.01", "-o", str(tmp_path)], capsys)
    assert code == 2 and "is a directory" in err
    code, err = _status(["frontier", "--plot", str(tmp_path / "f.gif")], capsys)
    assert code == 2 and "must end in .png or .svg or .pdf" in err
    code, err = _status(["frontier", "--plot", ""], capsys)
    assert code == 2 and "path is empty" in err
    code, err = _status(["measure", str(tmp_path / "p.json"), "--records", "r.jsonl"], capsys)
    assert code == 2 and "must end in .npz" in err
    existing = tmp_path / "p.npz"
    existing.write_bytes(b"profile")
    code, err = _status(["measure", str(existing), "--records", "r.jsonl"], capsys)
    assert code == 2 and "exists; pass --overwrite" in err and existing.read_bytes() == b"profile"


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_plot_format_follows_the_extension(tmp_path, suffix):
    from planner.report import frontier_plot

    path = frontier_plot(tmp_path / f"front{suffix}", [(0.001, 0.6), (0.01, 0.8)],
                         [(0.002, 0.6)], chosen=(0.01, 0.8), chosen_label="7B -> 34B",
                         budget=0.01)
    head = path.read_bytes()[:8]
    expected = {".png": b"\x89PNG", ".svg": b"<?xml", ".pdf": b"%PDF"}[suffix]
    assert head.startswith(expected)
