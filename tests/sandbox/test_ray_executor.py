"""The grid executor on a local Ray instance (2 CPUs): the same verdicts as the local
sandbox, whole or cut into shards; a killed worker costs one task attempt; a task that
always fails is retried a bounded number of times and reported by job."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray", reason="Ray is not installed (pip install 'codecascade[ray]')")

from ray_faults import FailingOn, Recording, attempts

from planner.sandbox import GridConfig, GridJob, SandboxExecutor
from planner.sandbox.grid import JobsFailed
from planner.sandbox.ray_executor import RayExecutor

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]  # a Ray test never hangs CI

CONFIG = GridConfig(test_timeout=0.5, check_timeout=1.0, clock="cpu")
ADD = "def add(a, b):\n    return a + b\n"
SOLUTIONS = (
    ADD,
    "def add(a, b):\n    return a - b\n",                       # wrong
    "def add(a, b):\n    return a + c\n",                       # NameError
    "def add(a, b):\n    while True:\n        pass\n",          # CPU timeout
    "import os\ndef add(a, b):\n    os._exit(3)\n",             # crash
    "def add(a, b:\n",                                          # does not load
    ADD,                                                        # a duplicate
)
TESTS = ("assert add(1, 2) == 3", "assert add(0, 0) == 0", "assert add(2, 2) == 4",
         "assert add(-1, 1) == 0", "assert add(1, 2) == 3")
CHECK = "def check(candidate):\n    assert candidate(2, 3) == 5\ncheck(add)"


def _jobs() -> list[GridJob]:
    return [GridJob(SOLUTIONS, TESTS), GridJob(SOLUTIONS[:3], (CHECK, *TESTS[:2]), check=True),
            GridJob((), TESTS), GridJob(SOLUTIONS[::-1], TESTS[::-1])]


def _slow_jobs(n: int = 6) -> list[GridJob]:
    """Solutions that spend about 0.1 s of CPU per test (long enough to kill a worker)."""
    slow = tuple(f"def add(a, b):\n    for _ in range({k} + 1_500_000):\n        pass\n"
                 f"    return a + b + {k % 2}\n" for k in range(n))
    return [GridJob(slow, TESTS[:4]), GridJob(slow[:2], TESTS[:2])]


def _local(jobs: list[GridJob]) -> dict:
    return dict(SandboxExecutor(CONFIG, workers=2).run(jobs))


def _same(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for index in a:
        assert np.array_equal(a[index].codes, b[index].codes), index
        assert np.array_equal(a[index].verdicts, b[index].verdicts), index
        assert a[index].level == b[index].level


@pytest.mark.parametrize("min_shard_s", [5.0, 0.0], ids=["whole-problems", "one-row-shards"])
def test_same_verdicts_as_the_local_sandbox(ray_local, min_shard_s) -> None:
    jobs = _jobs()
    executor = RayExecutor(CONFIG, min_shard_s=min_shard_s, waves=1e6)
    assert executor.description == SandboxExecutor(CONFIG).description
    got = dict(executor.run(jobs))
    _same(_local(jobs), got)
    assert got[2].shape == (0, len(TESTS)) and got[0].level == "A"
    rows = sum(len(set(j.solutions)) for j in jobs if j.tests and j.solutions)
    assert executor.transport["shards"] == (3 if min_shard_s else rows)
    (node,) = executor.transport["nodes"]
    assert node["accepted"] and node["level"] == "A" and node["cpus"] == 2
    assert node["shards_done"] == executor.transport["shards"]


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            out += [int(x) for x in (task / "children").read_text().split()]
    return out


def test_a_killed_worker_costs_only_its_task(ray_local, tmp_path) -> None:
    jobs = _slow_jobs()
    killed: list[int] = []
    sandboxes: list[int] = []

    def kill_first_worker() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            started = attempts(tmp_path)
            if started:
                pid = int(started[0].rsplit("-", 1)[1])
                time.sleep(0.5)
                sandboxes.extend(_children(pid))
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_first_worker, daemon=True)
    killer.start()
    executor = RayExecutor(CONFIG, min_shard_s=0.0, waves=1e6,
                           node_executor=Recording(tmp_path))
    got = dict(executor.run(jobs))
    killer.join(timeout=5)
    assert killed, "no task started"
    runs = attempts(tmp_path)
    # one attempt per shard, plus the re-run of the killed one (by another worker process)
    assert len(runs) == executor.transport["shards"] + 1
    assert sum(name.endswith(f"-{killed[0]}") for name in runs) >= 1
    _same(_local(jobs), got)
    deadline = time.monotonic() + 20  # the killed worker's sandboxes die with it
    while any(Path(f"/proc/{p}").exists() for p in sandboxes) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [p for p in sandboxes if Path(f"/proc/{p}").exists()]


def test_a_task_that_always_fails_is_retried_then_named(ray_local, tmp_path) -> None:
    jobs = [*_jobs()[:2], GridJob(("def add(a, b):\n    return 0  # BOOM\n",), TESTS)]
    executor = RayExecutor(CONFIG, max_retries=2, node_executor=FailingOn(tmp_path, "BOOM"))
    got = {}
    with pytest.raises(JobsFailed) as failed:
        for index, result in executor.run(jobs):
            got[index] = result
    assert list(failed.value.failures) == [2]
    reason = failed.value.failures[2]
    assert "RuntimeError: injected fault (BOOM)" in reason and "2 retries" in reason
    assert sum("-raise-" in name for name in attempts(tmp_path)) == 3  # 1 + max_retries
    _same(_local(jobs[:2]), got)
