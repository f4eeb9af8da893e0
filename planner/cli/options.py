"""Options several commands share, defined once: name, metavar and help (with units).

Values are checked by the domain objects they become (a
:class:`~planner.planning.PlanRequest`, a method's registry entry, a
:class:`~planner.estimate.Sampling`...), not here: an option only parses text into a type.
:func:`option_names` re-spells the domain's field errors with these options' names.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated

import typer

from ..errors import CodecascadeError, FieldError
from ..vocabulary import GridName, IlpSolver


class OptionError(CodecascadeError, ValueError):
    """A command was called with a bad value; one line naming the option."""


#: How the commands spell the fields of the API's objects.
OPTION_NAMES = {
    "profile": "--profile", "budget": "--budget", "target_accuracy": "--target-accuracy",
    "method": "--method", "grid": "--grid", "split": "--split", "seed": "--seed",
    "replicates": "--replicates", "models": "--models", "prices": "--price",
    "share_tests": "--share-tests", "time_limit": "--time-limit", "solver": "--ilp-solver",
    "confidence": "--confidence", "theta": "--theta", "folds": "--folds",
    "repeats": "--repeats", "trials": "--trials", "selection": "--selection",
    "budget_confidence": "--budget-confidence",
}


@contextmanager
def option_names(names: Mapping[str, str] | None = None) -> Iterator[None]:
    """Re-spell the domain's field errors raised inside with the options' names."""
    try:
        yield
    except FieldError as exc:
        raise OptionError(exc.named({**OPTION_NAMES, **(names or {})})) from None


ProfileOpt = Annotated[str | None, typer.Option(
    "--profile", metavar="PROFILE",
    help="Profile file or bundled name (default: the bundled default profile).")]
GridOpt = Annotated[GridName, typer.Option(
    help="Option grid: default (per-stage θ, t independent of k), paper (the seed paper's: "
         "one θ for all stages, t = k, l in {2, 4}) or generalised (all scoring rules).")]
SplitOpt = Annotated[str | None, typer.Option(
    metavar="SPLIT",
    help="Problems to plan on: all (default; the prediction for new problems comes from "
         "cross-validation inside them), or the validation part of paper-seed<S> (the "
         "paper's 30 %/70 % splits) or kfold<K>-seed<S>-fold<I>, predicted on its test "
         "part too.")]
SeedOpt = Annotated[int, typer.Option(
    metavar="N", help="Seed (>= 0) of the estimator, search and bootstrap.")]
ReplicatesOpt = Annotated[int, typer.Option(
    metavar="N", help="Monte Carlo replicates (>= 1) of the estimator, bounded by the "
    "memory they need.")]
ModelsOpt = Annotated[str | None, typer.Option(
    "--models", metavar="A,B,...",
    help="Comma-separated models to use (default: all, in profile order).")]
PriceOpt = Annotated[list[str] | None, typer.Option(
    "--price", metavar="MODEL=DOLLARS",
    help="Override a model's price, $ per million generated tokens (repeatable).")]
TimeLimitOpt = Annotated[float | None, typer.Option(
    "--time-limit", metavar="SECONDS",
    help="Seconds (> 0) the search may take; at the limit it returns its best plan so far "
    "and its gap (default: none; the integer program's: 60).")]
IlpSolverOpt = Annotated[IlpSolver, typer.Option(
    "--ilp-solver", help="Integer program's solver: auto (HiGHS, installed with the "
    "package), highs, or cbc (PuLP's bundled CBC).")]
OverwriteOpt = Annotated[bool, typer.Option(
    "--overwrite", help="Replace an existing output file.")]
ShareTestsOpt = Annotated[bool, typer.Option(
    "--share-tests", help="Also search test sharing (a later stage runs its solutions on "
    "the earlier stages' test lines): the exact plans are refined by simulation, and a "
    "sharing plan's numbers come from simulation with their Monte Carlo SE.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
NoProgressOpt = Annotated[bool, typer.Option(
    "--no-progress", help="No progress bar (there is none when stderr is not a terminal).")]
PlotOpt = Annotated[str | None, typer.Option(
    metavar="FILE", help="Also draw a plot into this file (.png, .svg or .pdf).")]
