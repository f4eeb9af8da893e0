"""Which isolation this machine offers, how to launch a sandbox at that level, and the
policy that refuses or warns.

Levels (research ``../shared/docs/sandbox.md``, section 4.3):

* **A**: bubblewrap (all namespaces, read-only system, small tmpfs ``/tmp``, no network,
  cleared environment, runner as PID 1) started as an unprivileged uid so process limits
  apply, plus rlimits and a seccomp filter in every child.
* **B**: no usable bubblewrap (or no seccomp): Landlock (read-only system, no writes, no TCP,
  scoped signals and abstract sockets where the kernel's ABI has them) and seccomp where
  available, rlimits, a child-subreaper sweep. Processes are not hidden from each other.
* **C**: neither: rlimits, process groups and the sweep only. Refused unless the caller
  passes the explicit unsafe flag; with ``CI=true`` anything below A is refused.

The probe runs once per process (about 0.1-0.5 s) and is cached.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import errno
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .host_limits import HostLimits
from .jobs import Limits, SandboxError

#: Where the runner directory appears inside a level-A sandbox.
SANDBOX_RUN_DIR = "/run/codecascade"
#: Environment of the runner and its children (an allow-list; nothing else is passed).
SANDBOX_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "TZ": "UTC",
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
    "MALLOC_ARENA_MAX": "2",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
#: Components a caller can pretend are missing (to exercise and test the fallbacks).
COMPONENTS = ("bwrap", "landlock", "seccomp")
#: Environment variable naming the sandbox interpreter (default: Debian's /usr/bin/python3
#: when present, else the harness's own interpreter).
INTERPRETER_ENV = "CODECASCADE_SANDBOX_PYTHON"
#: Environment variable fixing the first dedicated sandbox uid (used when running as root).
UID_BASE_ENV = "CODECASCADE_SANDBOX_UID_BASE"
#: Dedicated uids per harness process (base .. base + UIDS_PER_PROCESS - 1).
UIDS_PER_PROCESS = 32
_TOP_LEVEL = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
_SYSTEM_SANDBOX_PYTHON = "/usr/bin/python3"
#: Modules imported once in each sandbox (children inherit them already loaded).
PRELOAD = ("math", "typing", "collections", "itertools", "functools", "re", "heapq", "string",
           "bisect", "operator", "copy", "fractions", "decimal", "statistics", "random",
           "datetime", "hashlib", "json", "array", "dataclasses", "enum")
#: What the runner itself imports (with PRELOAD: the interpreter's size before a solution).
_RUNNER_IMPORTS = ("ast", "base64", "ctypes", "fcntl", "mmap", "resource", "select", "signal",
                   "socket", "struct", "types")
_PROBE_CODE = ("import sys, json, os\n"
               f"for name in {PRELOAD + _RUNNER_IMPORTS!r}:\n"
               "    try:\n        __import__(name)\n    except ImportError:\n        pass\n"
               "with open('/proc/self/statm') as fh:\n"
               "    vm = int(fh.read().split()[0]) * os.sysconf('SC_PAGE_SIZE')\n"
               "print(json.dumps([list(sys.version_info[:3]), sys.base_prefix, sys.prefix,"
               " sys.executable, vm]))")


class IsolationLevel(enum.StrEnum):
    """Isolation level of a sandbox (see the module docstring)."""

    A = "A"
    B = "B"
    C = "C"


@dataclass(frozen=True)
class IsolationReport:
    """What the probe found and the level it chose; ``missing`` names every absent layer."""

    level: IsolationLevel
    interpreter: str
    python_version: str
    interpreter_paths: tuple[str, ...]
    bwrap: str
    bwrap_detail: str
    landlock_abi: int
    seccomp_detail: str
    uid_base: int | None
    missing: tuple[str, ...]
    seccomp_bpf: bytes = field(default=b"", repr=False)
    host: HostLimits | None = field(default=None, repr=False)

    @property
    def layers(self) -> tuple[str, ...]:
        """The protections a sandbox launched from this report uses."""
        out = []
        if self.bwrap:
            out.append("bubblewrap namespaces")
        elif self.landlock_abi:
            out.append(f"landlock ABI {self.landlock_abi}")
        if self.seccomp_bpf:
            out.append("seccomp")
        out.append("rlimits")
        out.append(f"dedicated uid {self.uid_base}+" if self.uid_base is not None
                   else "caller's uid")
        return tuple(out)

    def summary(self) -> str:
        """One line: level, layers and what is missing."""
        line = f"sandbox: level {self.level.value} ({', '.join(self.layers)})"
        if self.missing:
            line += "; missing: " + "; ".join(self.missing)
        return line

    def to_json(self) -> dict[str, Any]:
        return {"level": self.level.value, "interpreter": self.interpreter,
                "python_version": self.python_version,
                "interpreter_paths": list(self.interpreter_paths), "bwrap": self.bwrap,
                "bwrap_detail": self.bwrap_detail, "landlock_abi": self.landlock_abi,
                "seccomp": bool(self.seccomp_bpf), "seccomp_detail": self.seccomp_detail,
                "uid_base": self.uid_base, "layers": list(self.layers),
                "missing": list(self.missing), "host_limits": self.host_limits_json()}

    def host_limits_json(self) -> dict[str, Any]:
        """The host's hard limits and what they do to the default ``Limits``."""
        if self.host is None:
            return {}
        dedicated, default = self.uid_base is not None, Limits()
        return {**self.host.to_json(),
                "effective": self.host.effective(default, dedicated),
                "clamped": list(self.host.clamped(default, dedicated)),
                "refusal": self.host.refusal(default, dedicated)}


def default_interpreter() -> str:
    """The sandbox interpreter: $CODECASCADE_SANDBOX_PYTHON, else /usr/bin/python3, else
    the harness's own interpreter."""
    env = os.environ.get(INTERPRETER_ENV)
    if env:
        return env
    if os.access(_SYSTEM_SANDBOX_PYTHON, os.X_OK):
        return _SYSTEM_SANDBOX_PYTHON
    return sys.executable


def uid_base() -> int | None:
    """First dedicated sandbox uid (slot i uses base + i) when running as root, else None.

    Each harness process gets its own block of UIDS_PER_PROCESS uids (from its pid unless
    $CODECASCADE_SANDBOX_UID_BASE is set), so that RLIMIT_NPROC counts only its own slot."""
    if os.geteuid() != 0:
        return None
    env = os.environ.get(UID_BASE_ENV)
    if env:
        try:
            base = int(env)
        except ValueError:
            raise SandboxError(f"{UID_BASE_ENV} must be an integer uid, got {env!r}") from None
        if not 1000 <= base < 2**31 - UIDS_PER_PROCESS:
            raise SandboxError(f"{UID_BASE_ENV}={base} is outside 1000..2^31")
        return base
    return 200_000 + (os.getpid() % 4096) * UIDS_PER_PROCESS


def user_kwargs(uid: int | None) -> dict[str, Any]:
    """subprocess arguments that start a process as ``uid`` (nothing when not root)."""
    if uid is None:
        return {}
    return {"user": uid, "group": uid, "extra_groups": []}


def seccomp_program() -> bytes:
    """The children's seccomp filter as a BPF program (built with pyseccomp/libseccomp).

    Denied: new processes (fork, vfork, clone without CLONE_THREAD -> EAGAIN; clone3 ->
    ENOSYS so glibc falls back to clone for threads), sockets other than AF_UNIX, ptrace and
    cross-process memory and descriptor access, namespaces and mounts, kernel keyrings, BPF,
    io_uring, perf events, module and kexec loading, System V / POSIX IPC objects (they
    outlive the process, so one solution could leave state for the next), and changing
    another process's limits, priority or CPU placement (inherited by later solutions)."""
    import pyseccomp as sc

    filt = sc.SyscallFilter(sc.ALLOW)
    filt.add_rule(sc.ERRNO(errno.EAGAIN), "fork")
    filt.add_rule(sc.ERRNO(errno.EAGAIN), "vfork")
    filt.add_rule(sc.ERRNO(errno.EAGAIN), "clone", sc.Arg(0, sc.MASKED_EQ, 0x00010000, 0))
    filt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    filt.add_rule(sc.ERRNO(errno.EAFNOSUPPORT), "socket", sc.Arg(0, sc.NE, 1))
    # limits, priorities and CPU placement of other processes (the runner and the zygote
    # pass theirs on to every later solution): only the calling process's own (pid 0)
    for name, arg in (("prlimit64", 0), ("sched_setaffinity", 0), ("sched_setscheduler", 0),
                      ("sched_setparam", 0), ("sched_setattr", 0), ("setpriority", 1),
                      ("ioprio_set", 1)):
        with contextlib.suppress(RuntimeError, ValueError, OSError):
            filt.add_rule(sc.ERRNO(errno.EPERM), name, sc.Arg(arg, sc.NE, 0))
    for name, who_self in (("setpriority", 0), ("ioprio_set", 1)):  # PRIO_PROCESS / WHO_PROCESS
        with contextlib.suppress(RuntimeError, ValueError, OSError):
            filt.add_rule(sc.ERRNO(errno.EPERM), name, sc.Arg(0, sc.NE, who_self))
    denied = ("ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2",
              "pivot_root", "chroot", "unshare", "setns", "bpf", "keyctl", "add_key",
              "request_key", "io_uring_setup", "io_uring_enter", "io_uring_register",
              "perf_event_open", "kexec_load", "kexec_file_load", "init_module",
              "finit_module", "delete_module", "userfaultfd", "acct", "swapon", "swapoff",
              "reboot", "syslog", "open_by_handle_at", "name_to_handle_at", "quotactl",
              "fanotify_init", "move_mount", "open_tree", "fsopen", "fsmount", "fspick",
              "pidfd_getfd", "shmget", "msgget", "semget", "mq_open", "mq_unlink")
    for name in denied:
        try:
            filt.add_rule(sc.ERRNO(errno.EPERM), name)
        except (RuntimeError, ValueError, OSError):
            continue  # syscall unknown on this architecture
    with tempfile.TemporaryFile() as fh:
        filt.export_bpf(fh)
        fh.seek(0)
        return fh.read()


def bwrap_argv(bwrap: str, interpreter_paths: tuple[str, ...], run_dir: str,
               tmpfs_bytes: int) -> list[str]:
    """The bubblewrap command line, up to (not including) the program to run."""
    argv = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
            "--new-session", "--as-pid-1", "--ro-bind", "/usr", "/usr"]
    for name in _TOP_LEVEL:
        path = Path("/") / name
        if path.is_symlink():
            argv += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            argv += ["--ro-bind", str(path), str(path)]
    for extra in interpreter_paths:
        if not _covered(extra):
            argv += ["--ro-bind", extra, extra]
    argv += ["--proc", "/proc", "--dev", "/dev", "--size", str(int(tmpfs_bytes)), "--tmpfs",
             "/tmp", "--ro-bind", run_dir, SANDBOX_RUN_DIR, "--chdir", "/tmp", "--clearenv"]
    for key, value in SANDBOX_ENV.items():
        argv += ["--setenv", key, value]
    argv += ["--setenv", "HOME", "/tmp"]
    # bubblewrap's root and /dev are writable in-memory filesystems: make them read-only,
    # so /tmp (size-capped, emptied between solutions) is the only writable place
    argv += ["--remount-ro", "/dev", "--remount-ro", "/"]
    return argv


def _covered(path: str) -> bool:
    """True when ``path`` is inside /usr or a top-level system directory already bound."""
    parts = Path(path).parts
    return len(parts) > 1 and (parts[1] == "usr" or parts[1] in _TOP_LEVEL)


def read_paths(interpreter_paths: tuple[str, ...], run_dir: str) -> list[str]:
    """What a level-B child may read (and execute): the system and the interpreter."""
    paths = ["/usr", *(f"/{n}" for n in _TOP_LEVEL), *interpreter_paths, run_dir]
    return sorted({os.path.realpath(p) for p in paths if os.path.exists(p)})


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:200] if lines else ""


def _check_interpreter(interpreter: str, uid: int | None) -> tuple[str, tuple[str, ...], int]:
    """(version, paths to bind, address space in bytes with the sandbox's modules loaded) of
    the sandbox interpreter, run as the sandbox uid."""
    who = f"uid {uid}" if uid is not None else "the current user"
    try:
        proc = subprocess.run([interpreter, "-s", "-B", "-c", _PROBE_CODE], capture_output=True,
                              text=True, timeout=30, env=dict(SANDBOX_ENV), cwd="/",
                              **user_kwargs(uid))
    except (OSError, subprocess.SubprocessError) as exc:
        raise SandboxError(f"sandbox interpreter {interpreter} cannot be started as {who}: "
                           f"{exc} (set {INTERPRETER_ENV} to a Python every user can read, "
                           "e.g. /usr/bin/python3)") from None
    if proc.returncode != 0:
        raise SandboxError(f"sandbox interpreter {interpreter} fails as {who}: "
                           f"{_first_line(proc.stderr) or proc.returncode} (set "
                           f"{INTERPRETER_ENV} to a Python every user can read)")
    version, base_prefix, prefix, executable, vm = json.loads(proc.stdout)
    if tuple(version[:2]) < (3, 9):
        raise SandboxError(f"sandbox interpreter {interpreter} is Python "
                           f"{'.'.join(map(str, version))}; 3.9 or newer is needed")
    exe_dir = os.path.dirname(os.path.realpath(executable or interpreter))
    paths = tuple(sorted({os.path.realpath(p) for p in (base_prefix, prefix, exe_dir)}))
    return ".".join(map(str, version)), paths, int(vm)


def _check_bwrap(interpreter: str, paths: tuple[str, ...], uid: int | None) -> tuple[str, str]:
    """(path, detail) of a working bubblewrap, or ("", reason)."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return "", "bubblewrap is not installed (apt-get install -y bubblewrap)"
    with tempfile.TemporaryDirectory(prefix="codecascade-probe-") as run_dir:
        os.chmod(run_dir, 0o755)
        argv = bwrap_argv(bwrap, paths, run_dir, 1 << 20)
        argv += [interpreter, "-s", "-B", "-c", "import os; print('ok', os.getpid())"]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                                  **user_kwargs(uid))
        except (OSError, subprocess.SubprocessError) as exc:
            return "", f"bubblewrap failed to start: {exc}"
    if proc.returncode != 0 or proc.stdout.split() != ["ok", "1"]:
        return "", f"bubblewrap failed: {_first_line(proc.stderr) or proc.returncode}"
    return bwrap, "works"


@functools.lru_cache(maxsize=16)
def _probe(interpreter: str, disable: frozenset[str], uid: int | None) -> IsolationReport:
    version, paths, vm = _check_interpreter(interpreter, uid)
    missing = []
    if "seccomp" in disable:
        bpf, seccomp_detail = b"", "disabled by the caller"
    else:
        try:
            bpf, seccomp_detail = seccomp_program(), "works"
        except Exception as exc:
            bpf = b""
            seccomp_detail = (f"cannot build a seccomp filter ({type(exc).__name__}: {exc}); "
                              "pip install pyseccomp (needs libseccomp2)")
    if not bpf:
        missing.append(f"seccomp ({seccomp_detail}) - children may open sockets and ptrace")
    if "bwrap" in disable:
        bwrap, bwrap_detail = "", "disabled by the caller"
    else:
        bwrap, bwrap_detail = _check_bwrap(interpreter, paths, uid)
    if "landlock" in disable:
        abi = 0
    else:
        from .runner import landlock_abi

        abi = landlock_abi()
    if not bwrap:
        missing.append(f"bubblewrap ({bwrap_detail}) - processes, IPC and the network "
                       "namespace are shared with the host")
        if not abi:
            missing.append("landlock (kernel without Landlock or disabled by the caller) - "
                           "the filesystem is not protected")
    if uid is None:
        missing.append("dedicated uid (not root) - no per-sandbox process limit, only the "
                       "no-fork seccomp rule")
    if bwrap and bpf:
        level = IsolationLevel.A
    elif bwrap or abi:
        level = IsolationLevel.B
    else:
        level = IsolationLevel.C
    return IsolationReport(level=level, interpreter=interpreter, python_version=version,
                           interpreter_paths=paths, bwrap=bwrap, bwrap_detail=bwrap_detail,
                           landlock_abi=0 if bwrap else abi, seccomp_detail=seccomp_detail,
                           uid_base=uid, missing=tuple(missing), seccomp_bpf=bpf,
                           host=HostLimits(None, None, None, None, None, vm))


def probe_isolation(interpreter: str | None = None, *,
                    disable: frozenset[str] | tuple[str, ...] = ()) -> IsolationReport:
    """Probe (once per process and arguments) the best isolation level available.

    ``disable`` pretends components are missing ("bwrap", "landlock", "seccomp"), to check
    or exercise the fallback levels. Raises :class:`SandboxError` when the interpreter is
    not usable by the sandbox uid."""
    unknown = set(disable) - set(COMPONENTS)
    if unknown:
        raise SandboxError(f"unknown sandbox component(s) {sorted(unknown)}; known: "
                           f"{', '.join(COMPONENTS)}")
    report = _probe(interpreter or default_interpreter(), frozenset(disable), uid_base())
    # the hard limits are read on every call: they can change during a process's life
    assert report.host is not None
    return dataclasses.replace(report, host=HostLimits.read(report.host.interpreter_vm))


def ci_mode() -> bool:
    """True when the environment says CI (CI=true/1/yes)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


_WARNED: set[str] = set()


def enforce_policy(report: IsolationReport, allow_unsafe: bool) -> None:
    """Refuse level C without ``allow_unsafe`` and anything below A under CI=true; print a
    loud one-line warning (once per process) when running below level A."""
    if ci_mode() and report.level is not IsolationLevel.A:
        raise SandboxError(f"CI=true requires sandbox level A, but this machine gives level "
                           f"{report.level.value}: missing {'; '.join(report.missing)}")
    if report.level is IsolationLevel.C and not allow_unsafe:
        raise SandboxError("refusing to run untrusted code at sandbox level C (no bubblewrap, "
                           "no Landlock): install bubblewrap, or pass --unsafe-no-sandbox "
                           "(allow_unsafe=True) to accept the risk")
    if report.level is not IsolationLevel.A:
        line = "WARNING " + report.summary()
        if line not in _WARNED:
            _WARNED.add(line)
            print(line, file=sys.stderr, flush=True)


def enforce_host_limits(report: IsolationReport, limits: list[Limits]) -> HostLimits:
    """The calling process's hard limits now; SandboxError (one line naming the limit) when
    they leave too little for some job's ``limits``; a one-line warning (once per process)
    when they lower the sandbox's limits, which the sandbox then clamps to them."""
    host = HostLimits.read(report.host.interpreter_vm if report.host else 0)
    dedicated = report.uid_base is not None
    for lim in dict.fromkeys(limits):
        reason = host.refusal(lim, dedicated)
        if reason:
            raise SandboxError(f"refusing to run: {reason}")
        lowered = host.describe(lim, dedicated)
        if lowered:
            line = "WARNING sandbox: host hard limits below the sandbox's: " + "; ".join(lowered)
            if line not in _WARNED:
                _WARNED.add(line)
                print(line, file=sys.stderr, flush=True)
    return host
