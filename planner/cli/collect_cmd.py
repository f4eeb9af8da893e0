"""``codecascade collect``: ask your own endpoints for the generations a profile needs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import app


@app.command()
def collect(
    endpoints: Annotated[Path, typer.Option(
        "--endpoints", "-e", help="TOML file: base URL, served model, key variable, style, "
        "sampling and prices of every model (the file `codecascade run` reads).")],
    problems: Annotated[str, typer.Option(
        "--problems", "-p", help="humaneval, mbpp, or a JSON/JSONL file with task_id, prompt "
        "and entry_point (tests are not needed to collect).")],
    output: Annotated[Path, typer.Option(
        "--output", "-o", help="Generations file (JSONL), one line per (model, problem) "
        "written as it finishes.")],
    models: Annotated[str | None, typer.Option(
        help="Comma-separated models of the endpoints file, in cascade order (default: "
        "all, in file order).")] = None,
    samples: Annotated[int, typer.Option(
        min=0, help="Sampled solutions per model and problem (plus the greedy one).")] = 10,
    test_generations: Annotated[int, typer.Option(
        min=0, help="Sampled test generations per model and problem (plus the greedy "
        "one).")] = 10,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N problems.")] = None,
    task_id: Annotated[list[str] | None, typer.Option(
        help="Only these task ids (repeatable).")] = None,
    concurrency: Annotated[int, typer.Option(
        min=1, help="(model, problem) batches in flight at once.")] = 8,
    resume: Annotated[bool, typer.Option(
        help="Continue the output: request only the generations it lacks.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Start the output file afresh.")] = False,
    allow_mixed: Annotated[bool, typer.Option(
        "--allow-mixed", help="With --resume: add to a file whose models were collected from "
        "other endpoints or with other sampling settings, instead of refusing.")] = False,
    max_cost: Annotated[float | None, typer.Option(
        help="Stop before this command's spending ($, reported usage × the endpoints' "
        "prices) could pass DOLLARS.", metavar="DOLLARS")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Collect every model's greedy and sampled solutions and test generations on the
    problems, for `codecascade measure --records`. Killed, it keeps every finished
    (model, problem); run it again with --resume to request only what is missing."""
    from ..collect import CollectOptions, Want
    from ..collect import collect as collect_generations

    options = CollectOptions(want=Want(samples=samples, tests=test_generations),
                             concurrency=concurrency, max_cost=max_cost, progress=progress)
    try:
        result = collect_generations(
            endpoints, problems, output, models=models.split(",") if models else None,
            options=options, resume=resume, overwrite=overwrite, limit=limit,
            task_ids=task_id, allow_mixed=allow_mixed)
    except KeyboardInterrupt:
        typer.echo(f"interrupted: finished (model, problem) batches are in {output}; run "
                   "again with --resume to collect the rest", err=True)
        # SystemExit, not typer.Exit: the CLI wrapper does not pass typer's exit codes on.
        raise SystemExit(130) from None
    typer.echo(format_result(result, output))
    if result.stop is not None:
        typer.echo(result.stop.message(), err=True)


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
    return "\n".join(lines)
