"""Ordinary correctness of the batch executor: right verdicts, shapes and metadata."""

from __future__ import annotations

import numpy as np
import pytest

from planner.sandbox import BatchJob, Limits, SandboxError, run_batch, run_batches

from .conftest import FAST_LIMITS

PREAMBLE = "import math\nfrom typing import List, Tuple"
GOOD = "def add(a: int, b: int) -> int:\n    return a + b\n"
WRONG = "def add(a, b):\n    return a - b\n"
TESTS = ("assert add(1, 2) == 3", "assert add(0, 0) == 0", "assert add(-1, 1) == 0",
         "assert add(2, 2) == 5", "assert add(1,", "assert add('a', 1) == 'a1'",
         "assert math.isclose(add(0.1, 0.2), 0.3)")


@pytest.mark.parametrize("mode", ["fast", "strict"])
def test_correct_wrong_and_broken_lines(mode, level_a):
    job = BatchJob(preamble=PREAMBLE, solutions=(GOOD, WRONG, "def add(:"), tests=TESTS,
                   limits=FAST_LIMITS, mode=mode)
    res = run_batch(job, isolation=level_a)
    assert res.passed.shape == (3, len(TESTS)) and res.passed.dtype == bool
    assert list(res.verdicts[0]) == ["pass", "pass", "pass", "fail", "error:SyntaxError",
                                     "error:TypeError", "pass"]
    assert list(res.verdicts[1]) == ["fail", "pass", "fail", "fail", "error:SyntaxError",
                                     "error:TypeError", "fail"]
    assert set(res.verdicts[2]) == {"error(load):SyntaxError"}
    np.testing.assert_array_equal(res.passed, res.verdicts == "pass")
    assert res.level == "A" and res.meta["level"] == "A" and res.meta["mode"] == mode
    assert res.meta["limits"]["test_timeout"] == FAST_LIMITS.test_timeout
    assert res.meta["interpreter"]
    assert not res.tampered.any()


def test_strict_isolates_state_and_fast_shares_it(level_a):
    counter = "calls = []\ndef f():\n    calls.append(1)\n    return len(calls)\n"
    tests = ("assert f() == 1",) * 3
    fast = run_batch(BatchJob(solutions=(counter,), tests=tests, limits=FAST_LIMITS),
                     isolation=level_a)
    strict = run_batch(BatchJob(solutions=(counter,), tests=tests, limits=FAST_LIMITS,
                                mode="strict"), isolation=level_a)
    assert list(fast.verdicts[0]) == ["pass", "fail", "fail"]
    assert list(strict.verdicts[0]) == ["pass", "pass", "pass"]


def test_tests_cannot_rebind_names_for_later_tests_in_fast_mode(level_a):
    tests = ("f = lambda: 0\nassert f() == 0", "assert f() == 1")
    res = run_batch(BatchJob(solutions=("def f():\n    return 1",), tests=tests,
                             limits=FAST_LIMITS), isolation=level_a)
    assert list(res.verdicts[0]) == ["pass", "pass"]


def test_ground_truth_check_block(level_a):
    check = ("def check(candidate):\n    assert candidate(2, 3) == 5\n"
             "    assert candidate(-2, 2) == 0\n\ncheck(add)")
    res = run_batch(BatchJob(solutions=(GOOD, WRONG), tests=(check,), limits=FAST_LIMITS),
                    isolation=level_a)
    assert list(res.verdicts[:, 0]) == ["pass", "fail"]


def test_run_batches_many_jobs_and_splitting(level_a):
    jobs = [BatchJob(solutions=tuple(f"def f():\n    return {i % 4}" for i in range(30)),
                     tests=(f"assert f() == {p % 4}",), limits=FAST_LIMITS)
            for p in range(6)]
    jobs.append(BatchJob(solutions=(), tests=("assert True",)))
    seen = {}
    for index, res in run_batches(jobs, workers=2, isolation=level_a):
        assert index not in seen
        seen[index] = res
    assert sorted(seen) == list(range(7))
    for p in range(6):
        expected = np.array([i % 4 == p % 4 for i in range(30)])
        np.testing.assert_array_equal(seen[p].passed[:, 0], expected)
    assert seen[6].passed.shape == (0, 1)


def test_oversized_source_is_never_sent(level_a):
    limits = Limits(test_timeout=0.5, max_source_chars=1000)
    res = run_batch(BatchJob(solutions=("x = 1\n" * 1000, GOOD), tests=("assert add(1, 1) == 2",),
                             limits=limits), isolation=level_a)
    assert list(res.verdicts[:, 0]) == ["error(load):SourceTooLarge", "pass"]


@pytest.mark.parametrize("kwargs, message", [
    ({"solutions": "def f(): pass", "tests": ()}, "sequence of strings"),
    ({"solutions": (1,), "tests": ()}, "is not a string"),
    ({"solutions": (), "tests": (), "mode": "turbo"}, "unknown mode"),
])
def test_bad_jobs_are_refused(kwargs, message):
    with pytest.raises(SandboxError, match=message):
        BatchJob(**kwargs)


@pytest.mark.parametrize("field", ["test_timeout", "memory_mb", "max_timeouts"])
def test_bad_limits_are_refused(field):
    with pytest.raises(SandboxError, match=field):
        Limits(**{field: -1})
    with pytest.raises(SandboxError, match=field):
        Limits(**{field: float("nan")})


def test_bad_workers_and_jobs_are_refused(level_a):
    with pytest.raises(SandboxError, match="workers"):
        run_batch(BatchJob(solutions=(), tests=()), workers=0, isolation=level_a)
    with pytest.raises(SandboxError, match="not a BatchJob"):
        list(run_batches(["nope"], isolation=level_a))


def test_abandoning_run_batches_stops_every_sandbox(level_a):
    from .test_hostile import _leftover_processes

    slow = BatchJob(solutions=("def f():\n    while True:\n        pass\n",) * 6,
                    tests=("f()",) * 3, limits=FAST_LIMITS)
    quick = BatchJob(solutions=(GOOD,), tests=("assert add(1, 1) == 2",), limits=FAST_LIMITS)
    batches = run_batches([quick, slow, slow], workers=2, isolation=level_a)
    index, res = next(batches)
    assert index == 0 and res.verdicts.tolist() == [["pass"]]
    batches.close()
    assert _leftover_processes(level_a.uid_base) == []


def test_cpu_clock_ignores_waiting_but_stops_busy_loops(level_a):
    sleeper = "import time\n\ndef f():\n    time.sleep(0.8)\n    return 1\n"
    spinner = "def f():\n    while True:\n        pass\n"
    tests = ("assert f() == 1",)
    wall = Limits(test_timeout=0.5, kill_grace=0.3)
    cpu = Limits(test_timeout=0.5, kill_grace=0.3, clock="cpu")
    res_wall = run_batch(BatchJob(solutions=(sleeper, spinner), tests=tests, limits=wall),
                         isolation=level_a)
    res_cpu = run_batch(BatchJob(solutions=(sleeper, spinner), tests=tests, limits=cpu),
                        isolation=level_a)
    assert res_wall.verdicts[:, 0].tolist() == ["timeout", "timeout"]
    assert res_cpu.verdicts[:, 0].tolist() == ["pass", "timeout"]
    assert res_cpu.meta["limits"]["clock"] == "cpu"
    with pytest.raises(SandboxError, match="unknown clock"):
        Limits(clock="sundial")


def test_concurrent_calls_run_as_distinct_uids(level_a):
    """RLIMIT_NPROC is per uid: two run_batch calls at once must not share sandbox uids."""
    import threading

    if level_a.uid_base is None:
        pytest.skip("dedicated uids need root")
    who = ("import os, time\ntime.sleep(0.5)\n"
           "raise type(f'U{os.getuid()}', (Exception,), {})()\n")
    job = BatchJob(solutions=(who,), tests=("assert True",), limits=FAST_LIMITS)
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(
        run_batch(job, workers=1, isolation=level_a).verdicts[0, 0])) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 2 and all(v.startswith("error(load):U") for v in seen)
    assert seen[0] != seen[1]


@pytest.mark.parametrize("clock", ["wall", "cpu"])
def test_per_test_timeouts_override_the_limit(level_a, clock):
    """A long first test (a ground-truth check) and short later ones in one process: each
    test runs under its own soft limit, not the job's."""
    busy = ("import time\n\ndef f(t):\n    end = time.monotonic() + t\n"
            "    while time.monotonic() < end:\n        pass\n    return t\n")
    tests = ("assert f(0.6)", "assert f(0.6)", "assert f(0) == 0")
    limits = Limits(test_timeout=0.05, kill_grace=0.3, clock=clock)
    res = run_batch(BatchJob(solutions=(busy,), tests=tests, limits=limits,
                             test_timeouts=(5.0, 0.05, 0.05)), isolation=level_a)
    assert res.verdicts[0].tolist() == ["pass", "timeout", "pass"]
    plain = run_batch(BatchJob(solutions=(busy,), tests=tests, limits=limits),
                      isolation=level_a)
    assert plain.verdicts[0].tolist() == ["timeout", "timeout", "pass"]
    with pytest.raises(SandboxError, match="entries for 3 tests"):
        BatchJob(solutions=(busy,), tests=tests, test_timeouts=(1.0,))
    with pytest.raises(SandboxError, match="positive numbers"):
        BatchJob(solutions=(busy,), tests=tests[:1], test_timeouts=(0,))
