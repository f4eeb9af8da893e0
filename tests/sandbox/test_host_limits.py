"""Hard resource limits of the calling process below the sandbox's own.

The executor and the CLI run in a subprocess whose hard limits (``ulimit -H``) are lowered
first: a correct solution must still pass (the sandbox clamps to the inherited limits and
records them), or the run must be refused with one line naming the limit; the probe reports
both. Host side: the lowered limit really applies inside (a 2 MiB file under a 1 MiB limit
fails)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from planner.sandbox import Limits
from planner.sandbox.host_limits import HostLimits

ROOT = Path(__file__).resolve().parents[2]
MiB = 1 << 20

_LOWER = "import resource\nfor name, value in {limits!r}.items():\n" \
         "    resource.setrlimit(getattr(resource, name), (value, value))\n"
_RUN = _LOWER + '''import json
from planner.sandbox import BatchJob, Limits, run_batch
good = "def add(a, b):\\n    return a + b\\n"
tests = ("assert add(1, 2) == 3", "def check(c):\\n    assert c(2, 3) == 5\\n\\ncheck(add)",
         "open('/tmp/big', 'wb').write(b'x' * (2 << 20))")
res = run_batch(BatchJob(solutions=(good,), tests=tests,
                         limits=Limits(test_timeout=2.0, memory_mb={memory_mb})))
print(json.dumps({{"verdicts": res.verdicts.tolist(), "meta": res.meta}}))
'''
_CLI = _LOWER + "from planner.cli import main\nmain()\n"


def _python(code: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CI", None)
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=120, env=env, cwd=ROOT)


def test_lower_hard_limits_are_clamped_and_recorded(level_a):
    limits = {"RLIMIT_NOFILE": 64, "RLIMIT_FSIZE": MiB, "RLIMIT_AS": 4 << 30}
    if os.geteuid() == 0:
        limits["RLIMIT_NPROC"] = 40  # applies to the dedicated sandbox uid
    proc = _python(_RUN.format(limits=limits, memory_mb=8192))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    # the correct solution passes on its line and its judged check; the clamped file-size
    # limit is in force inside the sandbox (today's default would allow 16 MiB)
    assert out["verdicts"] == [["pass", "pass", "error:OSError"]]
    meta = out["meta"]
    assert meta["limits_effective"]["max_open_files"] == 64
    assert meta["limits_effective"]["max_file_mb"] == 1.0
    assert 3500 < meta["limits_effective"]["memory_mb"] < 4096
    expected = {"max_open_files", "max_file_mb", "memory_mb"}
    if os.geteuid() == 0:
        expected.add("max_processes")
        assert meta["limits_effective"]["max_processes"] == 40
    assert set(meta["limits_clamped"]) == expected
    warning = [ln for ln in proc.stderr.splitlines() if "host hard limits" in ln]
    assert len(warning) == 1 and "open files: 64" in warning[0]


def test_unusable_hard_limits_are_refused_in_one_line(level_a):
    # a file-size limit below the runner's own size: was an internal OSError (exit 1)
    for limits, word in (({"RLIMIT_NOFILE": 20}, "open files"),
                         ({"RLIMIT_CPU": 3}, "CPU time"),
                         ({"RLIMIT_FSIZE": 80 << 10}, "file size")):
        proc = _python(_CLI.format(limits=limits), "sandbox", "check")
        assert proc.returncode == 2, proc.stderr
        errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1 and word in errors[0] and "ulimit" in errors[0]
        assert "Traceback" not in proc.stderr


def test_probe_reports_lowered_and_unusable_limits(level_a):
    proc = _python(_CLI.format(limits={"RLIMIT_NOFILE": 64}), "sandbox", "probe")
    assert proc.returncode == 0, proc.stderr
    assert "host limit: open files: 64 (the sandbox's default is 256" in proc.stdout
    proc = _python(_CLI.format(limits={"RLIMIT_NOFILE": 64}), "sandbox", "probe", "--json")
    host = json.loads(proc.stdout)["host_limits"]
    assert host["open_files"] == 64 and host["clamped"] == ["max_open_files"]
    assert host["refusal"] is None
    proc = _python(_CLI.format(limits={"RLIMIT_NOFILE": 20}), "sandbox", "probe")
    assert proc.returncode == 3
    assert "refused: the host's hard limit on open files" in proc.stdout
    proc = _python(_CLI.format(limits={"RLIMIT_NOFILE": 64}), "sandbox", "check")
    assert proc.returncode == 0, proc.stderr
    assert "limits lowered to the host's hard limits: max_open_files 64" in proc.stdout
    assert "correct  pass pass pass" in proc.stdout


@pytest.mark.parametrize("host, clamped, refusal", [
    (HostLimits(None, None, None, None, None, 30 * MiB), (), None),
    (HostLimits(512 * MiB, 64, MiB // 2, 600, 40, 30 * MiB),
     ("memory_mb", "max_open_files", "max_file_mb", "max_processes"), None),
    (HostLimits(80 * MiB, None, None, None, None, 30 * MiB), ("memory_mb",), "address space"),
    (HostLimits(None, 31, None, None, None, 0), ("max_open_files",), "open files"),
    (HostLimits(None, None, None, 4, None, 0), (), "CPU time"),
    (HostLimits(None, None, 80 << 10, None, None, 0), ("max_file_mb",), "file size"),
    (HostLimits(None, None, None, None, 8, 0), ("max_processes",), "processes"),
])
def test_clamping_rules(host, clamped, refusal):
    limits = Limits()
    assert host.clamped(limits, dedicated_uid=True) == clamped
    reason = host.refusal(limits, dedicated_uid=True)
    assert (reason is None) == (refusal is None)
    if refusal:
        assert refusal in reason and "ulimit" in reason and "\n" not in reason
    eff = host.effective(limits, dedicated_uid=True)
    for name in ("memory_mb", "max_open_files", "max_file_mb", "max_processes"):
        assert eff[name] <= getattr(limits, name)
    # without a dedicated uid the process limit does not apply at all
    assert "max_processes" not in host.effective(limits, dedicated_uid=False)
