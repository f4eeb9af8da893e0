"""The server's door to the sandbox: the runtime's executor, at most ``workers`` at once.

The runtime bounds sandbox batches with an asyncio semaphore, which a cancelled request
releases at once while its batch still runs in a worker thread (a thread cannot be
stopped; the batch ends within its time limits). Under a server, where clients disconnect
and deadlines cancel, that could start more batches than there are CPUs; this wrapper holds
a thread-level slot for as long as a batch really runs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from ..sandbox.grid import Executor, GridJob, GridResult


class BoundedExecutor:
    """An executor (:class:`planner.sandbox.grid.Executor`) that runs at most ``workers``
    batches at the same time; the settings are the inner executor's."""

    def __init__(self, inner: Executor, workers: int):
        self.inner = inner
        self.config = inner.config
        self.description = inner.description
        self._slots = threading.BoundedSemaphore(max(1, workers))

    def run(self, jobs: Sequence[GridJob]) -> Iterator[tuple[int, GridResult]]:
        with self._slots:
            yield from self.inner.run(jobs)
