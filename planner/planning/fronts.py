"""Cost–accuracy fronts: every cascade's, the best single-model plans', and the plan a
budget chooses on them.

Points carry the planning part's accuracy (fraction) and cost ($ per problem), and the
same plan's numbers on the held-out part when the split has one.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..options import CascadePlan
from ..profile import Profile
from ..search.blas import single_threaded_blas
from ..search.deadline import Deadline
from ..search.errors import BudgetTooLowError
from ..search.exact import exact_front
from ..search.objective import Objective
from ..search.result import SearchResult
from ..search.sharing import sharing_front, simulate_point
from ..search.stages import normalise_stages, score_stages, stages_from_codes
from ..search.stopping import listening
from ..selection import SelectionTask, Selector
from ..selection.candidate_selector import CandidateSelector
from ..selection.candidates import single_model_codes
from ..vocabulary import MethodName, SolverStatus
from .context import PlanningContext, planning_context
from .refinement import refine_result
from .request import PlanRequest, as_request
from .searches import run_search


@dataclass(frozen=True)
class FrontPoint:
    """One plan of a front: planning-part accuracy and cost, held-out ones if any.
    ``stages`` are (model, table row); a plan that shares tests has no table row, so its
    ``stages`` are empty, ``simulated`` is set and ``plan`` holds it."""

    stages: tuple[tuple[int, int], ...]
    label: str
    accuracy: float
    cost: float
    heldout_accuracy: float | None
    heldout_cost: float | None
    simulated: bool = False
    plan: CascadePlan | None = None

    def to_json(self) -> dict[str, object]:
        return {"plan": self.label, "accuracy": self.accuracy,
                "cost_per_problem": self.cost, "heldout_accuracy": self.heldout_accuracy,
                "heldout_cost_per_problem": self.heldout_cost,
                "estimator": "simulation" if self.simulated else "exact"}


def front_points(context: PlanningContext,
                 stage_list: Iterable[Sequence[tuple[int, int]]]) -> list[FrontPoint]:
    """Planning and held-out accuracy and cost of plans given as (model, row) stages."""
    points = []
    for stages in stage_list:
        acc, cost = score_stages(context.planning, stages)
        h_acc = h_cost = None
        if context.heldout is not None:
            h_acc, h_cost = score_stages(context.heldout, stages)
        plan = context.stages_plan(stages)
        points.append(FrontPoint(tuple(stages), plan.label(), acc, cost, h_acc, h_cost,
                                 plan=plan))
    return points


def simulated_point(context: PlanningContext, plan: CascadePlan) -> FrontPoint:
    """A plan outside the option tables (it shares tests), predicted by simulation on
    both parts."""
    planning, heldout = context.predict_plan(plan)
    return FrontPoint((), plan.label(), planning.accuracy, planning.cost,
                      None if heldout is None else heldout.accuracy,
                      None if heldout is None else heldout.cost, simulated=True, plan=plan)


def pareto_front(context: PlanningContext, *, share_tests: bool | None = None,
                 deadline: Deadline | None = None) -> list[FrontPoint]:
    """The exact cost–accuracy front of all cascades on the planning part, cheapest first.
    With ``share_tests`` (default: the request's), merged with the sharing variants of its
    plans (simulated, held-out numbers simulated on the held-out part too):
    planner.search.sharing.sharing_front. At ``deadline`` the enumeration stops: the front
    of the plans seen by then (:func:`frontier` says so)."""
    return _cascade_front(context, share_tests, deadline)[0]


def _cascade_front(context: PlanningContext, share_tests: bool | None,
                   deadline: Deadline | None) -> tuple[list[FrontPoint], bool]:
    """:func:`pareto_front` and whether it is complete (no deadline cut it short)."""
    if share_tests is None:
        share_tests = context.request.share_tests
    with single_threaded_blas():
        front, _ = exact_front(context.planning, deadline)
    points = front_points(context, [normalise_stages(context.planning, stages_from_codes(c))
                                    for c in front.codes])
    if not share_tests:
        return points, front.complete
    with single_threaded_blas(), listening():
        merged, _, complete = sharing_front(context.simulator(),
                                            [(p.plan, p.accuracy, p.cost) for p in points],
                                            context.grid, deadline)
    exact = {p.plan: p for p in points}
    heldout = context.simulator(heldout=True) if context.heldout is not None else None
    out = []
    for m in merged:
        if not m.simulated:
            out.append(exact[m.plan])
            continue
        h_acc = h_cost = None
        # past the deadline a sharing plan's held-out numbers are left out (None)
        if heldout is not None and not (deadline is not None and deadline.expired()):
            h = simulate_point(heldout, m.plan)
            h_acc, h_cost = h.accuracy, h.cost
        out.append(FrontPoint((), m.plan.label(), m.accuracy, m.cost, h_acc, h_cost,
                              simulated=True, plan=m.plan))
    return out, front.complete and complete


def single_model_front(context: PlanningContext) -> list[FrontPoint]:
    """The front of single-model plans (one model, its own tests deciding): the baseline
    a cascade has to beat (planner.selection.candidates.single_model_codes)."""
    front = single_model_codes(context.planning)
    return front_points(context, [stages_from_codes(c) for c in front.codes])


def chosen_point(context: PlanningContext, objective: Objective,
                 deadline: Deadline | None = None) -> FrontPoint:
    """The plan ``plan`` returns for ``objective`` as a front point: the request's
    selection's choice (``naive``: the exact method's plan, the best found by
    ``deadline``; another selection: its choice among the candidates found by
    ``deadline``); with the request's ``share_tests``, refined by test sharing as ``plan``
    refines it (a sharing plan is then predicted by simulation)."""
    return _chosen(context, objective, deadline)[0]


def _chosen(context: PlanningContext, objective: Objective, deadline: Deadline | None
            ) -> tuple[FrontPoint, bool]:
    """:func:`chosen_point`, and whether its selection's candidates were complete."""
    selector = context.request.selector()
    complete = True
    if selector.label() == "naive":
        left = math.inf if deadline is None else deadline.remaining()
        options = {} if math.isinf(left) else {"time_limit": max(1e-3, left)}
        result = run_search(context, objective, MethodName.EXACT, **options)
    else:
        task = SelectionTask.from_context(context, deadline=deadline)
        with listening():
            choice = in_sample(selector).select(task, [objective])[0]
        complete = choice.complete
        if not choice.fits:
            raise BudgetTooLowError(
                f"no plan {'found by the time limit ' if not complete else ''}stays within "
                f"${objective.budget:.6g} per problem with confidence "
                f"{selector.budget_confidence:g}; raise the budget or lower the budget "
                "confidence")
        acc, cost = score_stages(context.planning, choice.stages)
        result = SearchResult(f"selection {selector.label()}", choice.stages, acc, cost,
                              SolverStatus.FEASIBLE, None, 0.0)
    chosen = front_points(context, [result.stages])[0]
    if context.request.share_tests:
        shared = refine_result(context, result, objective, deadline)
        if shared.improved:
            assert shared.refinement is not None
            chosen = simulated_point(context, shared.refinement.best.plan)
    return chosen, complete


def in_sample(selector: Selector) -> Selector:
    """``selector`` without its statement for new problems (a front shows in-sample and
    held-out numbers; the inner cross-validation would only slow it)."""
    if isinstance(selector, CandidateSelector):
        return replace(selector, prediction="in-sample")
    return selector


def selected_points(context: PlanningContext, budgets: Sequence[float],
                    deadline: Deadline | None = None) -> tuple[list[FrontPoint], bool]:
    """The plans the request's selection chooses at ``budgets`` ($ per problem), distinct,
    cheapest first (budgets no plan meets under the selection's cost rule are left out),
    and whether the selection's candidates were complete (False: ``deadline`` cut them
    short, the plans are chosen among those found by then)."""
    selector = in_sample(context.request.selector())
    task = SelectionTask.from_context(context, deadline=deadline)
    with listening():
        wanted = sorted({float(b) for b in budgets
                         if b >= float(task.candidates.mean_cost.min()) - 1e-12})
        objectives = [Objective(budget=b) for b in wanted]
        if isinstance(selector, CandidateSelector):
            picks, complete = selector.picks(task, objectives)
            chosen = [(stages, fits) for stages, fits, _ in picks]
        else:
            choices = selector.select(task, objectives)
            chosen = [(c.stages, c.fits) for c in choices]
            complete = all(c.complete for c in choices)
    stages = dict.fromkeys(s for s, fits in chosen if fits)
    points = front_points(context, list(stages))
    return sorted(points, key=lambda p: (p.cost, -p.accuracy)), complete


@dataclass(frozen=True)
class Frontier:
    """What ``frontier`` shows: the cascade front, the single-model front beside it, the
    plan chosen for the request's objective (None without one), and the plans the
    request's selection chooses at the cascade front's costs (``selected``; the front's own
    plans for ``naive``), all in ``context``."""

    context: PlanningContext
    cascade: list[FrontPoint]
    single: list[FrontPoint]
    chosen: FrontPoint | None
    #: False when the time limit (or Ctrl-C) cut the enumeration short: ``cascade`` is
    #: then the front of the plans enumerated so far
    complete: bool = True
    selected: list[FrontPoint] = field(default_factory=list)
    #: False when it cut the selection short: ``chosen`` and ``selected`` are chosen
    #: among the candidates found by then (``selected`` is empty if none were chosen)
    selection_complete: bool = True


def frontier(request: PlanRequest | Profile | str | os.PathLike[str] | None = None,
             **fields: Any) -> Frontier:
    """The fronts of a request (see :class:`Frontier`); ``request`` as for
    :func:`~planner.planning.plans.plan`. The exact method's time limit (the request's
    ``method_options``) bounds the whole computation after the option tables."""
    return frontier_in(planning_context(as_request(request, **fields)))


def frontier_in(context: PlanningContext) -> Frontier:
    """:func:`frontier` in a context already built (its option tables computed)."""
    request = context.request
    deadline = Deadline.after(request.time_limit(MethodName.EXACT))
    cascade, complete = _cascade_front(context, None, deadline)
    single = single_model_front(context)
    naive = request.selector().label() == "naive"
    chosen = None
    # a front cut short: the plan the objective chooses on it (today's rule, so a
    # selection that is not today's is marked cut short)
    chose = complete or naive
    if request.objective is not None:
        chosen, chose = (_chosen(context, request.objective, deadline) if complete
                         else (_best_on(cascade, request.objective), chose))
    selected, selected_all = cascade, True
    if not naive:
        selected, selected_all = [], False
        if complete and not deadline.expired():
            selected, selected_all = selected_points(
                context, [p.cost for p in cascade if not p.simulated], deadline)
    return Frontier(context, cascade, single, chosen, complete, selected,
                    selection_complete=chose and selected_all)


def _best_on(points: Sequence[FrontPoint], objective: Objective) -> FrontPoint | None:
    """The point of a (partial) front that ``objective`` chooses, None if none meets it."""
    best = None
    for p in points:
        if objective.feasible(p.accuracy, p.cost) and (
                best is None or objective.better(p.accuracy, p.cost, best.accuracy, best.cost)):
            best = p
    return best
