"""``build_profile``, the importable form of ``codecascade measure`` (fake executor)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from measure_fakes import FakeExecutor

from planner.measure import MEASURE_CONFIG, MeasureSources, build_profile
from planner.measure.sources import SourceError
from planner.output import OutputError
from planner.profile import load_profile


def test_build_profile_writes_the_profile_and_says_what_ran(wizard_dir, price_file,
                                                            tmp_path) -> None:
    sources = MeasureSources(wizardcoder=wizard_dir, wizardcoder_models=("7B", "13B"))
    executor = FakeExecutor()
    out = tmp_path / "p.npz"
    result = build_profile(out, sources, prices=price_file, executor=executor,
                           limit=2)
    assert result.path == out and load_profile(out).fingerprint() == result.profile.fingerprint()
    assert result.profile.n_problems == 2 and result.pairs_run == executor.pairs > 0
    assert result.cache == tmp_path / ".codecascade-cells" and result.without_ground_truth == ()
    again = build_profile(out, sources, prices=price_file, executor=FakeExecutor(),
                          limit=2, overwrite=True)
    assert again.pairs_run == 0
    with pytest.raises(OutputError, match="pass --overwrite"):
        build_profile(out, sources, prices=price_file, executor=FakeExecutor())


def test_problems_without_ground_truth_are_skipped_and_named(wizard_dir, price_file,
                                                             tmp_path) -> None:
    rows = json.loads((wizard_dir / "HumanEval.json").read_text())
    del rows[1]["test"]
    problems = tmp_path / "problems.jsonl"
    problems.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = build_profile(tmp_path / "p.npz", MeasureSources(wizardcoder=wizard_dir,
                                                              wizardcoder_models=("7B",)),
                           problems=problems, prices=price_file, executor=FakeExecutor())
    assert result.without_ground_truth == ("HumanEval/1",)
    assert result.profile.problems == ("HumanEval/0", "HumanEval/2")
    assert result.profile.provenance["problems_without_ground_truth"] == ["HumanEval/1"]
    assert result.profile.provenance["problems_file"]["path"] == "problems.jsonl"


def test_sources_are_checked_when_made(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="nothing to measure"):
        MeasureSources()
    with pytest.raises(SourceError, match="--wizardcoder-models names no models"):
        MeasureSources(wizardcoder=tmp_path, wizardcoder_models=("", " "))
    assert MeasureSources(codet=tmp_path).default_problems() == "humaneval"
    assert MEASURE_CONFIG.to_json()["test_timeout_s"] == 0.25


def test_a_sandbox_that_stops_working_stops_measure_and_stores_nothing(
        wizard_dir, price_file, tmp_path, monkeypatch, capsys) -> None:
    """The sandbox's runner dies at start (as with /dev/null unusable inside it): every
    cell would be harness_error. measure stops with one line naming the cause; no cell of
    the broken batch reaches the cache, no profile is written."""
    import planner.sandbox.executor as sandbox_executor
    from planner.cli import _register_commands, app, run_command
    from planner.sandbox import SandboxBrokenError, SandboxExecutor

    runner = tmp_path / "runner.py"
    runner.write_text("import sys\nsys.stderr.write('cannot open /dev/null: Permission "
                      "denied\\n')\nsys.exit(3)\n")
    monkeypatch.setattr(sandbox_executor, "_RUNNER_SOURCE", runner)
    sources = MeasureSources(wizardcoder=wizard_dir, wizardcoder_models=("7B",))
    out = tmp_path / "p.npz"
    with pytest.raises(SandboxBrokenError) as info:
        build_profile(out, sources, prices=price_file, limit=1,
                      executor=SandboxExecutor(MEASURE_CONFIG, workers=1))
    message = str(info.value)
    assert message.startswith("sandbox level ") and "stopped working: " in message
    assert "cannot open /dev/null: Permission denied" in message
    assert "cells measured before are kept in" in message and "\n" not in message
    assert not out.exists()
    assert not any((tmp_path / ".codecascade-cells").rglob("*.npz"))
    import typer

    _register_commands()
    code = run_command(typer.main.get_command(app), [
        "measure", str(tmp_path / "q.npz"), "--wizardcoder", str(wizard_dir),
        "--wizardcoder-models", "7B", "--prices", str(price_file), "--no-progress"],
        "codecascade")
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: sandbox level ") and "\n" not in err


def test_a_records_path_that_is_a_directory_is_said_so(tmp_path: Path, capsys) -> None:
    from cli_support import cli

    out = tmp_path / "p.npz"
    assert cli("measure", str(out), "--records", str(tmp_path), "--problems",
               "humaneval") == 2
    assert capsys.readouterr().err.strip() == f"error: records file {tmp_path} is a directory"
    assert not out.exists()
