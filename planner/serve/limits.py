"""Admission: at most ``max_concurrency`` requests in flight; beyond, 429 with Retry-After.

No queue: a request that finds every slot taken is refused at once, so a client (or its
load balancer) can retry elsewhere instead of waiting behind work it cannot see. The
``Retry-After`` value (whole seconds, at least 1) is when a slot is expected to free: the
mean latency of the last requests minus the age of the oldest request in flight.
"""

from __future__ import annotations

import math
import time
from collections import deque

from .errors import APIError, ErrorType


class Admission:
    """Counts requests in flight; :meth:`admit` returns a release callback or raises 429."""

    def __init__(self, max_in_flight: int, *, window: int = 50):
        self.max_in_flight = max_in_flight
        self._started: dict[int, float] = {}
        self._next = 0
        self._latencies: deque[float] = deque(maxlen=window)
        self.rejected = 0

    @property
    def in_flight(self) -> int:
        return len(self._started)

    def admit(self) -> int:
        """A ticket for one request in flight; APIError 429 when every slot is taken."""
        if len(self._started) >= self.max_in_flight:
            self.rejected += 1
            wait = self.retry_after()
            raise APIError(429, f"the server is at its limit of {self.max_in_flight} requests "
                           f"in flight; retry after {wait} s", ErrorType.RATE_LIMIT,
                           code="server_busy", headers={"Retry-After": str(wait)})
        ticket = self._next
        self._next += 1
        self._started[ticket] = time.monotonic()
        return ticket

    def release(self, ticket: int) -> None:
        started = self._started.pop(ticket, None)
        if started is not None:
            self._latencies.append(time.monotonic() - started)

    def retry_after(self) -> int:
        """Seconds until a slot is expected to free (at least 1)."""
        if not self._latencies or not self._started:
            return 1
        mean = sum(self._latencies) / len(self._latencies)
        oldest = time.monotonic() - min(self._started.values())
        return max(1, math.ceil(mean - oldest))
