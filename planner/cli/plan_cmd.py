"""``codecascade plan`` (also the ``plan`` console script), ``frontier`` and ``compare``:
each parses its options into one :class:`~planner.planning.PlanRequest`, calls the planning
API (:func:`~planner.planning.plan`, :func:`~planner.planning.frontier`,
:func:`~planner.planning.compare_methods`) and prints."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from ..errors import CodecascadeError, FieldError
from ..vocabulary import GridName, IlpSolver, MethodName
from . import app


class PlanUsageError(CodecascadeError, ValueError):
    """A planning command was called with a bad value; one line."""


#: How these commands spell the fields of a request and of the methods' options.
OPTION_NAMES = {
    "profile": "--profile", "budget": "--budget", "target_accuracy": "--target-accuracy",
    "method": "--method", "grid": "--grid", "split": "--split", "seed": "--seed",
    "replicates": "--replicates", "models": "--models", "prices": "--price",
    "share_tests": "--share-tests", "time_limit": "--time-limit", "solver": "--ilp-solver",
}


@contextmanager
def _option_names(names: Mapping[str, str] = OPTION_NAMES) -> Iterator[None]:
    """Re-spell a request's field errors with the command line's option names."""
    try:
        yield
    except FieldError as exc:
        raise PlanUsageError(exc.named(names)) from None


ProfileOpt = Annotated[str | None, typer.Option(
    "--profile", help="Profile file or bundled name (default: the bundled default profile).")]
GridOpt = Annotated[GridName, typer.Option(
    help="Option grid: default (per-stage θ, t independent of k), paper (the seed paper's: "
         "one θ for all stages, t = k, l in {2, 4}) or generalised (all scoring rules).")]
SplitOpt = Annotated[str, typer.Option(
    help="Plan on the validation part of this split and predict on its test part: "
         "paper-seed<S> (30 % / 70 %), kfold<K>-seed<S>-fold<I>, or all (no held-out part).")]
SeedOpt = Annotated[int, typer.Option(min=0, help="Seed of the estimator, search and "
                                                  "bootstrap.")]
ReplicatesOpt = Annotated[int, typer.Option(
    min=1, help="Monte Carlo replicates of the estimator (bounded by the memory they need).")]
ModelsOpt = Annotated[str | None, typer.Option(
    "--models", help="Comma-separated models to use (default: all, in profile order).")]
PriceOpt = Annotated[list[str] | None, typer.Option(
    "--price", help="Override a price: MODEL=DOLLARS_PER_1K_GENERATED_TOKENS (repeatable).")]
TimeLimitOpt = Annotated[float | None, typer.Option(
    "--time-limit", help="Integer program: seconds (> 0) before returning its best plan "
    "and gap.")]
IlpSolverOpt = Annotated[IlpSolver, typer.Option(
    "--ilp-solver", help="Integer program's solver: auto (HiGHS, installed with the "
    "package), highs, or cbc (PuLP's bundled CBC).")]
OverwriteOpt = Annotated[bool, typer.Option(
    "--overwrite", help="Replace an existing output file.")]
ShareTestsOpt = Annotated[bool, typer.Option(
    "--share-tests", help="Also search test sharing (a later stage runs its solutions on "
    "the earlier stages' test lines): the exact plans are refined by simulation, and a "
    "sharing plan's numbers come from simulation with their Monte Carlo SE.")]


def _ilp_options(time_limit: float | None, solver: IlpSolver) -> dict[str, dict[str, Any]]:
    """The integer program's options as the command line gives them."""
    options: dict[str, Any] = {"solver": solver}
    if time_limit is not None:
        options["time_limit"] = time_limit
    return {MethodName.ILP: options}


def _request(profile, grid, split, seed, replicates, models, price, share_tests, **fields):
    """The request of a planning command (call inside :func:`_option_names`)."""
    from ..planning import PlanRequest, parse_prices

    return PlanRequest(profile=profile, grid=grid, split=split, seed=seed,
                       replicates=replicates, models=models, prices=parse_prices(price or []),
                       share_tests=share_tests, **fields)


@app.command()
def plan(
    budget: Annotated[float | None, typer.Option(
        min=0.0, help="Expected cost limit, $ per problem (e.g. 0.01).")] = None,
    target_accuracy: Annotated[float | None, typer.Option(
        "--target-accuracy", min=0.0, max=1.0, help="Instead of a budget: the cheapest plan "
        "reaching this expected accuracy (fraction, e.g. 0.8).")] = None,
    method: Annotated[MethodName, typer.Option(
        help="Search method: exact (optimal, default), ilp (integer program), heuristic "
             "(milliseconds) or optuna (TPE baseline).")] = MethodName.EXACT,
    profile: ProfileOpt = None,
    grid: GridOpt = GridName.DEFAULT,
    split: SplitOpt = "paper-seed3",
    seed: SeedOpt = 0,
    replicates: ReplicatesOpt = 64,
    models: ModelsOpt = None,
    price: PriceOpt = None,
    time_limit: TimeLimitOpt = None,
    ilp_solver: IlpSolverOpt = IlpSolver.AUTO,
    share_tests: ShareTestsOpt = False,
    output: Annotated[str | None, typer.Option(
        "-o", "--output", help="Write the spec to this file (atomically; - for stdout).")
    ] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Find the most accurate cascade whose expected cost fits the budget, and print its
    JSON cascade spec (stages, predictions with intervals, search status, provenance)."""
    from ..output import check_output
    from ..planning import plan as plan_of
    from ..spec import save_spec

    if output is not None:
        check_output(output, overwrite=overwrite, what="spec")
    with _option_names():
        request = _request(profile, grid, split, seed, replicates, models, price, share_tests,
                           budget=budget, target_accuracy=target_accuracy, method=method,
                           method_options=_ilp_options(time_limit, ilp_solver))
        spec = plan_of(request)
    if output is not None:
        save_spec(spec, output)
        typer.echo(f"wrote {output}: {spec.plan.label()}", err=True)
    else:
        typer.echo(spec.dumps(), nl=False)


@app.command()
def frontier(
    profile: ProfileOpt = None,
    grid: GridOpt = GridName.DEFAULT,
    split: SplitOpt = "paper-seed3",
    seed: SeedOpt = 0,
    replicates: ReplicatesOpt = 64,
    models: ModelsOpt = None,
    price: PriceOpt = None,
    budget: Annotated[float | None, typer.Option(
        min=0.0, help="Mark the plan chosen for this budget ($ per problem).")] = None,
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
    from ..planning import frontier as frontier_of
    from ..report import PLOT_FORMATS, format_table, frontier_plot, pct, per_1k

    with _option_names():
        request = _request(profile, grid, split, seed, replicates, models, price, share_tests,
                           budget=budget)
    if plot is not None:
        check_output(plot, overwrite=overwrite, suffixes=PLOT_FORMATS, what="plot")
    with _option_names():
        fronts = frontier_of(request)
    context, front, single, chosen = (fronts.context, fronts.cascade, fronts.single,
                                      fronts.chosen)
    chosen_budget = request.budget
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
    budget: Annotated[float | None, typer.Option(
        min=0.0, help="Expected cost limit, $ per problem.")] = None,
    target_accuracy: Annotated[float | None, typer.Option(
        "--target-accuracy", min=0.0, max=1.0, help="Instead of a budget: accuracy to reach "
        "at least cost.")] = None,
    methods: Annotated[str, typer.Option(
        help="Comma-separated methods to compare (exact, ilp, heuristic, optuna).")
    ] = "exact,ilp,heuristic,optuna",
    profile: ProfileOpt = None,
    grid: GridOpt = GridName.DEFAULT,
    split: SplitOpt = "paper-seed3",
    seed: SeedOpt = 0,
    replicates: ReplicatesOpt = 64,
    models: ModelsOpt = None,
    price: PriceOpt = None,
    time_limit: TimeLimitOpt = 60.0,
    ilp_solver: IlpSolverOpt = IlpSolver.AUTO,
    share_tests: ShareTestsOpt = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")
                       ] = False,
) -> None:
    """One table of every method's plan, accuracy, cost, gap to the exact optimum and time
    (the same planning problems for all; held-out numbers beside). With --share-tests each
    plan is first refined by test sharing, as `plan --share-tests` does."""
    from ..planning import compare_methods, planning_context
    from ..report import format_table, pct, per_1k
    from ..search import method_entry

    names = [m.strip() for m in methods.split(",") if m.strip()]
    if not names:
        raise PlanUsageError("--methods names no method")
    with _option_names({**OPTION_NAMES, "method": "--methods"}):
        request = _request(profile, grid, split, seed, replicates, models, price, share_tests,
                           budget=budget, target_accuracy=target_accuracy,
                           method_options=_ilp_options(time_limit, ilp_solver))
        objective = request.require_objective()
        for name in names:
            method_entry(name)
        context = planning_context(request)
        rows = compare_methods(context, objective, names)
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
