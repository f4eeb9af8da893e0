"""``codecascade evaluate``: choose plans on the planning part of each split, score them on
the held-out part, and print the per-budget table and the summary (or JSON)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ..errors import CodecascadeError
from . import app


class EvaluateUsageError(CodecascadeError, ValueError):
    """``evaluate`` was called with a bad value; one line."""


@app.command()
def evaluate(
    profile: Annotated[str | None, typer.Option(
        "--profile", help="Profile file or bundled name (default: the bundled default).")
    ] = None,
    protocol: Annotated[str, typer.Option(
        help="paper (the seed paper's five 30 %/70 % splits) or kfold (repeated k-fold "
             "over all problems).")] = "paper",
    folds: Annotated[int, typer.Option(help="kfold: number of folds.")] = 5,
    repeats: Annotated[int, typer.Option(help="kfold: reshuffled repeats.")] = 2,
    budgets: Annotated[str, typer.Option(
        help="A count per split, log-spaced over the split's planning-part single-model "
             "front (20), a list of $ per problem (0.001,0.01), or LOW:HIGH:N log-spaced.")
    ] = "20",
    grid: Annotated[str, typer.Option(help="Option grid: default, paper or generalised.")
                    ] = "default",
    selection: Annotated[str, typer.Option(
        help="How the plan is chosen on the planning part: NAME[:KEY=VALUE,...] "
             "(naive = today's plan; see docs/selection.md).")] = "naive",
    method: Annotated[str, typer.Option(
        help="Search method the naive selection uses (as plan --method).")] = "exact",
    seed: Annotated[int, typer.Option(help="Seed of the estimator, search, resampling.")] = 0,
    replicates: Annotated[int, typer.Option(help="Monte Carlo replicates of the estimator.")
                          ] = 64,
    models: Annotated[str | None, typer.Option(
        "--models", help="Comma-separated models to use (default: all).")] = None,
    price: Annotated[list[str] | None, typer.Option(
        "--price", help="Override a price: MODEL=DOLLARS_PER_1K_GENERATED_TOKENS.")] = None,
    plot: Annotated[str | None, typer.Option(
        help="Also draw held-out accuracy against budget into this file (.png, .svg or "
             ".pdf).")] = None,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Replace an existing plot file.")] = False,
    as_json: Annotated[bool, typer.Option(
        "--json", help='Print {"rows": [...], "summary": {...}} instead of tables.')] = False,
) -> None:
    """How plans chosen on some problems do on problems never seen: per budget and split,
    the cascade plan and the best single-model plan are chosen on the planning part (as
    plan does) and scored on the held-out part."""
    from ..evaluation import evaluate as run_evaluation
    from ..evaluation import parse_budgets
    from ..evaluation.report import budget_table, evaluation_plot, summary_table
    from ..output import check_output
    from ..report import PLOT_FORMATS
    from ..search import METHODS
    from ..search.api import parse_prices
    from ..selection import get_selector

    if folds < 2:
        raise EvaluateUsageError(f"--folds must be >= 2, got {folds}")
    if repeats < 1:
        raise EvaluateUsageError(f"--repeats must be >= 1, got {repeats}")
    if replicates < 1:
        raise EvaluateUsageError(f"--replicates must be >= 1, got {replicates}")
    if method not in METHODS:
        raise EvaluateUsageError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    if plot is not None:
        check_output(plot, overwrite=overwrite, suffixes=PLOT_FORMATS, what="plot")
    selector = get_selector(selection)
    the_budgets = parse_budgets(budgets)
    names = [m.strip() for m in models.split(",") if m.strip()] if models else None
    result = run_evaluation(profile, selection=selector, protocol=protocol,
                            budgets=the_budgets, grid=grid, folds=folds, repeats=repeats,
                            seed=seed, replicates=replicates, models=names,
                            prices=parse_prices(price or []), method=method)
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

