"""``plan()``: from a request to the cascade spec of its best plan."""

from __future__ import annotations

import os
from typing import Any

from ..profile import Profile
from ..search.deadline import Deadline
from ..spec import CascadeSpec
from .context import planning_context
from .refinement import refine_result
from .request import PlanRequest, as_request
from .searches import run_search
from .specs import spec_from_result


def plan(request: PlanRequest | Profile | str | os.PathLike[str] | None = None,
         budget: float | None = None, **fields: Any) -> CascadeSpec:
    """The most accurate cascade with expected cost <= ``budget`` ($ per problem) on the
    planning part of the split (or, with ``target_accuracy``, the cheapest one reaching
    it), as a validated cascade spec with predictions on both parts.

    ``request`` is a :class:`PlanRequest`, or the profile with the request's other fields
    as keywords: ``plan(budget=0.01)``, ``plan("humaneval-extra", 0.02, method="ilp")``.
    With ``share_tests`` the method's plan is refined by test sharing, within what is left
    of the method's time limit. Raises the request's FieldError for bad values,
    BudgetTooLowError when no plan fits, and the profile's, split's and search's one-line
    errors.
    """
    if budget is not None:
        fields["budget"] = budget
    request = as_request(request, **fields)
    objective = request.require_objective()
    context = planning_context(request)
    result = run_search(context, objective)
    shared = None
    if request.share_tests:
        limit = request.time_limit()
        left = None if limit is None else max(0.0, limit - result.seconds)
        shared = refine_result(context, result, objective, Deadline.after(left))
    return spec_from_result(context, result, objective, shared)
