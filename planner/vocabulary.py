"""The closed vocabularies of planning, as ``StrEnum``s: one home for each word.

Every member *is* its string (``ObjectiveKind.MAX_ACCURACY == "max_accuracy"``), so JSON,
the spec schema and string comparisons see exactly the words they saw before; a value
that is not in a vocabulary fails once, where the domain object is built. This module
imports nothing of the project, so the spec, the search, the planning layer and the CLI
(whose Typer options are typed with these enums, so ``--help`` lists the choices) can
all use it.
"""

from __future__ import annotations

from enum import StrEnum


class ObjectiveKind(StrEnum):
    """What a plan optimises: the spec's ``objective`` field."""

    #: the most accurate plan whose expected cost is at most a budget ($ per problem)
    MAX_ACCURACY = "max_accuracy"
    #: the cheapest plan whose expected accuracy reaches a target (a fraction)
    MIN_COST = "min_cost"


class SolverStatus(StrEnum):
    """How sure a search is of its plan: the spec's ``search.status`` field."""

    #: proven optimal on the planning problems (gap 0)
    OPTIMAL = "optimal"
    #: a plan with no optimality proof, e.g. an integer program stopped at its time limit
    #: (its gap bounds the loss) or a plan refined by simulated test sharing
    FEASIBLE = "feasible"
    #: a heuristic's plan: no bound at all (gap None)
    HEURISTIC = "heuristic"


class MethodName(StrEnum):
    """The search methods of the registry (planner.search.registry)."""

    EXACT = "exact"
    ILP = "ilp"
    HEURISTIC = "heuristic"
    OPTUNA = "optuna"


class GridName(StrEnum):
    """The named option grids (planner.options.grid_by_name)."""

    DEFAULT = "default"
    PAPER = "paper"
    GENERALISED = "generalised"


class SplitPart(StrEnum):
    """A part of a validation/test split (planner.splits.Split.part)."""

    #: the problems a plan is chosen on (the planning part)
    VALIDATION = "validation"
    #: the held-out problems it is scored on
    TEST = "test"
    #: both parts together
    ALL = "all"


class IlpSolver(StrEnum):
    """The integer program's solver back-end."""

    #: HiGHS when highspy is installed (it is a dependency), else CBC
    AUTO = "auto"
    #: HiGHS through highspy
    HIGHS = "highs"
    #: CBC, bundled with PuLP
    CBC = "cbc"


def choices(vocabulary: type[StrEnum]) -> str:
    """The members of a vocabulary as ``a, b, c`` (for one-line error messages)."""
    return ", ".join(member.value for member in vocabulary)
