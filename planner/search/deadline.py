"""Deadlines that long searches check between blocks of work.

A :class:`Deadline` is a point in time on an injected clock (``time.perf_counter`` unless a
test passes its own). Work that can run long calls :meth:`Deadline.check` between blocks
small enough to take well under a second, which raises :class:`OutOfTime`; the method
that set the deadline catches it and returns its best plan so far. A search method that
can stop early this way implements :class:`Anytime`, so a method that calls it (the
integer program's warm start) can hand on its own deadline.

A deadline also passes when the :class:`~planner.search.stopping.StopRequest` in force
when it was made is set (Ctrl-C on the command line: planner.search.stopping).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from .stopping import StopRequest, current_request

if TYPE_CHECKING:
    from .method import SearchMethod

Clock = Callable[[], float]


class OutOfTime(Exception):
    """The deadline passed; caught by the method that set it, never shown to a user."""


@dataclass(frozen=True)
class Deadline:
    """``at`` seconds on ``clock``; :data:`math.inf` for no deadline. It has also passed
    once ``stop`` (by default the :class:`StopRequest` in force when it is made) is set."""

    at: float
    clock: Clock = field(default=time.perf_counter, compare=False)
    stop: StopRequest | None = field(default_factory=current_request, compare=False)

    @classmethod
    def after(cls, seconds: float | None, clock: Clock = time.perf_counter) -> Deadline:
        """``seconds`` from now on ``clock`` (None: never)."""
        return cls(math.inf if seconds is None else clock() + seconds, clock)

    def remaining(self) -> float:
        """Seconds left (negative once passed; 0 once stopped)."""
        if self.stop is not None and self.stop.is_set():
            return min(0.0, self.at - self.clock())
        return self.at - self.clock()

    def expired(self) -> bool:
        return (self.stop is not None and self.stop.is_set()) or self.clock() >= self.at

    def check(self) -> None:
        """Raise :class:`OutOfTime` if the deadline has passed."""
        if self.expired():
            raise OutOfTime

    def within(self, seconds: float) -> Deadline:
        """The sooner of this deadline and ``seconds`` from now."""
        return Deadline(min(self.at, self.clock() + seconds), self.clock, self.stop)


@runtime_checkable
class Anytime(Protocol):
    """A search method that can stop at a deadline with the best plan it has so far."""

    def until(self, deadline: Deadline) -> SearchMethod:
        """The same method, stopping at ``deadline``."""
