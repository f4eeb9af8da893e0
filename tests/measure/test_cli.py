"""``codecascade measure`` and ``codecascade profile`` end to end (fake executor)."""

from __future__ import annotations

import json

import pytest
from measure_fakes import FakeExecutor

from planner.cli import main
from planner.profile import load_profile
from planner.sandbox.grid import GridConfig


def _run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code)


@pytest.fixture()
def fake_sandbox(monkeypatch):
    """Replace the sandbox executor the CLI builds; the list collects every instance."""
    made: list[FakeExecutor] = []

    class Fake(FakeExecutor):
        fail_after: int | None = None

        def __init__(self, config: GridConfig, workers: int | None = None) -> None:
            super().__init__(fail_after=Fake.fail_after)
            self.config = config
            self.description = {"executor": "fake", **config.to_json()}
            made.append(self)

    monkeypatch.setattr("planner.measure.api.SandboxExecutor", Fake)
    return Fake, made


def test_measure_then_profile(wizard_dir, api_file, price_file, tmp_path, fake_sandbox,
                              capsys) -> None:
    out = tmp_path / "out" / "mine.npz"
    code = _run(["measure", str(out), "--wizardcoder", str(wizard_dir), "--wizardcoder-models",
                 "7B,13B", "--api-runs", str(api_file), "--api-models", "gpt-4",
                 "--prices", str(price_file), "--no-progress"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "WizardCoder-Python-13B" in printed and f"wrote {out} (" in printed
    profile = load_profile(out)
    assert profile.model_names == ("WizardCoder-Python-7B", "WizardCoder-Python-13B", "gpt-4")
    assert profile.provenance["prices_file"]["sha256"]
    assert (out.parent / ".codecascade-cells" / ".gitignore").read_text() == "*\n"

    assert _run(["profile", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    by_name = {m["name"]: m for m in summary["models"]}
    assert by_name["gpt-4"]["greedy_pass_at_1"] is None
    assert by_name["gpt-4"]["sampled_pass_at_1"] == pytest.approx(2 / 3)
    assert by_name["WizardCoder-Python-7B"]["greedy_pass_at_1"] == 1.0
    assert by_name["WizardCoder-Python-7B"]["samples_per_problem"] == 20
    assert _run(["profile", str(out)]) == 0
    table = capsys.readouterr().out
    assert "greedy" in table and "100.0%" in table


def test_killed_measure_leaves_no_output_and_resumes(wizard_dir, price_file, tmp_path,
                                                     fake_sandbox, capsys) -> None:
    fake, made = fake_sandbox
    out = tmp_path / "p.npz"
    argv = ["measure", str(out), "--wizardcoder", str(wizard_dir), "--wizardcoder-models",
            "7B,13B", "--prices", str(price_file), "--no-progress"]
    fake.fail_after = 1
    _run(argv)  # interrupted after one job (the exit status is the CLI wrapper's business)
    assert not out.exists() and not list(tmp_path.glob(".p.npz*"))
    fake.fail_after = None
    assert _run(argv) == 0
    assert len(made[-1].jobs) == 2  # one of three problems was kept from the killed run
    assert load_profile(out).n_problems == 3


@pytest.mark.parametrize(("argv", "message"), [
    (["measure", "x.npz"], "nothing to measure"),
    (["measure", "x.txt", "--codet", "."], "must end in .npz"),
    (["measure", "x.npz", "--wizardcoder", "/nonexistent"], "problems file not found"),
    (["measure", "x.npz", "--api-runs", "/nonexistent.jsonl"], "input file not found"),
    (["measure", "x.npz", "--codet", ".", "--prices", "/nonexistent.json"],
     "price table not found"),
    (["profile", "/nonexistent.npz"], "profile not found"),
    (["measure", "x.npz", "--codet", ".", "--clock", "sundial"],
     "--clock must be one of wall, cpu, got 'sundial'"),
    (["measure", "x.npz", "--codet", ".", "--check-timeout", "0"],
     "--check-timeout must be a number > 0, got 0.0"),
    (["measure", "x.npz", "--codet", ".", "--limit", "0"],
     "--limit must be a whole number >= 1, got 0"),
    (["measure", "x.npz", "--codet", ".", "--wizardcoder-models", ","],
     "--wizardcoder-models names no"),
    (["measure", "x.npz", "--codet", ".", "--api-models", " , "], "--api-models names no"),
])
def test_bad_inputs_are_one_line_errors(argv, message, capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert _run(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("error: ")


def test_truncated_profile_is_a_clear_error(wizard_dir, price_file, tmp_path, fake_sandbox,
                                            capsys) -> None:
    out = tmp_path / "p.npz"
    assert _run(["measure", str(out), "--wizardcoder", str(wizard_dir), "--wizardcoder-models",
                 "7B", "--prices", str(price_file), "--no-progress"]) == 0
    out.write_bytes(out.read_bytes()[: out.stat().st_size // 2])
    capsys.readouterr()
    assert _run(["profile", str(out)]) == 2
    assert "not a readable profile" in capsys.readouterr().err


def test_limits_are_options_and_select_their_own_cells(wizard_dir, price_file, tmp_path,
                                                       fake_sandbox) -> None:
    _, made = fake_sandbox
    out = tmp_path / "p.npz"
    argv = ["measure", str(out), "--wizardcoder", str(wizard_dir), "--wizardcoder-models",
            "7B", "--prices", str(price_file), "--no-progress"]
    assert _run([*argv, "--test-timeout", "0.5", "--check-timeout", "2", "--clock", "wall"]) == 0
    execution = load_profile(out).provenance["execution"]
    assert (execution["test_timeout_s"], execution["check_timeout_s"], execution["clock"]) == (
        0.5, 2.0, "wall")
    assert _run([*argv, "--overwrite"]) == 0  # default settings: a new cell folder, all again
    assert made[-1].pairs == made[-2].pairs > 0
    assert len(list((tmp_path / ".codecascade-cells").glob("*/settings.json"))) == 2
