"""``measure --records`` on any benchmark, in the real sandbox: a JSONL whose ground truth is
a list of assert lines measures like the same problems in HumanEval form
(``check(candidate)``), and MBPP-sanitized by path (CodeT's file in ``../shared/data``) is
measured with its own ground truth."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from collect_helpers import ENDPOINTS, line, problem_rows, write_lines, write_problems

from planner.collect.identity import endpoint_info, prompt_sha256
from planner.measure import MEASURE_CONFIG, MeasureSources, build_profile
from planner.problems import Problem, load_problems
from planner.profile import ARRAY_SPECS
from planner.records import CollectedRecord, SolutionRecord, TestRecord
from planner.runtime.endpoints import parse_endpoints
from planner.sandbox.grid import SandboxExecutor


@pytest.fixture
def shared_data(shared_data):
    if not (shared_data / "codet" / "mbpp_sanitized_for_code_generation.jsonl").is_file():
        pytest.skip("MBPP-sanitized is absent from the shared data")
    return shared_data


def measure(tmp_path: Path, name: str, generations: Path, problems: str | Path):
    return build_profile(tmp_path / f"{name}.npz", MeasureSources(records=(generations,)),
                         problems=str(problems), cache=tmp_path / name,
                         executor=SandboxExecutor(MEASURE_CONFIG))


def test_assert_lines_and_check_candidate_measure_alike(tmp_path):
    check_form = write_problems(tmp_path / "check.jsonl", problem_rows())
    assert_form = write_problems(tmp_path / "asserts.jsonl", [
        {key: value for key, value in row.items() if key != "test"}
        | {"tests": [f"assert f() == {row['canonical_solution'].split()[-1]}"]}
        for row in problem_rows()])
    records = []
    for model in ("small", "large"):
        for p, problem in enumerate(load_problems(check_form)):
            value = p + 1
            records.append(line(model, problem, [value, value + 7], [[value, value + 1]],
                                greedy=value, greedy_test=[value]))
    generations = write_lines(tmp_path / "g.jsonl", records)
    a = measure(tmp_path, "check", generations, check_form).profile
    b = measure(tmp_path, "asserts", generations, assert_form).profile
    assert a.problems == b.problems == tuple(f"T/{i}" for i in range(4))
    for name in ARRAY_SPECS:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    # The right samples are correct, the wrong ones not; the lines are decided.
    small = a.model_index("small")
    right, wrong = a.sample_solution[small, 0, 0], a.sample_solution[small, 0, 1]
    assert a.solution_correct[0, right] and not a.solution_correct[0, wrong]
    assert a.line_holds_reference[0, a.test_line[small, 0, 0, 0]]
    assert not a.line_holds_reference[0, a.test_line[small, 0, 0, 1]]


def _mbpp_line(model: str, problem: Problem, codes: Sequence[str],
               test_lines: Sequence[str]) -> CollectedRecord:
    """A generations line of ``codes`` (the first one greedy) and one test generation of
    ``test_lines`` (greedy) plus the same again sampled."""
    ep = parse_endpoints(ENDPOINTS)[model]
    solutions = tuple(SolutionRecord(f"```python\n{code}```", code, 20, 30, i == 0)
                      for i, code in enumerate(codes))
    tests = tuple(TestRecord("\n".join(test_lines), tuple(test_lines),
                             (5,) * len(test_lines), 5 * len(test_lines), 40, greedy)
                  for greedy in (True, False))
    cost = sum(r.completion_tokens for r in (*solutions, *tests)) * ep.price_generated
    return CollectedRecord(
        model=model, task_id=problem.task_id, prompt_sha256=prompt_sha256(problem),
        endpoint=endpoint_info(ep, 5), price_per_1m_generated=ep.price_per_1m_generated,
        price_per_1m_prompt=ep.price_per_1m_prompt or 0.0, models=("small", "large"),
        solutions=solutions, tests=tests, cost=cost, generation_s=1.0,
        started_at="2025-01-02T03:04:05+00:00", finished_at="2025-01-02T03:04:09+00:00")


def test_mbpp_by_path_is_measured_with_its_own_ground_truth(tmp_path, shared_data):
    path = shared_data / "codet" / "mbpp_sanitized_for_code_generation.jsonl"
    problems = load_problems(path, limit=2)
    records = []
    for problem in problems:
        assert problem.has_ground_truth and problem.reference_program is not None
        wrong = f"def {problem.entry_point}(*args):\n    return None\n"
        # The problem's own asserts as a model's test lines (they call the entry point).
        asserts = [text.strip() for text in problem.test.splitlines()
                   if text.strip().startswith("assert")][:2]
        assert asserts and all(problem.entry_point in text for text in asserts)
        for model in ("small", "large"):
            records.append(_mbpp_line(model, problem, [problem.reference_program, wrong],
                                      asserts))
    generations = write_lines(tmp_path / "g.jsonl", records)
    profile = measure(tmp_path, "mbpp", generations, path).profile
    assert profile.problems == tuple(p.task_id for p in problems)
    assert profile.provenance["models"]["small"]["served_model"] == "org/small-7b"
    for p in range(len(problems)):
        for m in range(2):
            right = profile.greedy_solution[m, p]
            wrong = profile.sample_solution[m, p, 0]
            assert profile.solution_correct[p, right], (p, m)
            assert not profile.solution_correct[p, wrong], (p, m)
            lines = profile.greedy_test_line[m, p]
            lines = lines[lines >= 0]
            assert len(lines) == 2
            assert profile.pass_matrix[p, right, lines].all()
            assert not profile.pass_matrix[p, wrong, lines].any()
            assert profile.line_holds_reference[p, lines].all()
