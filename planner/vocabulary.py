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
from typing import TypeVar


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


class ScoringRule(StrEnum):
    """How a stage picks a solution from its pass matrix and scores it (docs/method.md §1.3
    and §2.2; the rules themselves are in planner.scoring)."""

    #: the seed paper's dual agreement: rowsum × colsum of the best passing cell
    PAPER = "paper"
    #: the best solution's share of passed test lines
    PASS_FRACTION = "pass_fraction"
    #: CodeT: identical pass rows form a group; group size × lines passed
    CONSENSUS = "consensus"


class SamplingMethod(StrEnum):
    """How option tables draw a stage's samples and test generations (docs/method.md
    §3.2)."""

    #: uniformly random subsets, R Monte Carlo replicates
    RANDOM = "random"
    #: the seed paper's fixed subsets: loop L's first k samples and test generations
    PAPER_LOOPS = "paper_loops"


_Member = TypeVar("_Member", bound=StrEnum)


def choices(vocabulary: type[StrEnum]) -> str:
    """The members of a vocabulary as ``a, b, c`` (for one-line error messages)."""
    return ", ".join(member.value for member in vocabulary)


def parse(vocabulary: type[_Member], value: object, what: str,
          error: type[Exception]) -> _Member:
    """``value`` (a member or its string) as a member of ``vocabulary``; otherwise
    ``error`` with a one-line message naming ``what`` and the known words."""
    try:
        return vocabulary(value)
    except ValueError:
        raise error(f"unknown {what} {value!r}; known: {choices(vocabulary)}") from None
