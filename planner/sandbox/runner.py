"""The trusted in-sandbox runner: executes one sandbox's share of batch work.

This file runs *inside* the sandbox under the sandbox interpreter (by default Debian's
``/usr/bin/python3``), so it uses the standard library only and never imports the project.
The harness (``planner.sandbox.executor``) imports it only for the shared constants below.

Processes (one sandbox; see ``docs/sandbox-design.md``):

* **runner** (this process; PID 1 of the sandbox at level A): talks to the harness over
  private pipes (fds 0 and 1 point at ``/dev/null`` before anything else starts), holds the
  tests, decides every verdict and never runs model-written code.
* **zygote**: a fresh interpreter (this file with ``--zygote``, started by exec, so it
  inherits none of the runner's memory) that never receives a test or a solution; it forks
  the three kinds of worker below, each with its own process group, rlimits clamped to the
  inherited hard limits, Landlock (level B) and a seccomp filter, and only the descriptors
  that worker needs.
* **solution process S**: loads one solution (preamble + source) and then only serves calls
  on its one socket. It never sees test texts, expected values or any verdict channel.
* **judge J**: runs one test snippet (a line the simple path below cannot take, or a
  ground-truth ``check``) in which the solution's top-level names are proxies: every
  operation on them is sent to S and the result comes back through a decoder that builds
  plain values only (never unpickling). Objects that are not plain values stay where they
  live and cross as handles whose operations are forwarded, so generators and custom classes
  keep their semantics. J reports its verdict on its own channel, so a test can at most
  decide its own cell.
* **compile probe P**: compiles the test snippets (a parser bomb kills P, not the runner)
  and describes the simple ones.

Simple path: a test of the form ``assert f(<literals>)``, ``assert not f(...)`` or
``assert f(...) ==/!=/is/is not <literal>`` (97 % of the model-written lines in the bundled
data) runs without a judge: the runner asks S to call ``f`` and compares the decoded plain
value with the literal itself. Only when the result is not a plain value does S see the
literal, to apply the comparison with its own object (as ``==`` would in one process).

Protocol with the harness: frames of a 4-byte little-endian length and a JSON object. The
first frame configures the runner; every further frame is a *unit*: one problem's preamble,
tests and a slice of its solutions, with limits and mode. The runner answers one frame per
solution (verdict codes for all tests) and one ``done`` frame per unit, with heartbeats in
between.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import copy
import ctypes
import fcntl
import hashlib
import json
import mmap
import operator
import os
import resource
import select
import signal
import socket
import struct
import sys
import time
import types

# ---- verdict codes in the frames sent to the harness ------------------------------------
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

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")

#: Suspicious constructs an AST scan of each solution reports (logged, never blocked):
#: the usual tools of result forging and sandbox probing.
SCAN_FLAGS = ("frame_access", "tracing", "gc", "ctypes", "inspect", "process_exit", "signals",
              "builtins_access", "shared_memory", "subclass_walk", "processes", "network",
              "always_equal", "opaque_compare")
#: The last flag is not from the scan: a test passed because the solution's own object (not
#: a plain value) said it equals the expected literal (e.g. an ``__eq__`` returning True).
_OPAQUE_COMPARE = 1 << SCAN_FLAGS.index("opaque_compare")
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



# ---- framing -----------------------------------------------------------------------------
_U32 = struct.Struct("<I")
#: Largest frame between a solution process and a judge (values beyond _PEER_VALUE_BUDGET
#: cross as handles, so an honest peer stays far below it).
_PEER_FRAME = 64 << 20
_PEER_VALUE_BUDGET = 8 << 20
#: How often a waiting runner calls its heartbeat.
_TICK = 0.25
#: Most simple tests the runner sends a solution process in one request, and how long the
#: runner lets their replies gather before it reads them (one wake-up for many replies).
_BATCH = 256
_COALESCE = 0.001


class _Closed(Exception):
    """The other end of a channel is gone (its process ended)."""


class _Late(Exception):
    """A deadline passed while waiting on a channel."""


class _Broken(Exception):
    """A frame or message an honest peer never sends (oversized, malformed, unknown tag)."""


def _block(fd: int, events: int) -> None:
    poller = select.poll()
    poller.register(fd, events)
    poller.poll()


class Channel:
    """Frames of a marker, a 4-byte little-endian length and a JSON message over one stream
    socket.

    A model's code shares its process with one end of its channel, so it can write anything
    into it: a reader skips bytes up to the next marker and frames it cannot use, so stray or
    hostile bytes never desynchronise it; only a well-formed reply to the reader's own
    request (a random id) counts. Without a deadline the calls block (solution and judge
    processes, whose signal timers interrupt them); with one they poll, calling ``tick`` at
    least every _TICK seconds (the runner)."""

    MARK = b"\xfe\xcc\x01\xfd"  # not ASCII, so never inside a frame's JSON

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = bytearray()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)

    def _wait(self, events: int, deadline: float, tick) -> None:
        poller = select.poll()
        poller.register(self.fd, events)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Late
            if poller.poll(min(left, _TICK) * 1000 + 1):
                return
            if tick is not None:
                tick()

    def frame(self, obj) -> bytes:
        data = json.dumps(obj, separators=(",", ":")).encode("ascii")
        return self.MARK + _U32.pack(len(data)) + data

    def send(self, obj, deadline: float | None = None, tick=None) -> None:
        self.send_bytes(self.frame(obj), deadline, tick)

    def send_bytes(self, data: bytes, deadline: float | None = None, tick=None) -> None:
        view = memoryview(data)
        while view:
            if deadline is not None:
                self._wait(select.POLLOUT, deadline, tick)
            try:
                n = os.write(self.fd, view)
            except BlockingIOError:
                if deadline is None:
                    _block(self.fd, select.POLLOUT)
                continue
            except (BrokenPipeError, ConnectionResetError):
                raise _Closed from None
            view = view[n:]

    def recv(self, deadline: float | None = None, limit: int = _PEER_FRAME, tick=None) -> bytes:
        """The next frame's payload of at most ``limit`` bytes (longer ones are skipped)."""
        buf, mark = self.buf, self.MARK
        while True:
            start = buf.find(mark)
            if start < 0:
                del buf[:max(len(buf) - 3, 0)]
            else:
                del buf[:start]
                if len(buf) >= 8:
                    (size,) = _U32.unpack_from(buf, 4)
                    if size > limit:
                        del buf[:1]
                        continue
                    if len(buf) >= 8 + size:
                        data = bytes(buf[8:8 + size])
                        del buf[:8 + size]
                        return data
            if deadline is not None:
                self._wait(select.POLLIN, deadline, tick)
            try:
                chunk = os.read(self.fd, 1 << 18)
            except BlockingIOError:
                if deadline is None:
                    _block(self.fd, select.POLLIN)
                continue
            except ConnectionResetError:
                raise _Closed from None
            if not chunk:
                raise _Closed
            buf += chunk


# ---- values between processes ----------------------------------------------------------
#: A value is *plain* when it is built only from these exact types (no subclasses): it then
#: crosses by value. Anything else crosses as a handle: a tag naming an object that stays in
#: the process that owns it. Tags (JSON objects with one key): t tuple, d dict (key-value
#: pairs), s set, f frozenset, b bytes, y bytearray, c complex, i big int (hex), h an object
#: of the solution process, r an object of the judge, g a name in the solution's globals,
#: e an exception class of the solution (the judge's class of that name stands for it),
#: k a call [name, args, kwargs] for the solution process to evaluate (simple tests).
_MAX_DEPTH = 100
_NATIVE_INT = 1 << 53


class _NotPlain(Exception):
    """The value is not plain and no handle may be made for it."""


class _TooBig(Exception):
    """The value's encoding exceeds the budget."""


class _Encoder:
    """Encodes plain values, exporting everything else through ``export`` (or refusing with
    _NotPlain when ``export`` is None). ``left`` is a size budget in bytes of output,
    estimated generously enough that a value which fits encodes to at most 8x the budget."""

    __slots__ = ("export", "left")

    def __init__(self, export, budget: int) -> None:
        self.export = export
        self.left = budget

    def _spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise _TooBig

    def enc(self, x, depth: int = 0):
        t = type(x)
        if x is None or t is bool:
            self._spend(5)
            return x
        if t is int:
            if -_NATIVE_INT < x < _NATIVE_INT:
                self._spend(20)
                return x
            self._spend(x.bit_length() // 4 + 12)
            return {"i": format(x, "x")}
        if t is float:
            self._spend(25)
            return x
        if t is str:
            self._spend(len(x) + 2 if x.isascii() else 6 * len(x) + 2)
            return x
        if t is bytes or t is bytearray:
            self._spend(len(x) * 4 // 3 + 12)
            return {"b" if t is bytes else "y": base64.b64encode(x).decode("ascii")}
        if t is complex:
            self._spend(60)
            return {"c": [x.real, x.imag]}
        if depth >= _MAX_DEPTH or t not in _CONTAINERS:
            if self.export is None:
                raise _NotPlain
            self._spend(16)
            return self.export(x)
        self._spend(12 + len(x))
        d = depth + 1
        enc = self.enc
        if t is list:
            return [enc(v, d) for v in x]
        if t is tuple:
            return {"t": [enc(v, d) for v in x]}
        if t is dict:
            return {"d": [[enc(k, d), enc(v, d)] for k, v in x.items()]}
        return {"s" if t is set else "f": [enc(v, d) for v in x]}


_CONTAINERS = frozenset((list, tuple, dict, set, frozenset))


def _value_hook(resolve):
    """A json ``object_hook`` turning tags into values; ``resolve(tag, payload)`` handles
    the handle tags h, r and g (and raises _Broken where they are not allowed)."""

    def hook(obj: dict):
        if len(obj) != 1:
            raise _Broken("bad tag")
        ((tag, val),) = obj.items()
        t = type(val)
        if tag == "t" and t is list:
            return tuple(val)
        if tag == "d" and t is list:
            return {k: v for k, v in val}
        if tag == "s" and t is list:
            return set(val)
        if tag == "f" and t is list:
            return frozenset(val)
        if tag == "i" and t is str:
            return int(val, 16)
        if tag in ("b", "y") and t is str:
            data = base64.b64decode(val.encode("ascii"), validate=True)
            return data if tag == "b" else bytearray(data)
        if tag == "c" and t is list and len(val) == 2:
            return complex(*(float(v) for v in val))
        if tag in ("h", "r", "g", "e", "k"):
            return resolve(tag, val)
        raise _Broken("bad tag")

    return hook


def _loads(data: bytes, hook):
    """A decoded message; _Broken for anything an honest peer does not send."""
    try:
        return json.loads(data, object_hook=hook)
    except _Broken:
        raise
    except (ValueError, TypeError, KeyError, RecursionError, MemoryError, UnicodeError):
        raise _Broken("malformed message") from None


def _plain_only(tag, val):
    raise _Broken("unexpected handle")


_PLAIN_HOOK = _value_hook(_plain_only)


def _clean_name(raw) -> str:
    return "".join(ch if ch in _NAME_CHARS else "?" for ch in str(raw)[:60]) or "?"


def _type_name(exc: BaseException) -> str:
    return _clean_name(type(exc).__name__)


# ---- soft time limits ---------------------------------------------------------------------
class _TestTimeout(BaseException):
    """The soft time limit of a request or test expired (a BaseException so that ``except
    Exception`` in model code does not swallow it)."""


class _Timer:
    """The soft limit of a solution or judge process: a signal timer on the wall clock or on
    this process's CPU time ("cpu", so verdicts do not depend on the machine's load). Nested
    requests push their own limit and restore the outer one's remaining time."""

    def __init__(self, clock: str) -> None:
        cpu = clock == "cpu"
        self.which = signal.ITIMER_PROF if cpu else signal.ITIMER_REAL
        self.now = time.process_time if cpu else time.monotonic
        self.deadlines: list[float] = []
        self.fired = 0
        signal.signal(signal.SIGPROF if cpu else signal.SIGALRM, self._expired)

    def _expired(self, signum, frame):
        self.fired += 1
        raise _TestTimeout

    def push(self, budget: float) -> None:
        budget = max(float(budget), 1e-4)
        self.deadlines.append(self.now() + budget)
        signal.setitimer(self.which, budget)

    def pop(self) -> None:
        signal.setitimer(self.which, 0)
        self.deadlines.pop()
        if self.deadlines:
            signal.setitimer(self.which, max(self.deadlines[-1] - self.now(), 1e-4))


# ---- the call protocol between a solution process and a judge ---------------------------
#: Requests: ["op", id, name, operands, budget s | null, cap, whole, fresh],
#: ["calls", id, [[name, args, kwargs, budget, cap], ...]] (the runner's simple tests: item
#: k is answered as request id + k, in order, and the batch stops after a result that is
#: not a plain value), ["globals", id], ["load", id, source, budget, scan, clock],
#: ["ping", id].
#: Replies: ["ok", id, value, cpu s], ["x", id, type name, message, cpu],
#: ["to", id, cpu] (soft limit), ["big", id, cpu] (larger than cap), ["pong", id],
#: ["flags", id, mask] and ["loaded", id] (load).
_REQUESTS = frozenset(("op", "calls", "globals", "load", "ping"))
_REPLIES = frozenset(("ok", "x", "to", "big"))


def _call(f, args, kwargs):
    return f(*args, **kwargs)


def _round(x, *n):
    return round(x, *n)


#: Operations a judge may apply to solution objects (and, restricted, the reverse).
_OPS = {
    "call": _call, "getattr": getattr, "setattr": setattr, "delattr": delattr,
    "getitem": operator.getitem, "setitem": operator.setitem, "delitem": operator.delitem,
    "contains": operator.contains, "iter": iter, "next": next, "reversed": reversed,
    "len": len, "hash": hash, "bool": bool, "index": operator.index, "int": int,
    "float": float, "complex": complex, "repr": repr, "str": str, "format": format,
    "round": _round, "dir": dir, "copy": copy.copy, "deepcopy": copy.deepcopy,
    "isinstance": isinstance, "issubclass": issubclass,
    "neg": operator.neg, "pos": operator.pos, "abs": abs, "invert": operator.invert,
    "eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le,
    "gt": operator.gt, "ge": operator.ge,
    "add": operator.add, "sub": operator.sub, "mul": operator.mul,
    "truediv": operator.truediv, "floordiv": operator.floordiv, "mod": operator.mod,
    "pow": operator.pow, "matmul": operator.matmul, "lshift": operator.lshift,
    "rshift": operator.rshift, "and": operator.and_, "or": operator.or_,
    "xor": operator.xor, "divmod": divmod,
}
#: The runner's forms: the truth value of a comparison (what ``assert`` tests).
_TRUTH_OPS = {"eq?": lambda a, b: bool(a == b), "ne?": lambda a, b: bool(a != b)}
_BINARY = ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "lshift",
           "rshift", "and", "or", "xor", "divmod")
_UNARY = ("neg", "pos", "abs", "invert", "int", "float", "complex", "index", "len", "hash",
          "iter", "next", "reversed", "repr", "str", "dir", "copy")
#: What a solution may not do to objects a test passes it (so that it cannot reach the
#: judge's own state): no attribute writes, no private attributes, nothing that yields a
#: module, frame, code object or traceback, no builtins that reach arbitrary state.
_DANGEROUS_TYPES = (types.ModuleType, types.FrameType, types.CodeType, types.TracebackType)
_DANGEROUS_CALLS = frozenset(id(f) for f in (
    getattr, setattr, delattr, vars, globals, locals, eval, exec, compile, __import__, open,
    breakpoint, input, dir, type, super, object.__getattribute__, object.__setattr__))


def _judge_getattr(obj, name):
    if type(name) is not str or name.startswith("_"):
        raise AttributeError(name)
    value = getattr(obj, name)
    if isinstance(value, _DANGEROUS_TYPES):
        raise AttributeError(name)
    return value


def _judge_call(f, args, kwargs):
    if id(f) in _DANGEROUS_CALLS or isinstance(f, _DANGEROUS_TYPES):
        raise TypeError("not callable from a solution")
    return f(*args, **kwargs)


_JUDGE_OPS = {**{k: v for k, v in _OPS.items() if k not in ("setattr", "delattr", "dir")},
              "getattr": _judge_getattr, "call": _judge_call}
_EXCEPTION_TYPES: dict[str, type] = {}


def _exception_class(name: str) -> type:
    """The exception class standing for the peer's exception type ``name``: the builtin of
    that name, else one Exception subclass so called (type names are what verdicts record),
    so ``except SolutionError:`` in a test catches what the solution raised."""
    name = _clean_name(name)
    cls = getattr(builtins, name, None)
    if not (isinstance(cls, type) and issubclass(cls, BaseException)):
        cls = _EXCEPTION_TYPES.setdefault(name, type(name, (Exception,), {}))
    return cls


def _exception(name: str, message: str) -> BaseException:
    """An exception of the peer's type name (see _exception_class)."""
    cls = _exception_class(name)
    try:
        return cls(str(message)[:1000]) if message else cls()
    except Exception:
        return cls.__new__(cls)


class _PeerGone(BaseException):
    """The other process of the call protocol ended."""


class _PeerBroken(BaseException):
    """The other process sent something an honest peer never sends."""


class _GlobalName:
    """A name to look up in the solution's globals (the callee of the runner's calls)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class _CallTree:
    """``name(*args, **kwargs)`` for the solution process to evaluate; arguments may be call
    trees themselves (a simple test such as ``assert f(g(1)) == 2``)."""

    __slots__ = ("args", "kwargs", "name")

    def __init__(self, name: str, args: list, kwargs: dict) -> None:
        self.name, self.args, self.kwargs = name, args, kwargs


class _Proxy:
    """An object of the other process: every operation is sent there (see _Endpoint)."""

    __slots__ = ("_ref",)

    def __init__(self, ref: int) -> None:
        object.__setattr__(self, "_ref", ref)

    def __getattr__(self, name):
        return _EP.call("getattr", [self, name])

    def __setattr__(self, name, value):
        _EP.call("setattr", [self, name, value])

    def __delattr__(self, name):
        _EP.call("delattr", [self, name])

    def __call__(self, *args, **kwargs):
        return _EP.call("call", [self, list(args), kwargs])

    def __bool__(self):
        return _EP.call("bool", [self])

    def __format__(self, spec):
        return _EP.call("format", [self, spec])

    def __round__(self, *n):
        return _EP.call("round", [self, *n])

    def __deepcopy__(self, memo):
        return _EP.call("deepcopy", [self])

    def __contains__(self, item):
        return _EP.call("contains", [self, item])

    def __getitem__(self, key):
        return _EP.call("getitem", [self, key])

    def __setitem__(self, key, value):
        _EP.call("setitem", [self, key, value])

    def __delitem__(self, key):
        _EP.call("delitem", [self, key])

    def __instancecheck__(self, instance):
        return _EP.call("isinstance", [instance, self])

    def __subclasscheck__(self, sub):
        return _EP.call("issubclass", [sub, self])


def _proxy_methods() -> None:
    def unary(name):
        return lambda self: _EP.call(name, [self])

    def binary(name):
        return lambda self, other: _EP.call(name, [self, other])

    def reflected(name):
        return lambda self, other: _EP.call(name, [other, self])

    for name in _UNARY:
        setattr(_Proxy, f"__{name}__", unary(name))
    _Proxy.__next__ = unary("next")
    for name in ("eq", "ne", "lt", "le", "gt", "ge"):
        setattr(_Proxy, f"__{name}__", binary(name))
    for name in _BINARY:
        setattr(_Proxy, f"__{name}__", binary(name))
        setattr(_Proxy, f"__r{name}__", reflected(name))


_proxy_methods()
#: The one endpoint of this process (a solution process or a judge).
_EP = None


class _Endpoint:
    """One side of the call protocol: requests the other side's operations on its objects
    (through _Proxy) and serves the other side's requests on its own objects, also while it
    waits for a reply (calls can nest both ways)."""

    ops = _OPS

    def __init__(self, chan: Channel) -> None:
        self.chan = chan
        self.objects: dict[int, object] = {}
        self.next_object = 1
        self.next_rid = int.from_bytes(os.urandom(6), "little") << 8
        self.timer: _Timer | None = None
        self.hook = _value_hook(self.resolve)

    # values
    def keep(self, obj) -> int:
        ref = self.next_object
        self.next_object += 1
        self.objects[ref] = obj
        return ref

    def encode(self, value):
        """Plain values by value, everything else as handles (the whole value when its
        plain parts are too large)."""
        try:
            return _Encoder(self.export, _PEER_VALUE_BUDGET).enc(value)
        except Exception:
            return self.export(value)

    def export(self, obj):
        raise NotImplementedError

    def resolve(self, tag, val):
        raise NotImplementedError

    # requests this side makes
    def budget(self):
        return None

    def account(self, cpu: float) -> None:
        return None

    def call(self, name: str, operands: list):
        rid = self.next_rid = self.next_rid + 1
        budget = self.budget()
        self.chan.send(["op", rid, name, [self.encode(x) for x in operands], budget, 0, False,
                        False])
        reply = self.wait(rid)
        self.account(reply[-1])
        if reply[0] == "ok":
            return reply[2]
        if reply[0] == "x":
            raise _exception(reply[2], reply[3])
        if reply[0] == "to":
            self.peer_timeout()
        raise _PeerBroken

    def peer_timeout(self) -> None:
        raise _TestTimeout

    def wait(self, rid) -> list:
        """The reply to request ``rid``, serving the peer's requests meanwhile; frames that
        are neither are skipped."""
        while True:
            try:
                data = self.chan.recv(limit=_PEER_FRAME)
            except _Closed:
                self.peer_gone()
            try:
                msg = _loads(data, self.hook)
                kind = msg[0]
                if kind in _REPLIES and msg[1] == rid and type(msg[-1]) in (int, float):
                    return msg
            except (_Broken, TypeError, IndexError, KeyError):
                continue
            if kind in _REQUESTS:
                self.serve(msg)

    def peer_gone(self):
        raise _PeerGone

    def peer_broken(self):
        raise _PeerBroken

    # requests this side serves
    def serve(self, msg: list) -> None:
        try:
            kind, rid = msg[0], msg[1]
            if kind == "ping":
                reply = ["pong", rid]
            elif kind == "op":
                reply = self.on_op(*msg[1:8])
            else:
                reply = getattr(self, "on_" + kind)(*msg[1:])
        except (TypeError, ValueError, IndexError, AttributeError):
            return  # not a request an honest peer sends: ignored
        if reply is not None:
            self.chan.send(reply)

    def materialize(self, x):
        return x

    def on_op(self, rid, name, operands, budget, cap, whole, fresh):
        fn = self.ops.get(name) or (_TRUTH_OPS.get(name) if whole else None)
        if fn is None or type(operands) is not list:
            raise ValueError(name)
        if fresh:
            self.objects.clear()
        return self.timed(rid, fn, operands, budget, cap, whole)

    def timed(self, rid, fn, operands, budget, cap, whole) -> list:
        """The reply to applying ``fn`` to ``operands`` under the soft limit ``budget``."""
        cpu = time.process_time()
        timer = self.timer
        fired = timer.fired if timer else 0
        try:
            if budget is not None and timer is not None:
                timer.push(budget)
                try:
                    result = fn(*[self.materialize(x) for x in operands])
                finally:
                    timer.pop()
            else:
                result = fn(*[self.materialize(x) for x in operands])
            if timer is not None and timer.fired != fired:
                raise _TestTimeout
        except _TestTimeout:
            return ["to", rid, time.process_time() - cpu]
        except (_PeerGone, _PeerBroken):
            raise
        except BaseException as exc:
            try:
                message = str(exc)
            except BaseException:
                message = ""
            return ["x", rid, _type_name(exc), message[:1000], time.process_time() - cpu]
        return [*self.result(rid, result, cap, whole), time.process_time() - cpu]

    def result(self, rid, value, cap, whole):
        return ["ok", rid, self.encode(value)]


# ---- the solution process ------------------------------------------------------------------
class _Solution(_Endpoint):
    """Loads one solution and serves operations on its objects (process S)."""

    def __init__(self, chan: Channel) -> None:
        super().__init__(chan)
        self.glb: dict | None = None
        self.loaded = False

    def export(self, obj):
        if type(obj) is _Proxy:
            return {"r": obj._ref}
        if isinstance(obj, type) and issubclass(obj, BaseException):
            return {"e": _clean_name(obj.__name__)}
        return {"h": self.keep(obj)}

    def resolve(self, tag, val):
        if tag == "h" and type(val) is int:
            return self.objects[val]
        if tag == "r" and type(val) is int:
            return _Proxy(val)
        if tag == "g" and type(val) is str:
            return _GlobalName(val)
        if tag == "k" and type(val) is list and len(val) == 3 and type(val[0]) is str and type(
                val[1]) is list and type(val[2]) is dict:
            return _CallTree(*val)
        raise _Broken("bad handle")

    def materialize(self, x):
        return self.lookup(x.name) if type(x) is _GlobalName else x

    def lookup(self, name: str):
        """``name`` as a test in this process would see it: a global, else a builtin."""
        glb = self.glb or {}
        if name in glb:
            return glb[name]
        table = glb.get("__builtins__", builtins)
        table = table.__dict__ if isinstance(table, types.ModuleType) else table
        if isinstance(table, dict) and name in table:
            return table[name]
        raise NameError(f"name '{name}' is not defined")

    def run_call(self, tree: _CallTree):
        """Evaluate a call tree as Python would: the callee's name, then the arguments left
        to right (inner calls included), then the call."""
        f = self.lookup(tree.name)
        args = [self.run_call(a) if type(a) is _CallTree else a for a in tree.args]
        kwargs = {k: self.run_call(v) if type(v) is _CallTree else v
                  for k, v in tree.kwargs.items()}
        return f(*args, **kwargs)

    def result(self, rid, value, cap, whole):
        """The runner's form (``whole``): the value if fully plain, else one handle, or "big"
        when its plain parts exceed ``cap`` (then it cannot equal the test's literal)."""
        if not whole:
            return ["ok", rid, self.encode(value)]
        try:
            return ["ok", rid, _Encoder(None, int(cap)).enc(value)]
        except _TooBig:
            return ["big", rid]
        except Exception:
            return ["ok", rid, {"h": self.keep(value)}]

    def on_load(self, rid, source, budget, scan, clock):
        import ast

        if self.glb is not None or type(source) is not str:
            raise ValueError("load")
        self.timer = timer = _Timer(clock)
        glb = self.glb = {"__name__": "__main__", "__builtins__": builtins}
        try:
            timer.push(budget)
            try:
                if scan:
                    tree = compile(source, "<solution>", "exec", ast.PyCF_ONLY_AST,
                                   dont_inherit=True, optimize=0)
                    # sent before any of the solution's code runs, so it cannot be forged
                    self.chan.send(["flags", rid, scan_source(tree)])
                    code = compile(tree, "<solution>", "exec", dont_inherit=True, optimize=0)
                else:
                    code = compile(source, "<solution>", "exec", dont_inherit=True, optimize=0)
                exec(code, glb)
            finally:
                timer.pop()
            if timer.fired:
                raise _TestTimeout
        except _TestTimeout:
            return ["to", rid, 0.0]
        except BaseException as exc:
            return ["x", rid, _type_name(exc), "", 0.0]
        self.loaded = True
        return ["loaded", rid]

    def on_calls(self, rid, items):
        """The runner's simple tests, one reply each as they finish (so the runner sees
        which one is running); after a result that is not a plain value the rest waits:
        the runner first asks for that object's comparison."""
        if type(rid) is not int or type(items) is not list:
            raise ValueError("calls")
        if not self.loaded:
            return None  # queued behind a load that failed: the runner ignores it
        for k, item in enumerate(items):
            name, args, kwargs, budget, cap = item
            self.objects.clear()
            reply = self.timed(rid + k, self.run_call, [_CallTree(str(name), args, kwargs)],
                               budget, cap, True)
            self.chan.send(reply)
            if reply[0] == "ok" and type(reply[2]) is dict and "h" in reply[2]:
                break
        return None

    def on_globals(self, rid):
        """The solution's top-level names for a judge: small plain values by value, the
        rest (functions, classes, modules, large data) as handles."""
        self.objects.clear()
        pairs, left = [], _PEER_VALUE_BUDGET
        for name, value in list((self.glb or {}).items()):
            if type(name) is not str or (name.startswith("__") and name.endswith("__")):
                continue
            budget = min(1 << 16, left)
            encoder = _Encoder(self.export, budget)
            try:
                data = encoder.enc(value)
                left -= budget - encoder.left
            except Exception:
                data = self.export(value)
            pairs.append([name, data])
        return ["ok", rid, pairs, 0.0]

    def peer_gone(self):
        os._exit(0)  # the runner closed the channel

    def serve_forever(self) -> None:
        while True:
            self.wait(None)


# ---- the judge -------------------------------------------------------------------------------
class _Judge(_Endpoint):
    """Runs one test snippet against a solution process (process J)."""

    ops = _JUDGE_OPS

    def __init__(self, chan: Channel, clock: str, limit: float) -> None:
        super().__init__(chan)
        self.timer = _Timer(clock)
        self.cpu_clock = clock == "cpu"
        self.limit = limit
        self.gone = self.broken = False
        self.peer_cpu = 0.0
        self.started = (time.monotonic(), time.process_time())

    def export(self, obj):
        if type(obj) is _Proxy:
            return {"h": obj._ref}
        return {"r": self.keep(obj)}

    def resolve(self, tag, val):
        if tag == "h" and type(val) is int:
            return _Proxy(val)
        if tag == "r" and type(val) is int:
            return self.objects[val]
        if tag == "e" and type(val) is str:
            return _exception_class(val)
        raise _Broken("bad handle")

    def on_op(self, rid, name, operands, budget, cap, whole, fresh):
        """A solution's operation on an object the test passed it: under the test's own
        limit (a budget from the solution is ignored), never the runner's forms."""
        return super().on_op(rid, name, operands, None, 0, False, False)

    def remaining(self) -> float:
        if self.cpu_clock:
            return self.limit - (time.process_time() - self.started[1]) - self.peer_cpu
        return self.limit - (time.monotonic() - self.started[0])

    def _expire(self):
        self.timer.fired += 1
        raise _TestTimeout

    def budget(self):
        left = self.remaining()
        if left <= 0:
            self._expire()
        return left

    def account(self, cpu) -> None:
        """The solution's CPU time counts against the test's limit too."""
        self.peer_cpu += max(float(cpu), 0.0)
        if self.cpu_clock:
            left = self.remaining()
            if left <= 0:
                self._expire()
            signal.setitimer(self.timer.which, left)

    def peer_timeout(self):
        self._expire()

    def peer_gone(self):
        self.gone = True
        raise _PeerGone

    def peer_broken(self):
        self.broken = True
        raise _PeerBroken

    def run(self, text: str) -> list:
        """The verdict of ``text``: [code] or ["error", type name]."""
        try:
            code = compile(text, "<test>", "exec", dont_inherit=True, optimize=0)
        except BaseException as exc:
            return ["error", _type_name(exc)]
        glb = {"__name__": "__main__", "__builtins__": builtins}
        self.started = (time.monotonic(), time.process_time())
        try:
            self.timer.push(self.limit)
            try:
                rid = self.next_rid = self.next_rid + 1
                self.chan.send(["globals", rid])
                reply = self.wait(rid)
                if reply[0] != "ok" or type(reply[2]) is not list:
                    self.peer_broken()
                for pair in reply[2]:
                    if type(pair) is not list or len(pair) != 2 or type(pair[0]) is not str:
                        self.peer_broken()
                    if pair[0].isidentifier() and not pair[0].startswith("__"):
                        glb[pair[0]] = pair[1]
                exec(code, glb)
            finally:
                signal.setitimer(self.timer.which, 0)
            verdict = [PASS]
        except AssertionError:
            verdict = [FAIL]
        except _TestTimeout:
            verdict = [TIMEOUT]
        except BaseException as exc:
            verdict = ["error", _type_name(exc)]
        # sticky outcomes: a test cannot catch its way out of them
        if self.gone:
            return [CRASH]
        if self.broken:
            return [TAMPERED]
        if self.timer.fired:
            return [TIMEOUT]
        return verdict


# ---- the compile probe -------------------------------------------------------------------
_COMPARE_NAMES = {"Eq": "eq", "NotEq": "ne", "Is": "is", "IsNot": "isnot"}
_FOLD_UNARY = {}
_FOLD_BINARY = {}


def _fold_tables() -> None:
    import ast

    _FOLD_UNARY.update({ast.USub: operator.neg, ast.UAdd: operator.pos,
                        ast.Invert: operator.invert})
    _FOLD_BINARY.update({ast.Add: operator.add, ast.Sub: operator.sub,
                         ast.Mult: operator.mul, ast.Div: operator.truediv,
                         ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
                         ast.Pow: operator.pow})


#: Bounds on folding literal arithmetic (``1 + 2``, ``7 * 13``, ``"a" * 100``, ``2 ** 60``):
#: anything larger, or raising, is left to a judge, which evaluates it as Python would.
_FOLD_ITEMS = 1 << 20
_FOLD_BITS = 1 << 16


def _fold(node, depth: int = 0):
    """The value of a literal expression: constants, containers of them, and + - * / // % **
    and unary - + ~ between them; ValueError for anything else or too large."""
    import ast

    t = type(node)
    if depth > 60:
        raise ValueError("too deep")
    if t is ast.Constant:
        return node.value
    d = depth + 1
    if t in (ast.Tuple, ast.List, ast.Set):
        items = [_fold(e, d) for e in node.elts]
        return tuple(items) if t is ast.Tuple else (items if t is ast.List else set(items))
    if t is ast.Dict:
        if any(k is None for k in node.keys):
            raise ValueError("dict unpacking")
        return {_fold(k, d): _fold(v, d) for k, v in zip(node.keys, node.values, strict=True)}
    if t is ast.UnaryOp and type(node.op) in _FOLD_UNARY:
        return _FOLD_UNARY[type(node.op)](_fold(node.operand, d))
    if t is ast.BinOp and type(node.op) in _FOLD_BINARY:
        a, b = _fold(node.left, d), _fold(node.right, d)
        kind = type(node.op)
        ints = type(a) in (int, bool) and type(b) in (int, bool)
        if kind is ast.Pow and ints and b > 0 and abs(a) > 1 and (
                b > _FOLD_BITS or b * abs(a).bit_length() > _FOLD_BITS):
            raise ValueError("too large")
        if kind is ast.Mult:
            for seq, n in ((a, b), (b, a)):
                if type(seq) in (str, bytes, list, tuple) and type(n) in (int, bool) and (
                        len(seq) * n > _FOLD_ITEMS):
                    raise ValueError("too large")
            if ints and a.bit_length() + b.bit_length() > _FOLD_BITS:
                raise ValueError("too large")
        return _FOLD_BINARY[kind](a, b)
    raise ValueError("not a literal")


def _literal(node) -> tuple[bool, object]:
    """(True, value) when ``node`` is a literal expression (see _fold) of a plain value."""
    try:
        value = _fold(node)
        _Encoder(None, 1 << 30).enc(value)
    except Exception:
        return False, None
    return True, value


def _simple_call(node, depth: int = 0):
    """[name, args, kwargs] (encoded) for ``name(...)`` whose arguments are literals or such
    calls themselves (``f(g(1), k=2)``), else None."""
    import ast

    if type(node) is not ast.Call or type(node.func) is not ast.Name or depth > 20:
        return None
    enc = _Encoder(None, 1 << 30).enc

    def argument(arg):
        ok, value = _literal(arg)
        if ok:
            return enc(value)
        inner = _simple_call(arg, depth + 1)
        return None if inner is None else {"k": inner}

    args, kwargs = [], []
    for arg in node.args:
        value = None if type(arg) is ast.Starred else argument(arg)
        if value is None:
            return None
        args.append(value)
    for kw in node.keywords:
        value = None if kw.arg is None else argument(kw.value)
        if value is None:
            return None
        kwargs.append([kw.arg, value])
    return [node.func.id, args, {"d": kwargs}]


def _describe(tree):
    """How the runner can decide a test without a judge, or None.

    ["const", holds]: no call at all (``assert True``, ``assert 1 == 1``);
    ["call", form, [name, args, kwargs], literal, literal_left]: one call of a name with
    literal arguments, tested for truth ("truth", "not") or compared with a literal ("eq",
    "ne", and "is"/"isnot" against None, True or False). A message must be a constant (it
    is only evaluated when the assertion fails)."""
    import ast

    if len(tree.body) != 1 or type(tree.body[0]) is not ast.Assert:
        return None
    node = tree.body[0]
    if node.msg is not None and type(node.msg) is not ast.Constant:
        return None
    test = node.test
    negate = type(test) is ast.UnaryOp and type(test.op) is ast.Not
    if negate:
        test = test.operand
    if type(test) is not ast.Compare:
        call = _simple_call(test)
        if call is not None:
            return ["call", "not" if negate else "truth", call, None, False]
        ok, value = _literal(test)
        if ok:
            return ["const", (not value) if negate else bool(value)]
        return None
    form = _COMPARE_NAMES.get(type(test.ops[0]).__name__)
    if negate or len(test.ops) != 1 or form is None:
        return None
    left, right = test.left, test.comparators[0]
    lok, lval = _literal(left)
    rok, rval = _literal(right)
    if form in ("is", "isnot") and not any(ok and (v is None or type(v) is bool)
                                           for ok, v in ((lok, lval), (rok, rval))):
        return None
    if lok and rok:
        holds = {"eq": lambda: lval == rval, "ne": lambda: lval != rval,
                 "is": lambda: lval is rval, "isnot": lambda: lval is not rval}[form]()
        return ["const", bool(holds)]
    call = _simple_call(left) if rok else _simple_call(right) if lok else None
    if call is None:
        return None
    literal = rval if rok else lval
    return ["call", form, call, _Encoder(None, 1 << 30).enc(literal), not rok]


def _probe_tests(chan: Channel) -> None:
    """Process P: compile each test and report, in frames of up to ``chunk`` results,
    ["ok", k, description], ["err", k, type name] or ["to", k] (its soft limit)."""
    import ast

    _, texts, limits, clock, chunk = json.loads(chan.recv(limit=1 << 30))
    _fold_tables()
    timer = _Timer(clock)
    results: list = []
    for k, text in enumerate(texts):
        try:
            timer.push(limits[k])
            try:
                tree = compile(text, "<test>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True,
                               optimize=0)
                compile(tree, "<test>", "exec", dont_inherit=True, optimize=0)
                desc = _describe(tree)
            finally:
                timer.pop()
            results.append(["ok", k, desc])
        except _TestTimeout:
            results.append(["to", k])
        except BaseException as exc:
            results.append(["err", k, _type_name(exc)])
        if len(results) >= chunk or k == len(texts) - 1:
            chan.send(results)
            results = []


# ---- the zygote ------------------------------------------------------------------------------
class _Zygote:
    """Forks the worker processes (S, J, P) with their limits and descriptors. Started by
    exec from the runner, so it holds none of the runner's data; it never receives a test
    or a solution."""

    def __init__(self, ctl: socket.socket) -> None:
        self.ctl = ctl
        self.pid = os.getpid()
        cfg = json.loads(ctl.recv(1 << 20))
        self.devnull = os.open("/dev/null", os.O_RDWR)
        self.fprog = None
        bpf = base64.b64decode(cfg["seccomp_bpf"]) if cfg.get("seccomp_bpf") else b""
        if bpf:
            n = len(bpf) // 8
            self._filters = (_SockFilter * n).from_buffer_copy(bpf)
            self.fprog = _SockFprog(n, ctypes.cast(self._filters, ctypes.POINTER(_SockFilter)))
        self.landlock_fd = -1
        if cfg.get("landlock_abi"):
            self.landlock_fd = _landlock_ruleset(int(cfg["landlock_abi"]), cfg["read_paths"],
                                                 ["/dev/null"])
        # in a PID namespace the runner (PID 1) reaps workers that outlive this zygote;
        # elsewhere they must die with it, or nothing would stop them
        self.pdeathsig = not cfg.get("pid1")
        for name in cfg.get("preload", ()):
            with contextlib.suppress(Exception):
                __import__(name)
        import ast  # noqa: F401  (used by S and P; loaded once here)
        import gc

        gc.freeze()
        hard = {name: resource.getrlimit(getattr(resource, name))[1] for name in (
            "RLIMIT_AS", "RLIMIT_NOFILE", "RLIMIT_FSIZE", "RLIMIT_CPU", "RLIMIT_NPROC")}
        ctl.send(json.dumps({"ready": True, "vm": _vm_bytes(), "hard": hard}).encode())

    def serve(self) -> None:
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(self.ctl, 1 << 16, 8)
            except OSError:
                return
            if not data:
                return
            req = json.loads(data)
            if req.get("op") == "spawn":
                pid = os.fork()
                if pid == 0:
                    self._child(req, fds)
                for fd in fds:
                    os.close(fd)
                reply = {"pid": pid}
            else:
                for fd in fds:
                    os.close(fd)
                if req.get("op") == "sweep":
                    self._sweep()
                reply = {"ok": True}
            for pid in req.get("reap", ()):
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(int(pid), os.WNOHANG)
            self.ctl.send(json.dumps(reply).encode())

    def _sweep(self) -> None:
        """Kill and reap every child: the workers are all gone when this is asked, so what
        is left are their descendants that escaped their process group (this zygote is a
        child subreaper). Only needed where workers may fork (no seccomp filter)."""
        _kill_children(self.pid)

    def _child(self, req: dict, fds: list) -> None:
        """The forked worker: limits, descriptors, sandbox layers, then its role; never
        returns."""
        try:
            os.setpgid(0, 0)
            if self.pdeathsig:
                _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
                if os.getppid() != self.pid:
                    os._exit(3)
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGXCPU,
                        signal.SIGHUP):
                signal.signal(sig, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            # SIGXFSZ and SIGPIPE stay ignored (as Python starts): a too-big write raises
            # OSError (EFBIG), a write to a closed socket BrokenPipeError
            for fd in (0, 1, 2):
                os.dup2(self.devnull, fd)
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3 + len(fds)) for fd in fds]
            for i, fd in enumerate(high):
                os.dup2(fd, 3 + i)
            _apply_limits(req)
            needs_nnp = self.landlock_fd >= 0 or self.fprog is not None
            if needs_nnp and _LIBC.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "no_new_privs")
            if self.landlock_fd >= 0:
                rc = _LIBC.syscall(ctypes.c_long(_SYS_LANDLOCK_RESTRICT_SELF),
                                   ctypes.c_int(self.landlock_fd), ctypes.c_uint32(0))
                if rc != 0:
                    raise OSError(ctypes.get_errno(), "landlock_restrict_self")
            os.closerange(3 + len(fds), 1 << 16)
            if self.fprog is not None and _LIBC.prctl(
                    _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(self.fprog), 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "seccomp")
        except BaseException:
            os._exit(3)
        global _EP
        try:
            role = req["role"]
            if role == "S":
                _EP = _Solution(Channel(3))
                _EP.serve_forever()
            elif role == "J":
                ctl = Channel(3)
                _, text, limit, clock = json.loads(ctl.recv(limit=1 << 30))
                _EP = _Judge(Channel(4), clock, float(limit))
                verdict = _EP.run(text)
                ctl.send(["v", *verdict])
            elif role == "P":
                _probe_tests(Channel(3))
        except BaseException:
            pass
        os._exit(0)


def _kill_children(parent: int) -> None:
    """SIGKILL and reap every child of ``parent`` (this process), repeatedly, until none is
    left (descendants re-parented here as they lose their own parents are caught too)."""
    me = str(parent)
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
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        if not found:
            return
        time.sleep(0.001)


def _vm_bytes() -> int:
    with open("/proc/self/statm", "rb") as fh:
        return int(fh.read().split()[0]) * mmap.PAGESIZE


def _set_limit(which: int, soft: int, hard: int | None = None) -> None:
    """setrlimit, clamped to the hard limit this process inherited (a harness started under
    a lower ``ulimit`` than the sandbox's own limits still works, with the lower limit)."""
    hard = soft if hard is None else hard
    cap = resource.getrlimit(which)[1]
    if cap != resource.RLIM_INFINITY:
        soft, hard = min(soft, cap), min(hard, cap)
    resource.setrlimit(which, (soft, hard))


def _apply_limits(req: dict) -> None:
    mem = int(req["mem"]) + _vm_bytes()
    _set_limit(resource.RLIMIT_AS, mem)
    cpu = int(req["cpu"])
    _set_limit(resource.RLIMIT_CPU, cpu, cpu + 1)
    _set_limit(resource.RLIMIT_FSIZE, int(req["fsize"]))
    _set_limit(resource.RLIMIT_NOFILE, int(req["nofile"]))
    _set_limit(resource.RLIMIT_CORE, 0)
    if req.get("nproc"):
        _set_limit(resource.RLIMIT_NPROC, int(req["nproc"]))


# ---- the runner ------------------------------------------------------------------------------
class _Handle:
    """A solution object named in a reply to the runner (the runner never touches it)."""

    __slots__ = ("ref",)

    def __init__(self, ref: int) -> None:
        self.ref = ref


def _runner_hook():
    marks = []

    def resolve(tag, val):
        if tag != "h" or type(val) is not int:
            raise _Broken("unexpected handle")
        marks.append(val)
        return _Handle(val)

    return _value_hook(resolve), marks


class _Worker:
    """A process the zygote started for the runner: pid, pidfd, the runner's channel."""

    __slots__ = ("chan", "flags", "pid", "pidfd")

    def __init__(self, pid: int, pidfd: int, chan: Channel) -> None:
        self.pid, self.pidfd, self.chan, self.flags = pid, pidfd, chan, 0


class _Stop(Exception):
    """A solution process ended or had to be stopped; ``verdict`` is the current test's."""

    def __init__(self, verdict) -> None:
        super().__init__(verdict)
        self.verdict = verdict


class Runner:
    """One runner process: configuration, the zygote, the test plans and the unit loop."""

    def __init__(self, in_fd: int, out_fd: int) -> None:
        self.in_fd = in_fd
        self.out_fd = out_fd
        self.pid1 = os.getpid() == 1
        self.heartbeat_every = 1.0
        self.last_frame = time.monotonic()
        self.cfg: dict = {}
        self.zsock: socket.socket | None = None
        self.zpid = 0
        self.reap: list[int] = []
        self.dying: list[tuple[int, int]] = []
        self.plan_key = None
        self.plans: list = []
        self.plan_verdicts: dict[int, str] = {}

    # ---- framing with the harness -------------------------------------------------------
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

    # ---- the zygote -----------------------------------------------------------------------
    def _start_zygote(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        exe = sys.executable
        self.zpid = os.posix_spawn(exe, [exe, "-s", "-B", os.path.abspath(__file__), "--zygote"],
                                   dict(os.environ),
                                   file_actions=[(os.POSIX_SPAWN_DUP2, child.fileno(), 3)])
        child.close()
        self.zsock = parent
        cfg = {k: self.cfg.get(k) for k in ("seccomp_bpf", "landlock_abi", "read_paths",
                                             "preload")}
        parent.send(json.dumps({**cfg, "pid1": self.pid1}).encode())
        ready = self._zrecv(time.monotonic() + 60)
        if not ready.get("ready"):
            raise RuntimeError("the zygote did not start")

    def _zrecv(self, deadline: float) -> dict:
        assert self.zsock is not None
        poller = select.poll()
        poller.register(self.zsock.fileno(), select.POLLIN)
        while not poller.poll(min(max(deadline - time.monotonic(), 0), _TICK) * 1000 + 1):
            if time.monotonic() >= deadline:
                raise _Late
            self.heartbeat()
        data = self.zsock.recv(1 << 16)
        if not data:
            raise _Closed
        return json.loads(data)

    def _stop_zygote(self) -> None:
        if self.zsock is not None:
            self.zsock.close()
            self.zsock = None
        if self.zpid:
            with contextlib.suppress(OSError):
                os.kill(self.zpid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.zpid, 0)
            self.zpid = 0
        self.reap = []

    def _zcall(self, req: dict, fds=()) -> dict:
        """One request to the zygote, restarting it once if it died (a solution may kill
        it; a fresh one is exec'd, so it still holds nothing of the runner's)."""
        for attempt in (0, 1):
            try:
                if self.zsock is None:
                    self._start_zygote()
                assert self.zsock is not None
                socket.send_fds(self.zsock, [json.dumps({**req, "reap": self.reap}).encode()],
                                list(fds))
                self.reap = []
                return self._zrecv(time.monotonic() + 30)
            except (OSError, _Closed, _Late, ValueError):
                self._stop_zygote()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _worker(self, role: str, limits: dict, cpu: int, extra_fd: int | None = None,
                first: tuple = (), deadline: float | None = None) -> _Worker:
        """Start a worker with its own socket (and ``extra_fd``); ``first`` are messages for
        it, queued on the socket before it is even forked as far as the socket takes them
        (so its set-up, the zygote's reply and its first work overlap), the rest sent by
        ``deadline``."""
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        mine.setblocking(False)
        chan = Channel(mine.detach())
        rest = b"".join(chan.frame(m) for m in first)
        with contextlib.suppress(BlockingIOError):
            rest = rest[os.write(chan.fd, rest):] if rest else rest
        req = {"op": "spawn", "role": role, "cpu": cpu, "mem": int(limits["memory_mb"]) << 20,
               "fsize": int(limits["max_file_mb"]) << 20,
               "nofile": int(limits["max_open_files"]),
               "nproc": int(limits["max_processes"]) if self.cfg.get("dedicated_uid") else 0}
        try:
            pid = int(self._zcall(req, [theirs.fileno()] + (
                [extra_fd] if extra_fd is not None else []))["pid"])
        except BaseException:
            chan.close()
            raise
        finally:
            theirs.close()
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            pidfd = -1  # it died during set-up (its zombie keeps the pid: nothing to kill)
        w = _Worker(pid, pidfd, chan)
        if rest:  # more than the socket took before the worker existed
            with contextlib.suppress(_Closed, _Late):  # the reply wait that follows reports it
                chan.send_bytes(rest, deadline, self.heartbeat)
        return w

    def _stop(self, w: _Worker, wait: bool = True) -> None:
        """SIGKILL a worker and its process group; wait until it is gone now, or (``wait``
        False) when the solution ends (_after)."""
        if w.pidfd >= 0:
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(w.pidfd, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.killpg(w.pid, signal.SIGKILL)
            if wait:
                self._gone(w.pid, w.pidfd)
            else:
                self.dying.append((w.pid, w.pidfd))
            w.pidfd = -1
        w.chan.close()

    def _gone(self, pid: int, pidfd: int) -> None:
        """Wait until a killed worker has exited; then the zygote may reap it."""
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        poller.poll(10_000)
        os.close(pidfd)
        self.reap.append(pid)

    def _reap_orphans(self) -> None:
        """As PID 1, reap workers re-parented here after their zygote died."""
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.zpid:
                self.zpid = 0
                if self.zsock is not None:
                    self.zsock.close()
                    self.zsock = None

    def _after(self) -> None:
        """After a solution (or, in strict mode, a pair): no process of it may remain and
        nothing it wrote may be seen by the next one."""
        while self.dying:
            self._gone(*self.dying.pop())
        if not self.cfg.get("seccomp_bpf"):
            self._zcall({"op": "sweep"})
        if self.pid1:
            self._reap_orphans()
        if self.cfg.get("private_tmp"):
            _empty_dir("/tmp")

    # ---- set-up ------------------------------------------------------------------------
    def configure(self, cfg: dict) -> None:
        self.cfg = cfg
        self.heartbeat_every = float(cfg.get("heartbeat", 1.0))
        self._start_zygote()

    # ---- tests -------------------------------------------------------------------------
    def plan_tests(self, tests: list, limits: dict) -> None:
        """Compile the unit's tests in a probe process P (a parser bomb can only kill P) and
        note how each is decided: a fixed verdict (it does not compile), the simple path, or
        a judge. Cached for the next unit with the same tests.

        P reports in chunks; if it dies or overruns, the tests it did not report are probed
        again one result per frame, so the test that killed it is the one blamed."""
        key = hashlib.sha256(json.dumps(tests).encode("utf-8", "surrogatepass")).hexdigest()
        if key == self.plan_key:
            return
        factor = CPU_CLOCK_WALL_FACTOR if limits.get("clock") == "cpu" else 1.0
        grace = float(limits["kill_grace"])
        per_test = [self._limit(limits, j) for j in range(len(tests))]
        plans: list = [None] * len(tests)
        verdicts: dict[int, str] = {}
        pending = list(range(len(tests)))
        chunk = 64
        while pending:
            w = self._worker("P", limits, int(sum(per_test[j] for j in pending)) + 2)
            done = 0
            try:
                w.chan.send(["tests", [tests[j] for j in pending],
                             [per_test[j] for j in pending], limits.get("clock", "wall"),
                             chunk], time.monotonic() + 30, self.heartbeat)
                while done < len(pending):
                    window = pending[done:done + chunk]
                    deadline = time.monotonic() + sum(per_test[j] for j in window) * factor + (
                        grace)
                    # P runs no model code: its descriptions stay in their encoded form
                    for msg in json.loads(w.chan.recv(deadline, 1 << 30, self.heartbeat)):
                        if msg[1] != done:
                            raise _Broken("probe out of order")
                        j = pending[done]
                        if msg[0] == "ok":
                            plans[j] = self._plan(msg[2], tests[j])
                        else:
                            verdicts[j] = "timeout" if msg[0] == "to" else (
                                "error:" + _clean_name(msg[2]))
                        done += 1
            except (_Late, _Closed, _Broken, IndexError, TypeError, ValueError) as exc:
                if chunk > 1:
                    chunk = 1  # probe the rest again, one result per frame
                else:
                    verdicts[pending[done]] = "timeout" if isinstance(exc, _Late) else "crash"
                    done += 1
            finally:
                self._stop(w)
            pending = pending[done:]
        self.plans, self.plan_verdicts, self.plan_key = plans, verdicts, key

    @staticmethod
    def _plan(desc, text: str):
        """("const", holds) | ("call", form, call, literal, literal_left, cap, expected) |
        ("judge",); ``call`` and ``literal`` in encoded form, ``expected`` decoded."""
        if desc is None:
            return ("judge",)
        if desc[0] == "const":
            return ("const", bool(desc[1]))
        _, form, call, literal, literal_left = desc
        if form not in ("truth", "not", "eq", "ne", "is", "isnot"):
            raise _Broken("unknown form")
        expected = None if literal is None else _loads(json.dumps(literal), _PLAIN_HOOK)
        # a value equal to this test's literal encodes to far less than this
        cap = 64 * max(len(text), len(json.dumps(literal))) + (64 << 10)
        return ("call", form, call, literal, bool(literal_left), cap, expected)

    @staticmethod
    def _limit(limits: dict, j: int) -> float:
        per_test = limits.get("per_test")
        return float(per_test[j]) if per_test else float(limits["test_timeout"])

    # ---- one solution ------------------------------------------------------------------
    def run_solution(self, source: str, tests: list, limits: dict, strict: bool) -> tuple:
        """(codes, names, tampered, flags) for every test of one solution."""
        n_tests = len(tests)
        final = [PENDING] * n_tests
        names: list[str] = []
        name_index: dict[str, int] = {}

        def code_of(verdict) -> int:
            if isinstance(verdict, int):
                return verdict
            k = name_index.get(verdict)
            if k is None:
                if len(names) >= MAX_NAMES:
                    return NAMED_BASE + MAX_NAMES - 1
                k = name_index[verdict] = len(names)
                names.append(verdict)
            return NAMED_BASE + k

        for j, verdict in self.plan_verdicts.items():
            final[j] = code_of(verdict) if verdict.startswith("error") else (
                TIMEOUT if verdict == "timeout" else CRASH)
        pending = [j for j in range(n_tests) if j not in self.plan_verdicts]
        timeouts = 0
        max_timeouts = int(limits["max_timeouts"])
        load_verdict = None
        flags = 0
        first = True
        s: _Worker | None = None
        cpu = int(float(limits["load_timeout"]) + sum(self._limit(limits, j) for j in pending)
                  ) + 2
        try:
            for pos, j in enumerate(pending):
                if final[j] != PENDING:
                    continue  # decided with an earlier test's batch
                if timeouts >= max_timeouts:
                    final[j] = TIMEOUT_SKIPPED
                    continue
                if s is not None and strict:
                    self._stop(s)
                    s = None
                    self._after()
                plan = self.plans[j]
                run = None
                if plan[0] == "call":
                    # the simple path: this test and the simple ones right after it, in one go
                    run = [j]
                    for k in pending[pos + 1:]:
                        if strict or self.plans[k][0] != "call" or len(run) >= _BATCH:
                            break
                        run.append(k)
                base = None
                if s is None:
                    s, load_verdict, base = self._load(source, limits, cpu, first, run)
                    if first:
                        flags, first = s.flags, False
                    if load_verdict is not None:
                        break
                if plan[0] == "const":
                    final[j] = PASS if plan[1] else FAIL
                    continue
                if plan[0] == "judge":
                    try:
                        verdict = self._judge(s, tests[j], self._limit(limits, j), limits)
                    except _Stop as stop:
                        verdict = stop.verdict
                        self._stop(s)
                        s = None
                    final[j] = code_of(verdict)
                    timeouts += verdict == TIMEOUT
                    continue
                assert run is not None
                decided, stopped = self._simple(s, run, limits, max_timeouts - timeouts, base)
                for k, verdict, opaque in decided:
                    final[k] = code_of(verdict)
                    timeouts += verdict == TIMEOUT
                    flags |= _OPAQUE_COMPARE if opaque and verdict == PASS else 0
                if stopped or timeouts >= max_timeouts:
                    # the process is gone, or still busy with the rest of the batch (a batch
                    # paused at a non-plain result leaves it idle: the rest is sent again)
                    self._stop(s)
                    s = None
        finally:
            if s is not None:
                self._stop(s)
            self._after()
        if load_verdict is not None:
            return [code_of(load_verdict)] * n_tests, names, load_verdict == TAMPERED, flags
        return final, names, TAMPERED in final, flags

    def _deadline(self, limit: float, limits: dict) -> float:
        factor = CPU_CLOCK_WALL_FACTOR if limits.get("clock") == "cpu" else 1.0
        return time.monotonic() + limit * factor + float(limits["kill_grace"])

    def _rid(self) -> int:
        return int.from_bytes(os.urandom(8), "little") >> 1

    def _reply(self, s: _Worker, rid: int, deadline: float, cap: int = 1 << 16):
        """The reply to request ``rid`` (other frames are stale and skipped) with its value
        decoded; a missed deadline, an ended process or a malformed reply is a _Stop."""
        hook, marks = _runner_hook()
        while True:
            try:
                data = s.chan.recv(deadline, 8 * cap + (64 << 10), self.heartbeat)
            except _Late:
                raise _Stop(TIMEOUT) from None
            except _Closed:
                raise _Stop(CRASH) from None
            del marks[:]
            try:
                msg = _loads(data, hook)
                if msg[1] != rid:
                    continue
            except (_Broken, TypeError, IndexError, KeyError):
                continue
            if msg[0] == "ok" and len(msg) == 4 and marks and not (
                    len(marks) == 1 and type(msg[2]) is _Handle):
                raise _Stop(TAMPERED)  # a handle inside a value: never sent to the runner
            return msg

    def _load(self, source: str, limits: dict, cpu: int, scan: bool, run: list | None):
        """A solution process with ``source`` loaded: (worker, load verdict or None, id of
        the batch of simple tests ``run`` already sent with the load, or None)."""
        rid = self._rid()
        load_timeout = float(limits["load_timeout"])
        deadline = self._deadline(load_timeout, limits)
        first = [["load", rid, source, load_timeout, scan, limits.get("clock", "wall")]]
        base = None
        if run:
            base, calls = self._calls(run, limits)
            first.append(calls)
        s = self._worker("S", limits, cpu, first=tuple(first), deadline=deadline)
        try:
            while True:
                msg = self._reply(s, rid, deadline)
                if msg[0] == "flags" and scan and type(msg[2]) is int:
                    s.flags = msg[2] & ((1 << len(SCAN_FLAGS)) - 1) & ~_OPAQUE_COMPARE
                    scan = False
                    continue
                break
        except _Stop as exc:
            return s, TIMEOUT_LOAD if exc.verdict == TIMEOUT else exc.verdict, None
        if msg[0] == "loaded":
            return s, None, base
        if msg[0] == "to":
            return s, TIMEOUT_LOAD, None
        if msg[0] == "x" and len(msg) == 5:
            return s, "error(load):" + _clean_name(msg[2]), None
        return s, TAMPERED, None

    def _calls(self, run: list, limits: dict) -> tuple[int, list]:
        """(id, message) of a batch of simple tests for a solution process."""
        base = self._rid()
        items = []
        for j in run:
            call, cap = self.plans[j][2], self.plans[j][5]
            items.append([call[0], call[1], call[2], self._limit(limits, j), cap])
        return base, ["calls", base, items]

    def _simple(self, s: _Worker, run: list, limits: dict, budget: int,
                base: int | None = None) -> tuple[list, bool]:
        """Decide the simple tests ``run`` (consecutive test indices) in one request (already
        sent as ``base`` with the load, or sent now); stops after ``budget`` timeouts.
        Returns ([(j, verdict, opaque), ...] for the tests decided, in order, and whether
        the solution process must be replaced); ``opaque`` marks a verdict decided by a
        non-plain result's own comparison."""
        cpu_clock = limits.get("clock") == "cpu"
        started = time.monotonic()
        if base is None:
            base, calls = self._calls(run, limits)
            try:
                s.chan.send(calls, self._deadline(self._limit(limits, run[0]), limits),
                            self.heartbeat)
            except (_Closed, _Late):
                return [(run[0], CRASH, False)], True
        out: list = []
        for k, j in enumerate(run):
            plan, limit = self.plans[j], self._limit(limits, j)
            deadline = started + limit * (CPU_CLOCK_WALL_FACTOR if cpu_clock else 1.0) + float(
                limits["kill_grace"])
            if len(run) - k > 8 and not s.chan.buf:
                # the solution process does not wait for the runner: let its replies gather
                time.sleep(_COALESCE)
            try:
                msg = self._reply(s, base + k, deadline, plan[5])
                verdict, opaque, more = self._decide(s, plan, msg, limit, limits, started)
            except _Stop as stop:
                out.append((j, stop.verdict, False))
                return out, True
            out.append((j, verdict, opaque))
            budget -= verdict == TIMEOUT
            started = time.monotonic()
            if budget <= 0 or not more:
                break
        return out, False

    def _decide(self, s: _Worker, plan: tuple, msg: list, limit: float, limits: dict,
                started: float) -> tuple:
        """(verdict, opaque, batch continues) from the reply to a simple test's call."""
        form, literal, literal_left, expected = plan[1], plan[3], plan[4], plan[6]
        verdict = self._outcome(msg)
        if verdict is not None:
            return verdict, False, True
        if msg[0] == "big":
            holds = form in ("truth", "ne", "isnot")
            return (PASS if holds else FAIL), False, True
        value = msg[2]
        if type(value) is not _Handle:
            try:
                if form in ("truth", "not"):
                    holds = bool(value) != (form == "not")
                else:
                    a, b = (expected, value) if literal_left else (value, expected)
                    holds = {"eq": operator.eq, "ne": operator.ne, "is": operator.is_,
                             "isnot": operator.is_not}[form](a, b)
            except BaseException as exc:  # e.g. RecursionError comparing deep nesting
                return "error:" + _type_name(exc), False, True
            return (PASS if holds else FAIL), False, True
        # not a plain value (the solution process paused the batch): its own truth value or
        # comparison decides, as in one process
        if form in ("is", "isnot"):
            return (PASS if form == "isnot" else FAIL), False, False
        left = (limit - float(msg[-1]) if limits.get("clock") == "cpu"
                else started + limit - time.monotonic())
        if left <= 0:
            return TIMEOUT, False, False
        handle = {"h": value.ref}
        if form in ("truth", "not"):
            op, operands = "bool", [handle]
        else:
            op = form + "?"
            operands = [literal, handle] if literal_left else [handle, literal]
        rid = self._rid()
        deadline = self._deadline(left, limits)
        try:
            s.chan.send(["op", rid, op, operands, left, 1 << 10, True, False], deadline,
                        self.heartbeat)
        except (_Closed, _Late):
            raise _Stop(CRASH) from None
        msg = self._reply(s, rid, deadline)
        verdict = self._outcome(msg)
        if verdict is not None:
            return verdict, False, False
        if msg[0] != "ok" or type(msg[2]) is not bool:
            raise _Stop(TAMPERED)
        holds = msg[2] != (form == "not")
        return (PASS if holds else FAIL), True, False

    @staticmethod
    def _outcome(msg: list):
        """The verdict a reply fixes by itself (an exception or a soft timeout), else None."""
        if msg[0] == "to":
            return TIMEOUT
        if msg[0] == "x" and len(msg) == 5:
            return FAIL if msg[2] == "AssertionError" else "error:" + _clean_name(msg[2])
        if msg[0] in ("ok", "big"):
            return None
        raise _Stop(TAMPERED)

    def _judge(self, s: _Worker, text: str, limit: float, limits: dict):
        """Run one test in a judge process J against the solution process ``s``."""
        deadline = self._deadline(limit, limits)
        verdict = None
        j = self._worker("J", limits, int(limit) + 2, s.chan.fd,
                         first=(["test", text, limit, limits.get("clock", "wall")],),
                         deadline=deadline)
        try:
            msg = _loads(j.chan.recv(deadline, 1 << 12, self.heartbeat), _PLAIN_HOOK)
            if msg[0] == "v" and msg[1] in (PASS, FAIL, TIMEOUT, CRASH, TAMPERED):
                verdict = msg[1]
            elif msg[0] == "v" and msg[1] == "error" and type(msg[2]) is str:
                verdict = "error:" + _clean_name(msg[2])
            else:
                verdict = CRASH
        except _Late:
            verdict = TIMEOUT
        except (_Closed, _Broken, IndexError, TypeError):
            verdict = CRASH
        finally:
            self._stop(j, wait=False)  # its exit is awaited before /tmp is emptied
        if verdict in (PASS, FAIL) or isinstance(verdict, str):
            return verdict  # the judge had every request answered: the solution is idle
        # it was stopped mid-way: the solution process must be idle (and its channel clean)
        # before the next test
        rid = self._rid()
        grace = float(limits["kill_grace"])
        sync_by = max(deadline, time.monotonic() + grace)
        try:
            s.chan.send(["ping", rid], sync_by, self.heartbeat)
            while True:
                data = s.chan.recv(sync_by, 1 << 20, self.heartbeat)
                with contextlib.suppress(ValueError):
                    msg = json.loads(data)
                    if type(msg) is list and msg[:2] == ["pong", rid]:
                        return verdict
        except (_Late, _Closed):
            raise _Stop(verdict) from None

    # ---- units -------------------------------------------------------------------------
    def run_unit(self, unit: dict) -> None:
        limits = dict(unit["limits"])
        tests = list(unit["tests"])
        if unit.get("timeouts"):
            limits["per_test"] = [float(t) for t in unit["timeouts"]]
        self.plan_tests(tests, limits)
        preamble = unit["preamble"]
        strict = unit["mode"] == "strict"
        for index, source in unit["solutions"]:
            full = f"{preamble}\n{source}" if preamble else source
            codes, names, tampered, flags = self.run_solution(full, tests, limits, strict)
            self.send({"u": unit["unit"], "s": index, "t": tampered, "n": names, "f": flags,
                       "c": base64.b64encode(bytes(codes)).decode("ascii")})
        self.send({"u": unit["unit"], "done": True})

    def serve(self) -> None:
        self.configure(self.read_frame())
        self.send({"ready": True, "pid1": self.pid1})
        import gc

        gc.freeze()
        try:
            while True:
                try:
                    unit = self.read_frame()
                except EOFError:
                    return
                self.run_unit(unit)
        finally:
            # the zygote's unreaped children (and anything that escaped) come here: reap
            # them all, so nothing of this sandbox outlives it
            self._stop_zygote()
            _kill_children(os.getpid())


def _empty_dir(path: str) -> None:
    """Remove everything under ``path`` (not following links; entries a solution made
    unreadable or unwritable are opened up first); RuntimeError if something stays."""
    def walk(d: str) -> None:
        with contextlib.suppress(OSError):
            os.chmod(d, 0o700)
        try:
            entries = list(os.scandir(d))
        except OSError:
            return
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    walk(entry.path)
                    os.rmdir(entry.path)
                else:
                    os.unlink(entry.path)
            except OSError:
                continue

    for _ in range(3):
        walk(path)
        try:
            if not os.listdir(path):
                return
        except OSError:
            break
    raise RuntimeError(f"cannot empty {path}")


def main() -> None:
    """Move the protocol channels off fds 0/1, harden this process, then serve units (or,
    with ``--zygote``, serve as the zygote on fd 3)."""
    import warnings

    warnings.simplefilter("ignore")
    _LIBC.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    if sys.argv[1:] == ["--zygote"]:
        _LIBC.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        _Zygote(socket.socket(fileno=3)).serve()
        return
    in_fd = os.dup(0)
    out_fd = os.dup(1)
    devnull = os.open("/dev/null", os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    if os.getpid() != 1:
        _LIBC.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    Runner(in_fd, out_fd).serve()


if __name__ == "__main__":
    sys.exit(main())
