"""The sandboxed batch executor: every piece of model-written code runs here and only here.

``run_batch`` / ``run_batches`` execute every (solution, test) pair of a job inside an
isolated, resource-limited sandbox and return pass bits and verdicts; ``probe_isolation``
reports which isolation level (A, B, C) this machine offers. See ``probe`` for the levels,
``runner`` for what happens inside the sandbox and ``executor`` for the scheduling.
``grid`` is the door the runtime and the profile builder use: one problem's de-duplicated
solution × test grid per job, behind an :class:`Executor` protocol (``fake`` has a stand-in
for tests; ``ray_executor`` runs the same jobs as Ray tasks, cut by ``shards``). Names
load on first use, so importing ``planner.sandbox.modes`` (the enums of the command line's
options) stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "run_batch": "executor", "run_batches": "executor",
    "ExecutionError": "grid", "Executor": "grid", "GridConfig": "grid", "GridJob": "grid",
    "GridResult": "grid", "SandboxExecutor": "grid", "Verdict": "grid", "run_one": "grid",
    "VERDICTS": "jobs", "BatchJob": "jobs", "BatchResult": "jobs", "Limits": "jobs",
    "SandboxBrokenError": "jobs", "SandboxError": "jobs",
    "Clock": "modes", "SandboxMode": "modes",
    "IsolationLevel": "probe", "IsolationReport": "probe", "probe_isolation": "probe",
    "RayExecutor": "ray_executor",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'planner.sandbox' has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
