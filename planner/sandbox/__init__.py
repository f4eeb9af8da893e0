"""The sandboxed batch executor: every piece of model-written code runs here and only here.

``run_batch`` / ``run_batches`` execute every (solution, test) pair of a job inside an
isolated, resource-limited sandbox and return pass bits and verdicts; ``probe_isolation``
reports which isolation level (A, B, C) this machine offers. See ``probe`` for the levels,
``runner`` for what happens inside the sandbox and ``executor`` for the scheduling.
"""

from __future__ import annotations

from .executor import run_batch, run_batches
from .jobs import VERDICTS, BatchJob, BatchResult, Limits, SandboxError
from .probe import IsolationLevel, IsolationReport, probe_isolation

__all__ = ["VERDICTS", "BatchJob", "BatchResult", "IsolationLevel", "IsolationReport", "Limits",
           "SandboxError", "probe_isolation", "run_batch", "run_batches"]
