"""--help of every command reads well in an 80-column terminal: no line wider, every
option's name whole (not cut to `--sandbox-work…`), no `<bool>` on flags, units named."""

from __future__ import annotations

import re

import pytest
import typer

from planner.cli import _register_commands, app, main, plan_main


def _commands() -> list[tuple[list[str], object]]:
    """(argv prefix, click command) of every command and group, the root included."""
    _register_commands()
    root = typer.main.get_command(app)
    out = [([], root)]
    stack = [([], root)]
    while stack:
        path, group = stack.pop()
        for name, command in getattr(group, "commands", {}).items():
            out.append(([*path, name], command))
            if getattr(command, "commands", None):
                stack.append(([*path, name], command))
    return out


COMMANDS = _commands()


@pytest.mark.parametrize(("path", "command"), COMMANDS,
                         ids=[" ".join(p) or "codecascade" for p, _ in COMMANDS])
def test_help_fits_80_columns_with_whole_option_names(path, command, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit) as info:
        main([*path, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("Usage: codecascade")
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    assert "…" not in text and "<bool>" not in text and "[default: no-" not in text
    for param in command.params:
        for name in (*param.opts, *param.secondary_opts):
            if name.startswith("--"):
                assert name in text, name
    # no word of an option's help cut across two lines ("shrinkage:budget_confidence=0.95,pre"
    # / "diction=632")
    flowing = " ".join(re.sub(r"-\n\s+", "-", text).split())  # a break after a hyphen reads
    for param in command.params:
        for word in (getattr(param, "help", None) or "").split():
            assert word in flowing, word


def test_the_plan_script_has_the_same_help(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit) as info:
        plan_main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("Usage: plan") and all(len(x) <= 80 for x in text.splitlines())


@pytest.mark.parametrize(("path", "needles"), [
    (["plan"], ["$ per problem", "$ per million generated tokens", "--time-limit SECONDS",
                "--no-progress"]),
    (["frontier"], ["--time-limit SECONDS", "$ per problem"]),
    (["compare"], ["--time-limit SECONDS", "--no-progress"]),
    (["replay"], ["--price MODEL=DOLLARS", "--no-progress"]),
    (["measure"], ["$ per million tokens", "--no-progress"]),
    (["run"], ["$ per million tokens", "--no-progress"]),
])
def test_help_names_units_and_the_shared_options(path, needles, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit):
        main([*path, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for needle in needles:
        assert needle in text, needle
