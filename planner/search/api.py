"""The planning API's old home, kept so that code importing it from here still works.

Planning is not search: it lives in :mod:`planner.planning` (request, context,
predictions, provenance, specs, fronts, comparisons, ``plan()``). This module re-exports
those names and nothing else.
"""

from __future__ import annotations

from ..planning import (
    CONFIDENCE,
    DEFAULT_GRID,
    DEFAULT_METHOD,
    DEFAULT_REPLICATES,
    DEFAULT_SPLIT,
    SHARING_NEIGHBOURS,
    Comparison,
    FrontPoint,
    PlanningContext,
    PlanRequest,
    SharedResult,
    compare_methods,
    front_points,
    pareto_front,
    parse_prices,
    plan,
    planning_context,
    refine_result,
    run_search,
    single_model_front,
    spec_from_result,
)

__all__ = [
    "CONFIDENCE",
    "DEFAULT_GRID",
    "DEFAULT_METHOD",
    "DEFAULT_REPLICATES",
    "DEFAULT_SPLIT",
    "SHARING_NEIGHBOURS",
    "Comparison",
    "FrontPoint",
    "PlanRequest",
    "PlanningContext",
    "SharedResult",
    "compare_methods",
    "front_points",
    "pareto_front",
    "parse_prices",
    "plan",
    "planning_context",
    "refine_result",
    "run_search",
    "single_model_front",
    "spec_from_result",
]
