"""The trusted in-sandbox runner: executes one sandbox's share of batch work.

This file runs *inside* the sandbox under the sandbox interpreter (by default Debian's
``/usr/bin/python3``), so it uses the standard library only and never imports the project.
The harness (``planner.sandbox.executor``) imports it only for the shared constants below.

Protocol with the harness (stdin/stdout are private channels; fds 0 and 1 are pointed at
``/dev/null`` before any untrusted code runs): frames of a 4-byte little-endian length and a
JSON object. The first frame configures the runner (seccomp program, Landlock paths, rlimits
that depend on the launch); every further frame is a *unit*: one problem's preamble, tests and
a slice of its solutions, with limits and mode. The runner answers one frame per solution
(verdict codes for all tests) and one ``done`` frame per unit, with heartbeats in between.

Execution: untrusted source is compiled and run only in forked children that have set their
own process group, closed every inherited fd, lowered rlimits and installed Landlock (level
B) and a seccomp filter (no new processes, no non-UNIX sockets, no ptrace ...). A child loads
the solution (preamble + solution source) and runs a list of tests: all remaining tests of
the solution in fast mode, one test in strict mode. Results go to a shared memory page: a
progress index (the test running now), one verdict byte per test, a table of error names,
and two acknowledgements tagged with a fresh random nonce: "loaded" after the solution
loaded, and "done" with a keyed digest of the verdict bytes. The runner enforces the hard
per-test deadline (it watches the progress index and SIGKILLs the child's process group),
restarts a new child after a kill, and counts timeouts per solution.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import hashlib
import json
import mmap
import os
import resource
import select
import signal
import struct
import sys
import time

# ---- verdict codes in the shared page and in the frames sent to the harness -----------
PENDING = 0
PASS = 1
FAIL = 2
TIMEOUT = 3
TIMEOUT_LOAD = 4
TIMEOUT_SKIPPED = 5
CRASH = 6
MEMORY = 7
TAMPERED = 8
HARNESS_ERROR = 9
#: codes NAMED_BASE + k mean "the k-th entry of the frame's name list" (e.g. error:KeyError)
NAMED_BASE = 32
MAX_NAMES = 200

FIXED_VERDICTS = {
    PASS: "pass",
    FAIL: "fail",
    TIMEOUT: "timeout",
    TIMEOUT_LOAD: "timeout(load)",
    TIMEOUT_SKIPPED: "timeout(skipped)",
    CRASH: "crash",
    MEMORY: "memory",
    TAMPERED: "tampered",
    HARNESS_ERROR: "harness_error",
}

#: With ``clock="cpu"`` the hard wall-clock deadline is this many times the CPU-time limit
#: (plus the kill grace), so a sleeping or starved test is still killed.
CPU_CLOCK_WALL_FACTOR = 4.0

#: The canary test appended to every solution's tests: it must fail. A solution reported as
#: passing it has forged its results and is marked tampered.
CANARY_TEST = "assert False, 'canary'"

# ---- shared page layout ----------------------------------------------------------------
_NONCE_LEN = 16
_OFF_PROGRESS = 0  # u32: index of the test running now
_OFF_LOAD_STATUS = 4  # u32: 0 none, 1 load error (name index in _OFF_LOAD_NAME), 2 soft timeout
_OFF_LOAD_NAME = 8  # u32
_OFF_N_NAMES = 12  # u32
_OFF_LOADED = 16  # nonce: the solution loaded
_OFF_DONE = 32  # nonce: the child finished its tests
_OFF_DIGEST = 48  # 16 bytes: keyed blake2b of the verdict bytes of the child's tests
_OFF_FLAGS = 64  # u32: bit mask of suspicious constructs found in the solution (SCAN_FLAGS)
_OFF_NAMES = 128  # MAX_NAMES slots of 64 bytes: length byte + up to 63 bytes of name
_NAME_SLOT = 64
_OFF_CODES = _OFF_NAMES + MAX_NAMES * _NAME_SLOT
_U32 = struct.Struct("<I")

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")

#: Suspicious constructs an AST scan of each solution reports (logged, never blocked):
#: the usual tools of result forging and sandbox probing.
SCAN_FLAGS = ("frame_access", "tracing", "gc", "ctypes", "inspect", "process_exit", "signals",
              "builtins_access", "shared_memory", "subclass_walk", "processes", "network",
              "always_equal")
_SCAN_NAMES = {
    "_getframe": "frame_access", "f_back": "frame_access", "f_locals": "frame_access",
    "f_globals": "frame_access", "currentframe": "frame_access", "settrace": "tracing",
    "setprofile": "tracing", "gc": "gc", "ctypes": "ctypes", "inspect": "inspect",
    "_exit": "process_exit", "exit": "process_exit", "signal": "signals",
    "builtins": "builtins_access", "__builtins__": "builtins_access", "mmap": "shared_memory",
    "__subclasses__": "subclass_walk", "fork": "processes", "kill": "processes",
    "system": "processes", "popen": "processes", "subprocess": "processes",
    "multiprocessing": "processes", "socket": "network",
}


def scan_source(tree) -> int:
    """Bit mask (over SCAN_FLAGS) of suspicious constructs in a parsed solution."""
    import ast

    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            key = node.id
        elif isinstance(node, ast.Attribute):
            key = node.attr
        elif isinstance(node, ast.alias):
            key = node.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            key = (node.module or "").split(".")[0]
        elif isinstance(node, ast.ClassDef) and _always_equal(node):
            found.add("always_equal")
            continue
        else:
            continue
        flag = _SCAN_NAMES.get(key)
        if flag:
            found.add(flag)
    return sum(1 << i for i, flag in enumerate(SCAN_FLAGS) if flag in found)


def _always_equal(cls) -> bool:
    """A class whose __eq__/__ne__ ignores its argument and returns a constant."""
    import ast

    for item in cls.body:
        targets = []
        if isinstance(item, ast.FunctionDef) and item.name in ("__eq__", "__ne__"):
            body = [n for n in item.body if not isinstance(n, ast.Expr)]
            targets = [n.value for n in body[:1] if isinstance(n, ast.Return)] if len(
                body) == 1 else []
        elif isinstance(item, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id in ("__eq__", "__ne__") for t in item.targets):
            value = item.value
            targets = [value.body] if isinstance(value, ast.Lambda) else []
        if any(isinstance(v, ast.Constant) for v in targets):
            return True
    return False


# ---- kernel interfaces -----------------------------------------------------------------
_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_PR_SET_SECCOMP = 22
_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_NO_NEW_PRIVS = 38
_SECCOMP_MODE_FILTER = 2
_SYS_LANDLOCK_CREATE_RULESET = 444
_SYS_LANDLOCK_ADD_RULE = 445
_SYS_LANDLOCK_RESTRICT_SELF = 446
_LANDLOCK_CREATE_RULESET_VERSION = 1
_LANDLOCK_RULE_PATH_BENEATH = 1
# filesystem rights by ABI (bit masks of everything handled, so unlisted access is denied)
_LL_EXECUTE, _LL_WRITE_FILE, _LL_READ_FILE, _LL_READ_DIR = 1, 2, 4, 8
_LL_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1,
                 5: (1 << 16) - 1}
_LL_NET_TCP = 1 | 2  # bind + connect (ABI >= 4)
_LL_SCOPES = 1 | 2  # abstract unix sockets + signals (ABI >= 6)


class _SockFilter(ctypes.Structure):
    _fields_ = (("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32))


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter)))


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


class _TestTimeout(BaseException):
    """Raised by the per-test alarm inside a child (a BaseException so plain ``except
    Exception`` in solutions does not swallow it)."""


def _on_alarm(signum, frame):
    raise _TestTimeout


_LIBC = ctypes.CDLL(None, use_errno=True)


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 when Landlock is unavailable."""
    _LIBC.syscall.restype = ctypes.c_long
    abi = _LIBC.syscall(ctypes.c_long(_SYS_LANDLOCK_CREATE_RULESET), None, ctypes.c_size_t(0),
                        ctypes.c_uint32(_LANDLOCK_CREATE_RULESET_VERSION))
    return max(int(abi), 0)


def _landlock_ruleset(abi: int, read_paths, rw_paths) -> int:
    """A Landlock ruleset fd allowing read+execute under ``read_paths`` and read+write on
    ``rw_paths`` (files such as /dev/null), denying every other handled access; TCP bind and
    connect are denied on ABI >= 4, signals and abstract sockets are scoped on ABI >= 6."""
    fs = _LL_FS_BY_ABI.get(abi, _LL_FS_BY_ABI[5])
    attr = struct.pack("<QQQ", fs, _LL_NET_TCP if abi >= 4 else 0, _LL_SCOPES if abi >= 6 else 0)
    size = 8 if abi < 4 else (16 if abi < 6 else 24)
    buf = ctypes.create_string_buffer(attr[:size], size)
    fd = _LIBC.syscall(ctypes.c_long(_SYS_LANDLOCK_CREATE_RULESET), buf, ctypes.c_size_t(size),
                       ctypes.c_uint32(0))
    if fd < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    file_read = _LL_EXECUTE | _LL_READ_FILE
    for path, rights in [(p, file_read | _LL_READ_DIR) for p in read_paths] + [
            (p, _LL_READ_FILE | _LL_WRITE_FILE) for p in rw_paths]:
        try:
            pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue
        if not os.path.isdir(path):
            rights &= file_read | _LL_WRITE_FILE
        rule = _PathBeneath(rights & fs, pfd)
        rc = _LIBC.syscall(ctypes.c_long(_SYS_LANDLOCK_ADD_RULE), ctypes.c_int(fd),
                           ctypes.c_int(_LANDLOCK_RULE_PATH_BENEATH), ctypes.byref(rule),
                           ctypes.c_uint32(0))
        os.close(pfd)
        if rc < 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
    return fd


class Runner:
    """One runner process: configuration, the compiled-test cache and the unit loop."""

    def __init__(self, in_fd: int, out_fd: int) -> None:
        self.in_fd = in_fd
        self.out_fd = out_fd
        self.devnull = os.open("/dev/null", os.O_RDWR)
        self.fprog = None
        self.landlock_fd = -1
        self.dedicated_uid = False
        self.pid1 = os.getpid() == 1
        self.heartbeat_every = 1.0
        self.last_frame = time.monotonic()
        self.test_cache_key = None
        self.compiled = []
        self.test_verdicts = {}

    # ---- framing -----------------------------------------------------------------------
    def _read_exact(self, n: int) -> bytes:
        chunks = []
        while n:
            chunk = os.read(self.in_fd, min(n, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def read_frame(self) -> dict:
        (size,) = _U32.unpack(self._read_exact(4))
        return json.loads(self._read_exact(size))

    def send(self, obj: dict) -> None:
        data = json.dumps(obj, separators=(",", ":")).encode()
        data = _U32.pack(len(data)) + data
        while data:
            data = data[os.write(self.out_fd, data):]
        self.last_frame = time.monotonic()

    def heartbeat(self) -> None:
        if time.monotonic() - self.last_frame >= self.heartbeat_every:
            self.send({"hb": 1})

    # ---- set-up ------------------------------------------------------------------------
    def configure(self, cfg: dict) -> None:
        bpf = base64.b64decode(cfg["seccomp_bpf"]) if cfg.get("seccomp_bpf") else b""
        if bpf:
            n = len(bpf) // 8
            self._filters = (_SockFilter * n).from_buffer_copy(bpf)
            self.fprog = _SockFprog(n, ctypes.cast(self._filters, ctypes.POINTER(_SockFilter)))
        if cfg.get("landlock_abi"):
            self.landlock_fd = _landlock_ruleset(int(cfg["landlock_abi"]), cfg["read_paths"],
                                                 ["/dev/null"])
        # RLIMIT_NPROC counts every process of the real uid: only meaningful (and harmless)
        # when this sandbox runs as a uid of its own.
        self.dedicated_uid = bool(cfg.get("dedicated_uid"))
        self.heartbeat_every = float(cfg.get("heartbeat", 1.0))
        for name in cfg.get("preload", ()):
            with contextlib.suppress(Exception):
                __import__(name)

    # ---- one child ---------------------------------------------------------------------
    def _child_setup(self, limits: dict, cpu_seconds: int, vm_bytes: int) -> None:
        os.setpgid(0, 0)
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        # SIGXFSZ stays ignored (as Python starts): a too-big write raises OSError (EFBIG).
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGCHLD,
                    signal.SIGXCPU, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGPROF if limits.get("clock") == "cpu" else signal.SIGALRM,
                      _on_alarm)
        os.dup2(self.devnull, 0)
        os.dup2(self.devnull, 1)
        os.dup2(self.devnull, 2)
        mem = int(limits["memory_mb"]) << 20
        rl = resource.setrlimit
        rl(resource.RLIMIT_AS, (vm_bytes + mem, vm_bytes + mem))
        rl(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
        rl(resource.RLIMIT_FSIZE, (int(limits["max_file_mb"]) << 20,) * 2)
        rl(resource.RLIMIT_NOFILE, (int(limits["max_open_files"]),) * 2)
        rl(resource.RLIMIT_CORE, (0, 0))
        if self.dedicated_uid:
            nproc = int(limits["max_processes"])
            rl(resource.RLIMIT_NPROC, (nproc, nproc))
        needs_nnp = self.landlock_fd >= 0 or self.fprog is not None
        if needs_nnp and _LIBC.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "no_new_privs")
        if self.landlock_fd >= 0:
            rc = _LIBC.syscall(ctypes.c_long(_SYS_LANDLOCK_RESTRICT_SELF),
                               ctypes.c_int(self.landlock_fd), ctypes.c_uint32(0))
            if rc != 0:
                raise OSError(ctypes.get_errno(), "landlock_restrict_self")
        os.closerange(3, 1 << 16)
        if self.fprog is not None and _LIBC.prctl(
                _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(self.fprog), 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "seccomp")

    def _child(self, shm, nonce: bytes, source: str, order: list, tests: list, timeouts_left: int,
               fresh_globals: bool, scan: bool, limits: dict, cpu_seconds: int,
               vm_bytes: int) -> None:
        """Body of a forked child; never returns."""
        try:
            self._child_setup(limits, cpu_seconds, vm_bytes)
        except BaseException:
            os._exit(3)
        # Everything the loop needs is bound to locals before untrusted code runs, so that
        # patching builtins or modules cannot change how results are recorded.
        exec_, dict_, type_, len_, bytes_ = exec, dict, type, len, bytes
        assertion_error, any_error, test_timeout_error = AssertionError, BaseException, _TestTimeout
        # the soft per-test limit: wall-clock time, or this process's CPU time ("cpu": the
        # verdict does not depend on how loaded the machine is)
        setitimer = signal.setitimer
        real = signal.ITIMER_PROF if limits.get("clock") == "cpu" else signal.ITIMER_REAL
        pack_into, codes_off = _U32.pack_into, _OFF_CODES
        test_timeout, names = float(limits["test_timeout"]), {}
        per_test = limits.get("per_test")

        def name_code(exc: BaseException) -> int:
            raw = type_(exc).__name__
            name = "".join(ch if ch in _NAME_CHARS else "?" for ch in str(raw)[:60]) or "?"
            k = names.get(name)
            if k is None:
                k = len_(names)
                if k >= MAX_NAMES:
                    return NAMED_BASE + MAX_NAMES - 1
                names[name] = k
                data = name.encode("ascii")
                shm[_OFF_NAMES + k * _NAME_SLOT:_OFF_NAMES + k * _NAME_SLOT + 1 + len_(data)] = (
                    bytes_((len_(data),)) + data)
                pack_into(shm, _OFF_N_NAMES, len_(names))
            return NAMED_BASE + k

        glb = {"__name__": "__main__", "__builtins__": __builtins__}
        try:
            setitimer(real, float(limits["load_timeout"]))
            if scan:
                import ast

                tree = compile(source, "<solution>", "exec", ast.PyCF_ONLY_AST,
                               dont_inherit=True, optimize=0)
                pack_into(shm, _OFF_FLAGS, scan_source(tree))
                code = compile(tree, "<solution>", "exec", dont_inherit=True, optimize=0)
            else:
                code = compile(source, "<solution>", "exec", dont_inherit=True, optimize=0)
            exec_(code, glb)
            setitimer(real, 0)
        except test_timeout_error:
            pack_into(shm, _OFF_LOAD_STATUS, 2)
            os._exit(0)
        except any_error as exc:
            setitimer(real, 0)
            pack_into(shm, _OFF_LOAD_NAME, name_code(exc) - NAMED_BASE)
            pack_into(shm, _OFF_LOAD_STATUS, 1)
            os._exit(0)
        shm[_OFF_LOADED:_OFF_LOADED + _NONCE_LEN] = nonce
        for j in order:
            pack_into(shm, _OFF_PROGRESS, j)
            if timeouts_left <= 0:
                shm[codes_off + j] = TIMEOUT_SKIPPED
                continue
            try:
                try:
                    setitimer(real, per_test[j] if per_test else test_timeout)
                    exec_(tests[j], dict_(glb) if fresh_globals else glb)
                    setitimer(real, 0)
                    verdict = PASS
                except assertion_error:
                    setitimer(real, 0)
                    verdict = FAIL
                except test_timeout_error:
                    verdict = TIMEOUT
                    timeouts_left -= 1
                except any_error as exc:
                    setitimer(real, 0)
                    verdict = name_code(exc)
            except test_timeout_error:
                setitimer(real, 0)
                verdict = TIMEOUT
                timeouts_left -= 1
            shm[codes_off + j] = verdict
        digest = hashlib.blake2b(bytes_(shm[codes_off + j] for j in order), key=nonce,
                                 digest_size=16).digest()
        shm[_OFF_DIGEST:_OFF_DIGEST + 16] = digest
        shm[_OFF_DONE:_OFF_DONE + _NONCE_LEN] = nonce
        os._exit(0)

    def _sweep(self, pgid: int) -> None:
        """Kill whatever the child left behind and reap it.

        With the seccomp no-fork rule a child cannot leave processes behind, so killing its
        group suffices. Without it: as PID 1 of a private PID namespace, kill(-1) reaches
        every other process in it; otherwise this runner is a child subreaper, so escaped
        descendants end up as its children: kill those until none is left."""
        with contextlib.suppress(OSError):
            os.killpg(pgid, signal.SIGKILL)
        if self.pid1:
            with contextlib.suppress(OSError):
                os.kill(-1, signal.SIGKILL)
        elif self.fprog is None:
            me = str(os.getpid())
            for _ in range(100):
                found = False
                for entry in os.listdir("/proc"):
                    if not entry.isdigit():
                        continue
                    try:
                        with open(f"/proc/{entry}/stat", "rb") as fh:
                            stat = fh.read().decode("ascii", "replace")
                    except OSError:
                        continue
                    if stat.rsplit(")", 1)[-1].split()[1] == me:
                        found = True
                        with contextlib.suppress(OSError):
                            os.kill(int(entry), signal.SIGKILL)
                        with contextlib.suppress(ChildProcessError):
                            os.waitpid(int(entry), 0)
                if not found:
                    break
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break

    def run_child(self, shm, source: str, order: list, tests: list, timeouts_left: int,
                  fresh_globals: bool, scan: bool, limits: dict, vm_bytes: int) -> dict:
        """Fork a child for ``order`` (test indices), watch it, and read its outcome."""
        shm[:_OFF_CODES] = bytes(_OFF_CODES)
        for j in order:
            shm[_OFF_CODES + j] = PENDING
        _U32.pack_into(shm, _OFF_PROGRESS, 0xFFFFFFFF)
        nonce = os.urandom(_NONCE_LEN)
        test_timeout = float(limits["test_timeout"])
        per_test = limits.get("per_test")
        load_timeout = float(limits["load_timeout"])
        grace = float(limits["kill_grace"])
        cpu = int(load_timeout + sum(per_test[j] for j in order) if per_test
                  else load_timeout + test_timeout * len(order)) + 2
        # hard wall-clock deadlines: with a CPU-time soft limit, allow for a loaded machine
        factor = CPU_CLOCK_WALL_FACTOR if limits.get("clock") == "cpu" else 1.0
        load_timeout = load_timeout * factor
        pid = os.fork()
        if pid == 0:
            self._child(shm, nonce, source, order, tests, timeouts_left, fresh_globals, scan,
                        limits, cpu, vm_bytes)
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)
        pidfd = os.pidfd_open(pid)
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        start = time.monotonic()
        deadline = start + load_timeout + grace
        seen_progress = None
        killed_at = None
        status = 0
        try:
            while True:
                now = time.monotonic()
                loaded = shm[_OFF_LOADED:_OFF_LOADED + _NONCE_LEN] == nonce
                if loaded:
                    progress = _U32.unpack_from(shm, _OFF_PROGRESS)[0]
                    if progress != seen_progress:
                        seen_progress = progress
                        limit = per_test[progress] if per_test and progress < len(
                            per_test) else test_timeout
                        deadline = now + limit * factor + grace
                if now >= deadline:
                    killed_at = seen_progress if loaded else -1
                    os.killpg(pid, signal.SIGKILL)
                    poller.poll()
                    break
                wait = min(deadline - now, 0.1 if loaded else deadline - now,
                           self.heartbeat_every)
                if poller.poll(max(wait, 0.0) * 1000 + 1):
                    break
                self.heartbeat()
        finally:
            os.close(pidfd)
            _, status = os.waitpid(pid, 0)
            self._sweep(pid)
        loaded = shm[_OFF_LOADED:_OFF_LOADED + _NONCE_LEN] == nonce
        done = shm[_OFF_DONE:_OFF_DONE + _NONCE_LEN] == nonce
        n_names = min(_U32.unpack_from(shm, _OFF_N_NAMES)[0], MAX_NAMES)
        names = []
        for k in range(n_names):
            off = _OFF_NAMES + k * _NAME_SLOT
            size = min(shm[off], _NAME_SLOT - 1)
            raw = bytes(shm[off + 1:off + 1 + size]).decode("ascii", "replace")
            names.append("".join(ch if ch in _NAME_CHARS else "?" for ch in raw) or "?")
        codes = {j: shm[_OFF_CODES + j] for j in order}
        outcome = {"loaded": loaded, "done": done, "names": names, "codes": codes,
                   "killed_at": killed_at, "status": status,
                   "progress": _U32.unpack_from(shm, _OFF_PROGRESS)[0],
                   "load_status": _U32.unpack_from(shm, _OFF_LOAD_STATUS)[0],
                   "load_name": _U32.unpack_from(shm, _OFF_LOAD_NAME)[0],
                   "flags": _U32.unpack_from(shm, _OFF_FLAGS)[0] & ((1 << len(SCAN_FLAGS)) - 1)}
        if done:
            digest = hashlib.blake2b(bytes(codes[j] for j in order), key=nonce,
                                     digest_size=16).digest()
            outcome["digest_ok"] = digest == shm[_OFF_DIGEST:_OFF_DIGEST + 16]
        return outcome

    # ---- tests -------------------------------------------------------------------------
    def compile_tests(self, shm, tests: list, limits: dict, vm_bytes: int) -> None:
        """Compile the unit's tests (plus the canary) once, for every child to inherit.

        Untrusted text is first compiled in a sandboxed child (a parser bomb can only kill
        that child); only tests it compiled cleanly are then compiled here. A test that
        does not compile gets the verdict of running it (e.g. ``error:SyntaxError``)."""
        key = hashlib.sha256(json.dumps(tests).encode("utf-8", "surrogatepass")).hexdigest()
        if key == self.test_cache_key:
            return
        all_tests = [*tests, CANARY_TEST]
        compile_src = [f"compile({t!r}, '<test>', 'exec', dont_inherit=True, optimize=0)"
                       for t in all_tests]
        probe = [compile(s, "<compile-probe>", "exec") for s in compile_src]
        verdicts = {}
        pending = list(range(len(all_tests)))
        while pending:
            out = self.run_child(shm, "", pending, probe, len(pending) + 1, False, False,
                                 limits, vm_bytes)
            codes = out["codes"]
            if not out["loaded"]:
                verdicts.update({j: "crash" for j in pending})
                break
            stop = len(pending)
            if not out["done"]:
                progress = out["progress"]
                stop = pending.index(progress) if progress in pending else 0
            for j in pending[:stop]:
                code = codes[j]
                if code >= NAMED_BASE and code - NAMED_BASE < len(out["names"]):
                    verdicts[j] = "error:" + out["names"][code - NAMED_BASE]
                elif code != PASS:
                    verdicts[j] = "timeout" if code == TIMEOUT else "crash"
            if stop == len(pending):
                break
            verdicts[pending[stop]] = "timeout" if out["killed_at"] is not None else "crash"
            pending = pending[stop + 1:]
        self.compiled = [None if j in verdicts else
                         compile(t, "<test>", "exec", dont_inherit=True, optimize=0)
                         for j, t in enumerate(all_tests)]
        self.test_verdicts = verdicts
        self.test_cache_key = key

    # ---- one solution ------------------------------------------------------------------
    def run_solution(self, shm, source: str, n_tests: int, limits: dict, strict: bool,
                     vm_bytes: int) -> tuple:
        """(codes, names, tampered, flags) for every test of one solution: named codes index
        the name list; the canary is checked and stripped; flags come from the AST scan
        done in the solution's first child."""
        canary = n_tests
        final = [PENDING] * (n_tests + 1)
        names = []
        name_index = {}

        def named(verdict: str) -> int:
            k = name_index.get(verdict)
            if k is None:
                k = name_index[verdict] = len(names)
                names.append(verdict)
            return NAMED_BASE + k

        for j, verdict in self.test_verdicts.items():
            final[j] = named(verdict) if verdict.startswith("error") else (
                TIMEOUT if verdict == "timeout" else CRASH)
        pending = [j for j in range(n_tests + 1) if self.compiled[j] is not None]
        timeouts = 0
        max_timeouts = int(limits["max_timeouts"])
        load_verdict = None
        flags = 0
        first = True
        while pending:
            order = pending[:1] if strict else pending
            out = self.run_child(shm, source, order, self.compiled, max_timeouts - timeouts,
                                 not strict, first, limits, vm_bytes)
            if first:
                flags, first = out["flags"], False
            if not out["loaded"]:
                if out["load_status"] == 1 and out["load_name"] < len(out["names"]):
                    load_verdict = named("error(load):" + out["names"][out["load_name"]])
                elif out["load_status"] == 2 or out["killed_at"] == -1:
                    load_verdict = TIMEOUT_LOAD
                else:
                    load_verdict = CRASH
                break
            codes = out["codes"]
            if out["done"]:
                if not out.get("digest_ok") or any(codes[j] == PENDING for j in order):
                    return [TAMPERED] * n_tests, [], True, flags
                stop = len(order)
            else:
                progress = out["progress"]
                stop = order.index(progress) if progress in order else 0
                if codes[order[stop]] != PENDING:
                    stop += 1  # died between tests: the test at `progress` finished
                elif out["killed_at"] is not None:
                    final[order[stop]] = TIMEOUT
                    timeouts += 1
                    stop += 1
                else:
                    final[order[stop]] = CRASH
                    stop += 1
            for j in order[:stop]:
                code = codes[j]
                if final[j] != PENDING:
                    continue
                if code >= NAMED_BASE:
                    k = code - NAMED_BASE
                    final[j] = named("error:" + (out["names"][k] if k < len(out["names"])
                                                 else "?"))
                elif code in (PASS, FAIL, TIMEOUT, TIMEOUT_SKIPPED):
                    final[j] = code
                    timeouts += code == TIMEOUT
                else:
                    return [TAMPERED] * n_tests, [], True, flags
            pending = order[stop:] + pending[len(order):]
            if timeouts >= max_timeouts:
                for j in pending:
                    final[j] = TIMEOUT_SKIPPED
                pending = []
        if load_verdict is not None:
            return [load_verdict] * n_tests, names, False, flags
        if final[canary] == PASS:
            return [TAMPERED] * n_tests, [], True, flags
        return final[:n_tests], names, False, flags

    # ---- units -------------------------------------------------------------------------
    def run_unit(self, unit: dict) -> None:
        limits = unit["limits"]
        tests = list(unit["tests"])
        n_tests = len(tests)
        with open("/proc/self/statm", "rb") as fh:
            vm_bytes = int(fh.read().split()[0]) * mmap.PAGESIZE
        shm = mmap.mmap(-1, _OFF_CODES + n_tests + 1)
        try:
            self.compile_tests(shm, tests, limits, vm_bytes)
            if unit.get("timeouts"):
                # per-test soft limits (the canary keeps the unit's limit)
                limits = {**limits, "per_test": [float(t) for t in unit["timeouts"]] + [
                    float(limits["test_timeout"])]}
            preamble = unit["preamble"]
            strict = unit["mode"] == "strict"
            for index, source in unit["solutions"]:
                full = f"{preamble}\n{source}" if preamble else source
                codes, names, tampered, flags = self.run_solution(shm, full, n_tests, limits,
                                                                  strict, vm_bytes)
                self.send({"u": unit["unit"], "s": index, "t": tampered, "n": names, "f": flags,
                           "c": base64.b64encode(bytes(codes)).decode("ascii")})
        finally:
            shm.close()
        self.send({"u": unit["unit"], "done": True})

    def serve(self) -> None:
        self.configure(self.read_frame())
        self.send({"ready": True, "pid1": self.pid1})
        import gc

        gc.freeze()
        while True:
            try:
                unit = self.read_frame()
            except EOFError:
                return
            self.run_unit(unit)


def main() -> None:
    """Move the protocol channels off fds 0/1, harden this process, then serve units."""
    import warnings

    warnings.simplefilter("ignore")
    in_fd = os.dup(0)
    out_fd = os.dup(1)
    devnull = os.open("/dev/null", os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    _LIBC.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getpid() != 1:
        _LIBC.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    Runner(in_fd, out_fd).serve()


if __name__ == "__main__":
    sys.exit(main())
