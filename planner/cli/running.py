"""Long work on the command line: progress bars, and Ctrl-C that says what was kept.

:func:`long_work` shows the progress of the work inside (tqdm bars on stderr, only when
stderr is a terminal and ``--no-progress`` is not given). With ``stop_searches`` the
first Ctrl-C during a search ends it as its time limit would, with its best plan so far
(planner.search.deadline); a second Ctrl-C, or one outside a search, interrupts at once
and the command line says how long it ran and that nothing was written.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from .. import progress
from ..search.stopping import StopRequest, stop_requests


class Interrupts:
    """Whether Ctrl-C interrupted the command (the CLI library turns the interrupt into a
    plain exit status 130, so the command line notes it here to say what was kept)."""

    seen = False


def _interrupt() -> None:
    Interrupts.seen = True
    raise KeyboardInterrupt


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def noting_interrupts() -> Iterator[type[Interrupts]]:
    """Ctrl-C interrupts as usual inside the block, and :attr:`Interrupts.seen` says so."""
    Interrupts.seen = False
    if not _in_main_thread():
        yield Interrupts
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: _interrupt())
    try:
        yield Interrupts
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def _ctrl_c_stops_searches() -> Iterator[StopRequest]:
    request = StopRequest()
    if not _in_main_thread():
        with stop_requests(request):
            yield request
        return

    def on_ctrl_c(signum, frame) -> None:
        if request.listeners > 0 and not request.is_set():
            request.set()
            print("\nstopping the search at its best plan so far (Ctrl-C again to abandon)",
                  file=sys.stderr, flush=True)
            return
        _interrupt()

    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        with stop_requests(request):
            yield request
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def long_work(no_progress: bool = False, *, stop_searches: bool = False
              ) -> Iterator[StopRequest | None]:
    """Progress bars and Ctrl-C handling for the block (see the module docstring); yields
    the stop request (set if Ctrl-C stopped a search) with ``stop_searches``."""
    reporter = progress.reporter_for(not no_progress)
    with progress.reporting(reporter):
        stopping = _ctrl_c_stops_searches() if stop_searches else nullcontext(None)
        with stopping as request:
            yield request
