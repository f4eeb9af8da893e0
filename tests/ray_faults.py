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
import time
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
    """The real sandbox, each task attempt recorded. An attempt on the node ``hold_on_node``
    first waits up to ``hold_s`` seconds, so that a test can remove that node while its
    task is surely still running (however fast the machine runs the task itself)."""

    def __init__(self, folder: str | Path, hold_on_node: str | None = None,
                 hold_s: float = 60.0) -> None:
        self.folder = str(folder)
        self.hold_on_node, self.hold_s = hold_on_node, hold_s

    def __call__(self, config: GridConfig, allow_unsafe: bool) -> SandboxExecutor:
        _record(self.folder, "run")
        if (self.hold_on_node is not None
                and ray.get_runtime_context().get_node_id() == self.hold_on_node):
            time.sleep(self.hold_s)
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
