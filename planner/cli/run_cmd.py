"""``codecascade run``: execute a cascade spec against OpenAI-compatible endpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..sandbox.modes import Clock
from . import app
from .options import NoProgressOpt, option_names
from .running import long_work

#: How ``run`` and ``serve`` spell the fields of their options' domain objects.
EXECUTION_NAMES = {"concurrency": "--concurrency", "sandbox_workers": "--sandbox-workers",
                   "test_timeout": "--test-timeout", "check_timeout": "--check-timeout",
                   "limit": "--limit"}


@app.command()
def run(
    spec: Annotated[Path, typer.Argument(
        metavar="SPEC", help="Cascade spec (JSON) from `codecascade plan`.")],
    endpoints: Annotated[Path, typer.Option(
        "--endpoints", "-e", metavar="FILE", help="TOML file: base URL, model, key variable, "
        "style, sampling and prices ($ per million tokens) of every spec model.")],
    problems: Annotated[str, typer.Option(
        "--problems", "-p", metavar="PROBLEMS", help="humaneval, mbpp, or a JSONL file with "
        "prompt, entry_point and optional test.")],
    output: Annotated[Path, typer.Option(
        "--output", "-o", metavar="FILE",
        help="Records file (JSONL), written one problem at a time.")],
    resume: Annotated[bool, typer.Option(
        "--resume", help="Skip problems already in the output.")] = False,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Start the output file afresh.")] = False,
    concurrency: Annotated[int, typer.Option(
        metavar="N", help="Problems in flight at once (>= 1).")] = 8,
    limit: Annotated[int | None, typer.Option(
        metavar="N", help="Only the first N problems (>= 1).")] = None,
    task_id: Annotated[list[str] | None, typer.Option(
        metavar="ID", help="Only these task ids (repeatable).")] = None,
    test_timeout: Annotated[float, typer.Option(
        metavar="SECONDS", help="Seconds (> 0) per (solution, test line) run.")] = 1.0,
    check_timeout: Annotated[float, typer.Option(
        metavar="SECONDS", help="Seconds (> 0) for the ground-truth check of an answer.")
    ] = 10.0,
    sandbox_workers: Annotated[int, typer.Option(
        metavar="N", help="Sandbox batches at once (0: one per CPU).")] = 0,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Sandbox: fork per (solution, test) pair instead of per solution.")
    ] = False,
    clock: Annotated[Clock, typer.Option(
        help="What the time limits count: wall time, or the process's CPU time (verdicts "
        "independent of the machine's load).")] = Clock.WALL,
    no_progress: NoProgressOpt = False,
) -> None:
    """Run a cascade spec on problems against live models and record every generation,
    verdict, decision, cost and latency. With ground truth, report the accuracy next to
    the spec's prediction. Every endpoint is checked before the first problem; problems an
    endpoint failure left unfinished are redone by --resume, and while any is left the exit
    status is 3. Ctrl-C keeps every finished problem (--resume continues)."""
    from ..run_prediction import predict_for_run
    from ..runtime.api import run_spec
    from ..runtime.runner import RunOptions
    from ..sandbox.grid import GridConfig
    from ..sandbox.modes import SandboxMode

    with option_names(EXECUTION_NAMES):
        options = RunOptions(concurrency=concurrency, sandbox_workers=sandbox_workers)
        execution = GridConfig(test_timeout=test_timeout, check_timeout=check_timeout,
                               mode=SandboxMode.STRICT if strict else SandboxMode.FAST,
                               clock=clock)
        try:
            with long_work(no_progress):
                result = run_spec(spec, endpoints, problems, output, resume=resume,
                                  overwrite=overwrite, limit=limit, task_ids=task_id,
                                  options=options, execution=execution,
                                  predict_run=predict_for_run)
        except KeyboardInterrupt:
            typer.echo(f"\ninterrupted: finished problems are in {output}; run again with "
                       "--resume to continue", err=True)
            # SystemExit, not typer.Exit: the CLI wrapper does not pass typer's exit codes on.
            raise SystemExit(130) from None
    typer.echo(format_result(result, output))
    if result.summary.n_unfinished:
        raise typer.Exit(UNFINISHED_EXIT)


#: Exit status of a run that ended with problems left unfinished by infrastructure failures.
UNFINISHED_EXIT = 3


def _prediction(p) -> str:
    return (f"accuracy {100 * p.accuracy:.1f}% [{100 * p.accuracy_ci[0]:.1f}, "
            f"{100 * p.accuracy_ci[1]:.1f}], cost ${p.cost:.6g} per problem "
            f"[{p.cost_ci[0]:.6g}, {p.cost_ci[1]:.6g}]")


def format_result(result, output: Path) -> str:
    """The run summary as a few aligned lines."""
    s = result.summary
    st = result.stats
    lines = [f"records: {output} ({s.n_problems} problems; {result.ran} run now, "
             f"{result.skipped} already recorded)"]
    if s.n_unfinished:
        causes = "; ".join(f"{n} x {cause}" for cause, n in s.unfinished_causes[:3])
        lines.append(f"unfinished: {s.n_unfinished} problem(s) an endpoint failure kept from "
                     f"finishing ({causes}); not counted below; run again with --resume to "
                     "redo them")
    if s.n_degraded:
        lines.append(f"degraded: {s.n_degraded} answer(s) came from an earlier stage because "
                     "a later stage failed")
    if s.accuracy is not None and s.accuracy_ci is not None:
        lo, hi = s.accuracy_ci
        lines.append(f"accuracy: {100 * s.accuracy:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}] "
                     f"({s.n_correct}/{s.n_with_truth}, Wilson 95%)")
    else:
        lines.append("accuracy: unknown (the problems carry no tests)")
    lo, hi = s.cost_ci
    lines.append(f"cost: ${s.cost:.6g} per problem [{lo:.6g}, {hi:.6g}] "
                 f"(billed incl. unkept test lines: ${s.billed_cost:.6g} per problem)")
    rp = result.run_prediction
    if rp is not None and rp.prediction is not None:
        which = (f"the {rp.n_run} problems run" if rp.exact else
                 f"the {rp.n_covered} of the {rp.n_run} problems run that are in its profile")
        lines.append(f"predicted for {which} (the spec's plan on its profile): "
                     f"{_prediction(rp.prediction)}")
    p = result.predicted
    if p is not None:
        other = "" if rp is None or rp.exact else (
            f"; other problems than the run's: {rp.why}" if rp.why else
            "; other problems than the run's")
        lines.append(f"spec predicted ({p.split}, {p.n_problems} problems{other}): "
                     f"{_prediction(p)}")
        if result.spec_edited:
            lines.append("note: the spec's stages were edited after planning (k, t, l, θ, a "
                         "model or the order changed): its prediction is for the plan as "
                         "planned, not for these stages")
    reach = ", ".join(f"{r}/{a}" for r, a in zip(s.stage_reached, s.stage_answered,
                                                   strict=True))
    lines.append(f"stages reached/answered: {reach}; generation errors: {s.generation_errors}")
    lines.extend(f"note: {note}" for note in result.price_notes)
    for model, note in sorted(st.n_notes.items()):
        lines.append(f"note: {model}'s endpoint {note}: it was asked one sample per request")
    if result.ran:
        rate = 60 * st.problems / st.wall_s if st.wall_s > 0 else 0.0
        lines.append(f"this run: {st.wall_s:.1f} s, {rate:.1f} problems/min, "
                     f"{st.requests} requests, {st.retries} retries; time in generation "
                     f"{st.generation_s:.1f} s, sandbox {st.sandbox_s:.1f} s "
                     f"(+{st.sandbox_queue_s:.1f} s queued)")
    return "\n".join(lines)
