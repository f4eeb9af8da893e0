"""Stopping searches early on request: Ctrl-C on the command line as a deadline.

The command line installs a :class:`StopRequest` around its work (:func:`stop_requests`);
every :class:`~planner.search.deadline.Deadline` made inside also passes once the request
is set, so a search ends as its time limit would, with its best plan so far. Searches say
they are running (:func:`listening`), so a Ctrl-C handler can tell whether there is a
search to stop or whether it should interrupt at once.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class StopRequest:
    """A request to stop every listening search early (set by Ctrl-C on the command
    line); :attr:`listeners` counts the searches running that watch it."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.listeners = 0

    def set(self) -> None:
        self.event.set()

    def is_set(self) -> bool:
        return self.event.is_set()


_stop: contextvars.ContextVar[StopRequest | None] = contextvars.ContextVar(
    "codecascade_stop_request", default=None)


@contextmanager
def stop_requests(request: StopRequest) -> Iterator[StopRequest]:
    """Deadlines made inside the block also pass once ``request`` is set."""
    token = _stop.set(request)
    try:
        yield request
    finally:
        _stop.reset(token)


@contextmanager
def listening() -> Iterator[StopRequest | None]:
    """Mark a search that stops at its deadlines as running (see the module docstring)."""
    request = current_request()
    if request is not None:
        request.listeners += 1
    try:
        yield request
    finally:
        if request is not None:
            request.listeners -= 1


def current_request() -> StopRequest | None:
    """The stop request in force (None outside :func:`stop_requests`)."""
    return _stop.get()
