"""A circuit breaker per endpoint: stop asking an endpoint that fails every request the same
way.

Each request's final outcome (after its retries) is reported to the endpoint's
:class:`CircuitBreaker`. When the last ``threshold`` outcomes are all failures with the
same cause (:attr:`planner.runtime.failures.Failure.cause`: kind and HTTP status) that
says the endpoint cannot serve (unreachable, too slow, 5xx, 429 after every retry, bodies
that are not completions), the breaker *opens*: :meth:`CircuitBreaker.check` raises
:class:`~planner.runtime.failures.EndpointDown` naming the endpoint and the cause. A run
stops there (its problems in flight are not recorded; ``--resume`` redoes them); a server
keeps the breaker open for ``cooldown_s`` seconds, fails requests to that endpoint at once
meanwhile, then lets one request through (*half-open*): its success closes the breaker,
its failure opens it again. One success anywhere in the window resets the count, and
the failures of one prompt count once (one problem's parallel samples, all refused for
the same reason, are one piece of evidence, not ``k``). A
refusal (HTTP 400, 422: a prompt too long for one problem, a greedy request a server cannot
serve) is about the request, not the endpoint's health: it neither counts nor resets, and
a refused half-open trial only lets the next request be the trial (an
endpoint that refuses every request is the pre-flight check's to find,
:mod:`planner.runtime.preflight`; a wrong key, URL or model stops a run at once).
(The pattern as in Nygard, *Release It!*, ch. 5.)

The evidence is counted in attempts: a final failure of an endpoint with ``max_retries``
retries stands for ``max_retries + 1`` failed attempts, and the default threshold
(:func:`threshold_for`) asks for at least :data:`THRESHOLD` requests and
:data:`MIN_ATTEMPTS` attempts. With the default 6 retries that is 3 requests; with
retries switched off it is 12, so that a flaky endpoint (30 % of requests answered 500)
does not open it by chance (0.3^12 ≈ 5e-7 per request) while a dead one still does.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable

from .endpoints import Endpoint
from .failures import EndpointDown, Failure, FailureKind

#: Consecutive final failures with one cause that open a breaker, at least.
THRESHOLD = 3
#: Consecutive failed attempts (retries included) with one cause that open a breaker, at
#: least.
MIN_ATTEMPTS = 12
#: Seconds an open breaker refuses requests before it lets one through.
COOLDOWN_S = 30.0


def threshold_for(endpoint: Endpoint) -> int:
    """Consecutive final failures that open ``endpoint``'s breaker: at least
    :data:`THRESHOLD`, and enough for :data:`MIN_ATTEMPTS` attempts."""
    return max(THRESHOLD, -(-MIN_ATTEMPTS // (endpoint.max_retries + 1)))


class CircuitBreaker:
    """Opens after ``threshold`` consecutive final failures with one cause (default
    :func:`threshold_for` the endpoint; see the module docstring); ``clock`` returns
    seconds (monotonic), injectable for tests."""

    def __init__(self, endpoint: Endpoint, *, threshold: int | None = None,
                 cooldown_s: float = COOLDOWN_S,
                 clock: Callable[[], float] = time.monotonic):
        threshold = threshold_for(endpoint) if threshold is None else threshold
        if threshold < 1:
            raise ValueError(f"threshold must be >= 1, got {threshold}")
        if cooldown_s < 0:
            raise ValueError(f"cooldown_s must be >= 0, got {cooldown_s}")
        self.endpoint = endpoint
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._recent: deque[Failure] = deque(maxlen=threshold)
        self._keys: deque[Hashable | None] = deque(maxlen=threshold)
        self._opened_at: float | None = None
        self._trial = False
        self._lock = threading.Lock()
        self.trips = 0

    @property
    def open(self) -> bool:
        """True while requests are refused (open, and not yet half-open)."""
        with self._lock:
            return self._opened_at is not None and not self._cooled()

    @property
    def last_failure(self) -> Failure | None:
        with self._lock:
            return self._recent[-1] if self._recent else None

    def _cooled(self) -> bool:
        return (self._opened_at is not None
                and self._clock() - self._opened_at >= self.cooldown_s)

    def check(self) -> None:
        """Raise :class:`EndpointDown` when the breaker is open; when it has cooled down,
        let exactly one request through (half-open) and refuse the others until that one
        reports."""
        with self._lock:
            if self._opened_at is None:
                return
            if self._cooled() and not self._trial:
                self._trial = True
                return
            failure = self._recent[-1]
        raise EndpointDown(self.endpoint, Failure(
            FailureKind.CIRCUIT_OPEN, failure.message, failure.status),
            f"is failing: its last {self.threshold} requests failed the same way")

    def success(self) -> None:
        """A request came back: close the breaker, forget the failures."""
        with self._lock:
            self._recent.clear()
            self._keys.clear()
            self._opened_at = None
            self._trial = False

    def failure(self, failure: Failure, key: Hashable | None = None) -> None:
        """A request failed for good (after its retries); raise :class:`EndpointDown` when
        this opens the breaker (a refusal never does: see the module docstring). ``key``
        names what was asked (the prompt): failures of one prompt count once, so that the
        parallel samples of one problem the endpoint cannot serve do not open it alone."""
        if failure.kind is FailureKind.REFUSED:
            with self._lock:
                self._trial = False  # a half-open trial that was refused: let another try
            return
        with self._lock:
            if self._recent and self._recent[-1].cause != failure.cause:
                self._recent.clear()
                self._keys.clear()
            if key is not None and key in self._keys and not self._trial:
                return
            self._recent.append(failure)
            self._keys.append(key)
            trial_failed = self._trial
            self._trial = False
            if len(self._recent) < self.threshold and not trial_failed:
                return
            self._opened_at = self._clock()
            self.trips += 1
        raise EndpointDown(self.endpoint, failure,
                           f"is failing: its last {self.threshold} requests failed the "
                           "same way")
