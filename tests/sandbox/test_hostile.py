"""Hostile inputs (research section 5): each case asserts its verdicts *and* a host-side fact.

All cases of one isolation level run as one ``run_batches`` call (one job per case, a
correct solution after every hostile one), so the sandbox start is paid once per slot and
the group stays fast. Host-side set-up (listeners, canary files, a decoy process, a secret
in the environment) happens before the batch; host-side checks run after it.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from planner.sandbox import BatchJob, Limits, probe_isolation, run_batch, run_batches
from planner.sandbox.probe import SANDBOX_ENV

from . import forgers
from .conftest import FAST_LIMITS

ROOT = Path(__file__).resolve().parents[2]
SECRET = "hunter2-codecascade-secret"
GOOD = "def f(*args, **kwargs):\n    return 1\n\ndef ok():\n    return 1\n"
OK_TEST = "assert ok() == 1"
ANY_ERROR = "error:"


@dataclass(frozen=True)
class Case:
    """A hostile solution, its tests (OK_TEST is appended) and the allowed verdicts per test
    (a verdict is allowed when it starts with one of the strings)."""

    name: str
    solution: str
    tests: tuple[str, ...]
    expect: tuple[tuple[str, ...], ...]
    mode: str = "fast"
    levels: str = "AB"
    limits: Limits = FAST_LIMITS


class Host:
    """Host-side traps: listeners, canary files and a decoy process, checked after a run."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(8)
        self.tcp.settimeout(0.2)
        self.tcp_port = self.tcp.getsockname()[1]
        self.tcp_hits = 0
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(0.2)
        self.udp_port = self.udp.getsockname()[1]
        self.udp_hits = 0
        self.abstract = b"\0codecascade-hostile-" + str(os.getpid()).encode()
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.unix.bind(self.abstract)
        self.unix.listen(8)
        self.unix.settimeout(0.2)
        self.unix_hits = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._listen, daemon=True)
        self.thread.start()
        self.canaries = {
            tmp / "canary.txt": b"host canary in the system temp folder\n",
            ROOT / f".sandbox-canary-{os.getpid()}": b"host canary in the project\n",
        }
        for path, data in self.canaries.items():
            path.write_bytes(data)
        self.env_file = tmp / ".env"
        self.env_file.write_text(f"API_KEY={SECRET}\n")
        self.env_file.chmod(0o644)
        self.bashrc = Path("/root/.bashrc") if os.geteuid() == 0 else Path.home() / ".bashrc"
        self.bashrc_hash = self._hash(self.bashrc)
        self.tmp_listing = sorted(p.name for p in tmp.iterdir())
        self.decoy = subprocess.Popen(["sleep", "300"])
        self.free_before = {p: shutil.disk_usage(p).free for p in ("/", "/tmp")}

    @staticmethod
    def _hash(path: Path) -> str | None:
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None

    def _listen(self) -> None:
        while not self.stop.is_set():
            for sock, attr in ((self.tcp, "tcp_hits"), (self.unix, "unix_hits")):
                try:
                    conn, _ = sock.accept()
                    conn.close()
                    setattr(self, attr, getattr(self, attr) + 1)
                except (TimeoutError, OSError):
                    pass
            try:
                self.udp.recvfrom(4096)
                self.udp_hits += 1
            except (TimeoutError, OSError):
                pass

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        for sock in (self.tcp, self.udp, self.unix):
            sock.close()
        self.decoy.kill()
        self.decoy.wait()
        for path in self.canaries:
            path.unlink(missing_ok=True)


def _cases(host: Host) -> list[Case]:
    tcp, udp, abstract = host.tcp_port, host.udp_port, host.abstract
    canary_paths = [str(p) for p in host.canaries]
    outside = [*canary_paths, str(host.bashrc)]
    return [
        Case("1 infinite loop", "def f():\n    while True:\n        pass\n", ("assert f()",),
             (("timeout",),)),
        Case("2 loop ignoring SIGALRM/SIGTERM/SIGXCPU",
             "import signal\nfor s in (signal.SIGALRM, signal.SIGTERM, signal.SIGXCPU):\n"
             "    signal.signal(s, signal.SIG_IGN)\n\ndef f():\n    while True:\n        pass\n",
             ("assert f()",), (("timeout",),)),
        Case("3 swallowed timeouts",
             "def f():\n    while True:\n        try:\n            while True:\n"
             "                pass\n        except BaseException:\n            pass\n",
             ("assert f()",) * 4,
             (("timeout",), ("timeout",), ("timeout(skipped)",), ("timeout(skipped)",))),
        Case("4 long C call", "import itertools\n\ndef f():\n"
             "    return sum(itertools.repeat(1, 10**10))\n", ("assert f()",), (("timeout",),)),
        Case("5 sleep", "import time\n\ndef f():\n    time.sleep(3600)\n", ("f()",),
             (("timeout",),)),
        Case("6 loop at module level", "while True:\n    pass\n", ("assert True",) * 3,
             (("timeout(load)",),) * 4),
        Case("7a os._exit at load", "import os\nos._exit(0)\n", ("assert True",) * 2,
             (("crash",),) * 3),
        Case("7b os._exit before an assert", "import os\n\ndef f():\n    os._exit(0)\n",
             ("assert f() == 2",), (("crash",),)),
        Case("8 sys.exit and SystemExit", "import sys\n\ndef f():\n    sys.exit(0)\n",
             ("f()", "raise SystemExit"), (("error:SystemExit",),) * 2),
        Case("9 kill everything", "import os, signal\n\ndef f(which):\n"
             "    target = {'all': -1, 'parent': os.getppid(), 'init': 1}[which]\n"
             "    os.kill(target, signal.SIGKILL)\n    return 1\n",
             ("assert f('all') == 1", "assert f('parent') == 1", "assert f('init') == 1"),
             (("pass", ANY_ERROR),) * 3),
        Case("10 fork bomb", FORK_BOMB, ("assert f() <= 64",), (("pass",),)),
        # RLIMIT_NPROC (threads count) applies when the sandbox runs as a uid of its own
        Case("11 thread bomb", THREAD_BOMB, ("assert f() <= 64",),
             (("pass",) if os.geteuid() == 0 else ("pass", "fail"),)),
        Case("12 double fork + setsid daemon", DAEMON, ("assert f() == 1",),
             (("error:BlockingIOError", "pass"),)),
        Case("13 memory hog", "def f():\n    return len(b'x' * (8 << 30))\n\ndef g():\n"
             "    chunks = []\n    for _ in range(64):\n"
             "        chunks.append(bytearray(256 << 20))\n",
             ("assert f()", "g()"), (("error:MemoryError", "memory"),
                                     ("error:MemoryError", "memory", "timeout"))),
        Case("14 output flood", "import sys\n\ndef f():\n    for _ in range(100000):\n"
             "        print('x' * 100)\n        sys.stderr.write('y' * 100)\n    return 1\n",
             ("assert f() == 1",), (("pass", "timeout"),)),
        Case("15 stdin", "import sys\n\ndef f():\n    return input()\n",
             ("f()", "assert sys.stdin.read() == ''"), (("error:EOFError",), ("pass",))),
        Case("16 closed outputs then loop", "import os, sys\n\ndef f():\n    sys.stdout.close()\n"
             "    os.close(1)\n    os.close(2)\n    while True:\n        pass\n", ("f()",),
             (("timeout",),)),
        Case("17 disk fill", "def f(path):\n    with open(path, 'wb') as fh:\n"
             "        for _ in range(2048):\n            fh.write(b'x' * (1 << 20))\n",
             ("f('big.bin')", "f('/tmp/big.bin')"), ((ANY_ERROR, "crash"),) * 2),
        Case("18 write and delete outside", "import os\n",
             tuple(f"open({p!r}, 'a').write('pwned')" for p in outside)
             + tuple(f"os.remove({p!r})" for p in outside),
             ((ANY_ERROR,),) * (2 * len(outside))),
        Case("19 secrets", "import os\n",
             (f"assert {SECRET!r} not in repr(dict(os.environ))",
              f"assert set(os.environ) <= set({sorted({*SANDBOX_ENV, 'HOME', 'PWD'})!r})",
              "open(os.path.expanduser('~/.ssh/id_rsa')).read()",
              f"open({str(host.env_file)!r}).read()", "open('/etc/shadow').read()"),
             (("pass",), ("pass",), (ANY_ERROR,), (ANY_ERROR,), (ANY_ERROR,))),
        Case("20 TCP to a host listener", "import socket\n",
             (f"socket.create_connection(('127.0.0.1', {tcp}), timeout=0.3)",),
             ((ANY_ERROR,),)),
        Case("21 UDP and abstract unix socket", "import socket\n",
             ("socket.socket(socket.AF_INET, socket.SOCK_DGRAM)"
              f".sendto(b'x', ('127.0.0.1', {udp}))",
              f"socket.socket(socket.AF_UNIX).connect({abstract!r})"),
             ((ANY_ERROR,),) * 2),
        Case("22 ptrace and /proc/<parent>/mem", "import ctypes, os\n\n"
             "libc = ctypes.CDLL(None, use_errno=True)\n",
             ("assert libc.ptrace(16, os.getppid(), 0, 0) == -1",
              "open(f'/proc/{os.getppid()}/mem', 'rb').read(1)"),
             (("pass",), (ANY_ERROR,))),
        Case("23 fake result lines on fds 0-63", "import os\nfor fd in range(64):\n    try:\n"
             "        os.write(fd, b'[0, 0, \"pass\"]\\n' + bytes(range(256)))\n"
             "    except OSError:\n        pass\n\ndef f():\n    return 0\n",
             ("assert f() == 1",), (("fail",),)),
        Case("26 deep recursion segfault", "import sys\nsys.setrecursionlimit(10**6)\n\n"
             "def f():\n    nested = []\n    for _ in range(2 * 10**5):\n"
             "        nested = [nested]\n    return repr(nested)\n", ("f()",), (("crash",),),
             limits=Limits(test_timeout=5.0, load_timeout=1.0, kill_grace=0.5)),
        Case("27 parser bombs", "x = " + "(" * 200_000 + ")" * 200_000 + "\n", ("assert True",),
             (("error(load):", "crash"),) * 2),
        Case("27b deep unary chain", "x = " + "-" * 300_000 + "1\n", ("assert True",),
             (("error(load):", "crash", "timeout(load)"),) * 2),
        Case("28 control characters", "def f():\n    print('\\x1b[31m\\xff\\x00')\n"
             "    raise type('\\x1b[2J\\x00Evil\\udcff', (Exception,), {})('\\x1b[31m')\n",
             ("f()",), (("error:",),)),
        Case("29 eight threads", "import threading\n\ndef f():\n    out = []\n"
             "    ts = [threading.Thread(target=lambda: out.append(sum(range(10**5))))"
             " for _ in range(8)]\n    [t.start() for t in ts]\n    [t.join() for t in ts]\n"
             "    return len(out)\n", ("assert f() == 8",), (("pass",),)),
        Case("30 state leak attempt", "import builtins\nbuiltins.ok = lambda: 0\n"
             "builtins.AssertionError = None\n", ("assert True",), (("pass",), ("fail",)),
             mode="strict"),
        *_forgery_cases(),
    ]


def _forgery_cases() -> list[Case]:
    """Case 24 and its relatives: a wrong solution forging ``pass`` through the frames, the
    garbage collector, /proc/self/mem or ctypes, or spraying fake results at every
    descriptor and process, reaching for the judge through a function or generator a test
    passes it, or looking for the expected answer in its own memory; for model-written
    assert lines and for a ground-truth check, in fast and strict mode. Also a test line
    forging the lines after it. Every forged cell must come back with the wrong solution's
    real verdict, ``fail``."""
    cases = []
    for mode in ("fast", "strict"):
        for kind in forgers.KINDS:
            for label, tests in (("lines", forgers.FORGED_TESTS),
                                 ("check", (forgers.FORGED_CHECK,))):
                # tests + the OK_TEST column + the in-process protocol's canary
                source = forgers.forger(kind, len(tests) + 2, mode == "strict")
                cases.append(Case(f"24 forgery {kind} {label} ({mode})", source, tests,
                                  (("fail",),) * len(tests), mode=mode))
        cases.append(Case(f"24 test line forging later lines ({mode})",
                          "def f(x):\n    return -1\n",
                          (forgers.HIJACKING_LINE, *forgers.FORGED_TESTS),
                          (("",), ("fail",), ("fail",)), mode=mode))
        for label, tests in (("lines", forgers.CALLBACK_TESTS),
                             ("check", forgers.CALLBACK_CHECK)):
            cases.append(Case(f"24 forgery through a callback {label} ({mode})",
                              forgers.THROUGH_CALLBACK, tests, (("fail",),) * len(tests),
                              mode=mode))
        for label, tests in (("lines", forgers.LEARNER_TESTS),
                             ("check", forgers.LEARNER_CHECK)):
            cases.append(Case(f"24 forgery learning the answer {label} ({mode})",
                              forgers.LEARNER, tests, (("fail",),) * len(tests), mode=mode,
                              limits=Limits(test_timeout=3.0, load_timeout=1.0,
                                            kill_grace=0.5)))
    return cases


FORK_BOMB = """
import os, time

def f():
    n = 0
    for _ in range(1000):
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            time.sleep(3)
            os._exit(0)
        n += 1
    return n
"""

THREAD_BOMB = """
import threading, time

def f():
    n = 0
    for _ in range(500):
        try:
            threading.Thread(target=time.sleep, args=(2,), daemon=True).start()
        except RuntimeError:
            break
        n += 1
    return n
"""

DAEMON = """
import os, time

def f():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            t = time.time()
            while time.time() - t < 30:
                pass
        os._exit(0)
    return 1
"""

def _leftover_processes(uid_base: int | None) -> list[str]:
    """Processes still running as one of this harness's sandbox uids."""
    if uid_base is None:
        return []
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        uid_line = next((ln for ln in status.splitlines() if ln.startswith("Uid:")), "")
        uid = int(uid_line.split()[1]) if uid_line else -1
        if uid_base <= uid < uid_base + 32:
            fields = dict(ln.split(":\t", 1) for ln in status.splitlines() if ":\t" in ln)
            found.append(f"pid {entry} {fields.get('Name')} state {fields.get('State')} "
                         f"ppid {fields.get('PPid')} uid {uid}")
    return found


def _run_level(level: str, tmp_path_factory) -> dict:
    report = probe_isolation(disable=("bwrap",) if level == "B" else ())
    if report.level.value != level:
        pytest.skip(f"sandbox level {level} unavailable here: {'; '.join(report.missing)}")
    host = Host(tmp_path_factory.mktemp(f"hostile-{level}"))
    try:
        cases = [c for c in _cases(host) if level in c.levels]
        jobs = [BatchJob(solutions=(c.solution, GOOD), tests=(*c.tests, OK_TEST),
                         limits=c.limits, mode=c.mode) for c in cases]
        started = time.monotonic()
        results = dict(run_batches(jobs, workers=2, isolation=report))
        elapsed = time.monotonic() - started
        deadline = time.monotonic() + 10
        leftovers = _leftover_processes(report.uid_base)
        while leftovers and time.monotonic() < deadline:
            time.sleep(0.2)
            leftovers = _leftover_processes(report.uid_base)
        facts = {
            "tcp_hits": host.tcp_hits, "udp_hits": host.udp_hits, "unix_hits": host.unix_hits,
            "canaries": {str(p): (p.read_bytes() if p.exists() else None) == data
                         for p, data in host.canaries.items()},
            "bashrc_unchanged": Host._hash(host.bashrc) == host.bashrc_hash,
            "tmp_listing": sorted(p.name for p in host.tmp.iterdir()) == host.tmp_listing,
            "decoy_alive": host.decoy.poll() is None,
            "free_drop": {p: host.free_before[p] - shutil.disk_usage(p).free
                          for p in host.free_before},
            "leftovers": leftovers, "elapsed": elapsed,
            "harness_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10,
        }
    finally:
        host.close()
    return {"cases": cases, "results": [results[i] for i in range(len(cases))],
            "facts": facts, "report": report}


@pytest.fixture(scope="module", params=["A", "B"])
def hostile(request, tmp_path_factory):
    """Every hostile case run at one level, with the host-side facts gathered after. Level
    B is forced deliberately here, so CI=true (which refuses it) is lifted for the run."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CODECASCADE_TEST_SECRET", SECRET)
        if request.param != "A":
            patch.delenv("CI", raising=False)
        return _run_level(request.param, tmp_path_factory)


def test_hostile_verdicts(hostile):
    failures = []
    for case, res in zip(hostile["cases"], hostile["results"], strict=True):
        row = list(res.verdicts[0])
        # the hostile solution's own OK_TEST column is only checked when listed in expect
        for j, (verdict, allowed) in enumerate(zip(row, case.expect, strict=False)):
            if not verdict.startswith(allowed):
                failures.append(f"{case.name}: test {j} got {verdict!r}, allowed {allowed}")
        good = list(res.verdicts[1])
        if good[-1] != "pass" or {"crash", "harness_error", "tampered"} & set(good):
            failures.append(f"{case.name}: the correct solution after it got {good}")
        if res.meta["retried_solutions"] or res.meta["sandbox_errors"]:
            failures.append(f"{case.name}: a sandbox died: {res.meta['sandbox_errors']}")
    assert not failures, "\n".join(failures)


def test_hostile_host_side(hostile):
    facts = hostile["facts"]
    assert facts["tcp_hits"] == 0 and facts["udp_hits"] == 0 and facts["unix_hits"] == 0
    assert all(facts["canaries"].values()), facts["canaries"]
    assert facts["bashrc_unchanged"] and facts["tmp_listing"]
    assert facts["decoy_alive"], "a sandboxed kill reached a host process"
    assert all(drop < 200 << 20 for drop in facts["free_drop"].values()), facts["free_drop"]
    assert facts["leftovers"] == [], f"sandbox processes left behind: {facts['leftovers']}"
    # the 8 GiB / 16 GiB hogs and the output flood never reach the harness process
    assert facts["harness_peak_rss_mb"] < 2048, facts["harness_peak_rss_mb"]
    # Every timeout costs about one deadline, so the whole group stays bounded.
    assert facts["elapsed"] < 100


def test_forged_verdicts_never_pass(hostile):
    """No forger gets a pass in any mode, for assert lines or a ground-truth check; the AST
    scan still names the tools it used."""
    by_name = {c.name: r for c, r in zip(hostile["cases"], hostile["results"], strict=True)}
    forged = {name: res for name, res in by_name.items() if name.startswith("24 ")}
    assert len(forged) == 2 * (2 * len(forgers.KINDS) + 5)
    for name, res in forged.items():
        # every column but the OK_TEST one (and the hijacking line itself) is forged
        columns = slice(1 if "later lines" in name else 0, -1)
        assert not res.passed[0, columns].any(), (name, res.verdicts[0].tolist())
    for mode in ("fast", "strict"):
        assert "frame_access" in by_name[f"24 forgery frames lines ({mode})"].suspicious[0]
        assert "gc" in by_name[f"24 forgery gc check ({mode})"].suspicious[0]
        assert "ctypes" in by_name[f"24 forgery ctypes lines ({mode})"].suspicious[0]
    assert "processes" in by_name["10 fork bomb"].suspicious[0]
    assert by_name["1 infinite loop"].suspicious[1] == ()


def test_verdict_text_is_escaped_and_json_safe(hostile):
    for res in hostile["results"]:
        for verdict in res.vocabulary:
            assert verdict.isascii() and verdict.isprintable(), verdict
        json.dumps({"verdicts": res.verdicts.tolist(), "meta": res.meta})


def test_always_equal_object_is_flagged(level_a):
    sol = ("class X:\n    def __eq__(self, other):\n        return True\n\n"
           "def f(x):\n    return X()\n")
    res = run_batch(BatchJob(solutions=(sol, GOOD), tests=("assert f(1) == 2",),
                             limits=FAST_LIMITS), isolation=level_a)
    # the scan flags the class; the run flags the pass its own __eq__ decided
    assert res.suspicious[0] == ("always_equal", "opaque_compare")
    assert res.passed[0, 0] and res.suspicious[1] == ()


def test_huge_source_is_not_parsed_by_the_harness(level_a):
    bomb = "x = [" + "1," * 25_000_000 + "]\n"
    res = run_batch(BatchJob(solutions=(bomb, GOOD), tests=(OK_TEST,), limits=FAST_LIMITS),
                    isolation=level_a)
    assert list(res.verdicts[:, 0]) == ["error(load):SourceTooLarge", "pass"]
