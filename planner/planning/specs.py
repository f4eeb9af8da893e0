"""The cascade spec of a search result: stages, predictions, search info, provenance."""

from __future__ import annotations

from dataclasses import replace

from ..search.objective import Objective
from ..search.result import SearchResult
from ..search.sharing import SimulatedPlan
from ..selection import Choice
from ..spec import CascadeSpec, SolverInfo
from ..vocabulary import SolverStatus
from .context import PlanningContext
from .provenance import EXACT_PREDICTION, SIMULATED_PREDICTION, provenance
from .refinement import SharedResult


def _simulated(point: SimulatedPlan) -> dict[str, float]:
    return {"accuracy": point.accuracy, "cost": point.cost,
            "accuracy_mc_se": point.accuracy_se, "cost_mc_se": point.cost_se}


def spec_from_result(context: PlanningContext, result: SearchResult, objective: Objective,
                     shared: SharedResult | None = None) -> CascadeSpec:
    """The cascade spec of a search result, with predictions on both parts and provenance.

    With ``shared`` (the result refined by test sharing, :func:`refine_result`) the spec is
    the refined plan's: a plan that shares tests is predicted by simulation, its search
    info says it was refined (status "feasible": the sharing space is searched locally,
    with no optimality proof) and ``provenance.extra.sharing`` holds the base plan and both
    simulated scores (a refinement the deadline left no time for says so there, and
    nothing is simulated). Otherwise the exact formula predicts the plan.
    """
    method, status, gap = result.method, result.status, result.gap
    seconds, solver, evaluated = result.seconds, result.solver, result.plans_evaluated
    stages = context.stages_plan(result.stages).stages
    prediction, extra, simulated = EXACT_PREDICTION, None, None
    if shared is not None and shared.refinement is None:
        extra = {"sharing": {
            "refined_by": "nothing: the time limit (or Ctrl-C) had passed before the "
                          "refinement could start",
            "improved": False, "stopped_early": True, "variants_evaluated": 0,
            "base_plan": context.stages_plan(result.stages).label(),
            "base_status": result.status, "base_gap": result.gap}}
        method = f"{result.method}+sharing"
        seconds += shared.seconds
    elif shared is not None:
        ref = shared.refinement
        extra = {"sharing": {
            "refined_by": "simulating sharing variants on the planning part "
                          "(planner.search.sharing)",
            "improved": ref.improved,
            "stopped_early": ref.stopped,
            "variants_evaluated": ref.variants_evaluated,
            "base_plan": ref.base.plan.label(),
            "base_status": result.status,
            "base_gap": result.gap,
            "base_simulated": _simulated(ref.base),
            "chosen_simulated": _simulated(ref.best),
        }}
        stages = ref.best.plan.stages
        method = f"{result.method}+sharing"
        seconds += shared.seconds
        solver = " + ".join(filter(None, [result.solver, "simulation"]))
        evaluated += ref.variants_evaluated
        if ref.improved:
            status, gap, prediction = SolverStatus.FEASIBLE, None, SIMULATED_PREDICTION
            simulated = ref.best.plan
    if simulated is not None:
        planning, heldout = context.predict_plan(simulated)
    else:
        planning, heldout = context.predict(result.stages)
    return CascadeSpec(
        stages=stages,
        objective=objective.kind,
        budget=objective.budget,
        target_accuracy=objective.target_accuracy,
        planning=planning,
        heldout=heldout,
        solver=SolverInfo(method=method, status=status, gap=gap, seconds=seconds,
                          solver=solver, plans_evaluated=evaluated),
        provenance=provenance(context, prediction, extra),
    )


def spec_from_choice(context: PlanningContext, choice: Choice, result: SearchResult,
                     objective: Objective, shared: SharedResult | None = None
                     ) -> CascadeSpec:
    """The spec of a selector's choice (``result`` holds its stages and the selection's
    time, ``shared`` its refinement by test sharing): the spec of
    :func:`spec_from_result` with the choice's statement for new problems
    (``predicted.new_problems``) and :func:`selection_record` in
    ``provenance.extra.selection``. When test sharing changed the plan, the statement is
    the plan's before sharing, and says so."""
    spec = spec_from_result(context, result, objective, shared)
    new = replace(choice.predicted, selection=result.method.partition("+")[2] or None)
    if shared is not None and shared.improved:
        new = replace(new, method=new.method + "; of the plan before test sharing")
    extra = {**spec.provenance.extra, "selection": selection_record(choice)}
    return replace(spec, new_problems=new,
                   provenance=replace(spec.provenance, extra=extra))


def selection_record(choice: Choice) -> dict[str, object]:
    """What the spec's ``provenance.extra.selection`` records of a choice: whether a
    deadline (the time limit, or Ctrl-C) stopped the selection early, whether the
    candidates it chose among were complete, and whether the statement for new problems
    is the one the selection asks for (False: the in-sample one stands in)."""
    return {"stopped_early": not (choice.complete and choice.statement_complete),
            "candidates_complete": choice.complete,
            "statement_complete": choice.statement_complete}
