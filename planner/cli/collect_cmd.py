"""``codecascade collect``: ask your own endpoints for the generations a profile needs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import app
from .options import NoProgressOpt, option_names
from .run_cmd import UNFINISHED_EXIT
from .running import long_work

#: How ``collect`` spells the fields of its options' domain objects.
COLLECT_NAMES = {"samples": "--samples", "tests": "--test-generations",
                 "concurrency": "--concurrency", "max_cost": "--max-cost", "limit": "--limit",
                 "models": "--models"}


@app.command()
def collect(
    endpoints: Annotated[Path, typer.Option(
        "--endpoints", "-e", metavar="FILE", help="TOML file: base URL, served model, key "
        "variable, style, sampling and prices ($ per million tokens) of every model (the "
        "file `codecascade run` reads).")],
    problems: Annotated[str, typer.Option(
        "--problems", "-p", metavar="PROBLEMS", help="humaneval, mbpp, or a JSON/JSONL file "
        "with task_id, prompt and entry_point (tests are not needed to collect).")],
    output: Annotated[Path, typer.Option(
        "--output", "-o", metavar="FILE", help="Generations file (JSONL), one line per "
        "(model, problem) written as it finishes.")],
    models: Annotated[str | None, typer.Option(
        metavar="A,B,...", help="Comma-separated models of the endpoints file, in cascade "
        "order (default: all, in file order).")] = None,
    samples: Annotated[int, typer.Option(
        metavar="N", help="Sampled solutions (>= 0) per model and problem (plus the greedy "
        "one).")] = 10,
    test_generations: Annotated[int, typer.Option(
        metavar="N", help="Sampled test generations (>= 0) per model and problem (plus the "
        "greedy one).")] = 10,
    limit: Annotated[int | None, typer.Option(
        metavar="N", help="Only the first N problems (>= 1).")] = None,
    task_id: Annotated[list[str] | None, typer.Option(
        metavar="ID", help="Only these task ids (repeatable).")] = None,
    concurrency: Annotated[int, typer.Option(
        metavar="N", help="(model, problem) batches in flight at once (>= 1).")] = 8,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue the output: request only the generations it lacks.")
    ] = False,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Start the output file afresh.")] = False,
    allow_mixed: Annotated[bool, typer.Option(
        "--allow-mixed", help="With --resume: add to a file whose models were collected from "
        "other endpoints or with other sampling settings, instead of refusing.")] = False,
    max_cost: Annotated[float | None, typer.Option(
        metavar="DOLLARS", help="Stop before this command's whole spending ($: reported "
        "usage × the endpoints' prices) could pass DOLLARS.")] = None,
    no_progress: NoProgressOpt = False,
) -> None:
    """Collect every model's greedy and sampled solutions and test generations on the
    problems, for `codecascade measure --records`. Every endpoint is checked before the
    first request. Killed, it keeps every finished (model, problem); run it again with
    --resume to request only what is missing (exit status 3 while generations failed)."""
    from ..collect import CollectOptions, Want
    from ..collect import collect as collect_generations

    with option_names(COLLECT_NAMES):
        options = CollectOptions(want=Want(samples=samples, tests=test_generations),
                                 concurrency=concurrency, max_cost=max_cost)
        try:
            with long_work(no_progress):
                result = collect_generations(
                    endpoints, problems, output, models=models, options=options,
                    resume=resume, overwrite=overwrite, limit=limit, task_ids=task_id,
                    allow_mixed=allow_mixed)
        except KeyboardInterrupt:
            typer.echo(f"\ninterrupted: finished (model, problem) batches are in {output}; "
                       "run again with --resume to collect the rest", err=True)
            # SystemExit, not typer.Exit: the CLI wrapper does not pass typer's exit codes on.
            raise SystemExit(130) from None
    typer.echo(format_result(result, output))
    if result.stop is not None:
        typer.echo(result.stop.message(), err=True)
    if result.stats.failures:
        # as run: generations an endpoint failure kept back are not done (--resume asks
        # again), so a script does not take the file for complete
        raise typer.Exit(UNFINISHED_EXIT)


def format_result(result, output: Path) -> str:
    """The collection summary as a few lines."""
    s = result.stats
    lines = [f"generations: {output} ({len(result.models)} models x {result.n_problems} "
             f"problems; {s.batches} batches collected now, {result.complete_before} "
             "already complete)"]
    if result.batches_planned > s.batches:
        left = result.batches_planned - s.batches
        lines.append(f"not collected: {left} batches (run again with --resume)")
    rate = s.generations / s.wall_s if s.wall_s > 0 else 0.0
    lines.append(f"this run: {s.generations} generations ({rate:.2f}/s), {s.requests} "
                 f"requests, {s.retries} retries, {s.wall_s:.1f} s")
    if s.failures:
        lines.append(f"failed: {s.failures} generations did not come back (endpoint errors, "
                     "not counted as the model's); run again with --resume to ask again")
    lines.append(f"cost: ${s.cost:.6g} now, ${result.file_cost:.6g} in the file "
                 "(reported usage x the endpoints' prices)")
    for model, note in sorted(s.n_notes.items()):
        lines.append(f"note: {model}'s endpoint {note}: it was asked one sample per request")
    return "\n".join(lines)
