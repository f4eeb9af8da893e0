"""Isolation levels: the probe, simulated fallbacks (no bwrap, no Landlock, no seccomp),
the loud warning, the level-C refusal, the CI=true refusal, and the interpreter check."""

from __future__ import annotations

import os
import sys

import pytest

from planner.sandbox import (
    BatchJob,
    IsolationLevel,
    SandboxError,
    probe_isolation,
    run_batch,
)
from planner.sandbox import probe as probe_module

from .conftest import FAST_LIMITS

JOB = BatchJob(solutions=("def f():\n    return 1\n", "def f():\n    while True:\n        pass\n",
                          "import os\nos._exit(0)\n", "def f():\n    return 2\n"),
               tests=("assert f() == 1", "assert f() == 2"), limits=FAST_LIMITS)
EXPECTED = [["pass", "fail"], ["timeout", "timeout"], ["crash", "crash"], ["fail", "pass"]]


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch):
    monkeypatch.setattr(probe_module, "_WARNED", set())
    monkeypatch.delenv("CI", raising=False)


def test_probe_finds_level_a_here(level_a):
    assert level_a.level is IsolationLevel.A
    assert level_a.bwrap and level_a.seccomp_bpf
    assert "bubblewrap namespaces" in level_a.layers
    assert level_a.summary().startswith("sandbox: level A")
    assert level_a.to_json()["level"] == "A"


def test_no_bwrap_falls_back_to_landlock_with_a_warning(level_a, capsys):
    report = probe_isolation(disable=("bwrap",))
    if not report.landlock_abi:
        pytest.skip("kernel without Landlock")
    assert report.level is IsolationLevel.B
    assert any("bubblewrap" in m for m in report.missing)
    res = run_batch(JOB, isolation=report)
    err = capsys.readouterr().err
    assert err.count("WARNING sandbox: level B") == 1 and err[-1] == "\n"
    assert len(err.strip().splitlines()) == 1
    assert "bubblewrap" in err and "landlock ABI" in err
    assert res.verdicts.tolist() == EXPECTED
    assert res.level == "B" and res.meta["level"] == "B"
    assert any("bubblewrap" in m for m in res.meta["missing"])


def test_no_seccomp_is_not_level_a(level_a, capsys):
    report = probe_isolation(disable=("seccomp",))
    assert report.level is IsolationLevel.B
    assert any(m.startswith("seccomp") for m in report.missing)
    res = run_batch(JOB, isolation=report)
    assert res.verdicts.tolist() == EXPECTED
    assert "seccomp" in capsys.readouterr().err


def test_level_c_is_refused_without_the_unsafe_flag(level_a, capsys):
    report = probe_isolation(disable=("bwrap", "landlock"))
    assert report.level is IsolationLevel.C
    with pytest.raises(SandboxError, match=r"level C.*unsafe"):
        run_batch(JOB, isolation=report)
    res = run_batch(JOB, isolation=report, allow_unsafe=True)
    assert res.level == "C"
    assert res.verdicts.tolist() == EXPECTED
    assert "WARNING sandbox: level C" in capsys.readouterr().err


def test_ci_refuses_anything_below_level_a(level_a, monkeypatch):
    monkeypatch.setenv("CI", "true")
    for disable in (("bwrap",), ("seccomp",), ("bwrap", "landlock")):
        report = probe_isolation(disable=disable)
        with pytest.raises(SandboxError, match="CI=true requires sandbox level A"):
            run_batch(JOB, isolation=report, allow_unsafe=True)
    res = run_batch(JOB, isolation=level_a)
    assert res.level == "A"


def test_level_is_recorded_with_every_result(level_a):
    res = run_batch(JOB, isolation=level_a)
    assert res.level == res.meta["level"] == "A"
    assert res.meta["interpreter"] == level_a.interpreter
    assert res.meta["mode"] == "fast"


def test_unknown_component_is_refused():
    with pytest.raises(SandboxError, match="unknown sandbox component"):
        probe_isolation(disable=("docker",))


def test_missing_interpreter_is_refused():
    with pytest.raises(SandboxError, match="cannot be started"):
        probe_isolation("/nonexistent/python3")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the probe as a sandbox uid")
def test_interpreter_unreadable_by_the_sandbox_uid_is_refused(tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    link = private / "python3"
    link.symlink_to(os.path.realpath(sys.executable))
    with pytest.raises(SandboxError, match="uid"):
        probe_isolation(str(link))


def test_without_seccomp_or_namespaces_the_sweep_kills_escaped_processes(level_a):
    """Level B without seccomp: children may fork; daemons that escaped their process group
    are found (the runner is a child subreaper) and killed after every child."""
    from .test_hostile import DAEMON, FORK_BOMB, _leftover_processes

    report = probe_isolation(disable=("bwrap", "seccomp"))
    if not report.landlock_abi:
        pytest.skip("kernel without Landlock")
    good = "def f():\n    return 1\n"
    res = run_batch(BatchJob(solutions=(DAEMON, FORK_BOMB, good), tests=("assert f() >= 0",),
                             limits=FAST_LIMITS), workers=1, isolation=report)
    assert res.verdicts[:, 0].tolist() == ["pass", "pass", "pass"]
    assert _leftover_processes(report.uid_base) == []


#: Kills the runner: the parent of the solution's parent (the zygote).
RUNNER_KILLER = ("import os, signal\n"
                 "with open(f'/proc/{os.getppid()}/stat') as fh:\n"
                 "    runner = int(fh.read().rsplit(')', 1)[1].split()[1])\n"
                 "os.kill(runner, signal.SIGKILL)\n")


def test_a_killed_runner_costs_only_the_solution_that_killed_it(level_a):
    """At level C a solution can kill the runner (no PID namespace, no Landlock scoping):
    the in-flight solution is retried alone once, then gets harness_error; the solutions
    after it run in a fresh sandbox and are unaffected. Killing its own parent (the zygote
    that started it) only crashes the solution itself: a fresh zygote serves the next."""
    report = probe_isolation(disable=("bwrap", "landlock"))
    good = "def f():\n    return 1\n"
    zygote_killer = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"
    job = BatchJob(solutions=(good, RUNNER_KILLER, good, zygote_killer, good),
                   tests=("assert f() == 1",) * 2, limits=FAST_LIMITS)
    res = run_batch(job, workers=1, isolation=report, allow_unsafe=True)
    rows = res.verdicts.tolist()
    assert rows[:3] + rows[4:] == [["pass"] * 2, ["harness_error"] * 2, ["pass"] * 2,
                                   ["pass"] * 2]
    # without a PID namespace a worker dies with its zygote (else it would outlive the
    # sandbox), a little after killing it: whether it still answered is a matter of timing,
    # per test (a crash restarts the solution, which kills the next zygote again)
    assert set(rows[3]) <= {"crash", "error:NameError"}
    assert res.meta["retried_solutions"] == 1
    assert len(res.meta["sandbox_errors"]) == 2


def test_a_sandbox_that_stops_working_is_a_typed_signal(level_a):
    """Every cell harness_error (here: the sandbox's interpreter cannot run the runner) is
    reported as a broken batch with one line naming the cause, never as the model's
    failure; a normal batch is not broken."""
    import dataclasses

    from planner.sandbox import SandboxBrokenError

    broken = dataclasses.replace(level_a, interpreter="/bin/false")
    res = run_batch(JOB, workers=1, isolation=broken)
    assert set(res.verdicts.ravel()) == {"harness_error"}
    assert res.broken and "stopped working" in res.broken_cause
    assert "runner" in res.broken_cause and "\n" not in res.broken_cause
    with pytest.raises(SandboxBrokenError, match="sandbox level A stopped working"):
        res.raise_if_broken()
    ok = run_batch(JOB, isolation=level_a)
    assert not ok.broken and ok.broken_cause == ""
    ok.raise_if_broken()
