"""The server's door to the sandbox: the runtime's executor, at most ``workers`` at once.

The runtime bounds sandbox batches with an asyncio semaphore, which a cancelled request
releases at once while its batch still runs in a worker thread (a thread cannot be
stopped; the batch ends within its time limits). Under a server, where clients disconnect
and deadlines cancel, that could start more batches than there are CPUs; this wrapper holds
a thread-level slot for as long as a batch really runs.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ..runtime.execute import Execution, Executor


class BoundedExecutor:
    """An executor that runs at most ``workers`` batches at the same time."""

    def __init__(self, inner: Executor, workers: int):
        self.inner = inner
        self._slots = threading.BoundedSemaphore(max(1, workers))

    def __call__(self, preamble: str, solutions: Sequence[str], tests: Sequence[str],
                 test_timeout: float) -> Execution:
        with self._slots:
            return self.inner(preamble, solutions, tests, test_timeout)
