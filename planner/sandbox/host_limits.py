"""Hard resource limits the sandbox inherits from the calling process.

A sandbox cannot raise a hard limit (``ulimit -H``) it inherits. When the caller's hard
limit on address space, open files, file size, CPU time or processes is below what
:class:`~planner.sandbox.jobs.Limits` asks for, every process of the sandbox gets the hard
limit instead (clamped, recorded in each result's ``meta["limits_effective"]`` and
``meta["limits_clamped"]``); when what is left cannot run a solution at all, the run is
refused with one line naming the limit. The probe reports both.
"""

from __future__ import annotations

import math
import resource
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .jobs import Limits

#: Below these a sandbox cannot work: refuse instead of clamping.
MIN_SOLUTION_MEMORY_MB = 64
MIN_OPEN_FILES = 32
MIN_PROCESSES = 16
#: Bytes per written file below which the sandbox cannot start: it copies its runner (about
#: 90 KiB) into each sandbox's folder, under the same limit as everything it writes.
MIN_FILE_BYTES = 256 << 10
#: The runner the sandbox copies (its size is named in a refusal).
_RUNNER = Path(__file__).with_name("runner.py")

_MiB = 1 << 20


def _hard(which: int) -> int | None:
    hard = resource.getrlimit(which)[1]
    return None if hard == resource.RLIM_INFINITY else int(hard)


@dataclass(frozen=True)
class HostLimits:
    """The calling process's hard limits (None = unlimited) and the address space the
    sandbox interpreter uses before any solution (``interpreter_vm``, bytes), which counts
    against the address-space limit."""

    address_space: int | None
    open_files: int | None
    file_size: int | None
    cpu_time: int | None
    processes: int | None
    interpreter_vm: int = 0

    @classmethod
    def read(cls, interpreter_vm: int = 0) -> HostLimits:
        """The hard limits of this process (what a sandbox started from it inherits)."""
        return cls(address_space=_hard(resource.RLIMIT_AS),
                   open_files=_hard(resource.RLIMIT_NOFILE),
                   file_size=_hard(resource.RLIMIT_FSIZE),
                   cpu_time=_hard(resource.RLIMIT_CPU),
                   processes=_hard(resource.RLIMIT_NPROC), interpreter_vm=interpreter_vm)

    def effective(self, limits: Limits, dedicated_uid: bool) -> dict[str, Any]:
        """The limits the sandbox's processes really get: ``memory_mb`` (MiB of address space
        for a solution beyond the interpreter), ``max_open_files``, ``max_file_mb`` (MiB),
        ``max_processes`` (only with a dedicated uid, where it applies) and, when the host
        caps CPU time, ``cpu_time_cap_s`` (every process, the runner's too)."""
        out: dict[str, Any] = {"memory_mb": limits.memory_mb,
                               "max_open_files": limits.max_open_files,
                               "max_file_mb": limits.max_file_mb}
        if self.address_space is not None:
            room = (self.address_space - self.interpreter_vm) // _MiB
            out["memory_mb"] = max(min(limits.memory_mb, room), 0)
        if self.open_files is not None:
            out["max_open_files"] = min(limits.max_open_files, self.open_files)
        if self.file_size is not None and self.file_size < limits.max_file_mb * _MiB:
            out["max_file_mb"] = round(self.file_size / _MiB, 3)
        if dedicated_uid:
            out["max_processes"] = limits.max_processes if self.processes is None else min(
                limits.max_processes, self.processes)
        if self.cpu_time is not None:
            out["cpu_time_cap_s"] = self.cpu_time
        return out

    def clamped(self, limits: Limits, dedicated_uid: bool) -> tuple[str, ...]:
        """Names of the ``Limits`` fields the host's hard limits lower."""
        eff = self.effective(limits, dedicated_uid)
        return tuple(name for name in ("memory_mb", "max_open_files", "max_file_mb",
                                       "max_processes")
                     if name in eff and eff[name] < getattr(limits, name))

    def refusal(self, limits: Limits, dedicated_uid: bool) -> str | None:
        """One line naming the hard limit that leaves too little to run a solution, or None."""
        if self.address_space is not None:
            room = (self.address_space - self.interpreter_vm) // _MiB
            if room < MIN_SOLUTION_MEMORY_MB:
                return (f"the host's hard limit on address space (RLIMIT_AS, ulimit -v) is "
                        f"{self.address_space // _MiB} MiB: the sandbox interpreter uses "
                        f"{self.interpreter_vm // _MiB} MiB and a solution needs at least "
                        f"{MIN_SOLUTION_MEMORY_MB} MiB more")
        if self.open_files is not None and self.open_files < MIN_OPEN_FILES:
            return (f"the host's hard limit on open files (RLIMIT_NOFILE, ulimit -n) is "
                    f"{self.open_files}: the sandbox needs at least {MIN_OPEN_FILES}")
        if self.file_size is not None and self.file_size < MIN_FILE_BYTES:
            return (f"the host's hard limit on file size (RLIMIT_FSIZE, ulimit -f) is "
                    f"{self.file_size >> 10} KiB: the sandbox copies its runner "
                    f"({_RUNNER.stat().st_size >> 10} KiB) and needs at least "
                    f"{MIN_FILE_BYTES >> 10} KiB per file")
        if dedicated_uid and self.processes is not None and self.processes < MIN_PROCESSES:
            return (f"the host's hard limit on processes (RLIMIT_NPROC, ulimit -u) is "
                    f"{self.processes}: the sandbox needs at least {MIN_PROCESSES}")
        if self.cpu_time is not None:
            need = math.ceil(limits.load_timeout + limits.test_timeout) + 2
            if self.cpu_time < need:
                return (f"the host's hard limit on CPU time (RLIMIT_CPU, ulimit -t) is "
                        f"{self.cpu_time} s: loading and testing one solution may take "
                        f"{need} s")
        return None

    def describe(self, limits: Limits, dedicated_uid: bool) -> list[str]:
        """Human-readable lines for what the host's hard limits change (empty if nothing)."""
        eff = self.effective(limits, dedicated_uid)
        units = {"memory_mb": "MiB of address space per solution",
                 "max_open_files": "open files", "max_file_mb": "MiB per written file",
                 "max_processes": "processes and threads"}
        lines = [f"{units[name]}: {eff[name]} (the sandbox's default is "
                 f"{getattr(limits, name)}; lowered to the host's hard limit)"
                 for name in self.clamped(limits, dedicated_uid)]
        if "cpu_time_cap_s" in eff:
            lines.append(f"CPU time: every sandbox process, the runner included, is stopped "
                         f"after {eff['cpu_time_cap_s']} s (the host's hard limit)")
        return lines

    def to_json(self) -> dict[str, Any]:
        return {"address_space": self.address_space, "open_files": self.open_files,
                "file_size": self.file_size, "cpu_time": self.cpu_time,
                "processes": self.processes, "interpreter_vm": self.interpreter_vm}
