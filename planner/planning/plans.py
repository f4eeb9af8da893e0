"""``plan()``: from a request to the cascade spec of its chosen plan."""

from __future__ import annotations

import os
import time
from typing import Any

from ..profile import Profile
from ..search.deadline import Deadline
from ..search.errors import BudgetTooLowError
from ..search.objective import Objective
from ..search.result import SearchResult
from ..search.stopping import listening
from ..selection import Choice, SelectionTask
from ..selection.candidates import candidate_set
from ..selection.honest import cost_bounds
from ..spec import CascadeSpec
from ..vocabulary import SolverStatus
from .context import PlanningContext, planning_context
from .refinement import SharedResult, refine_result
from .request import PlanRequest, as_request
from .searches import run_search
from .specs import spec_from_choice, spec_from_result

#: The selection that is the search method's own optimum, with its in-sample statement:
#: ``plan`` then takes today's path (search, optional sharing, spec), bit for bit.
NAIVE = "naive"


def plan(request: PlanRequest | Profile | str | os.PathLike[str] | None = None,
         budget: float | None = None, **fields: Any) -> CascadeSpec:
    """The cascade the request's selection chooses for ``budget`` ($ per problem; or, with
    ``target_accuracy``, the cheapest plan reaching it) on the planning part of the split,
    as a validated cascade spec with predictions on the planning part, the held-out part
    (if the split has one) and, for a selection with an honest statement, new problems
    (``spec.new_problems``: corrected for selection, with intervals).

    ``request`` is a :class:`PlanRequest`, or the profile with the request's other fields
    as keywords: ``plan(budget=0.01)``, ``plan("humaneval-extra", 0.02, method="ilp")``.
    The default selection (planner.selection.DEFAULT_SELECTION) plans on every problem
    (split ``all``); ``selection="naive", split="paper-seed3"`` is the paper's protocol and
    the search method's own optimum. With ``share_tests`` the chosen plan is refined by
    test sharing, within what is left of the method's time limit. Raises the request's
    FieldError for bad values, BudgetTooLowError when no plan fits (with a budget
    confidence: when no plan's cost bound fits), SelectionError for an objective the
    selection cannot handle, and the profile's, split's and search's one-line errors.

    The method's time limit (``method_options``; none by default for ``exact``) bounds
    the whole choice after the option tables, and so does Ctrl-C on the command line
    (planner.search.stopping): a search returns its best plan so far; the selection
    chooses among the candidates found by then, and a statement for new problems whose
    inner cross-validation was cut short is the in-sample one. The spec says so
    (``provenance.extra.selection``; planner.selection.base).
    """
    if budget is not None:
        fields["budget"] = budget
    request = as_request(request, **fields)
    request.require_objective()
    return plan_in(planning_context(request))


def plan_in(context: PlanningContext) -> CascadeSpec:
    """:func:`plan` in a context already built (its option tables computed); the time
    limit counts from here."""
    request = context.request
    objective = request.require_objective()
    deadline = Deadline.after(request.time_limit())
    selector = request.selector()
    if selector.label() == NAIVE:
        result = run_search(context, objective)
        return spec_from_result(context, result, objective,
                                _refined(context, result, objective, deadline))
    start = time.perf_counter()
    task = SelectionTask.from_context(context, deadline=deadline)
    with listening():
        choice = selector.select(task, [objective])[0]
    if not choice.fits:
        _no_plan_fits(task, choice, objective, selector.budget_confidence)
    stopped = not (choice.complete and choice.statement_complete)
    result = SearchResult(
        method=f"{request.method}+{selector.label()}", stages=choice.stages,
        accuracy=choice.planning_accuracy, cost=choice.planning_cost,
        status=SolverStatus.FEASIBLE, gap=None, seconds=time.perf_counter() - start,
        solver="selection on the planning problems (planner.selection)"
        + (", stopped early" if stopped else ""))
    return spec_from_choice(context, choice, result, objective,
                            _refined(context, result, objective, deadline))


def _refined(context: PlanningContext, result: SearchResult, objective: Objective,
             deadline: Deadline) -> SharedResult | None:
    """With the request's ``share_tests``, ``result`` refined by test sharing by
    ``deadline`` (what is left of the method's time limit); else None."""
    if not context.request.share_tests:
        return None
    return refine_result(context, result, objective, deadline)


def _no_plan_fits(task: SelectionTask, choice: Choice, objective: Objective,
                  confidence: float | None) -> None:
    """BudgetTooLowError for a budget no plan meets under the selection's cost rule
    (among the plans found before the deadline, when it cut them short)."""
    if not choice.complete:
        rule = "" if confidence is None else f" with confidence {confidence:g}"
        raise BudgetTooLowError(
            f"no plan found before the time limit (or Ctrl-C) stays within "
            f"${objective.budget:.6g} per problem{rule}; give it more time (--time-limit)")
    if confidence is None:
        raise BudgetTooLowError(f"no plan's mean cost is within ${objective.budget:.6g} per "
                                "problem")
    bound = float(cost_bounds(candidate_set(task.planning, [choice.stages]), confidence,
                              task.seed)[0])
    raise BudgetTooLowError(
        f"no plan stays within ${objective.budget:.6g} per problem with confidence "
        f"{confidence:g} (the best bound is ${bound:.6g} per problem, plan cost "
        f"${choice.planning_cost:.6g}); raise the budget or lower the budget confidence")


__all__ = ["PlanningContext", "plan", "plan_in"]
