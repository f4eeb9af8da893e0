"""``codecascade plan`` (also the ``plan`` console script), ``frontier`` and ``compare``:
each parses its options into one :class:`~planner.planning.PlanRequest`, calls the planning
API (:func:`~planner.planning.plan`, :func:`~planner.planning.frontier`,
:func:`~planner.planning.compare_methods`) and prints."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from ..units import TABLE_COST_COLUMN, per_1k_problems
from ..vocabulary import GridName, IlpSolver, MethodName
from . import app
from .options import (
    GridOpt,
    IlpSolverOpt,
    JsonOpt,
    ModelsOpt,
    NoProgressOpt,
    OverwriteOpt,
    PlotOpt,
    PriceOpt,
    ProfileOpt,
    ReplicatesOpt,
    SeedOpt,
    ShareTestsOpt,
    SplitOpt,
    TimeLimitOpt,
    option_names,
)
from .running import long_work

BudgetOpt = Annotated[float | None, typer.Option(
    metavar="DOLLARS", help="Expected cost limit, $ per problem (e.g. 0.01).")]
TargetOpt = Annotated[float | None, typer.Option(
    "--target-accuracy", metavar="FRACTION", help="Instead of a budget: the cheapest plan "
    "reaching this expected accuracy (a fraction, e.g. 0.8).")]
SelectionOpt = Annotated[str | None, typer.Option(
    "--selection", metavar="NAME[:K=V,...]", help="How the plan is chosen among those "
    "within budget: shrinkage (default, with budget_confidence=0.85, prediction=632, "
    "keep=0.0 and rank=1: per-problem estimates shrunk toward a problem-difficulty model, "
    "a 0.85 budget confidence and the .632 statement for new problems), naive (the best "
    "plan on the planning problems: the paper's rule), one-se, "
    "bootstrap (docs/selection.md).")]
BudgetConfidenceOpt = Annotated[float | None, typer.Option(
    "--budget-confidence", metavar="P", help="Probability (0.5-0.999) that the plan's mean "
    "cost on new problems stays within the budget (an upper bootstrap bound must fit); "
    "default: the selection's own (0.85 for the default selection).")]


def method_options(methods: list[MethodName], time_limit: float | None,
                   solver: IlpSolver) -> dict[MethodName, dict[str, Any]]:
    """The options the command line gives each of ``methods``: the time limit (when
    given) and the integer program's solver."""
    options: dict[MethodName, dict[str, Any]] = {}
    for method in methods:
        given: dict[str, Any] = {} if time_limit is None else {"time_limit": time_limit}
        if method == MethodName.ILP:
            given["solver"] = solver
        options[method] = given
    return options


def request_of(profile, grid, split, seed, replicates, models, price, share_tests, **fields):
    """The request of a planning command (call inside :func:`option_names`); a split or
    selection left out (None) is the request's default (planner.planning.request), so the
    command line imports no planning code to know it."""
    from ..planning import PlanRequest, parse_prices

    if split is not None:
        fields["split"] = split
    if fields.get("selection", "") is None:
        del fields["selection"]
    return PlanRequest(profile=profile, grid=grid, seed=seed, replicates=replicates,
                       models=models, prices=parse_prices(price or []),
                       share_tests=share_tests, **fields)


def _search_note(spec) -> str:
    """How the search ended, for the line on stderr."""
    search = spec.solver
    gap = "" if search.gap is None else f", gap {100 * search.gap:.3g} %"
    return f"{search.method}: {search.status}{gap}, {search.seconds:.1f} s"


def _cut_short(spec) -> str:
    """What a deadline (the time limit, or Ctrl-C) cut short in making ``spec``, as the
    spec records it (empty when nothing was)."""
    extra = spec.provenance.extra
    selection = extra.get("selection") or {}
    sharing = extra.get("sharing") or {}
    parts = []
    if selection.get("candidates_complete") is False:
        parts.append("chosen among the candidate plans found by then")
    if selection.get("statement_complete") is False:
        parts.append("its statement for new problems is the in-sample one (not corrected "
                     "for selection)")
    if sharing.get("stopped_early"):
        parts.append(f"test sharing stopped after {sharing.get('variants_evaluated', 0)} "
                     "variants")
    return "; ".join(parts)


@app.command()
def plan(
    budget: BudgetOpt = None,
    target_accuracy: TargetOpt = None,
    method: Annotated[MethodName, typer.Option(
        help="Search method: exact (optimal, default), ilp (integer program), heuristic "
             "(milliseconds) or optuna (TPE baseline).")] = MethodName.EXACT,
    profile: ProfileOpt = None,
    grid: GridOpt = GridName.DEFAULT,
    split: SplitOpt = None,
    seed: SeedOpt = 0,
    replicates: ReplicatesOpt = 64,
    models: ModelsOpt = None,
    price: PriceOpt = None,
    time_limit: TimeLimitOpt = None,
    ilp_solver: IlpSolverOpt = IlpSolver.AUTO,
    share_tests: ShareTestsOpt = False,
    selection: SelectionOpt = None,
    budget_confidence: BudgetConfidenceOpt = None,
    output: Annotated[str | None, typer.Option(
        "-o", "--output", metavar="FILE",
        help="Write the spec to this file (atomically; - for stdout).")] = None,
    overwrite: OverwriteOpt = False,
    no_progress: NoProgressOpt = False,
) -> None:
    """Choose the cascade for the budget and print its JSON cascade spec (stages;
    predictions with intervals on the planning problems, on the held-out ones when the
    split has them, and for new problems corrected for selection; search status;
    provenance). --time-limit bounds the whole choice; at the limit, or on a first Ctrl-C,
    it ends with the best plan so far and says what was cut short."""
    from ..output import check_output
    from ..planning import plan as plan_of
    from ..spec import save_spec

    if output is not None:
        check_output(output, overwrite=overwrite, what="spec")
    with option_names():
        request = request_of(profile, grid, split, seed, replicates, models, price,
                             share_tests, budget=budget, target_accuracy=target_accuracy,
                             method=method, selection=selection,
                             budget_confidence=budget_confidence,
                             method_options=method_options([method], time_limit, ilp_solver))
        with long_work(no_progress, stop_searches=True) as stop:
            spec = plan_of(request)
    stopped = stop is not None and stop.is_set()
    cut = _cut_short(spec)
    if stopped:
        typer.echo(f"interrupted: the best plan so far ({_search_note(spec)}"
                   f"{'; ' + cut if cut else ''})", err=True)
    elif cut:
        typer.echo(f"time limit: the best plan so far ({_search_note(spec)}; {cut})",
                   err=True)
    if output is not None:
        save_spec(spec, output)
        typer.echo(f"wrote {output}: {spec.plan.label()}", err=True)
    else:
        typer.echo(spec.dumps(), nl=False)


def _cost_columns(prefix: str = "") -> list[str]:
    return [f"{prefix}acc %", f"{prefix}{TABLE_COST_COLUMN}"]


def _per_1k(cost: float | None) -> float | None:
    """A cost per problem as $ per 1,000 problems, rounded for a table."""
    value = per_1k_problems(cost)
    return None if value is None else round(value, 4)


@app.command()
def frontier(
    profile: ProfileOpt = None,
    grid: GridOpt = GridName.DEFAULT,
    split: SplitOpt = None,
    seed: SeedOpt = 0,
    replicates: ReplicatesOpt = 64,
    models: ModelsOpt = None,
    price: PriceOpt = None,
    budget: Annotated[float | None, typer.Option(
        metavar="DOLLARS", help="Mark the plan chosen for this budget, $ per problem.")
    ] = None,
    plot: PlotOpt = None,
    overwrite: OverwriteOpt = False,
    as_json: JsonOpt = False,
    share_tests: ShareTestsOpt = False,
    time_limit: Annotated[float | None, typer.Option(
        "--time-limit", metavar="SECONDS",
        help="Seconds (> 0) the fronts and the selection may take after the option tables; "
        "at the limit (or on Ctrl-C) the front of the plans enumerated so far is shown, "
        "marked partial.")
    ] = None,
    no_progress: NoProgressOpt = False,
    selection: SelectionOpt = None,
    budget_confidence: BudgetConfidenceOpt = None,
) -> None:
    """The exact cost–accuracy Pareto front of all cascades (planning part, with each
    plan's held-out accuracy and cost), the best single-model front beside it, the plans
    the selection chooses (unless --selection naive; the one `plan` returns is marked),
    and optionally a plot."""
    from ..output import check_output
    from ..planning import frontier as frontier_of
    from ..report import PLOT_FORMATS, format_table, frontier_plot, pct

    with option_names():
        request = request_of(profile, grid, split, seed, replicates, models, price,
                             share_tests, budget=budget, selection=selection,
                             budget_confidence=budget_confidence,
                             method_options=method_options([MethodName.EXACT], time_limit,
                                                           IlpSolver.AUTO))
    if plot is not None:
        check_output(plot, overwrite=overwrite, suffixes=PLOT_FORMATS, what="plot")
    with option_names(), long_work(no_progress, stop_searches=True):
        fronts = frontier_of(request)
    context, front, single, chosen = (fronts.context, fronts.cascade, fronts.single,
                                      fronts.chosen)
    chosen_budget = request.budget
    partial = "" if fronts.complete else " · partial: stopped before every plan was seen"
    title = (f"{context.profile_label} · grid {context.grid.name}"
             f"{' + test sharing' if share_tests else ''} · planned on "
             f"{context.split_name} ({context.planning.n_problems} problems){partial}")
    if not fronts.complete:
        typer.echo("frontier: stopped early; the cascade front is that of the plans "
                   "enumerated so far", err=True)
    elif not fronts.selection_complete:
        typer.echo(f"frontier: the selection {request.selector().label()} was stopped "
                   "early; its plans are chosen among the candidates found by then", err=True)
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
            "share_tests": share_tests, "complete": fronts.complete,
            "selection_complete": fronts.selection_complete,
            "split": context.split_name, "budget_per_problem": chosen_budget,
            "chosen": None if chosen is None else chosen.to_json(),
            "cascade_front": [p.to_json() for p in front],
            "single_model_front": [p.to_json() for p in single],
            "selection": request.selector().label(),
            "selected": [p.to_json() for p in fronts.selected],
            "plot": None if plot is None else str(plot),
        }, indent=1))
        return
    headers = ["", *_cost_columns(), *_cost_columns("held-out "), "plan"]
    marked = None if chosen is None else chosen.label

    def row(p, mark: str) -> list:
        return [mark, pct(p.accuracy), _per_1k(p.cost), pct(p.heldout_accuracy),
                _per_1k(p.heldout_cost), p.label]

    typer.echo(f"cascade front: {len(front)} plans ({title})")
    typer.echo(format_table(headers, [row(p, "*" if p.label == marked else "")
                                      for p in front]))
    typer.echo("")
    typer.echo(f"best single-model front: {len(single)} plans")
    typer.echo(format_table(headers, [row(p, "") for p in single]))
    label = request.selector().label()
    if label != "naive" and fronts.complete and fronts.selected:
        typer.echo("")
        typer.echo(f"plans the selection {label} chooses at the cascade front's costs: "
                   f"{len(fronts.selected)} plans")
        typer.echo(format_table(headers, [row(p, "*" if p.label == marked else "")
                                          for p in fronts.selected]))
    if plot is not None:
        typer.echo(f"\nplot written to {plot}")


@app.command()
def compare(
    budget: BudgetOpt = None,
    target_accuracy: TargetOpt = None,
    methods: Annotated[str, typer.Option(
        metavar="A,B,...", help="Comma-separated methods to compare (exact, ilp, heuristic, "
        "optuna).")] = "exact,ilp,heuristic,optuna",
    profile: ProfileOpt = None,
    grid: GridOpt = GridName.DEFAULT,
    split: SplitOpt = None,
    seed: SeedOpt = 0,
    replicates: ReplicatesOpt = 64,
    models: ModelsOpt = None,
    price: PriceOpt = None,
    time_limit: Annotated[float | None, typer.Option(
        "--time-limit", metavar="SECONDS",
        help="Seconds (> 0) each method may take; at the limit it returns its best plan so "
        "far and its gap (default: 60 for the integer program, none for the others).")
    ] = None,
    ilp_solver: IlpSolverOpt = IlpSolver.AUTO,
    share_tests: ShareTestsOpt = False,
    as_json: JsonOpt = False,
    no_progress: NoProgressOpt = False,
    selection: SelectionOpt = None,
    budget_confidence: BudgetConfidenceOpt = None,
) -> None:
    """One table of every method's plan, accuracy, cost, gap to the exact optimum and time
    (the same planning problems for all; held-out numbers beside). With --share-tests each
    plan is first refined by test sharing, as `plan --share-tests` does. Unless
    --selection is naive, a last row is the plan the selection chooses (`plan`'s)."""
    from ..fields import names as field_names
    from ..planning import compare_methods, planning_context
    from ..report import format_table, pct
    from ..search import method_entry

    with option_names({"method": "--methods", "names": "--methods"}):
        names = field_names(methods, "names", what="method")
        chosen = [method_entry(name).name for name in names or ()]
        request = request_of(profile, grid, split, seed, replicates, models, price,
                             share_tests, budget=budget, target_accuracy=target_accuracy,
                             selection=selection, budget_confidence=budget_confidence,
                             method_options=method_options(chosen, time_limit, ilp_solver))
        objective = request.require_objective()
        with long_work(no_progress):
            context = planning_context(request)
            rows = compare_methods(context, objective, chosen)
    if as_json:
        typer.echo(json.dumps({
            "profile": context.profile_label, "grid": context.grid.name,
            "split": context.split_name, "budget_per_problem": objective.budget,
            "target_accuracy": objective.target_accuracy, "share_tests": share_tests,
            "methods": [r.to_json() for r in rows]}, indent=1))
        return
    gap_name = "gap pp" if objective.is_budget else "gap cost %"
    headers = ["method", *_cost_columns(), gap_name, *_cost_columns("held-out "), "status",
               "seconds", "plan"]
    table = []
    for r in rows:
        if r.result is None:
            table.append([r.method, None, None, None, None, None, "failed", None, r.error])
            continue
        table.append([r.method, pct(r.accuracy), _per_1k(r.cost),
                      None if r.gap_pp is None else round(r.gap_pp, 3),
                      pct(r.heldout_accuracy), _per_1k(r.heldout_cost), r.status,
                      None if r.seconds is None else round(r.seconds, 3), r.label])
    what = (f"budget ${objective.budget:g} per problem" if objective.is_budget
            else f"target accuracy {objective.target_accuracy:g}")
    typer.echo(f"{what}; planned on {context.split_name} "
               f"({context.planning.n_problems} problems), grid {context.grid.name}"
               f"{' + test sharing' if share_tests else ''}")
    typer.echo(format_table(headers, table))

