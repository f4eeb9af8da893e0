"""``codecascade evaluate``: choose plans on the planning part of each split, score them on
the held-out part, and print the per-budget table and the summary (or JSON)."""

from __future__ import annotations

import contextlib
import json
from typing import Annotated

import typer

from ..vocabulary import GridName, IlpSolver, MethodName
from . import app
from .options import (
    GridOpt,
    IlpSolverOpt,
    ModelsOpt,
    NoProgressOpt,
    OverwriteOpt,
    PriceOpt,
    ProfileOpt,
    ReplicatesOpt,
    SeedOpt,
    TimeLimitOpt,
    option_names,
)
from .plan_cmd import method_options, request_of
from .running import long_work


@app.command()
def evaluate(
    protocol: Annotated[str, typer.Option(
        metavar="NAME", help="paper (the seed paper's five 30 %/70 % splits) or kfold "
        "(repeated k-fold over all problems).")] = "paper",
    folds: Annotated[int, typer.Option(metavar="N", help="kfold: number of folds (>= 2).")
                     ] = 5,
    repeats: Annotated[int, typer.Option(metavar="N", help="kfold: reshuffled repeats "
                                         "(>= 1).")] = 2,
    budgets: Annotated[str, typer.Option(
        metavar="BUDGETS", help="A count per split, log-spaced over the split's "
        "planning-part single-model front (20), a list of $ per problem (0.001,0.01), or "
        "LOW:HIGH:N log-spaced.")
    ] = "20",
    selection: Annotated[str | None, typer.Option(
        metavar="NAME[:K=V,...]", help="How the plan is chosen on the planning part: NAME "
        "shrinkage (default: plan's, with budget_confidence=0.85, prediction=632, keep=0.0 "
        "and rank=1), "
        "naive (the best plan on the planning part, the paper's rule), one-se or bootstrap, "
        "with options (docs/selection.md).")] = None,
    profile: ProfileOpt = None,
    grid: GridOpt = GridName.DEFAULT,
    method: Annotated[MethodName, typer.Option(
        help="Search method the naive selection uses (as plan --method).")
    ] = MethodName.EXACT,
    seed: SeedOpt = 0,
    replicates: ReplicatesOpt = 64,
    models: ModelsOpt = None,
    price: PriceOpt = None,
    time_limit: TimeLimitOpt = None,
    ilp_solver: IlpSolverOpt = IlpSolver.AUTO,
    plot: Annotated[str | None, typer.Option(
        metavar="FILE", help="Also draw held-out accuracy against budget into this file "
        "(.png, .svg or .pdf).")] = None,
    overwrite: OverwriteOpt = False,
    as_json: Annotated[bool, typer.Option(
        "--json", help='Print {"rows": [...], "summary": {...}} instead of tables: every '
        'budget and cost (budget, planning_cost, heldout_cost, predicted_cost, ...) in $ per '
        'problem, every accuracy a fraction.')] = False,
    no_progress: NoProgressOpt = False,
    ray: Annotated[str | None, typer.Option(
        metavar="[ADDRESS]", help="Run the splits as Ray tasks: alone, on a Ray instance "
        "started on this machine; 'auto', 'ray://HOST:10001' or 'HOST:PORT' to join a "
        "cluster (pip install 'codecascade[ray]'). The rows are the same.")] = None,
) -> None:
    """How plans chosen on some problems do on problems never seen: per budget and split,
    the cascade plan and the best single-model plan are chosen on the planning part (as
    plan does) and scored on the held-out part."""
    from ..evaluation import evaluate as run_evaluation
    from ..evaluation import parse_budgets
    from ..evaluation.report import budget_table, evaluation_plot, summary_table
    from ..output import check_output
    from ..report import PLOT_FORMATS
    from ..selection import get_selector

    if plot is not None:
        check_output(plot, overwrite=overwrite, suffixes=PLOT_FORMATS, what="plot")
    selector = None if selection is None else get_selector(selection)
    the_budgets = parse_budgets(budgets)
    with option_names():
        request = request_of(profile, grid, "paper-seed3", seed, replicates, models, price,
                             False, method=method,
                             method_options=method_options([method], time_limit, ilp_solver))
        executor = None
        if ray is not None:
            from ..sandbox.ray_executor import RayExecutor

            executor = RayExecutor(address=ray)
            executor.check_reachable()
        with long_work(no_progress), (contextlib.closing(executor) if executor is not None
                                      else contextlib.nullcontext()):
            result = run_evaluation(request, selection=selector, protocol=protocol,
                                    budgets=the_budgets, folds=folds, repeats=repeats,
                                    map_splits=executor.map if executor is not None else map)
    s = result.settings
    if plot is not None:
        evaluation_plot(plot, result, title=f"{s['profile']} · grid {s['grid']} · "
                        f"{s['selection']} · {s['protocol']} protocol")
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=1, allow_nan=False))
        return
    typer.echo(f"{s['profile']} · grid {s['grid']} · selection {s['selection']} · "
               f"{s['protocol']} protocol ({len(s['splits'])} splits) · "
               f"{len(result.rows)} rows · {s['seconds']:.1f} s")
    typer.echo(budget_table(result))
    typer.echo("")
    typer.echo(summary_table(result))
    if plot is not None:
        typer.echo(f"\nplot written to {plot}")
