"""Node-side executors that inject faults into Ray tasks (for the Ray tests).

Each is a picklable factory ``(config, allow_unsafe) -> Executor`` that a
:class:`~planner.sandbox.ray_executor.RayExecutor` calls on the node for each task
attempt; each records the attempt as a file in ``folder`` (the worker's pid in its name),
so a test can count the attempts and kill the worker of one. Ray's workers cannot import
the tests folder, so this module is pickled by value (import it only where Ray is).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import ray

from planner.sandbox.grid import GridConfig, SandboxExecutor


def attempts(folder: str | Path) -> list[str]:
    """The recorded attempts, in order: ``NNN-<kind>-<node id>-<pid>``."""
    return sorted(p.name for p in Path(folder).iterdir())


def _record(folder: str, kind: str) -> None:
    n = len(list(Path(folder).iterdir()))
    node = ray.get_runtime_context().get_node_id()
    Path(folder, f"{n:03d}-{kind}-{node}-{os.getpid()}").write_text(str(os.getpid()))


class Recording:
    """The real sandbox, each task attempt recorded."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = str(folder)

    def __call__(self, config: GridConfig, allow_unsafe: bool) -> SandboxExecutor:
        _record(self.folder, "run")
        return SandboxExecutor(config, workers=1, allow_unsafe=allow_unsafe)


class _Raising(SandboxExecutor):
    def __init__(self, config: GridConfig, folder: str, marker: str) -> None:
        super().__init__(config, workers=1)
        self.folder, self.marker = folder, marker

    def run(self, jobs):
        if any(self.marker in s for job in jobs for s in job.solutions):
            _record(self.folder, "raise")
            raise RuntimeError(f"injected fault ({self.marker})")
        _record(self.folder, "run")
        return super().run(jobs)


class FailingOn:
    """The real sandbox, except that every attempt of a task whose solutions contain
    ``marker`` raises."""

    def __init__(self, folder: str | Path, marker: str) -> None:
        self.folder, self.marker = str(folder), marker

    def __call__(self, config: GridConfig, allow_unsafe: bool) -> SandboxExecutor:
        return _Raising(config, self.folder, self.marker)


ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
