"""``codecascade plan`` (also the ``plan`` console script), ``frontier`` and ``compare``:
search the cheapest/most accurate cascade for a budget, show the Pareto front, and compare
the search methods."""

from __future__ import annotations

import json
import math
from typing import Annotated

import typer

from ..errors import CodecascadeError
from . import app


class PlanUsageError(CodecascadeError, ValueError):
    """A planning command was called with a bad value; one line."""


ProfileOpt = Annotated[str | None, typer.Option(
    "--profile", help="Profile file or bundled name (default: the bundled default profile).")]
GridOpt = Annotated[str, typer.Option(
    help="Option grid: default (per-stage θ, t independent of k), paper (the seed paper's: "
         "one θ for all stages, t = k, l in {2, 4}) or generalised (all scoring rules).")]
SplitOpt = Annotated[str, typer.Option(
    help="Plan on the validation part of this split and predict on its test part: "
         "paper-seed<S> (30 % / 70 %), kfold<K>-seed<S>-fold<I>, or all (no held-out part).")]
SeedOpt = Annotated[int, typer.Option(help="Seed of the estimator, search and bootstrap.")]
ReplicatesOpt = Annotated[int, typer.Option(help="Monte Carlo replicates of the estimator.")]
ModelsOpt = Annotated[str | None, typer.Option(
    "--models", help="Comma-separated models to use (default: all, in profile order).")]
PriceOpt = Annotated[list[str] | None, typer.Option(
    "--price", help="Override a price: MODEL=DOLLARS_PER_1K_GENERATED_TOKENS (repeatable).")]
TimeLimitOpt = Annotated[float | None, typer.Option(
    "--time-limit", help="Integer program: seconds before returning its best plan and gap.")]
IlpSolverOpt = Annotated[str, typer.Option(
    "--ilp-solver", help="Integer program's solver: auto (HiGHS, installed with the "
    "package), highs, or cbc (PuLP's bundled CBC).")]
OverwriteOpt = Annotated[bool, typer.Option(
    "--overwrite", help="Replace an existing output file.")]
ShareTestsOpt = Annotated[bool, typer.Option(
    "--share-tests", help="Also search test sharing (a later stage runs its solutions on "
    "the earlier stages' test lines): the exact plans are refined by simulation, and a "
    "sharing plan's numbers come from simulation with their Monte Carlo SE.")]


def parse_amount(text: str | None, what: str, *, upper: float | None = None) -> float | None:
    """A non-negative number from the command line, or a one-line error naming ``what``."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise PlanUsageError(f"{what} must be a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise PlanUsageError(f"{what} must be a non-negative number, got {text!r}")
    if upper is not None and value > upper:
        raise PlanUsageError(f"{what} must be at most {upper:g}, got {text!r}")
    return value


def _objective(budget: str | None, target_accuracy: str | None):
    from ..search import Objective

    b = parse_amount(budget, "--budget ($ per problem)")
    t = parse_amount(target_accuracy, "--target-accuracy (fraction)", upper=1.0)
    if (b is None) == (t is None):
        raise PlanUsageError("give exactly one of --budget or --target-accuracy")
    return Objective(budget=b, target_accuracy=t)


def _context(profile, grid, split, seed, replicates, models, price):
    from ..search.api import parse_prices, planning_context

    if replicates < 1:
        raise PlanUsageError(f"--replicates must be >= 1, got {replicates}")
    names = [m.strip() for m in models.split(",") if m.strip()] if models else None
    return planning_context(profile, grid=grid, split=split, seed=seed, replicates=replicates,
                            models=names, prices=parse_prices(price or []))


@app.command()
def plan(
    budget: Annotated[str | None, typer.Option(
        help="Expected cost limit, $ per problem (e.g. 0.01).")] = None,
    target_accuracy: Annotated[str | None, typer.Option(
        "--target-accuracy", help="Instead of a budget: the cheapest plan reaching this "
        "expected accuracy (fraction, e.g. 0.8).")] = None,
    method: Annotated[str, typer.Option(
        help="Search method: exact (optimal, default), ilp (integer program), heuristic "
             "(milliseconds) or optuna (TPE baseline).")] = "exact",
    profile: ProfileOpt = None,
    grid: GridOpt = "default",
    split: SplitOpt = "paper-seed3",
    seed: SeedOpt = 0,
    replicates: ReplicatesOpt = 64,
    models: ModelsOpt = None,
    price: PriceOpt = None,
    time_limit: TimeLimitOpt = None,
    ilp_solver: IlpSolverOpt = "auto",
    share_tests: ShareTestsOpt = False,
    output: Annotated[str | None, typer.Option(
        "-o", "--output", help="Write the spec to this file (atomically; - for stdout).")
    ] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Find the most accurate cascade whose expected cost fits the budget, and print its
    JSON cascade spec (stages, predictions with intervals, search status, provenance)."""
    from ..output import check_output
    from ..search.api import refine_result, run_search, spec_from_result, spec_from_shared
    from ..spec import save_spec

    if output is not None:
        check_output(output, overwrite=overwrite, what="spec")
    objective = _objective(budget, target_accuracy)
    _check_method(method)
    _check_time_limit(time_limit)
    _check_ilp_solver(ilp_solver)
    context = _context(profile, grid, split, seed, replicates, models, price)
    result = run_search(context, objective, method, time_limit=time_limit,
                        ilp_solver=ilp_solver)
    if share_tests:
        spec = spec_from_shared(context, refine_result(context, result, objective), objective)
    else:
        spec = spec_from_result(context, result, objective)
    if output is not None:
        save_spec(spec, output)
        typer.echo(f"wrote {output}: {spec.plan.label()}", err=True)
    else:
        typer.echo(spec.dumps(), nl=False)


def _check_method(method: str) -> None:
    from ..search import METHODS

    if method not in METHODS:
        raise PlanUsageError(f"unknown method {method!r}; known: {', '.join(METHODS)}")


def _check_time_limit(time_limit: float | None) -> None:
    if time_limit is not None and not (math.isfinite(time_limit) and time_limit > 0):
        raise PlanUsageError(f"--time-limit must be a positive number, got {time_limit}")


def _check_ilp_solver(solver: str) -> None:
    from ..search.ilp import SOLVERS

    if solver not in SOLVERS:
        raise PlanUsageError(f"unknown --ilp-solver {solver!r}; choose one of "
                             f"{', '.join(SOLVERS)}")


@app.command()
def frontier(
    profile: ProfileOpt = None,
    grid: GridOpt = "default",
    split: SplitOpt = "paper-seed3",
    seed: SeedOpt = 0,
    replicates: ReplicatesOpt = 64,
    models: ModelsOpt = None,
    price: PriceOpt = None,
    budget: Annotated[str | None, typer.Option(
        help="Mark the plan chosen for this budget ($ per problem).")] = None,
    plot: Annotated[str | None, typer.Option(
        help="Also draw the fronts into this file (.png, .svg or .pdf).")] = None,
    overwrite: OverwriteOpt = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")
                       ] = False,
    share_tests: ShareTestsOpt = False,
) -> None:
    """The exact cost–accuracy Pareto front of all cascades (planning part, with each
    plan's held-out accuracy and cost), the best single-model front beside it, and a PNG."""
    from ..output import check_output
    from ..report import PLOT_FORMATS, format_table, frontier_plot, pct, per_1k
    from ..search import Objective
    from ..search.api import (
        FrontPoint,
        front_points,
        pareto_front,
        refine_result,
        run_search,
        single_model_front,
    )

    chosen_budget = parse_amount(budget, "--budget ($ per problem)")
    if plot is not None:
        check_output(plot, overwrite=overwrite, suffixes=PLOT_FORMATS, what="plot")
    context = _context(profile, grid, split, seed, replicates, models, price)
    front = pareto_front(context, share_tests=share_tests)
    single = single_model_front(context)
    chosen = None
    if chosen_budget is not None:
        objective = Objective(budget=chosen_budget)
        result = run_search(context, objective, "exact")
        chosen = front_points(context, [result.stages])[0]
        if share_tests:
            best = refine_result(context, result, objective).refinement.best
            if best.plan != chosen.plan:
                planning, heldout = context.predict_plan(best.plan)
                chosen = FrontPoint((), best.plan.label(), planning.accuracy, planning.cost,
                                    None if heldout is None else heldout.accuracy,
                                    None if heldout is None else heldout.cost,
                                    simulated=True, plan=best.plan)
    title = (f"{context.profile_label} · grid {context.grid.name}"
             f"{' + test sharing' if share_tests else ''} · planned on "
             f"{context.split_name} ({context.planning.n_problems} problems)")
    if plot is not None:
        frontier_plot(
            plot, [(p.cost, p.accuracy) for p in front], [(p.cost, p.accuracy) for p in single],
            cascade_heldout=[(p.heldout_cost, p.heldout_accuracy) for p in front
                             if p.heldout_cost is not None],
            single_heldout=[(p.heldout_cost, p.heldout_accuracy) for p in single
                            if p.heldout_cost is not None],
            chosen=None if chosen is None else (chosen.cost, chosen.accuracy),
            chosen_label="" if chosen is None else chosen.label, budget=chosen_budget,
            title=title,
        )
    if as_json:
        typer.echo(json.dumps({
            "profile": context.profile_label, "grid": context.grid.name,
            "share_tests": share_tests,
            "split": context.split_name, "budget": chosen_budget,
            "chosen": None if chosen is None else chosen.to_json(),
            "cascade_front": [p.to_json() for p in front],
            "single_model_front": [p.to_json() for p in single],
            "plot": None if plot is None else str(plot),
        }, indent=1))
        return
    headers = ["", "acc %", "$/1k", "held-out acc %", "held-out $/1k", "plan"]
    marked = None if chosen is None else chosen.label
    rows = [["*" if p.label == marked else "", pct(p.accuracy), per_1k(p.cost),
             pct(p.heldout_accuracy), per_1k(p.heldout_cost), p.label] for p in front]
    typer.echo(f"cascade front: {len(front)} plans ({title})")
    typer.echo(format_table(headers, rows))
    typer.echo("")
    typer.echo(f"best single-model front: {len(single)} plans")
    typer.echo(format_table(headers, [["", pct(p.accuracy), per_1k(p.cost),
                                       pct(p.heldout_accuracy), per_1k(p.heldout_cost),
                                       p.label] for p in single]))
    if plot is not None:
        typer.echo(f"\nplot written to {plot}")


@app.command()
def compare(
    budget: Annotated[str | None, typer.Option(
        help="Expected cost limit, $ per problem.")] = None,
    target_accuracy: Annotated[str | None, typer.Option(
        "--target-accuracy", help="Instead of a budget: accuracy to reach at least cost.")
    ] = None,
    methods: Annotated[str, typer.Option(
        help="Comma-separated methods to compare.")] = "exact,ilp,heuristic,optuna",
    profile: ProfileOpt = None,
    grid: GridOpt = "default",
    split: SplitOpt = "paper-seed3",
    seed: SeedOpt = 0,
    replicates: ReplicatesOpt = 64,
    models: ModelsOpt = None,
    price: PriceOpt = None,
    time_limit: TimeLimitOpt = 60.0,
    ilp_solver: IlpSolverOpt = "auto",
    share_tests: ShareTestsOpt = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")
                       ] = False,
) -> None:
    """One table of every method's plan, accuracy, cost, gap to the exact optimum and time
    (the same planning problems for all; held-out numbers beside). With --share-tests each
    plan is first refined by test sharing, as `plan --share-tests` does."""
    from ..report import format_table, pct, per_1k
    from ..search.api import compare_methods

    objective = _objective(budget, target_accuracy)
    names = [m.strip() for m in methods.split(",") if m.strip()]
    if not names:
        raise PlanUsageError("--methods names no method")
    for name in names:
        _check_method(name)
    _check_time_limit(time_limit)
    _check_ilp_solver(ilp_solver)
    context = _context(profile, grid, split, seed, replicates, models, price)
    rows = compare_methods(context, objective, names, time_limit=time_limit,
                           share_tests=share_tests, ilp_solver=ilp_solver)
    if as_json:
        typer.echo(json.dumps({
            "profile": context.profile_label, "grid": context.grid.name,
            "split": context.split_name, "budget": objective.budget,
            "target_accuracy": objective.target_accuracy, "share_tests": share_tests,
            "methods": [r.to_json() for r in rows]}, indent=1))
        return
    gap_name = "gap pp" if objective.is_budget else "gap cost %"
    headers = ["method", "acc %", "$/1k", gap_name, "held-out acc %", "held-out $/1k",
               "status", "seconds", "plan"]
    table = []
    for r in rows:
        if r.result is None:
            table.append([r.method, None, None, None, None, None, "failed", None, r.error])
            continue
        table.append([r.method, pct(r.accuracy), per_1k(r.cost),
                      None if r.gap_pp is None else round(r.gap_pp, 3),
                      pct(r.heldout_accuracy), per_1k(r.heldout_cost), r.status,
                      None if r.seconds is None else round(r.seconds, 3), r.label])
    what = (f"budget ${objective.budget:g} per problem" if objective.is_budget
            else f"target accuracy {objective.target_accuracy:g}")
    typer.echo(f"{what}; planned on {context.split_name} "
               f"({context.planning.n_problems} problems), grid {context.grid.name}"
               f"{' + test sharing' if share_tests else ''}")
    typer.echo(format_table(headers, table))
