"""``codecascade run`` end to end: spec + endpoints file + problems -> records, the summary
next to the prediction, resume, one-line errors, and Ctrl-C leaving a valid file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from cli_support import cli

from planner.options import Stage, StageOption
from planner.records import ProblemRecord, read_records
from planner.runtime.replay_server import Faults
from planner.spec import CascadeSpec, Prediction, Provenance, SolverInfo, save_spec

from .conftest import sandbox_available

STAGES = (Stage("WizardCoder-Python-7B", StageOption(k=1, t=1, l=2, theta=1.0)),
          Stage("WizardCoder-Python-34B", StageOption(k=0)))


def make_spec(path, stages=STAGES):
    spec = CascadeSpec(
        stages=stages, objective="max_accuracy", budget=0.01, target_accuracy=None,
        planning=Prediction("validation", 49, 0.7, (0.6, 0.8), 0.0004, (0.0003, 0.0005)),
        heldout=Prediction("test", 115, 0.72, (0.64, 0.8), 0.00041, (0.00035, 0.00047)),
        solver=SolverInfo("exact", "optimal", 0.0, 1.5, "enumeration", 1000),
        provenance=Provenance(profile="wizardcoder-humaneval", profile_sha256="a" * 64,
                              prices_per_1m={s.model: 1.0 for s in stages}, grid="paper",
                              split="paper:3", seeds={"split": 3}, version="0.1.0",
                              created="2026-01-01T00:00:00Z"),
    )
    return save_spec(spec, path)


def make_endpoints(path, base_url, key_env=None, **defaults):
    key = f'api_key_env = "{key_env}"\n' if key_env else ""
    extra = "".join(f"{k} = {v!r}\n" for k, v in defaults.items())
    path.write_text(
        f'[defaults]\nbase_url = "{base_url}"\nstyle = "chat"\nlogprobs = true\n'
        f'backoff_s = 0.0\n{key}{extra}\n'
        '[models."WizardCoder-Python-7B"]\nmodel = "WizardLM/WizardCoder-Python-7B-V1.0"\n'
        'price_per_1m_generated = 1.91\n\n'
        '[models."WizardCoder-Python-34B"]\nmodel = "WizardLM/WizardCoder-Python-34B-V1.0"\n'
        'price_per_1m_generated = 20.24\n')
    return path



@pytest.fixture
def setup(tmp_path, replay_server):
    server = replay_server()
    return (make_spec(tmp_path / "spec.json"),
            make_endpoints(tmp_path / "endpoints.toml", server.base_url), tmp_path, server)


@pytest.mark.skipif(not sandbox_available(), reason="planner.sandbox.run_batch is unavailable")
def test_run_writes_records_and_reports_accuracy_next_to_the_prediction(setup, capsys):
    spec, endpoints, tmp, _ = setup
    out = tmp / "records.jsonl"
    code = cli("run", str(spec), "--endpoints", str(endpoints), "--problems", "humaneval",
               "-o", str(out), "--limit", "3", "--no-progress", "--concurrency", "2")
    printed = capsys.readouterr().out
    assert code == 0, printed
    records = list(read_records(out))
    assert sorted(r.task_id for r in records) == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]
    assert all(r.correct is not None and r.answer is not None for r in records)
    assert "accuracy:" in printed and "Wilson 95%" in printed
    # the spec names the bundled profile with another fingerprint: no prediction for these
    # problems, and the spec's own is said to be about other problems
    assert ("spec predicted (test, 115 problems; other problems than the run's: the profile "
            "'wizardcoder-humaneval' differs from the one the spec was planned on): accuracy "
            "72.0%") in printed
    assert "predicted for the" not in printed and "edited after planning" not in printed
    # Resume: the three recorded problems are skipped, two more are run.
    code = cli("run", str(spec), "--endpoints", str(endpoints), "--problems", "humaneval",
               "-o", str(out), "--limit", "5", "--no-progress", "--resume")
    printed = capsys.readouterr().out
    assert code == 0 and "2 run now, 3 already recorded" in printed
    assert len({r.task_id for r in read_records(out)}) == 5 == len(list(read_records(out)))


@pytest.mark.skipif(not sandbox_available(), reason="planner.sandbox.run_batch is unavailable")
def test_a_spec_edited_after_planning_is_said_so_next_to_its_prediction(setup, capsys):
    """replay flags a spec whose stages were edited; run printed the stale prediction as
    if it were for the stages it ran."""
    spec, endpoints, tmp, _ = setup
    edited = json.loads(spec.read_text())
    edited["stages"][0]["theta"] = 0.5
    (tmp / "edited.json").write_text(json.dumps(edited))
    code = cli("run", str(tmp / "edited.json"), "--endpoints", str(endpoints), "--problems",
               "humaneval", "-o", str(tmp / "e.jsonl"), "--limit", "1", "--no-progress")
    printed = capsys.readouterr().out
    assert code == 0, printed
    lines = printed.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("spec predicted"))
    assert lines[at + 1].startswith("note: the spec's stages were edited after planning")


def test_bad_invocations_fail_in_one_line(setup, capsys, monkeypatch, tmp_path):
    spec, endpoints, tmp, server = setup
    out = tmp / "records.jsonl"
    out.write_text("")
    base = ["run", str(spec), "--endpoints", str(endpoints), "--no-progress"]

    def error(*args):
        code = cli(*base, *args)
        err = capsys.readouterr().err.strip()
        assert code == 2 and err.startswith("error: ") and "\n" not in err, err
        return err

    assert "humaneval, mbpp or a JSON/JSONL file" in error("--problems", "nope", "-o", str(out))
    run = ("--problems", "humaneval", "-o", str(out))
    for option, value, message in (
            ("--concurrency", "0", "--concurrency must be a whole number >= 1, got 0"),
            ("--sandbox-workers", "-1", "--sandbox-workers must be a whole number >= 0, got -1"),
            ("--test-timeout", "0", "--test-timeout must be a number > 0, got 0.0"),
            ("--check-timeout", "-1", "--check-timeout must be a number > 0, got -1.0"),
            ("--limit", "0", "--limit must be a whole number >= 1, got 0")):
        assert error(*run, option, value) == f"error: {message}"
    foreign = ProblemRecord("HumanEval/0", "p", "f", "another-spec-hash", (), None, None,
                            0.0, 0.0)
    out.write_text(foreign.dumps() + "\n")
    assert "pass --resume" in error("--problems", "humaneval", "-o", str(out))
    assert "records of another spec" in error("--problems", "humaneval", "-o", str(out),
                                              "--resume")
    out.write_text('{"format": "codecascade-record/1"}\n')
    assert "bad record field" in error("--problems", "humaneval", "-o", str(out), "--resume")
    assert "does not exist" in error("--problems", "humaneval", "-o", str(tmp / "x" / "r"))
    other = make_spec(tmp / "other.json", (Stage("NoSuchModel", StageOption(k=0)),))
    code = cli("run", str(other), "--endpoints", str(endpoints), "--problems", "humaneval",
               "-o", str(tmp / "n.jsonl"))
    assert code == 2 and "no endpoint for spec model(s) ['NoSuchModel']" in capsys.readouterr().err
    monkeypatch.delenv("CODECASCADE_TEST_KEY", raising=False)
    keyed = make_endpoints(tmp / "keyed.toml", server.base_url, "CODECASCADE_TEST_KEY")
    code = cli("run", str(spec), "--endpoints", str(keyed), "--problems", "humaneval",
               "-o", str(tmp / "k.jsonl"))
    err = capsys.readouterr().err
    assert code == 2 and "CODECASCADE_TEST_KEY is not set" in err
    assert f"{keyed}: endpoint " in err  # the file the variable is named in
    assert not (tmp / "k.jsonl").exists()
    # run reads its records back (summary, --resume): a pipe or /dev/stdout would hang or
    # be read as records, so it is refused before any request
    fifo = tmp / "records.fifo"
    os.mkfifo(fifo)
    for path in (fifo, "/dev/stdout"):
        assert "must be a regular file" in error("--problems", "humaneval", "-o", str(path))


@pytest.mark.slow
@pytest.mark.skipif(not sandbox_available(), reason="planner.sandbox.run_batch is unavailable")
def test_ctrl_c_leaves_a_valid_file_and_resume_completes_it(tmp_path, replay_server):
    server = replay_server(Faults(delay_s=0.4))
    spec = make_spec(tmp_path / "spec.json")
    endpoints = make_endpoints(tmp_path / "endpoints.toml", server.base_url)
    out = tmp_path / "records.jsonl"
    args = [sys.executable, "-c", "from planner.cli import main; main()", "run", str(spec),
            "--endpoints", str(endpoints), "--problems", "humaneval", "-o", str(out),
            "--limit", "12", "--concurrency", "2", "--no-progress"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if out.exists() and out.read_bytes().count(b"\n") >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert out.read_bytes().endswith(b"\n")
    done = [json.loads(line)["task_id"] for line in out.read_text().splitlines()]
    assert 2 <= len(done) < 12
    code = cli("run", str(spec), "--endpoints", str(endpoints), "--problems", "humaneval",
               "-o", str(out), "--limit", "12", "--resume", "--no-progress")
    assert code == 0
    assert sorted(r.task_id for r in read_records(out)) == sorted(
        f"HumanEval/{i}" for i in range(12))


def test_resume_accepts_a_re_planned_spec_with_the_same_plan_and_prices(setup, capsys):
    from dataclasses import replace

    from planner.runtime.api import spec_hash
    from planner.spec import load_spec

    spec_path, endpoints, tmp, _ = setup
    out = tmp / "records.jsonl"
    assert cli("run", str(spec_path), "--endpoints", str(endpoints), "--problems",
               "humaneval", "--limit", "1", "-o", str(out), "--no-progress") == 0
    spec = load_spec(spec_path)
    # the same plan searched again: another search time and creation date, other bytes
    again = replace(spec, solver=replace(spec.solver, seconds=9.25),
                    provenance=replace(spec.provenance, created="2026-02-02T00:00:00Z"))
    replanned = save_spec(again, tmp / "replanned.json")
    assert replanned.read_bytes() != spec_path.read_bytes()
    assert spec_hash(replanned) == spec_hash(spec_path)
    code = cli("run", str(replanned), "--endpoints", str(endpoints), "--problems",
               "humaneval", "--limit", "2", "-o", str(out), "--resume", "--no-progress")
    assert code == 0 and "1 run now, 1 already recorded" in capsys.readouterr().out
    # other prices make another spec
    dearer = replace(spec, provenance=replace(
        spec.provenance, prices_per_1m={m: 2.0 for m in spec.provenance.prices_per_1m}))
    assert spec_hash(save_spec(dearer, tmp / "dearer.json")) != spec_hash(spec_path)
    code = cli("run", str(tmp / "dearer.json"), "--endpoints", str(endpoints), "--problems",
               "humaneval", "--limit", "2", "-o", str(out), "--resume", "--no-progress")
    assert code == 2 and "records of another spec" in capsys.readouterr().err


def test_an_endpoint_without_a_price_is_never_metered_at_zero(setup, capsys):
    from dataclasses import replace

    from planner.spec import load_spec

    spec_path, _, tmp, server = setup
    unpriced = tmp / "unpriced.toml"
    unpriced.write_text(
        f'[defaults]\nbase_url = "{server.base_url}"\nstyle = "chat"\nlogprobs = true\n'
        'backoff_s = 0.0\n\n'
        '[models."WizardCoder-Python-7B"]\nmodel = "WizardLM/WizardCoder-Python-7B-V1.0"\n\n'
        '[models."WizardCoder-Python-34B"]\nmodel = "WizardLM/WizardCoder-Python-34B-V1.0"\n'
        'price_per_1m_generated = 20.24\n')
    out = tmp / "r.jsonl"
    code = cli("run", str(spec_path), "--endpoints", str(unpriced), "--problems", "humaneval",
               "--limit", "1", "-o", str(out), "--no-progress")
    printed = capsys.readouterr().out
    assert code == 0, printed
    # the spec planned with $1e-6 per token = $1 per 1M generated tokens: that price, said
    assert ("note: prices of WizardCoder-Python-7B: the spec's ($1 per 1M generated tokens, "
            "$0 per 1M prompt tokens); the endpoints file gives none") in printed
    record = next(iter(read_records(out)))
    stage = record.stages[0]
    tokens = sum(s.completion_tokens for s in stage.solutions) + sum(
        sum(t.line_tokens[:stage.l]) for t in stage.tests)
    assert tokens > 0 and stage.cost == pytest.approx(tokens * 1e-6)
    # a spec without a price for the model: refused, nothing written
    spec = load_spec(spec_path)
    bare = save_spec(replace(spec, provenance=replace(
        spec.provenance, prices_per_1m={"WizardCoder-Python-34B": 20.0})), tmp / "bare.json")
    code = cli("run", str(bare), "--endpoints", str(unpriced), "--problems", "humaneval",
               "--limit", "1", "-o", str(tmp / "r2.jsonl"), "--no-progress")
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == (
        "error: no price for 'WizardCoder-Python-7B': the endpoints file has no "
        "price_per_1m_generated and the spec none either; set it ($ per million generated "
        "tokens, 0 for a free endpoint)")
    assert not (tmp / "r2.jsonl").exists()
