"""What a run does when the infrastructure fails: never the model's failure. A later stage
failing degrades to the last usable stage's answer; problems an endpoint failure touched
are unfinished, redone by --resume, and keep the exit status non-zero; an endpoint that
goes down mid-run, a misconfigured one, or a sandbox that stops working stop the run with
one line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from planner.options import CascadePlan, Stage, StageOption
from planner.problems import load_problems
from planner.records import latest_records, read_records
from planner.runtime.endpoints import parse_endpoints
from planner.runtime.runner import CascadeRunner, OnFailure, RunOptions
from planner.sandbox import SandboxBrokenError
from planner.sandbox.fake import RuleExecutor
from planner.sandbox.grid import GridConfig

from .conftest import sandbox_available
from .misbehaving import Misbehaving, unused_port
from .test_run_cli import cli, make_endpoints, make_spec

PLAN = CascadePlan((
    Stage("7B", StageOption(k=1, t=1, l=2, theta=1.0)),
    Stage("13B", StageOption(k=3, t=3, l=4, theta=0.8, share_tests=True)),
    Stage("34B", StageOption(k=5, t=2, l=2, theta=0.5, rule="pass_fraction")),
))


def endpoints(up: str, down: str, down_models=("13B", "34B")):
    return parse_endpoints({
        "defaults": {"max_retries": 0, "backoff_s": 0.0, "backoff_max_s": 0.0,
                     "timeout_s": 5.0, "logprobs": True},
        "models": {m: {"model": f"WizardCoder-Python-{m}",
                       "base_url": down if m in down_models else up,
                       "price_per_1m_generated": 1.0} for m in ("7B", "13B", "34B")}})


def run_problem(plan, eps, executor, problem, on_failure):
    runner = CascadeRunner(plan, eps, executor, spec_hash="h",
                           options=RunOptions(on_failure=on_failure))

    async def go():
        await runner.start()
        try:
            return await runner.run_problem(problem)
        finally:
            await runner.close()

    return asyncio.run(go())


@pytest.mark.parametrize("on_failure", list(OnFailure))
def test_later_stages_down_answer_with_the_last_usable_stage(replay_server, on_failure):
    """13B and 34B down: the 7B stage scored its solution and escalated; instead of "no
    stage produced a usable solution", its chosen solution answers, marked degraded, and
    the problem is unfinished (not the models' doing)."""
    server = replay_server()
    eps = endpoints(server.base_url, f"http://127.0.0.1:{unused_port()}/v1")
    problem = load_problems("humaneval", limit=1)[0]
    record = run_problem(PLAN, eps, RuleExecutor(lambda s, t: False), problem, on_failure)
    first = record.stages[0]
    assert first.decision == "escalate" and first.solutions[0].code
    expected = ["escalate", "failed"] + (["failed"] if on_failure == "escalate" else [])
    assert [s.decision for s in record.stages] == expected
    assert record.answer is not None and record.answer.stage == 0
    assert record.answer.text == first.solutions[first.chosen].code
    assert record.degraded and not record.finished
    assert record.failure.startswith("13B: connection error")
    failed = record.stages[1]
    assert failed.failure.startswith("connection error")
    assert all(s.failure == "connection" for s in failed.solutions + failed.tests)
    assert record.error is None


def test_a_first_stage_down_under_escalate_is_answered_by_the_next(replay_server):
    server = replay_server()
    eps = endpoints(server.base_url, f"http://127.0.0.1:{unused_port()}/v1",
                    down_models=("7B",))
    problem = load_problems("humaneval", limit=1)[0]
    record = run_problem(PLAN, eps, RuleExecutor(lambda s, t: True), problem,
                         OnFailure.ESCALATE)
    assert [s.decision for s in record.stages] == ["failed", "accept"]
    assert record.answer.stage == 1 and record.degraded and not record.finished


def test_nothing_usable_and_an_endpoint_down_is_unfinished_without_a_verdict(replay_server):
    eps = endpoints("unused", f"http://127.0.0.1:{unused_port()}/v1",
                    down_models=("7B", "13B", "34B"))
    problem = load_problems("humaneval", limit=1)[0]
    record = run_problem(PLAN, eps, RuleExecutor(), problem, OnFailure.STOP)
    assert [s.decision for s in record.stages] == ["failed"]
    assert record.answer is None and record.correct is None and not record.finished


# ---- codecascade run against endpoints that fail -------------------------------------

def error_of(capsys, *args):
    code = cli(*args)
    err = capsys.readouterr().err.strip()
    assert "\n" not in err, err
    return code, err


def base_args(spec: Path, endpoints: Path, out: Path, *extra: str) -> list[str]:
    return ["run", str(spec), "--endpoints", str(endpoints), "--problems", "humaneval",
            "-o", str(out), "--no-progress", *extra]


@pytest.mark.parametrize(("behaviour", "cause"), [
    ("unused", "cannot be reached (GET /models): connection error"),
    ("http500", "failed a 1-token request after 4 attempt(s): HTTP 500"),
    ("hang", "cannot be reached (GET /models): timeout after 0.5 s"),
    ("not_json", "failed a 1-token request"),
])
def test_an_endpoint_that_cannot_serve_stops_the_run_before_the_first_problem(
        tmp_path, capsys, behaviour, cause):
    """The issue's cases: today each ran to exit 0 with 0 % accuracy; now one line, exit 2,
    nothing written (so --resume after fixing the URL runs everything)."""
    spec = make_spec(tmp_path / "spec.json")
    out = tmp_path / "records.jsonl"
    with Misbehaving("ok" if behaviour == "unused" else behaviour) as server:
        url = f"http://127.0.0.1:{unused_port()}/v1" if behaviour == "unused" else \
            server.base_url
        eps = make_endpoints(tmp_path / "e.toml", url, timeout_s=0.5)
        code, err = error_of(capsys, *base_args(spec, eps, out, "--limit", "2"))
    assert code == 2 and err.startswith("error: pre-flight check failed: endpoint "), err
    assert cause in err and "WizardCoder-Python-7B" in err
    assert not out.exists()


def test_a_proxy_answering_400_for_a_wrong_model_name(tmp_path, capsys):
    spec = make_spec(tmp_path / "spec.json")
    served = ("WizardLM/WizardCoder-Python-7B-V1.0", "WizardLM/WizardCoder-Python-13B-V1.0")
    with Misbehaving("proxy", key="EMPTY", models=served) as server:  # the key is right
        eps = make_endpoints(tmp_path / "e.toml", server.base_url)
        code, err = error_of(capsys, *base_args(spec, eps, tmp_path / "r.jsonl"))
    assert code == 2
    assert ("does not list model 'WizardLM/WizardCoder-Python-34B-V1.0' (it lists: "
            "WizardLM/WizardCoder-Python-7B-V1.0, WizardLM/WizardCoder-Python-13B-V1.0)"
            ) in err


def def_line(prompt: str) -> str:
    """The ``def`` line of a problem: it marks the requests about that problem."""
    return next(line for line in prompt.splitlines() if line.startswith("def "))


@pytest.mark.skipif(not sandbox_available(), reason="planner.sandbox.run_batch is unavailable")
def test_an_endpoint_going_down_mid_run_stops_it_and_resume_redoes_what_it_touched(
        tmp_path, capsys, replay_server):
    problems = load_problems("humaneval", limit=6)
    spec = make_spec(tmp_path / "spec.json")
    out = tmp_path / "records.jsonl"
    down = {"on": False}
    marker = def_line(problems[2].prompt)

    def override(body: bytes) -> str | None:
        if marker in body.decode():
            down["on"] = True  # from the third problem on, the server answers 500
        return "http500" if down["on"] else None

    with Misbehaving("forward", upstream=replay_server().base_url, override=override) as proxy:
        eps = make_endpoints(tmp_path / "e.toml", proxy.base_url, max_retries=3)
        code, err = error_of(capsys, *base_args(spec, eps, out, "--limit", "6",
                                                "--concurrency", "1"))
        assert code == 2, err
        assert ("is failing: its last 3 requests failed the same way: HTTP 500 Internal "
                "Server Error") in err
        assert "run again with --resume" in err
        records = list(read_records(out))
        finished = [r.task_id for r in records if r.finished]
        unfinished = [r for r in records if not r.finished]
        assert finished == [p.task_id for p in problems[:2]]
        assert [r.task_id for r in unfinished] == [problems[2].task_id]
        assert unfinished[0].failure.startswith("WizardCoder-Python-7B: HTTP 500")
        assert unfinished[0].correct is None
        # fixed: --resume redoes the unfinished problem and the rest, exit 0
        down["on"] = False
        proxy.override = None
        code = cli(*base_args(spec, eps, out, "--limit", "6", "--resume"))
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "4 run now, 2 already recorded" in printed
    latest = latest_records(out)
    assert sorted(latest) == sorted(p.task_id for p in problems)
    assert all(r.finished for r in latest.values())
    assert "unfinished" not in printed


@pytest.mark.skipif(not sandbox_available(), reason="planner.sandbox.run_batch is unavailable")
def test_unfinished_problems_make_the_exit_status_non_zero(tmp_path, capsys, replay_server):
    """One problem's requests are refused (a prompt over the context length): that problem
    is unfinished, the others are not, the circuit breaker stays closed, exit status 3."""
    problems = load_problems("humaneval", limit=3)
    spec = make_spec(tmp_path / "spec.json")
    out = tmp_path / "records.jsonl"
    marker = def_line(problems[1].prompt)

    def override(body: bytes) -> str | None:
        return "refuse" if marker in body.decode() else None

    with Misbehaving("forward", upstream=replay_server().base_url, override=override) as proxy:
        eps = make_endpoints(tmp_path / "e.toml", proxy.base_url)
        code = cli(*base_args(spec, eps, out, "--limit", "3", "--concurrency", "1"))
        printed = capsys.readouterr().out
        assert code == 3, printed
        assert ("unfinished: 1 problem(s) an endpoint failure kept from finishing (1 x "
                "WizardCoder-Python-7B: HTTP 400 This model's maximum context length") in printed
        assert "(2/2" in printed or "/2, Wilson" in printed  # accuracy over finished only
        proxy.override = None
        code = cli(*base_args(spec, eps, out, "--limit", "3", "--resume"))
    assert code == 0 and "1 run now, 2 already recorded" in capsys.readouterr().out


# ---- a sandbox that stops working -------------------------------------------------------

@pytest.fixture
def broken_sandbox(tmp_path, monkeypatch):
    """The sandbox's runner dies at start, as with /dev/null unusable inside the sandbox."""
    import planner.sandbox.executor as executor

    runner = tmp_path / "runner.py"
    runner.write_text("import sys\nsys.stderr.write('cannot open /dev/null: Permission "
                      "denied\\n')\nsys.exit(3)\n")
    monkeypatch.setattr(executor, "_RUNNER_SOURCE", runner)


@pytest.mark.skipif(not sandbox_available(), reason="planner.sandbox.run_batch is unavailable")
@pytest.mark.parametrize("plan", [
    CascadePlan((Stage("7B", StageOption(k=1, t=1, l=2, theta=1.0)),
                 Stage("34B", StageOption(k=0)))),
    CascadePlan((Stage("7B", StageOption(k=0)),)),  # only the ground-truth check runs
], ids=["test-lines", "ground-truth-check"])
def test_a_broken_sandbox_stops_the_run_and_records_nothing(replay_server, tmp_path,
                                                            broken_sandbox, plan):
    from planner.records import RecordWriter
    from planner.sandbox import SandboxExecutor

    server = replay_server()
    eps = endpoints(server.base_url, server.base_url)
    runner = CascadeRunner(plan, eps, SandboxExecutor(GridConfig(), workers=1),
                           spec_hash="h", options=RunOptions())
    out = tmp_path / "r.jsonl"
    with RecordWriter(out, append=False) as writer, pytest.raises(SandboxBrokenError) as info:
        asyncio.run(runner.run(load_problems("humaneval", limit=2), writer))
    assert "stopped working: " in str(info.value) and str(info.value).startswith("sandbox level")
    assert "cannot open /dev/null: Permission denied" in str(info.value)
    assert out.read_text() == ""


@pytest.mark.skipif(not sandbox_available(), reason="planner.sandbox.run_batch is unavailable")
def test_a_run_stopped_before_its_first_record_leaves_no_file(replay_server, tmp_path, capsys,
                                                              broken_sandbox):
    """The sandbox stops working on the first problem: one line, exit 2, and no empty
    records file left behind (it said "recorded in r.jsonl" of a 0-byte file); a file
    being resumed is kept as it was."""
    server = replay_server()
    spec = make_spec(tmp_path / "spec.json")
    eps = make_endpoints(tmp_path / "endpoints.toml", server.base_url)
    out = tmp_path / "r.jsonl"
    args = ["run", str(spec), "--endpoints", str(eps), "--problems", "humaneval", "--limit",
            "2", "--no-progress", "-o", str(out)]
    assert cli(*args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "stopped working" in err
    assert f"the run stopped after 0 problem(s), nothing written to {out}" in err
    assert not out.exists()
    out.write_text("")
    assert cli(*args, "--resume") == 2
    assert f"recorded in {out}" in capsys.readouterr().err and out.exists()
