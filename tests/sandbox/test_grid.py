"""The grid executor: de-duplication, check limits, compact results, the config object and
the stand-in executor. Jobs here are small; sandbox cases need the probed level."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.problems import Problem
from planner.sandbox import (
    BatchJob,
    Clock,
    ExecutionError,
    GridConfig,
    GridJob,
    GridResult,
    SandboxExecutor,
    SandboxMode,
    Verdict,
    run_batch,
    run_one,
)
from planner.sandbox.fake import RuleExecutor
from planner.sandbox.grid import dedupe, expand, verdict_codes

GOOD = "def add(a, b):\n    return a + b\n"
WRONG = "def add(a, b):\n    return a - b\n"
SLOW_CHECK = "import time\ntime.sleep(0.6)\nassert add(1, 2) == 3"


def test_verdict_kinds_map_every_sandbox_verdict():
    verdicts = np.array([["pass", "fail", "error:NameError", "error(load):SyntaxError",
                          "timeout", "timeout(skipped)", "crash", "tampered", "harness_error",
                          "memory"]])
    passed = verdicts == "pass"
    codes = verdict_codes(verdicts, passed)
    assert codes.dtype == np.uint8
    assert [Verdict(c).name for c in codes[0]] == [
        "PASS", "FAIL", "ERROR", "ERROR", "TIMEOUT", "TIMEOUT", "CRASH", "CRASH", "CRASH",
        "CRASH"]


def test_config_validates_once_and_types_its_vocabulary():
    config = GridConfig(test_timeout=1, mode="strict", clock="cpu")
    assert config.mode is SandboxMode.STRICT and config.clock is Clock.CPU
    assert config.test_timeout == 1.0 and isinstance(config.test_timeout, float)
    assert config.limits(check=True).test_timeout == config.check_timeout
    assert config.to_json() == {"mode": "strict", "clock": "cpu", "test_timeout_s": 1.0,
                                "check_timeout_s": 10.0,
                                "check_runs": "first, in the solution's process"}
    for bad, message in (({"mode": "quick"}, "mode must be one of fast, strict"),
                         ({"clock": "sundial"}, "clock must be one of wall, cpu"),
                         ({"check_timeout": float("nan")},
                          "check_timeout must be a number > 0, got nan"),
                         ({"test_timeout": True}, "test_timeout must be a number > 0, got True")):
        with pytest.raises(ExecutionError, match=message):
            GridConfig(**bad)
    with pytest.raises(ExecutionError, match="workers must be a positive integer"):
        SandboxExecutor(workers=0)
    with pytest.raises(ExecutionError, match="needs the check"):
        GridJob(("x = 1",), (), check=True)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=6),
       st.lists(st.sampled_from(["t1", "t2", "t3", "t4"]), min_size=1, max_size=6))
def test_dedupe_then_expand_is_the_grid_of_the_original_job(solutions, tests):
    job = GridJob(tuple(solutions), tuple(tests), check=True)
    small, rows, cols = dedupe(job)
    assert small.check and small.tests[0] == tests[0]
    assert len(set(small.solutions)) == len(small.solutions) == len(set(solutions))
    rule = RuleExecutor(lambda s, t: Verdict.PASS if (s, t) in {("a", "t1"), ("b", "t3")}
                        else Verdict.TIMEOUT if s == "c" else Verdict.FAIL)
    direct = run_one(rule, job)
    expanded = expand(run_one(rule, small), rows, cols)
    assert np.array_equal(direct.codes, expanded.codes)
    assert np.array_equal(direct.verdicts, expanded.verdicts)
    assert rule.pairs == job.n_pairs + small.n_pairs


def test_empty_jobs_run_nothing():
    executor = SandboxExecutor()
    results = dict(executor.run([GridJob((), ("assert 1",)), GridJob(("x = 1",), ())]))
    assert results[0].shape == (0, 1) and results[1].shape == (1, 0)
    assert results[1].level == "" and results[1].verdicts.shape == (1, 0)
    assert GridResult.empty(2, 0).passed.shape == (2, 0)


def test_the_sandbox_runs_duplicates_once_and_gives_the_batch_verdicts(level_a):
    tests = ("assert add(1, 2) == 3", "assert add(2, 2) == 5", "assert add(1, 2) == 3",
             "assert add(")
    job = GridJob((GOOD, WRONG, GOOD), tests, preamble="import math")
    result = run_one(SandboxExecutor(GridConfig(test_timeout=0.5), workers=1), job)
    plain = run_batch(BatchJob(solutions=job.solutions, tests=tests, preamble="import math",
                               limits=GridConfig(test_timeout=0.5).limits()), workers=1)
    assert np.array_equal(result.verdicts, plain.verdicts)
    assert np.array_equal(result.passed, plain.passed)
    assert result.codes.dtype == np.uint8 and result.detail.dtype == np.uint16
    assert result.verdicts[0, 3] == "error:SyntaxError" and result.level == plain.level
    assert result.seconds > 0


def test_a_check_job_gives_the_check_its_own_limit(level_a):
    config = GridConfig(test_timeout=0.2, check_timeout=3.0, clock="wall")
    executor = SandboxExecutor(config, workers=1)
    tests = (SLOW_CHECK, "import time\ntime.sleep(0.6)")
    checked = run_one(executor, GridJob((GOOD,), tests, check=True))
    assert list(checked.verdicts[0]) == ["pass", "timeout"]
    unchecked = run_one(executor, GridJob((GOOD,), tests))
    assert unchecked.verdicts[0, 0] == "timeout"


def test_assert_lines_as_ground_truth_decide_correctness(level_a):
    problem = Problem("t", "def add(a, b):\n", "add",
                      asserts=("assert add(1, 2) == 3", "assert add(-1, 1) == 0"))
    job = GridJob((GOOD, WRONG), (problem.ground_truth_test,), problem.preamble, check=True)
    result = run_one(SandboxExecutor(workers=1), job)
    assert list(result.verdicts[:, 0]) == ["pass", "fail"]


def test_broken_cause_names_a_batch_the_sandbox_could_not_run():
    import numpy as np

    from planner.sandbox.grid import GridJob, GridResult, broken_cause

    vocabulary = ("pass", "fail", "harness_error")

    def result(detail):
        detail = np.array(detail, dtype=np.uint16)
        codes = np.where(detail == 0, 1, np.where(detail == 1, 2, 5)).astype(np.uint8)
        return GridResult(codes, detail, vocabulary, "A", 0.1,
                          ("runner exited with status 3: 'cannot open /dev/null'",))

    plain = GridJob(("a", "b"), ("t1", "t2"))
    check = GridJob(("a", "b"), ("check", "t1"), check=True)
    assert broken_cause(plain, result([[0, 1], [2, 0]])) is None
    assert broken_cause(plain, result([[2, 2], [2, 2]])) == (
        "sandbox level A stopped working: runner exited with status 3: 'cannot open "
        "/dev/null'")
    # one solution's check could not run (it killed its sandbox twice): that solution's
    # doing; every check of the batch: the sandbox's
    assert broken_cause(check, result([[2, 1], [0, 0]])) is None
    assert "every ground-truth check of a batch failed to run" in broken_cause(
        check, result([[2, 0], [2, 1]]))
    assert broken_cause(plain, result([[2, 0], [2, 1]])) is None
    assert broken_cause(plain, GridResult.empty(0, 2)) is None
