"""``collect``: the importable form of ``codecascade collect``.

Checks everything before the first request (every model named is in the endpoints file,
every API key variable is set, the problems load, the output is new, being resumed with the
same endpoints and sampling, or overwritten, and no other collection is writing it), works
out the batches still missing (:mod:`planner.collect.work`), collects them with a progress
bar showing the generations, running cost and ETA (:mod:`planner.collect.collector`), and
stops before ``max_cost`` would be passed (:mod:`planner.collect.budget`).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .. import fields, progress
from ..output import check_output
from ..problems import load_problems
from ..records import CollectedRecord, CollectedWriter
from ..runtime.endpoints import Endpoint, EndpointError, check_keys, load_endpoints
from ..testlines import LINE_POSITIONS
from .budget import CostCap, Stop
from .collector import Collector, CollectStats
from .identity import endpoint_info
from .work import (
    Batch,
    CollectError,
    CollectFieldError,
    Existing,
    Want,
    check_resumable,
    missing_batches,
    read_existing,
)


@dataclass(frozen=True)
class CollectOptions:
    """How a collection proceeds: generations wanted per (model, problem) (:class:`Want`),
    batches in flight (>= 1), a cap in $ on this command's whole spending (> 0; None: no
    cap), and whether every endpoint is checked before the first batch (``preflight``, as
    ``run`` does). (The progress bar is the command line's, planner.progress.) FieldError
    naming a bad value."""

    want: Want = field(default_factory=Want)
    concurrency: int = 8
    max_cost: float | None = None
    preflight: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "concurrency", fields.whole(
            self.concurrency, "concurrency", least=1, error=CollectFieldError))
        if self.max_cost is not None:
            object.__setattr__(self, "max_cost", fields.positive(
                self.max_cost, "max_cost", error=CollectFieldError))


@dataclass(frozen=True)
class CollectResult:
    """What a collection did: the models and problems, batches collected now and pairs
    already complete, what was requested, this run's numbers, the file's recorded cost,
    and why it stopped early (the cost cap), if it did."""

    models: tuple[str, ...]
    n_problems: int
    batches_planned: int
    complete_before: int
    generations_planned: int
    stats: CollectStats
    file_cost: float
    stop: Stop | None


def select_models(endpoints: dict[str, Endpoint], models: str | Sequence[str] | None,
                  source: str) -> tuple[str, ...]:
    """The models to collect: ``models`` in the order given, default every model of the
    endpoints file in its order. An empty choice (``[]``, ``[""]``) is a
    :class:`CollectFieldError`; :class:`EndpointError` names models the file lacks."""
    chosen = fields.names(models, "models", error=CollectFieldError)
    if chosen is None:
        return tuple(endpoints)
    missing = [m for m in chosen if m not in endpoints]
    if missing:
        raise EndpointError(f"{source} has no endpoint for {', '.join(map(repr, missing))} "
                            f"(named in --models); it defines: {', '.join(endpoints)}")
    return chosen


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) while collecting into it; a
    file created here and left empty by a failure is removed again."""
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CollectError(f"another collection is writing {path}") from None
        yield
    except BaseException:
        if created and path.exists() and path.stat().st_size == 0:
            path.unlink()
        raise
    finally:
        os.close(fd)


def collect(
    endpoints_path: str | os.PathLike[str],
    problems: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    models: str | Sequence[str] | None = None,
    options: CollectOptions | None = None,
    resume: bool = False,
    overwrite: bool = False,
    limit: int | None = None,
    task_ids: Sequence[str] | None = None,
    allow_mixed: bool = False,
    on_record: Callable[[CollectedRecord], None] | None = None,
    warn: Callable[[str], None] | None = None,
) -> CollectResult:
    """Collect ``models``' generations on ``problems`` into the generations file ``output``.

    ``problems`` is any :func:`planner.problems.load_problems` source (``limit`` and
    ``task_ids`` select); problems need no ground truth to be collected. With ``resume`` an
    existing file is continued: only generations it lacks are requested (its lines must
    come from the same endpoints and sampling, unless ``allow_mixed``). Raises a
    :class:`~planner.errors.CodecascadeError` (one line) for bad input before any request.
    """
    options = options or CollectOptions()
    warn = warn or (lambda message: print(f"warning: {message}", file=sys.stderr))
    endpoints = load_endpoints(endpoints_path)
    chosen = select_models(endpoints, models, str(endpoints_path))
    check_keys(endpoints, chosen, str(endpoints_path))
    for model in chosen:
        endpoints[model].price_generated  # noqa: B018  an unknown price is never $0
    todo = load_problems(problems, limit=limit, task_ids=task_ids)
    if check_output(output, what="generations file") is None or (
            Path(output).exists() and not Path(output).is_file()):
        raise CollectError(f"the generations file must be a regular file (it is read back "
                           f"by --resume and measure), not {os.fspath(output)!r}")
    output = Path(output)
    if resume and overwrite:
        raise CollectError("--resume and --overwrite exclude each other")
    if output.exists() and output.stat().st_size and not (resume or overwrite):
        raise CollectError(f"{output} exists; pass --resume to continue it or --overwrite to "
                           "start again")
    infos = {m: endpoint_info(endpoints[m], LINE_POSITIONS) for m in chosen}
    with _exclusive(output):
        existing = read_existing(output, warn) if resume else Existing()
        check_resumable(existing, infos, todo, output, allow_mixed=allow_mixed, warn=warn)
        batches = missing_batches(chosen, todo, options.want, existing)
        cap = CostCap(options.max_cost) if options.max_cost is not None else None
        collector = Collector(endpoints, infos, chosen, concurrency=options.concurrency,
                              cap=cap, preflight=options.preflight)
        planned = sum(b.need.total for b in batches)
        with CollectedWriter(output, append=resume) as writer:
            stats = _run_with_progress(collector, batches, writer, planned, on_record)
    return CollectResult(
        models=chosen, n_problems=len(todo), batches_planned=len(batches),
        complete_before=len(chosen) * len(todo) - len(batches),
        generations_planned=planned, stats=stats, file_cost=existing.cost + stats.cost,
        stop=cap.stop if cap is not None else None)


def _run_with_progress(collector: Collector, batches: list[Batch], writer: CollectedWriter,
                       planned: int,
                       on_record: Callable[[CollectedRecord], None] | None) -> CollectStats:
    """Run the batches, reporting each finished one (planner.progress): generations, and
    this command's spending so far in $ (the unit of --max-cost), failures if any."""
    totals = {"cost": 0.0, "failed": 0}
    with progress.task("collecting", total=planned, unit="gen") as step:
        def on_line(record: CollectedRecord) -> None:
            totals["cost"] += record.cost
            totals["failed"] += len(record.failures)
            text = f"spent ${totals['cost']:.4g}"
            if totals["failed"]:
                text += f", {totals['failed']} failed"
            step.note(text)
            step.advance(len(record.solutions) + len(record.tests))
            if on_record is not None:
                on_record(record)

        return asyncio.run(collector.run(batches, writer, on_line))
