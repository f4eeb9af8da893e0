"""Every method's plan for one objective, side by side with its gap to the exact optimum."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .. import progress
from ..errors import CodecascadeError
from ..search.deadline import Deadline
from ..search.errors import SearchError
from ..search.objective import Objective
from ..search.registry import method_entry
from ..search.result import SearchResult
from ..search.stages import score_stages
from ..selection import SelectionTask, Selector
from ..vocabulary import MethodName, SolverStatus
from .context import PlanningContext
from .fronts import in_sample
from .refinement import refine_result
from .searches import run_search

#: The unit of a comparison's gap to the exact optimum, for a budget (True) or a target.
GAP_UNITS = {True: "percentage points of accuracy", False: "% of the optimum's cost"}


@dataclass(frozen=True)
class Comparison:
    """One method's outcome in :func:`compare_methods` (``error`` set if it failed): its
    plan's accuracy (fraction) and cost ($ per problem) on the planning part (simulated
    when the plan shares tests), the gap to the exact optimum, held-out numbers, status and
    time in seconds (search, plus the sharing refinement when asked)."""

    method: str
    result: SearchResult | None
    label: str
    gap_pp: float | None
    heldout_accuracy: float | None
    heldout_cost: float | None
    error: str = ""
    accuracy: float | None = None
    cost: float | None = None
    status: SolverStatus | None = None
    seconds: float | None = None
    #: what ``gap_pp`` counts: percentage points of accuracy (a budget) or % of the exact
    #: optimum's cost (a target accuracy)
    gap_unit: str = ""

    def to_json(self) -> dict[str, object]:
        r = self.result
        return {
            "method": self.method, "plan": self.label,
            "accuracy": self.accuracy, "cost_per_problem": self.cost,
            "gap_to_exact": self.gap_pp, "gap_unit": self.gap_unit,
            "heldout_accuracy": self.heldout_accuracy,
            "heldout_cost_per_problem": self.heldout_cost,
            "status": self.status,
            "solver_gap": None if r is None else r.gap,
            "seconds": self.seconds,
            "error": self.error,
        }


def _compared(context: PlanningContext, name: str, result: SearchResult,
              objective: Objective, method: str | None = None) -> Comparison:
    """A method's row before its gap is known; with the request's ``share_tests`` its plan
    refined by test sharing (:func:`refine_result`) within ``method``'s time limit
    (default: the row's method), predicted by simulation when a sharing variant won."""
    label = context.stages_plan(result.stages).label()
    accuracy, cost = result.accuracy, result.cost
    status, seconds = result.status, result.seconds
    h_acc = h_cost = None
    if context.heldout is not None:
        h_acc, h_cost = score_stages(context.heldout, result.stages)
    if context.request.share_tests:
        limit = context.request.time_limit(method or name)
        left = None if limit is None else max(0.0, limit - result.seconds)
        shared = refine_result(context, result, objective, Deadline.after(left))
        seconds += shared.seconds
        if shared.improved:
            assert shared.refinement is not None
            best = shared.refinement.best
            label, accuracy, cost = best.plan.label(), best.accuracy, best.cost
            status = SolverStatus.FEASIBLE
            heldout = context.predict_plan(best.plan)[1]
            if heldout is not None:
                h_acc, h_cost = heldout.accuracy, heldout.cost
    return Comparison(name, result, label, None, h_acc, h_cost, accuracy=accuracy, cost=cost,
                      status=status, seconds=seconds)


def compare_methods(context: PlanningContext, objective: Objective,
                    methods: Sequence[MethodName | str]) -> list[Comparison]:
    """Every method's plan for the same objective (each with the options the request gives
    it), with its gap to the exact optimum in percentage points of accuracy (cost for a
    target accuracy: relative, in %). With the request's ``share_tests`` every plan, the
    exact optimum's included, is refined by test sharing first, so the gaps compare
    refined plans. A method that fails gets its error in its row; unknown names raise.

    Unless the request's selection is ``naive``, a last row (method ``selection``) is the
    plan the selection chooses among the plans within budget (``plan``'s default: it
    gives up some planning-part accuracy, the gap, for accuracy on new problems; the
    held-out columns show what that buys on this split)."""
    names = [method_entry(m).name for m in methods]
    rows: dict[MethodName, Comparison] = {}
    todo = list(dict.fromkeys([MethodName.EXACT, *names]))
    with progress.task("compare", total=len(todo), unit="method") as step:
        for name in todo:
            try:
                result = run_search(context, objective, name)
            except SearchError as exc:
                if name == MethodName.EXACT:
                    raise
                rows[name] = Comparison(name, None, "", None, None, None, str(exc))
            else:
                rows[name] = _compared(context, name, result, objective)
            step.advance()
    selector = context.request.selector()
    if selector.label() != "naive":
        names.append("selection")
        rows["selection"] = _selected(context, selector, objective)
    exact = rows[MethodName.EXACT]
    assert exact.accuracy is not None and exact.cost is not None
    out = []
    for name in names:
        row = rows[name]
        if row.result is not None:
            assert row.accuracy is not None and row.cost is not None
            if objective.is_budget:
                gap = 100.0 * (exact.accuracy - row.accuracy)
            else:
                gap = 100.0 * (row.cost - exact.cost) / exact.cost if exact.cost else 0.0
            row = replace(row, gap_pp=gap, gap_unit=GAP_UNITS[objective.is_budget])
        out.append(row)
    return out


def _selected(context: PlanningContext, selector: Selector, objective: Objective
              ) -> Comparison:
    """The selection's row of :func:`compare_methods` (its error in the row if it fails),
    chosen within the request's method's time limit (its fronts stop there: the row's
    method then says it was stopped early)."""
    start = time.perf_counter()
    deadline = Deadline.after(context.request.time_limit())
    try:
        choice = in_sample(selector).select(
            SelectionTask.from_context(context, deadline=deadline), [objective])[0]
    except CodecascadeError as exc:
        return Comparison("selection", None, "", None, None, None, str(exc))
    if not choice.fits:
        return Comparison("selection", None, "", None, None, None,
                          "no plan fits the budget with the selection's confidence")
    result = SearchResult(f"selection {selector.label()}", choice.stages,
                          choice.planning_accuracy, choice.planning_cost,
                          SolverStatus.FEASIBLE, None, time.perf_counter() - start)
    stopped = "" if choice.complete else " (stopped early)"
    return _compared(context, f"selection {selector.label()}{stopped}", result, objective,
                     context.request.method)
