"""Helpers for the collect tests: tiny problems, generations lines written directly, an
executor that decides verdicts from the texts, endpoints files for a loopback server."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from planner.collect.identity import endpoint_info, prompt_sha256
from planner.problems import Problem, load_problems
from planner.records import CollectedRecord, CollectedWriter, SolutionRecord, TestRecord
from planner.runtime.endpoints import parse_endpoints
from planner.sandbox.fake import RuleExecutor
from planner.sandbox.grid import Verdict

_RETURNS = re.compile(r"return (\d+)")
_WANTS = re.compile(r"(?:assert f\(\) == |EXPECT = )(\d+)")

#: The expected value of each tiny problem.
EXPECTED = (1, 2, 3, 4)


def problem_rows(expected: Sequence[int] = EXPECTED, *, tests: bool = True) -> list[dict]:
    rows = []
    for i, value in enumerate(expected):
        row = {"task_id": f"T/{i}", "prompt": f'def f():\n    """Return problem {i}'
               f"'s number.\"\"\"\n", "entry_point": "f",
               "canonical_solution": f"    return {value}\n"}
        if tests:
            row["test"] = (f"EXPECT = {value}\ndef check(candidate):\n"
                           "    assert candidate() == EXPECT\n")
        rows.append(row)
    return rows


def write_problems(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def rule(program: str, test: str) -> Verdict:
    """``def f(): return V`` passes a test wanting W iff V == W; ``return 999`` times out."""
    value = _RETURNS.search(program)
    want = _WANTS.search(test)
    if value is None or want is None:
        return Verdict.FAIL
    if value.group(1) == "999":
        return Verdict.TIMEOUT
    return Verdict.PASS if value.group(1) == want.group(1) else Verdict.FAIL


class TextExecutor(RuleExecutor):
    """:func:`rule` as an executor (records every job it ran)."""

    def __init__(self) -> None:
        super().__init__(rule, level="A", description={"executor": "text-rule"})


ENDPOINTS = {"defaults": {"base_url": "http://127.0.0.1:9/v1", "style": "chat"},
             "models": {"small": {"model": "org/small-7b", "price_per_1m_generated": 1.0,
                                  "price_per_1m_prompt": 0.5},
                        "large": {"model": "org/large-34b", "price_per_1m_generated": 10.0}}}


def write_endpoints(path: Path, data: dict | None = None) -> Path:
    """An endpoints TOML file from a dict shaped like :data:`ENDPOINTS`."""
    data = data or ENDPOINTS
    out = ["[defaults]"]
    out += [f"{k} = {json.dumps(v)}" for k, v in data.get("defaults", {}).items()]
    for name, table in data["models"].items():
        out.append(f'[models."{name}"]')
        out += [f"{k} = {json.dumps(v)}" for k, v in table.items()]
    path.write_text("\n".join(out) + "\n")
    return path


def line(model: str, problem: Problem, samples: Sequence[int], tests: Sequence[Sequence[int]],
         *, greedy: int | None = None, greedy_test: Sequence[int] | None = None,
         endpoints: dict | None = None, failed: int = 0,
         models: Sequence[str] = ("small", "large")) -> CollectedRecord:
    """One generations line: solutions returning ``samples`` values, test generations
    asserting ``tests`` values; ``failed`` extra sampled solutions failed (HTTP 500)."""
    eps = parse_endpoints(endpoints or ENDPOINTS)
    ep = eps[model]

    def solution(value: int, is_greedy: bool, prompt_tokens: int) -> SolutionRecord:
        code = f"def f():\n    return {value}\n"
        return SolutionRecord(f"```python\n{code}```", code, 10 + value, prompt_tokens,
                              is_greedy)

    def test(values: Sequence[int], is_greedy: bool, prompt_tokens: int) -> TestRecord:
        lines = tuple(f"assert f() == {v}" for v in values)
        return TestRecord("\n".join(lines), lines, tuple(3 + i for i in range(len(lines))),
                          sum(3 + i for i in range(len(lines))) + 2, prompt_tokens, is_greedy)

    sols = ([solution(greedy, True, 40)] if greedy is not None else [])
    sols += [solution(v, False, 40 if i == 0 else 0) for i, v in enumerate(samples)]
    sols += [SolutionRecord("", "", 0, 0, False, error="HTTP 500 internal error", attempts=7)
             for _ in range(failed)]
    tsts = ([test(greedy_test, True, 50)] if greedy_test is not None else [])
    tsts += [test(v, False, 50 if i == 0 else 0) for i, v in enumerate(tests)]
    rows = (*sols, *tsts)
    cost = (sum(r.completion_tokens for r in rows) * ep.price_generated
            + sum(r.prompt_tokens for r in rows) * ep.price_prompt)
    return CollectedRecord(
        model=model, task_id=problem.task_id, prompt_sha256=prompt_sha256(problem),
        endpoint=endpoint_info(ep, 5), price_per_1m_generated=ep.price_per_1m_generated,
        price_per_1m_prompt=ep.price_per_1m_prompt or 0.0, models=tuple(models), solutions=sols,
        tests=tuple(tsts), cost=cost, generation_s=1.0, started_at="2025-01-02T03:04:05+00:00",
        finished_at="2025-01-02T03:04:09+00:00")


def write_lines(path: Path, records: Sequence[CollectedRecord], *, append: bool = False) -> Path:
    with CollectedWriter(path, append=append, fsync=False) as writer:
        for record in records:
            writer.write(record)
    return path


def standard_lines(problems_path: Path, models: Sequence[str] = ("small", "large"),
                   n_samples: int = 4, n_tests: int = 3, **kwargs) -> list[CollectedRecord]:
    """Every model's line on every problem: samples mostly right for the large model."""
    problems = load_problems(problems_path)
    records = []
    for m, model in enumerate(models):
        for p, problem in enumerate(problems):
            expected = EXPECTED[p % len(EXPECTED)]
            samples = [expected if (i + m) % 2 == 0 else expected + 5 + m
                       for i in range(n_samples)]
            tests = [[expected, expected + i + m, 7 + m] for i in range(n_tests)]
            records.append(line(model, problem, samples, tests, greedy=expected + m % 2,
                                greedy_test=[expected, expected], models=models, **kwargs))
    return records
