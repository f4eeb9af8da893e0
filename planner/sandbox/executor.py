"""The batch executor: spreads jobs over sandboxed runners and assembles verdict matrices.

One sandbox (bubblewrap at level A, a plain runner process at levels B/C) is started per
worker slot and lives for the whole ``run_batches`` call, so many small jobs share its start
cost. Jobs are cut into *units* (a job's tests with a slice of its solutions); worker threads
pull units from one queue, so a big job is spread over all slots and small jobs pass through
without waiting for each other. Each slot's runner enforces the per-test deadlines; the
harness adds a watchdog on the runner itself (no frame for too long: kill the sandbox) and
caps every frame. If a sandbox dies, its unit's unfinished solutions are retried once in a
fresh sandbox, then get ``harness_error``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import queue
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import runner as rt
from .host_limits import HostLimits
from .jobs import VERDICTS, BatchJob, BatchResult, SandboxError
from .probe import (
    PRELOAD,
    SANDBOX_ENV,
    SANDBOX_RUN_DIR,
    UIDS_PER_PROCESS,
    IsolationReport,
    bwrap_argv,
    enforce_host_limits,
    enforce_policy,
    probe_isolation,
    read_paths,
    user_kwargs,
)

_RUNNER_SOURCE = Path(rt.__file__)
_PASS_ID = VERDICTS.index("pass")
_HARNESS_ERROR_ID = VERDICTS.index("harness_error")
_FIXED_IDS = {code: VERDICTS.index(name) for code, name in rt.FIXED_VERDICTS.items()}
_MAX_STDERR = 16 << 10
_PAIRS_PER_UNIT = 20_000


class _SandboxDied(Exception):
    """The runner of a slot died, hung or broke the protocol."""


def nproc() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class _Unit:
    job_index: int
    solutions: tuple[int, ...]
    retry: bool = False


class _JobState:
    """Verdicts of one job as they arrive from the slots."""

    def __init__(self, job: BatchJob) -> None:
        self.job = job
        self.codes = np.full((len(job.solutions), len(job.tests)), _HARNESS_ERROR_ID,
                             dtype=np.uint16)
        self.tampered = np.zeros(len(job.solutions), dtype=bool)
        self.flags = [0] * len(job.solutions)
        self.vocabulary = list(VERDICTS)
        self.vocab_ids = {name: i for i, name in enumerate(self.vocabulary)}
        self.remaining = len(job.solutions)
        self.started = time.monotonic()
        self.retried = 0
        self.errors: list[str] = []

    def _id(self, verdict: str) -> int:
        k = self.vocab_ids.get(verdict)
        if k is None:
            k = self.vocab_ids[verdict] = len(self.vocabulary)
            self.vocabulary.append(verdict)
        return k

    def record(self, solution: int, local: np.ndarray, names: Sequence[str], tampered: bool,
               flags: int) -> None:
        lut = np.full(256, _HARNESS_ERROR_ID, dtype=np.uint16)
        for code, vid in _FIXED_IDS.items():
            lut[code] = vid
        for k, name in enumerate(names[: rt.MAX_NAMES]):
            lut[rt.NAMED_BASE + k] = self._id(_clean_verdict(name))
        self.codes[solution] = lut[local]
        self.tampered[solution] = tampered
        self.flags[solution] = flags
        self.remaining -= 1

    def fill(self, solution: int, verdict: str) -> None:
        self.codes[solution] = self._id(verdict)
        self.remaining -= 1

    def result(self, report: IsolationReport, workers: int, host: HostLimits) -> BatchResult:
        vocab = tuple(self.vocabulary)
        verdicts = np.array(vocab, dtype=str)[self.codes] if self.codes.size else np.empty(
            self.codes.shape, dtype="<U1")
        meta = {"level": report.level.value, "mode": self.job.mode,
                "limits": self.job.limits.to_json(), "interpreter": report.interpreter,
                "python_version": report.python_version, "layers": list(report.layers),
                "missing": list(report.missing), "workers": workers,
                "elapsed_s": round(time.monotonic() - self.started, 3),
                "n_pairs": int(self.codes.size), "retried_solutions": self.retried,
                "sandbox_errors": list(self.errors),
                "limits_effective": host.effective(self.job.limits, report.uid_base is not None),
                "limits_clamped": list(host.clamped(self.job.limits,
                                                    report.uid_base is not None))}
        suspicious = tuple(tuple(name for bit, name in enumerate(rt.SCAN_FLAGS)
                                 if flags >> bit & 1) for flags in self.flags)
        return BatchResult(passed=self.codes == _PASS_ID, verdicts=verdicts, codes=self.codes,
                           vocabulary=vocab, tampered=self.tampered, suspicious=suspicious,
                           level=report.level.value, meta=meta)


def _clean_verdict(name: str) -> str:
    """A verdict string from the runner, restricted to printable ASCII."""
    text = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in str(name)[:80])
    return text or "harness_error"


class _Slot:
    """One sandbox: a runner process (inside bubblewrap at level A) and its pipes."""

    def __init__(self, report: IsolationReport, run_dir: str, uid_slot: int,
                 tmpfs_bytes: int, use_landlock: bool) -> None:
        uid = None if report.uid_base is None else report.uid_base + uid_slot
        runner_path = f"{SANDBOX_RUN_DIR}/runner.py" if report.bwrap else f"{run_dir}/runner.py"
        argv = [report.interpreter, "-s", "-B", runner_path]
        env = {**SANDBOX_ENV, "HOME": run_dir}
        if report.bwrap:
            argv = bwrap_argv(report.bwrap, report.interpreter_paths, run_dir,
                              tmpfs_bytes) + argv
            env = {}
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, cwd=run_dir,
                                     start_new_session=True, **user_kwargs(uid))
        self.buffer = bytearray()
        self.stderr = bytearray()
        self.bwrap = bool(report.bwrap)
        self.lock = threading.Lock()
        self.closed = False
        self.busy = False
        config = {"seccomp_bpf": base64.b64encode(report.seccomp_bpf).decode() or None,
                  "landlock_abi": report.landlock_abi if use_landlock else 0,
                  "read_paths": read_paths(report.interpreter_paths, run_dir),
                  "dedicated_uid": uid is not None, "heartbeat": 1.0, "preload": PRELOAD,
                  # only a level-A sandbox has a /tmp of its own, emptied between solutions
                  "private_tmp": bool(report.bwrap)}
        self.send(config)
        ready = self.recv(60.0, 1 << 16)
        if not ready.get("ready"):
            raise _SandboxDied(f"runner did not start: {ready}")
        self.pid1 = bool(ready.get("pid1"))

    def send(self, obj: dict[str, Any]) -> None:
        data = json.dumps(obj, separators=(",", ":")).encode("utf-8", "surrogatepass")
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(rt._U32.pack(len(data)) + data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            self._drain_stderr()
            # a runner that died names itself by its exit status, as recv says it, whichever
            # of the write and the death the sandbox saw first
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=2.0)
            if self.proc.returncode is not None:
                raise _SandboxDied(f"runner exited with status {self.proc.returncode}"
                                   f"{self._stderr_tail()}") from None
            raise _SandboxDied(f"runner pipe closed ({exc}){self._stderr_tail()}") from None

    def _drain_stderr(self, timeout: float = 2.0) -> None:
        """What a runner that died wrote on stderr (at most ``_MAX_STDERR`` bytes, waiting at
        most ``timeout`` seconds), so that the error names its cause, whichever of the
        write and the runner's death came first."""
        assert self.proc.stderr is not None
        err_fd = self.proc.stderr.fileno()
        deadline = time.monotonic() + timeout
        while len(self.stderr) < _MAX_STDERR:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([err_fd], [], [], left)[0]:
                return
            chunk = os.read(err_fd, 65536)
            if not chunk:
                return
            self.stderr += chunk[: _MAX_STDERR - len(self.stderr)]

    def _stderr_tail(self) -> str:
        text = bytes(self.stderr).decode("utf-8", "replace").strip().splitlines()
        return f": {text[-1][:200]!r}" if text else ""

    def recv(self, timeout: float, max_frame: int) -> dict[str, Any]:
        """The next frame; _SandboxDied after ``timeout`` seconds of silence or on EOF."""
        assert self.proc.stdout is not None and self.proc.stderr is not None
        out_fd, err_fd = self.proc.stdout.fileno(), self.proc.stderr.fileno()
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buffer) >= 4:
                (size,) = rt._U32.unpack_from(self.buffer, 0)
                if size > max_frame:
                    raise _SandboxDied(f"runner sent an oversized frame ({size} bytes)")
                if len(self.buffer) >= 4 + size:
                    frame = bytes(self.buffer[4:4 + size])
                    del self.buffer[:4 + size]
                    try:
                        obj = json.loads(frame)
                    except ValueError:
                        raise _SandboxDied("runner sent a malformed frame") from None
                    if not isinstance(obj, dict):
                        raise _SandboxDied("runner sent a malformed frame")
                    return obj
            left = deadline - time.monotonic()
            if left <= 0:
                raise _SandboxDied(f"runner silent for {timeout:.0f} s")
            readable, _, _ = select.select([out_fd, err_fd], [], [], left)
            if err_fd in readable:
                chunk = os.read(err_fd, 65536)
                if len(self.stderr) < _MAX_STDERR:
                    self.stderr += chunk[: _MAX_STDERR - len(self.stderr)]
            if out_fd in readable:
                chunk = os.read(out_fd, 1 << 20)
                if not chunk:
                    self.proc.wait()
                    raise _SandboxDied(f"runner exited with status {self.proc.returncode}"
                                       f"{self._stderr_tail()}")
                self.buffer += chunk

    def close(self, graceful: bool = True) -> None:
        """Stop the sandbox and reap it without leaving orphans to the host's init.

        Graceful: end the runner's input; it exits and bubblewrap exits after it. Forced
        (or when that takes too long): SIGKILL the runner itself first, so bubblewrap (its
        parent) reaps it and the kernel reaps everything in its PID namespace, then
        bubblewrap's whole session."""
        with self.lock:
            if self.closed:
                return
            self.closed = True
            if graceful and self.proc.poll() is None:
                with contextlib.suppress(OSError):
                    assert self.proc.stdin is not None
                    self.proc.stdin.close()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=5)
            if self.proc.poll() is None and self.bwrap:
                for child in _children(self.proc.pid):
                    with contextlib.suppress(OSError):
                        os.kill(child, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=5)
            if self.proc.poll() is None:
                with contextlib.suppress(OSError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc; empty when unavailable)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


_UID_SLOT_LOCK = threading.Lock()
_UID_SLOTS_IN_USE: set[int] = set()


def _reserve_uid_slots(n: int) -> list[int]:
    """Dedicated-uid slots for one pool, distinct from those of pools running concurrently
    in this process (RLIMIT_NPROC is per uid); reused when all are taken."""
    with _UID_SLOT_LOCK:
        free = [i for i in range(UIDS_PER_PROCESS) if i not in _UID_SLOTS_IN_USE]
        chosen = (free + [i for i in range(UIDS_PER_PROCESS) if i not in free])[:n]
        while len(chosen) < n:
            chosen.append(len(chosen) % UIDS_PER_PROCESS)
        _UID_SLOTS_IN_USE.update(chosen)
        return chosen


def _release_uid_slots(slots: list[int]) -> None:
    with _UID_SLOT_LOCK:
        _UID_SLOTS_IN_USE.difference_update(slots)


class _Pool:
    """Worker threads, one slot each, pulling units from one queue."""

    def __init__(self, jobs: list[BatchJob], report: IsolationReport, workers: int,
                 host: HostLimits) -> None:
        self.host = host
        self.jobs = jobs
        self.report = report
        self.workers = workers
        self.states = [_JobState(job) for job in jobs]
        self.units: queue.Queue[_Unit | None] = queue.Queue()
        self.done: queue.Queue[tuple[int, BatchResult] | BaseException] = queue.Queue()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.slots: list[_Slot] = []
        self.run_dir = tempfile.mkdtemp(prefix="codecascade-sandbox-")
        os.chmod(self.run_dir, 0o755)
        runner_copy = Path(self.run_dir) / "runner.py"
        shutil.copyfile(_RUNNER_SOURCE, runner_copy)
        os.chmod(runner_copy, 0o644)
        self.tmpfs_bytes = max(job.limits.tmpfs_mb for job in jobs) << 20
        self.use_landlock = not report.bwrap and report.landlock_abi > 0
        self.threads: list[threading.Thread] = []
        self.uid_slots = _reserve_uid_slots(workers)

    # ---- scheduling --------------------------------------------------------------------
    def plan_units(self) -> list[int]:
        """Queue every job's units; returns indices of jobs that need no execution."""
        immediate = []
        for index, (job, state) in enumerate(zip(self.jobs, self.states, strict=True)):
            if not job.solutions or not job.tests:
                state.remaining = 0
                immediate.append(index)
                continue
            sendable = []
            for s, source in enumerate(job.solutions):
                if len(source) > job.limits.max_source_chars:
                    state.fill(s, "error(load):SourceTooLarge")
                else:
                    sendable.append(s)
            if not sendable:
                immediate.append(index)
                continue
            per_unit = max(1, min(math.ceil(len(sendable) / (2 * self.workers)),
                                  _PAIRS_PER_UNIT // max(1, len(job.tests))))
            for start in range(0, len(sendable), per_unit):
                self.units.put(_Unit(index, tuple(sendable[start:start + per_unit])))
        return immediate

    def start(self, n_threads: int) -> None:
        for slot in range(n_threads):
            thread = threading.Thread(target=self._work, args=(slot,), daemon=True,
                                      name=f"sandbox-slot-{slot}")
            thread.start()
            self.threads.append(thread)
        for _ in range(n_threads):
            self.units.put(None)

    # ---- one worker thread -------------------------------------------------------------
    def _work(self, slot_index: int) -> None:
        slot: _Slot | None = None
        try:
            while not self.stopping.is_set():
                unit = self.units.get()
                if unit is None:
                    break
                todo = [unit]
                while todo and not self.stopping.is_set():
                    unit = todo.pop(0)
                    pending = set(unit.solutions)
                    try:
                        if slot is None:
                            slot = _Slot(self.report, self.run_dir,
                                         self.uid_slots[slot_index], self.tmpfs_bytes,
                                         self.use_landlock)
                            with self.lock:
                                self.slots.append(slot)
                        self._run_unit(slot, unit, pending)
                    except _SandboxDied as exc:
                        if slot is not None:
                            slot.close(graceful=False)
                            slot = None
                        if self.stopping.is_set():
                            break
                        todo[:0] = self._after_death(unit, pending, str(exc))
        except BaseException as exc:  # report to the consumer instead of dying silently
            self.done.put(exc)
        finally:
            if slot is not None:
                slot.close()

    def _run_unit(self, slot: _Slot, unit: _Unit, pending: set[int]) -> None:
        """Send one unit and record its results; ``pending`` shrinks as solutions finish."""
        job = self.jobs[unit.job_index]
        state = self.states[unit.job_index]
        limits = job.limits
        frame = {"unit": unit.job_index, "preamble": job.preamble, "tests": list(job.tests),
                 "solutions": [[s, job.solutions[s]] for s in unit.solutions],
                 "limits": limits.to_json(), "mode": job.mode}
        if job.test_timeouts:
            frame["timeouts"] = list(job.test_timeouts)
        slot.busy = True
        slot.send(frame)
        longest = max((limits.test_timeout, *job.test_timeouts))
        silence = 20.0 + limits.load_timeout + longest + limits.kill_grace
        max_frame = 64 * len(job.tests) + (64 << 10)
        while True:
            msg = slot.recv(silence, max_frame)
            if "hb" in msg:
                continue
            if msg.get("u") != unit.job_index:
                raise _SandboxDied("runner answered for another unit")
            if msg.get("done"):
                if pending:
                    raise _SandboxDied(f"runner skipped {len(pending)} solutions")
                slot.busy = False
                return
            s = msg.get("s")
            if s not in pending:
                raise _SandboxDied("runner answered for an unknown solution")
            try:
                local = np.frombuffer(base64.b64decode(msg["c"]), dtype=np.uint8)
                names = [str(n) for n in msg.get("n", [])]
                flags = int(msg.get("f", 0))
            except (KeyError, ValueError, TypeError):
                raise _SandboxDied("runner sent a malformed result") from None
            if local.shape != (len(job.tests),):
                raise _SandboxDied("runner sent a result of the wrong length")
            with self.lock:
                state.record(s, local, names, bool(msg.get("t")), flags)
                pending.discard(s)
                if not pending:
                    # all verdicts are in: a consumer that stops now lets this sandbox end
                    # normally (it reaps its processes) instead of killing it mid-unit
                    slot.busy = False
                self._maybe_finish(unit.job_index)

    def _after_death(self, unit: _Unit, pending: set[int], reason: str) -> list[_Unit]:
        """Units to run after a sandbox died during ``unit``.

        The runner works through a unit's solutions in order, so the first unfinished one
        was in flight: it is retried alone in a fresh sandbox (and gets ``harness_error``
        if that dies too), the others continue as a new unit."""
        with self.lock:
            state = self.states[unit.job_index]
            state.errors.append(_clean_verdict(reason)[:200])
            left = tuple(s for s in unit.solutions if s in pending)
            if not left:
                return []
            if unit.retry:
                for s in left:
                    state.fill(s, "harness_error")
                self._maybe_finish(unit.job_index)
                return []
            state.retried += 1
            suspect = _Unit(unit.job_index, left[:1], retry=True)
            return [suspect, _Unit(unit.job_index, left[1:])] if len(left) > 1 else [suspect]

    def _maybe_finish(self, index: int) -> None:
        state = self.states[index]
        if state.remaining == 0:
            self.done.put((index, state.result(self.report, self.workers, self.host)))

    # ---- shutdown ----------------------------------------------------------------------
    def close(self) -> None:
        """Stop the workers: drop queued units, kill sandboxes busy with a unit (the
        consumer stopped early), let idle ones exit gracefully, remove the runner dir."""
        self.stopping.set()
        with contextlib.suppress(queue.Empty):
            while True:
                self.units.get_nowait()
        for _ in self.threads:
            self.units.put(None)
        with self.lock:
            slots = list(self.slots)
        for slot in slots:
            if slot.busy:
                slot.close(graceful=False)
        for thread in self.threads:
            thread.join(timeout=30)
        for slot in slots:
            slot.close()
        _release_uid_slots(self.uid_slots)
        shutil.rmtree(self.run_dir, ignore_errors=True)


def run_batches(jobs: Iterable[BatchJob], workers: int | None = None,
                allow_unsafe: bool = False, *,
                isolation: IsolationReport | None = None) -> Iterator[tuple[int, BatchResult]]:
    """Run many jobs over ``workers`` sandboxes (default: one per CPU), yielding
    ``(job index, BatchResult)`` as each job completes.

    ``isolation`` is a probe report to use instead of probing (e.g. a forced lower level);
    ``allow_unsafe`` permits level C. Raises :class:`SandboxError` for a refusal or a bad
    job before anything runs."""
    jobs = list(jobs)
    for i, job in enumerate(jobs):
        if not isinstance(job, BatchJob):
            raise SandboxError(f"job {i} is a {type(job).__name__}, not a BatchJob")
    if workers is None:
        workers = nproc()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SandboxError(f"workers must be a positive integer, got {workers!r}")
    report = isolation if isolation is not None else probe_isolation()
    enforce_policy(report, allow_unsafe)
    host = enforce_host_limits(report, [job.limits for job in jobs])
    if not jobs:
        return
    pool = _Pool(jobs, report, workers, host)
    try:
        immediate = pool.plan_units()
        for index in immediate:
            yield index, pool.states[index].result(report, workers, host)
        n_left = len(jobs) - len(immediate)
        if n_left:
            pool.start(min(workers, pool.units.qsize()))
        while n_left:
            item = pool.done.get()
            if isinstance(item, BaseException):
                raise SandboxError(f"sandbox executor failed: {type(item).__name__}: "
                                   f"{item}") from item
            n_left -= 1
            yield item
    finally:
        pool.close()


def run_batch(job: BatchJob, workers: int | None = None, allow_unsafe: bool = False, *,
              isolation: IsolationReport | None = None) -> BatchResult:
    """Run one job (see :func:`run_batches`) and return its result."""
    batches = run_batches([job], workers=workers, allow_unsafe=allow_unsafe,
                          isolation=isolation)
    try:
        return next(batches)[1]
    finally:
        batches.close()


__all__ = ["nproc", "run_batch", "run_batches"]
