"""No state passes from one solution to the next in a sandbox slot (hostile case 31).

A *writer* leaves an answer key wherever a process could: /tmp, the working directory,
$HOME, /dev/shm, /run, /, and a System V shared-memory segment (it outlives the process
inside the sandbox's IPC namespace); another solution changes the limits and priority of
the processes later solutions descend from. A *reader* passes only if it finds any of them. With
one worker every solution of the run shares one sandbox; the reader must fail whether it
runs alone, after a writer in the same job or after a writer in an earlier job. In strict
mode the same holds between the tests of one solution. Host side: nothing of it appears in
the host's temporary folder or among the host's System V segments.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from planner.sandbox import BatchJob, probe_isolation, run_batches

from .conftest import FAST_LIMITS

_KEY_PLACES = '''
import ctypes, os
PATHS = ["/tmp/answer-key", "answer-key", os.path.expanduser("~/answer-key"),
         "/dev/shm/answer-key", "/run/answer-key", "/answer-key", "/tmp/locked/answer-key"]
LIBC = ctypes.CDLL(None, use_errno=True)
SHM_KEY = 0x5EED

def found():
    seen = [p for p in PATHS if os.path.exists(p)]
    if LIBC.shmget(SHM_KEY, 0, 0) >= 0:
        seen.append("shm")
    return seen

def leave_keys():
    for path in PATHS:
        try:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            with open(path, "w") as fh:
                fh.write("42")
        except OSError:
            pass
    try:
        os.chmod("/tmp/locked", 0)  # the runner must still be able to empty /tmp
    except OSError:
        pass
    LIBC.shmget(SHM_KEY, 4096, 0o1000 | 0o600)  # IPC_CREAT
'''
#: Changes the processes every later solution descends from (its parent and the runner):
#: lower limits, lower priority, for them, their group and the whole uid.
PARENT_CHANGER = '''
import os, resource

def answer():
    try:
        with open(f"/proc/{os.getppid()}/stat") as fh:
            grandparent = int(fh.read().rsplit(")", 1)[1].split()[1])
    except OSError:  # level B: /proc is not readable
        grandparent = 1
    for pid in (os.getppid(), grandparent):
        for which in (resource.RLIMIT_NOFILE, resource.RLIMIT_AS, resource.RLIMIT_CPU):
            try:
                resource.prlimit(pid, which, (40, 40))
            except (OSError, ValueError):
                pass
        try:
            os.setpriority(os.PRIO_PROCESS, pid, 19)
        except OSError:
            pass
    for which in (os.PRIO_PGRP, os.PRIO_USER):
        try:
            os.setpriority(which, 0, 19)
        except OSError:
            pass
    return 42
'''
#: Passes only if it inherited changed limits or priority (the harness's own niceness, which
#: every sandbox process starts with, is filled in).
INHERITOR = '''
import os, resource

def answer():
    changed = os.getpriority(os.PRIO_PROCESS, 0) != {nice} or resource.getrlimit(
        resource.RLIMIT_NOFILE)[1] < 100
    return 42 if changed else 0
'''
READER = _KEY_PLACES + "\ndef answer():\n    return 42 if found() else 0\n"
WRITER = _KEY_PLACES + "\nleave_keys()\n\ndef answer():\n    return 42 if found() else 0\n"
TEST = "assert answer() == 42"


@pytest.mark.parametrize("level", ["A", "B"])
def test_no_state_passes_between_solutions(level, monkeypatch):
    report = probe_isolation(disable=("bwrap",) if level == "B" else ())
    if report.level.value != level:
        pytest.skip(f"sandbox level {level} unavailable here: {'; '.join(report.missing)}")
    monkeypatch.delenv("CI", raising=False)
    inheritor = INHERITOR.format(nice=os.getpriority(os.PRIO_PROCESS, 0))
    host_tmp = Path(tempfile.gettempdir())
    before = {p.name for p in host_tmp.iterdir()}
    jobs = [BatchJob(solutions=(READER,), tests=(TEST,), limits=FAST_LIMITS),
            BatchJob(solutions=(WRITER, READER, WRITER, READER), tests=(TEST, TEST),
                     limits=FAST_LIMITS),
            BatchJob(solutions=(READER,), tests=(TEST,), limits=FAST_LIMITS),
            # strict: the first test's process leaves keys, the second must not see them
            BatchJob(solutions=(WRITER.replace("\nleave_keys()\n", "\n"),),
                     tests=("leave_keys()", TEST), limits=FAST_LIMITS, mode="strict"),
            BatchJob(solutions=(inheritor, PARENT_CHANGER, inheritor), tests=(TEST,),
                     limits=FAST_LIMITS)]
    results = dict(run_batches(jobs, workers=1, isolation=report))
    # a writer sees its own keys only where it may write at all (level A: /tmp)
    own = "pass" if level == "A" else "fail"
    assert results[0].verdicts.tolist() == [["fail"]]
    assert results[1].verdicts.tolist() == [[own, own], ["fail", "fail"], [own, own],
                                            ["fail", "fail"]]
    assert results[2].verdicts.tolist() == [["fail"]]
    assert results[3].verdicts.tolist() == [["pass", "fail"]]
    assert results[4].verdicts.tolist() == [["fail"], ["pass"], ["fail"]]
    assert all(not r.meta["sandbox_errors"] for r in results.values())
    # host side: the keys never reached the host's temporary folder
    after = {p.name for p in host_tmp.iterdir()}
    assert "answer-key" not in after and "locked" not in after - before
    assert not Path("answer-key").exists() and not os.path.exists(
        os.path.expanduser("~/answer-key"))
    # without an IPC namespace (level B) a segment would be the host's own
    assert not _host_segment(0x5EED)


def _host_segment(key: int) -> bool:
    """True if the host has a System V shared-memory segment with ``key``."""
    try:
        rows = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    except OSError:
        return False
    return any(int(row.split()[0]) == key for row in rows if row.strip())
