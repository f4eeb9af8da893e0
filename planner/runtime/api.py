"""``run_spec``: the importable form of ``codecascade run``.

Loads the spec, endpoints and problems, checks everything before the first request (every
spec model has an endpoint, every API key variable is set, the records file is new or is
being resumed with the same spec, every endpoint passes its pre-flight check), then runs
the cascade with a progress bar showing the running cost and accuracy, and summarises the
whole records file next to the spec's prediction. ``--resume`` skips the problems whose
last record is finished and asks the unfinished ones again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import progress
from ..errors import CodecascadeError
from ..output import check_output, is_stream
from ..problems import load_problems
from ..records import RecordWriter, finished_task_ids, read_records
from ..sandbox import SandboxBrokenError
from ..sandbox.grid import Executor, GridConfig, SandboxExecutor
from ..spec import CascadeSpec
from ..units import money
from .endpoints import check_covers, check_keys, load_endpoints
from .failures import EndpointDown
from .pricing import priced_endpoints
from .runner import CascadeRunner, RunOptions, RunStats
from .summary import RunSummary, summarize


class RunError(CodecascadeError, ValueError):
    """A run cannot start as asked (output file, resume mismatch, ...); one line."""


@dataclass(frozen=True)
class RunResult:
    """What a run did: problems run now and skipped as already recorded, timing, the
    summary of the whole records file, the spec's own prediction (if it has one: for the
    problems it was planned or checked on), the spec's plan estimated on the finished
    problems of the records file (``run_prediction``), the notes on prices taken from
    the spec, and whether the spec's stages were edited after planning (its own prediction
    is then for other stages)."""

    ran: int
    skipped: int
    stats: RunStats
    summary: RunSummary
    predicted: object | None
    price_notes: tuple[str, ...] = ()
    run_prediction: object | None = None
    spec_edited: bool = False


def spec_hash(path: str | os.PathLike[str]) -> str:
    """sha256 of what a spec asks a run to do: its stages (models and options) and the
    prices it planned with (canonical JSON), not the file's bytes: a re-planned spec with
    the same plan and prices (another search time or creation date) has the same hash, so
    ``--resume`` and ``serve`` accept its records. SpecError when the file is unusable."""
    from ..spec import load_spec

    spec = load_spec(path)
    obj = spec.to_json()
    prov = spec.provenance
    what = {"stages": obj["stages"], "prices_per_1m": prov.prices_per_1m,
            "prompt_prices_per_1m": prov.prompt_prices_per_1m}
    text = json.dumps(what, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def file_hash(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's bytes (how records written before :func:`spec_hash` hashed the
    spec; ``--resume`` accepts either)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def run_spec(
    spec_path: str | os.PathLike[str],
    endpoints_path: str | os.PathLike[str],
    problems: str,
    output: str | os.PathLike[str],
    *,
    resume: bool = False,
    overwrite: bool = False,
    limit: int | None = None,
    task_ids: Sequence[str] | None = None,
    options: RunOptions | None = None,
    execution: GridConfig | None = None,
    executor: Executor | None = None,
    predict_run: Callable[[CascadeSpec, Sequence[str]], object] | None = None,
) -> RunResult:
    """Run the spec's cascade on the problems and append records to ``output``.

    ``execution`` holds the sandbox settings (limits per test line and per ground-truth
    check, mode, clock; default :class:`~planner.sandbox.GridConfig`); ``executor`` replaces
    the sandbox (a stand-in for tests), in which case ``execution`` is its own;
    ``predict_run(spec, finished task ids)`` gives ``RunResult.run_prediction`` (the command
    line passes :func:`planner.run_prediction.predict_for_run`: the spec's plan estimated on
    exactly the problems run; None leaves it out)."""
    from ..spec import load_spec

    options = options or RunOptions()
    spec = load_spec(spec_path)
    plan = spec.plan
    digest = spec_hash(spec_path)
    endpoints = load_endpoints(endpoints_path)
    check_covers(endpoints, plan.models)
    check_keys(endpoints, plan.models, str(endpoints_path))
    endpoints, price_notes = priced_endpoints(endpoints, spec)
    todo = load_problems(problems, limit=limit, task_ids=task_ids)
    output = Path(output)
    if not output.parent.is_dir():
        raise RunError(f"output folder {output.parent} does not exist")
    check_output(output, what="records file")
    if is_stream(output):
        raise RunError(f"the records file must be a regular file (run reads it back for its "
                       f"summary and --resume), not {os.fspath(output)!r}")
    if output.exists() and output.stat().st_size and not (resume or overwrite):
        raise RunError(f"{output} exists; pass --resume to continue it or --overwrite to "
                       "start again")
    if resume and overwrite:
        raise RunError("--resume and --overwrite exclude each other")
    done: set[str] = set()
    if resume and output.exists():
        accepted = {digest, file_hash(spec_path)}
        for record in read_records(output):
            if record.spec_hash not in accepted:
                raise RunError(f"{output} holds records of another spec (task "
                               f"{record.task_id}); resume needs a spec with the same stages "
                               "and prices")
        done = finished_task_ids(output)
    remaining = [p for p in todo if p.task_id not in done]
    if executor is None:
        # Each call runs one problem's batch; RunOptions.sandbox_workers of them run at once.
        executor = SandboxExecutor(execution or GridConfig(), workers=1)
    runner = CascadeRunner(plan, endpoints, executor,
                           spec_hash=digest, options=options)
    stats = asyncio.run(_run(runner, remaining, output, resume, options))
    predicted = spec.heldout or spec.planning
    summary = summarize(output, len(plan.stages))
    return RunResult(ran=len(remaining), skipped=len(todo) - len(remaining), stats=stats,
                     summary=summary, predicted=predicted, price_notes=price_notes,
                     spec_edited=spec.edited,
                     run_prediction=(None if predict_run is None
                                     else predict_run(spec, summary.task_ids)))


async def _run(runner: CascadeRunner, problems: list, output: Path, append: bool,
               options: RunOptions) -> RunStats:
    """The pre-flight check, then (only then: a failed check writes nothing) the run."""
    if problems and options.preflight:
        await runner.start()
        try:
            await runner.preflight()
        except BaseException:
            await runner.close()
            raise
    created = not output.exists()
    with RecordWriter(output, append=append) as writer:
        try:
            return await _run_with_progress(runner, problems, writer)
        except (EndpointDown, SandboxBrokenError) as exc:
            where = f"recorded in {output}: fix the cause and run again with --resume"
            if created and output.stat().st_size == 0:
                output.unlink()  # a file made by this run and left empty: never leave it
                where = f"nothing written to {output}: fix the cause and run again"
            raise RunError(f"{exc}; the run stopped after {runner.stats.problems} problem(s), "
                           f"{where}") from None


async def _run_with_progress(runner: CascadeRunner, problems: list,
                             writer: RecordWriter) -> RunStats:
    """Run the problems, reporting each finished one (planner.progress): the mean cost per
    problem so far, as the summary gives it, the accuracy where checked, and the problems
    left unfinished by an endpoint failure."""
    totals = {"cost": 0.0, "checked": 0, "correct": 0, "n": 0, "unfinished": 0}
    with progress.task("run", total=len(problems), unit="problem") as step:
        def on_record(record) -> None:
            totals["n"] += 1
            totals["cost"] += record.cost
            if record.correct is not None and record.finished:
                totals["checked"] += 1
                totals["correct"] += int(record.correct)
            totals["unfinished"] += not record.finished
            text = money(totals["cost"] / totals["n"], 4)
            if totals["checked"]:
                text += f", acc {100 * totals['correct'] / totals['checked']:.1f} %"
            if totals["unfinished"]:
                text += f", {totals['unfinished']} unfinished"
            step.note(text)
            step.advance()

        return await runner.run(problems, writer, on_record)
