"""``codecascade collect`` against the loopback replay server of the real recorded
generations: what is asked (greedy + samples, ``n`` where supported), the lines written,
resume after a kill, the cost cap, infrastructure failures, and one-line errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_support import cli
from collect_helpers import problem_rows, write_endpoints, write_problems
from runtime.misbehaving import Misbehaving, unused_port

from planner.collect import CollectOptions, Want, batch_bound, collect
from planner.collect.work import CollectError
from planner.problems import load_problems
from planner.records import Have, read_collected, validate_record
from planner.runtime.endpoints import EndpointError, load_endpoints
from planner.runtime.prompts import solution_prompt, test_prompt
from planner.runtime.replay_server import Faults

ROOT = Path(__file__).resolve().parents[2]
PRICES = {"WizardCoder-Python-7B": 1.91, "WizardCoder-Python-13B": 6.65,
          "CodeGen-Mono-16B": 8.59}


def endpoints_for(tmp_path: Path, server, **extra) -> Path:
    models = {name: {"model": name, "price_per_1m_generated": price}
              for name, price in PRICES.items()}
    models["WizardCoder-Python-7B"]["style"] = "instruction"
    models["CodeGen-Mono-16B"]["style"] = "completion"
    return write_endpoints(tmp_path / "endpoints.toml", {
        "defaults": {"base_url": server.base_url, "logprobs": True, "backoff_s": 0.0,
                     "backoff_max_s": 0.0, **extra}, "models": models})


def lines_of(path: Path) -> list:
    return [r for _, r in read_collected(path)]



def test_collect_asks_for_greedy_and_samples_using_n_and_writes_one_line_per_pair(
        tmp_path, replay_server, replay_data):
    server = replay_server()
    eps = endpoints_for(tmp_path, server)
    out = tmp_path / "g.jsonl"
    result = collect(eps, "humaneval", out, limit=3,
                     options=CollectOptions(want=Want(samples=3, tests=2)))
    models = tuple(PRICES)
    assert result.models == models and result.stats.batches == 9
    for text in out.read_text().splitlines():
        validate_record(json.loads(text))
    records = lines_of(out)
    assert sorted((r.model, r.task_id) for r in records) == sorted(
        (m, f"HumanEval/{i}") for m in models for i in range(3))
    for record in records:
        assert record.models == models
        number = int(record.task_id.split("/")[1])
        key = record.model.split("-")[-1]
        sampled = [s for s in record.solutions if not s.greedy]
        # The recorded samples, in order, with their recorded token counts.
        recorded = replay_data.solutions[key][number][:3]
        assert [s.completion_tokens for s in sampled] == [r.tokens for r in recorded]
        assert record.have == Have(1, 1, 3, 2) and not record.failures
        greedy = next(s for s in record.solutions if s.greedy)
        assert greedy.completion_tokens == replay_data.greedy_solution[key][number].tokens
        assert record.cost == pytest.approx(sum(
            r.completion_tokens for r in (*record.solutions, *record.tests))
            * PRICES[record.model] / 1e6)
    # n is used: one request per (model, problem) for the samples and one for the tests.
    sampled = [s for s in server.served if not s.greedy]
    assert len(sampled) == 2 * 9
    assert sorted({s.indices for s in sampled}) == [(0, 1), (0, 1, 2)]
    assert result.stats.cost == pytest.approx(sum(r.cost for r in records))


def test_a_server_that_ignores_n_still_gets_every_sample(tmp_path, replay_server):
    server = replay_server(honour_n=False)
    out = tmp_path / "g.jsonl"
    collect(endpoints_for(tmp_path, server), "humaneval", out, limit=2,
            models=["WizardCoder-Python-13B"],
            options=CollectOptions(want=Want(samples=4, tests=3)))
    for record in lines_of(out):
        assert record.have == Have(1, 1, 4, 3) and not record.failures


def test_resume_requests_only_what_is_missing_and_never_duplicates(tmp_path, replay_server):
    server = replay_server(Faults(server_error=0.3, seed=5))
    eps = endpoints_for(tmp_path, server, max_retries=0)
    out = tmp_path / "g.jsonl"
    # a server failing 30 % of requests at random, without retries, would fail the
    # pre-flight check as often as not: this test is about what a collection keeps
    options = CollectOptions(want=Want(samples=3, tests=2), concurrency=4, preflight=False)
    models = ["WizardCoder-Python-7B", "WizardCoder-Python-13B"]
    first = collect(eps, "humaneval", out, limit=4, models=models, options=options)
    assert first.stats.failures > 0 and first.stats.batches == 8
    kept = out.read_text()
    missing = sum(len(r.failures) for r in lines_of(out))
    # A collection killed mid-write leaves a partial line: ignored with a warning, cut off.
    out.write_text(kept + kept.splitlines()[0][:150])
    server.faults.server_error = 0.0
    before = len(server.served)
    warnings: list[str] = []
    again = collect(eps, "humaneval", out, limit=4, models=models, options=options,
                    resume=True, warn=warnings.append)
    assert warnings == [f"{out}:9: the last line is incomplete (a collection killed "
                        "mid-write); ignoring it"]
    assert out.read_text().startswith(kept)
    asked = server.served[before:]
    assert sum(len(s.indices) for s in asked) == missing == again.stats.generations
    assert again.complete_before == 8 - again.stats.batches
    totals: dict = {}
    for record in lines_of(out):
        key = (record.model, record.task_id)
        totals[key] = totals.get(key, Have()) + record.have
    assert totals == {(m, f"HumanEval/{i}"): Have(1, 1, 3, 2) for m in models for i in range(4)}
    # Complete: a third run asks for nothing; more samples asks only for the new ones.
    third = collect(eps, "humaneval", out, limit=4, models=models, options=options,
                    resume=True)
    assert third.batches_planned == 0 and third.stats.requests == 0
    more = CollectOptions(want=Want(samples=5, tests=2))
    before = len(server.served)
    collect(eps, "humaneval", out, limit=4, models=models, options=more, resume=True)
    asked = server.served[before:]
    assert len(asked) == 8 and all(len(s.indices) == 2 and s.kind == "solutions"
                                   and not s.greedy for s in asked)


@pytest.mark.slow
def test_a_killed_collection_resumes_without_losing_or_repeating(tmp_path, replay_server):
    server = replay_server(Faults(delay_s=0.4))
    eps = endpoints_for(tmp_path, server)
    out = tmp_path / "g.jsonl"
    command = [sys.executable, "-m", "planner", "collect", "-e", str(eps), "-p", "humaneval",
               "-o", str(out), "--limit", "6", "--samples", "2", "--test-generations", "2",
               "--models", "WizardCoder-Python-7B,WizardCoder-Python-13B", "--concurrency",
               "2", "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if out.exists() and out.read_text().count("\n") >= 3:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    finished = out.read_text()
    done = {(r.model, r.task_id) for r in lines_of(out)}
    assert 3 <= len(done) < 12
    served_before = len(server.served)
    code = subprocess.run([*command, "--resume"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert code.returncode == 0, code.stderr
    assert out.read_text().startswith(finished.rsplit("\n", 1)[0])
    records = lines_of(out)
    assert sorted((r.model, r.task_id) for r in records) == sorted(
        (m, f"HumanEval/{i}") for m in ("WizardCoder-Python-7B", "WizardCoder-Python-13B")
        for i in range(6))
    asked = {(s.model, s.task_id) for s in server.served[served_before:]}
    assert not asked & {(m.split("-")[-1], t) for m, t in done}


def test_max_cost_stops_before_the_cap_and_says_so(tmp_path, replay_server, capsys):
    server = replay_server()
    eps = endpoints_for(tmp_path, server)
    endpoint = load_endpoints(eps)["WizardCoder-Python-13B"]
    problem = load_problems("humaneval", limit=1)[0]
    want = Want(samples=3, tests=2)
    bound = batch_bound(endpoint, want.missing(Have()),
                        solution_prompt(endpoint, problem.prompt, problem.entry_point),
                        test_prompt(endpoint, problem.prompt, problem.entry_point, 5))
    assert bound == pytest.approx((4 * 1024 + 3 * 512) * 6.65e-6)
    out = tmp_path / "g.jsonl"
    cap = 1.5 * bound
    code = cli("collect", "-e", str(eps), "-p", "humaneval", "-o", str(out), "--limit", "20",
               "--models", "WizardCoder-Python-13B", "--samples", "3",
               "--test-generations", "2", "--max-cost", str(cap), "--no-progress",
               "--concurrency", "4")
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"stopped before --max-cost ${cap:.6g}" in captured.err
    assert "could cost up to" in captured.err and "not collected:" in captured.out
    records = lines_of(out)
    spent = sum(r.cost for r in records)
    assert 1 <= len(records) < 20 and spent <= cap
    # Everything but the last batch was admitted while it could not pass the cap.
    assert spent + bound > cap - max(r.cost for r in records) - 1e-12
    # The rest, without a cap.
    assert cli("collect", "-e", str(eps), "-p", "humaneval", "-o", str(out), "--limit", "20",
               "--models", "WizardCoder-Python-13B", "--samples", "3",
               "--test-generations", "2", "--no-progress", "--resume") == 0
    assert len(lines_of(out)) == 20
    # A cap below one batch's bound: nothing is asked.
    empty = tmp_path / "none.jsonl"
    assert cli("collect", "-e", str(eps), "-p", "humaneval", "-o", str(empty), "--limit",
               "2", "--max-cost", str(bound / 10), "--no-progress") == 0
    assert "stopped before --max-cost" in capsys.readouterr().err
    assert empty.read_text() == ""


def test_problems_without_tests_are_collected(tmp_path, replay_server):
    server = replay_server()
    rows = [{"task_id": p.task_id, "prompt": p.prompt, "entry_point": p.entry_point}
            for p in load_problems("humaneval", limit=2)]
    problems = write_problems(tmp_path / "no-tests.jsonl", rows)
    out = tmp_path / "g.jsonl"
    result = collect(endpoints_for(tmp_path, server), problems, out,
                     models=["WizardCoder-Python-13B"],
                     options=CollectOptions(want=Want(1, 1)))
    assert result.stats.batches == 2 and not result.stats.failures


def test_bad_input_is_one_line_and_exit_2_without_an_output_file(tmp_path, replay_server,
                                                                 capsys):
    server = replay_server()
    eps = endpoints_for(tmp_path, server)
    out = tmp_path / "g.jsonl"
    assert cli("collect", "-e", str(eps), "-p", "humaneval", "-o", str(out),
               "--models", "WizardCoder-Python-13B,GPT-9", "--no-progress") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "has no endpoint for 'GPT-9' (named in --models)" in err
    assert not out.exists()
    base = ["collect", "-e", str(eps), "--limit", "1", "--no-progress"]
    for args, message in (
            (["-p", "humaneval", "-o", str(out), "--samples", "-1"],
             "--samples must be a whole number >= 0, got -1"),
            (["-p", "humaneval", "-o", str(out), "--test-generations", "-2"],
             "--test-generations must be a whole number >= 0, got -2"),
            (["-p", "humaneval", "-o", str(out), "--concurrency", "0"],
             "--concurrency must be a whole number >= 1, got 0"),
            (["-p", "humaneval", "-o", str(out), "--max-cost", "0"],
             "--max-cost must be a number > 0, got 0.0"),
            (["-p", "humaneval", "-o", str(out), "--limit", "0"],
             "--limit must be a whole number >= 1, got 0"),
            (["-p", "humaneval", "-o", str(out), "--models", ""], "--models names no model"),
            (["-p", "humaneval", "-o", str(out), "--models", ","], "--models names no model"),
            (["-p", str(tmp_path / "missing.jsonl"), "-o", str(out)],
             "problems file not found"),
            (["-p", "humaneval", "-o", str(tmp_path)], "generations file")):
        code = cli(*base, *args)
        err = capsys.readouterr().err.strip()
        assert code == 2 and message in err and err.count("\n") == 0, (args, err)
        assert not out.exists()
    # An existing file is continued only when asked, and only with the same sampling.
    assert cli("collect", "-e", str(eps), "-p", "humaneval", "-o", str(out), "--limit", "1",
               "--samples", "1", "--test-generations", "1", "--no-progress") == 0
    assert cli("collect", "-e", str(eps), "-p", "humaneval", "-o", str(out), "--limit", "1",
               "--no-progress") == 2
    assert "pass --resume to continue it" in capsys.readouterr().err
    hotter = endpoints_for(tmp_path, server, temperature=1.0)
    assert cli("collect", "-e", str(hotter), "-p", "humaneval", "-o", str(out), "--limit",
               "1", "--no-progress", "--resume") == 2
    err = capsys.readouterr().err.strip()
    assert "collected differently (temperature 0.8 vs 1.0" in err and err.count("\n") == 0
    assert "--allow-mixed" in err
    assert cli("collect", "-e", str(hotter), "-p", "humaneval", "-o", str(out), "--limit",
               "2", "--no-progress", "--resume", "--allow-mixed") == 0
    assert "adding to it: --allow-mixed" in capsys.readouterr().err


def test_a_second_collection_into_the_same_file_is_refused(tmp_path, replay_server):
    import fcntl

    server = replay_server()
    out = tmp_path / "g.jsonl"
    with open(out, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(CollectError, match="another collection is writing"):
            collect(endpoints_for(tmp_path, server), "humaneval", out, limit=1,
                    options=CollectOptions(), resume=True)


@pytest.mark.parametrize("models", [[], [""], ",", ""])
def test_an_empty_choice_of_models_is_refused_not_all(tmp_path, models):
    eps = write_endpoints(tmp_path / "e.toml")
    problems = write_problems(tmp_path / "p.jsonl", problem_rows())
    with pytest.raises(CollectError, match="models names no model"):
        collect(eps, problems, tmp_path / "g.jsonl", models=models)
    assert not (tmp_path / "g.jsonl").exists()


def test_an_endpoints_file_without_the_model_names_it(tmp_path):
    eps = write_endpoints(tmp_path / "e.toml")
    problems = write_problems(tmp_path / "p.jsonl", problem_rows())
    with pytest.raises(EndpointError, match="has no endpoint for 'medium'"):
        collect(eps, problems, tmp_path / "g.jsonl", models=["small", "medium"])


def test_max_cost_collects_every_batch_before_the_one_that_cannot_fit(tmp_path, replay_server,
                                                                       capsys):
    # Cheap 7B batches come first in the order; a 13B batch alone could pass the cap, and
    # the three 7B batches' bounds cannot be in flight together (the third waits for the
    # first two to settle, while a worker already holds the 13B batch). Every 7B batch is
    # collected, no 13B batch is started, and the stop message states what was spent in
    # all.
    server = replay_server()
    eps = endpoints_for(tmp_path, server)
    endpoints = load_endpoints(eps)
    want = Want(samples=3, tests=2)
    problems = load_problems("humaneval", limit=3)

    def bound(model, problem):
        ep = endpoints[model]
        return batch_bound(ep, want.missing(Have()),
                           solution_prompt(ep, problem.prompt, problem.entry_point),
                           test_prompt(ep, problem.prompt, problem.entry_point, 5))

    cheap = [bound("WizardCoder-Python-7B", p) for p in problems]
    dear = bound("WizardCoder-Python-13B", problems[0])
    cap = 2.5 * max(cheap)
    assert sum(cheap) > cap and cap < dear
    out = tmp_path / "g.jsonl"
    code = cli("collect", "-e", str(eps), "-p", "humaneval", "-o", str(out), "--limit", "3",
               "--models", "WizardCoder-Python-7B,WizardCoder-Python-13B", "--samples", "3",
               "--test-generations", "2", "--max-cost", str(cap), "--no-progress",
               "--concurrency", "8")
    captured = capsys.readouterr()
    assert code == 0, captured.err
    records = lines_of(out)
    assert sorted((r.model, r.task_id) for r in records) == [
        ("WizardCoder-Python-7B", p.task_id) for p in problems]
    spent = sum(r.cost for r in records)
    assert (f"spent ${spent:.6g}, and the next batch (WizardCoder-Python-13B, HumanEval/0) "
            f"could cost up to ${dear:.6g}") in captured.err
    assert "not collected: 3 batches" in captured.out


MODEL = "WizardCoder-Python-7B"


def _one_endpoint(tmp_path: Path, base_url: str) -> Path:
    return write_endpoints(tmp_path / "one.toml", {
        "defaults": {"base_url": base_url, "backoff_s": 0.01, "backoff_max_s": 0.02,
                     "timeout_s": 2.0},
        "models": {MODEL: {"model": MODEL, "price_per_1m_generated": 1.0}}})


@pytest.mark.parametrize("behaviour, cause", [
    ("unused port", "cannot be reached (GET /models): connection error"),
    ("http500", "failed a 1-token request after 4 attempt(s): HTTP 500"),
    ("not_json", "malformed"),
    ("refuse", "HTTP 400 Invalid model name passed in model=WizardCoder-Python-7B"),
])
def test_every_endpoint_is_checked_before_the_first_batch(tmp_path, capsys, behaviour, cause):
    """As run does: a dead or refusing endpoint stops collect at once with one line naming
    it, exit 2, no file. Before, an unused port cost 55 s of retries and a proxy refusing
    the model name (400) gave exit 0 and a file of failed generations."""
    out = tmp_path / "g.jsonl"
    args = ["-p", "humaneval", "--limit", "2", "-o", str(out), "--no-progress"]
    if behaviour == "unused port":
        code = cli("collect", "-e", str(_one_endpoint(
            tmp_path, f"http://127.0.0.1:{unused_port()}/v1")), *args)
    else:
        with Misbehaving(behaviour, models=(MODEL,),
                         refusal=f"Invalid model name passed in model={MODEL}") as server:
            code = cli("collect", "-e", str(_one_endpoint(tmp_path, server.base_url)), *args)
            # the 1-token request with n=2 and, after a 500, once without n: 4 attempts each
            assert server.hits["/completions"] + server.hits["/chat/completions"] <= 8
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0, err
    assert err.startswith(f"error: pre-flight check failed: endpoint '{MODEL}'") and cause in err
    assert not out.exists()


def test_generations_an_endpoint_failure_kept_back_make_exit_status_3(tmp_path, capsys):
    """The endpoint passes the pre-flight check, then refuses every real request: the file
    keeps the failed rows for --resume and the exit status says it is not complete."""
    def refuse_all_but_the_ping(body: bytes) -> str | None:
        return None if b"Reply with the single word OK" in body else "refuse"

    out = tmp_path / "g.jsonl"
    with Misbehaving("ok", models=(MODEL,), override=refuse_all_but_the_ping) as server:
        code = cli("collect", "-e", str(_one_endpoint(tmp_path, server.base_url)), "-p",
                   "humaneval", "--limit", "1", "--samples", "1", "--test-generations", "1",
                   "-o", str(out), "--no-progress")
    captured = capsys.readouterr()
    assert code == 3, captured.err
    assert "failed: 4 generations did not come back" in captured.out
    assert [len(r.failures) for r in lines_of(out)] == [4]


def test_the_summary_says_when_an_endpoint_was_asked_one_sample_per_request(
        tmp_path, capsys, replay_server):
    """As run's summary does: a server that ignores n (llama-cpp-python) or refuses it (the
    llama.cpp server's 400) is named, with why."""
    import re

    def refuse_n(body: bytes) -> str | None:
        return "refuse" if re.search(rb'"n":\s*[2-9]', body) else None

    out = tmp_path / "g.jsonl"
    args = ["-p", "humaneval", "--limit", "1", "--samples", "2", "--test-generations", "2",
            "--no-progress"]
    ignoring = replay_server(honour_n=False)
    assert cli("collect", "-e", str(endpoints_for(tmp_path, ignoring)), "-o", str(out),
               "--models", "WizardCoder-Python-13B", *args) == 0
    assert ("note: WizardCoder-Python-13B's endpoint answered n=2 with 1 choice: it was "
            "asked one sample per request") in capsys.readouterr().out
    with Misbehaving("ok", models=(MODEL,), override=refuse_n,
                     refusal="Only one completion choice is allowed") as server:
        assert cli("collect", "-e", str(_one_endpoint(tmp_path, server.base_url)), "-o",
                   str(tmp_path / "h.jsonl"), *args) == 0
    assert (f"note: {MODEL}'s endpoint refused n=2 (HTTP 400 Only one completion choice is "
            "allowed): it was asked one sample per request") in capsys.readouterr().out
