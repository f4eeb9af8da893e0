"""Progress of long work: what the work loops report, and who shows it.

Work that can take more than a few seconds (option tables, an exact enumeration, a
sharing refinement, a comparison, an evaluation, the paper replay) reports its steps as
a :func:`task`::

    with progress.task("option tables", total=n_models, unit="model") as step:
        for model in models:
            ...
            step.advance()

Nobody sees anything unless a caller installs a :class:`Reporter` around the work
(:func:`reporting`); the command line installs :class:`BarReporter` (tqdm bars with an
ETA on stderr) when stderr is a terminal and ``--no-progress`` is not given. The reporter
in force is ambient (a context variable, like a logger), so the estimator and search
methods keep their signatures; a task nested in another is drawn below it. tqdm is the
one progress implementation of the project (``run`` and ``measure`` report through it
too).
"""

from __future__ import annotations

import contextvars
import math
import os
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TextIO


class Step(Protocol):
    """One task's handle: advance it, change its total once it is known, or show a short
    running note beside it (``$0.0104 per problem, acc 71.0 %``)."""

    def advance(self, n: float = 1) -> None: ...

    def set_total(self, total: float | None) -> None: ...

    def note(self, text: str) -> None: ...


class Reporter(Protocol):
    """Shows tasks: :meth:`open` a task at a nesting ``depth`` (0 = outermost), get its
    :class:`Step`; :meth:`close` it when the work ends (done or not)."""

    def open(self, label: str, total: float | None, unit: str, depth: int) -> Step: ...

    def close(self, step: Step) -> None: ...


class _Silent:
    """No display: the default reporter (and a Step that ignores everything)."""

    def advance(self, n: float = 1) -> None:
        pass

    def set_total(self, total: float | None) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def open(self, label: str, total: float | None, unit: str, depth: int) -> Step:
        return self

    def close(self, step: Step) -> None:
        pass


SILENT: Reporter = _Silent()

_reporter: contextvars.ContextVar[Reporter] = contextvars.ContextVar(
    "codecascade_progress", default=SILENT)
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("codecascade_progress_depth",
                                                             default=0)


@contextmanager
def reporting(reporter: Reporter) -> Iterator[Reporter]:
    """Show the tasks of the work inside the ``with`` block on ``reporter``."""
    token = _reporter.set(reporter)
    try:
        yield reporter
    finally:
        _reporter.reset(token)


@contextmanager
def task(label: str, total: float | None = None, unit: str = "it") -> Iterator[Step]:
    """A unit of long work with ``total`` steps (None: unknown); see the module docstring."""
    reporter = _reporter.get()
    depth = _depth.get()
    step = reporter.open(label, total, unit, depth)
    token = _depth.set(depth + 1)
    try:
        yield step
    finally:
        _depth.reset(token)
        reporter.close(step)


class BarReporter:
    """tqdm bars on ``stream`` (stderr): one per open task, nested ones below, each gone
    when its task ends; the outermost shows an ETA once its rate is known. ``min_seconds``:
    a task is drawn only after it has run this long (short work stays silent)."""

    def __init__(self, stream: TextIO | None = None, min_seconds: float = 0.5) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.min_seconds = min_seconds

    def open(self, label: str, total: float | None, unit: str, depth: int) -> Step:
        from tqdm import tqdm

        size = _unreported_size(self.stream)
        total = None if total is None else math.ceil(total)
        return _Bar(tqdm(total=total, desc=label, unit=unit, file=self.stream,
                         position=depth, leave=False, delay=self.min_seconds,
                         dynamic_ncols=size is None, ncols=size and size.columns,
                         nrows=size and size.lines, mininterval=0.25, smoothing=0.1))

    def close(self, step: Any) -> None:
        step.bar.close()


def _unreported_size(stream: TextIO) -> os.terminal_size | None:
    """None when the terminal reports its size (the bars follow it), else a size from
    ``COLUMNS``/``LINES`` or 80 x 24: a terminal that reports 0 x 0 (a bare
    pseudo-terminal) would otherwise hide every bar."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, OSError, ValueError):
        size = os.terminal_size((0, 0))
    return None if size.columns > 0 and size.lines > 0 else shutil.get_terminal_size()


class _Bar:
    """A tqdm bar as a :class:`Step`. Steps may be fractional (a search's weighted
    subtrees); the bar counts whole ones, so it shows ``6127/5473237``, not
    ``6127.092077087795/5473237.0``."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self.done = 0.0

    def advance(self, n: float = 1) -> None:
        self.done += n
        whole = int(self.done) - self.bar.n
        if whole > 0:
            self.bar.update(whole)

    def set_total(self, total: float | None) -> None:
        self.bar.total = None if total is None else math.ceil(total)
        self.bar.refresh()

    def note(self, text: str) -> None:
        self.bar.set_postfix_str(text, refresh=False)


def wanted(enabled: bool, stream: TextIO | None = None) -> bool:
    """Whether to draw bars: asked for, and ``stream`` (stderr) is a terminal."""
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    return bool(enabled and callable(isatty) and isatty())


def reporter_for(enabled: bool, stream: TextIO | None = None) -> Reporter:
    """:class:`BarReporter` when :func:`wanted`, else :data:`SILENT`."""
    return BarReporter(stream) if wanted(enabled, stream) else SILENT


class Stopwatch:
    """Seconds since it was made, on ``clock`` (for "interrupted after 41 s")."""

    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self.start = clock()

    @property
    def seconds(self) -> float:
        return self.clock() - self.start
