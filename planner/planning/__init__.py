"""The planning API: a request in, a cascade spec, a front or a comparison out.

- :class:`PlanRequest` (request.py): everything a planning command takes, checked once.
- :func:`planning_context` (context.py): the profile loaded, re-priced and restricted, the
  grid's option tables on the split's planning and held-out parts.
- :func:`plan` (plans.py; :func:`plan_in` in a context already built): the
  :class:`~planner.spec.CascadeSpec` of the plan the request's selection chooses
  (planner.selection; ``naive``: :func:`run_search`'s optimum, searches.py), built by
  :func:`spec_from_choice` / :func:`spec_from_result` (specs.py) and, with test sharing,
  :func:`refine_result` (refinement.py); predictions (predictions.py) and provenance
  (provenance.py) inside.
- :func:`frontier`, :func:`pareto_front`, :func:`single_model_front` (fronts.py).
- :func:`compare_methods` (comparisons.py).
- :func:`parse_prices` (prices.py): ``MODEL=$PER_1K`` text to $ per token.
"""

from __future__ import annotations

from .comparisons import Comparison, compare_methods
from .context import PlanningContext, planning_context
from .fronts import (
    Frontier,
    FrontPoint,
    chosen_point,
    front_points,
    frontier,
    frontier_in,
    pareto_front,
    single_model_front,
)
from .plans import plan, plan_in
from .predictions import CONFIDENCE
from .prices import parse_prices
from .refinement import SHARING_NEIGHBOURS, SharedResult, refine_result
from .request import (
    DEFAULT_GRID,
    DEFAULT_METHOD,
    DEFAULT_REPLICATES,
    DEFAULT_SPLIT,
    PlanRequest,
    as_request,
)
from .searches import run_search
from .specs import spec_from_choice, spec_from_result

__all__ = [
    "CONFIDENCE",
    "DEFAULT_GRID",
    "DEFAULT_METHOD",
    "DEFAULT_REPLICATES",
    "DEFAULT_SPLIT",
    "SHARING_NEIGHBOURS",
    "Comparison",
    "FrontPoint",
    "Frontier",
    "PlanRequest",
    "PlanningContext",
    "SharedResult",
    "as_request",
    "chosen_point",
    "compare_methods",
    "front_points",
    "frontier",
    "frontier_in",
    "pareto_front",
    "parse_prices",
    "plan",
    "plan_in",
    "planning_context",
    "refine_result",
    "run_search",
    "single_model_front",
    "spec_from_choice",
    "spec_from_result",
]
