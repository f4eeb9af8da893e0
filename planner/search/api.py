"""The planning API: profile + prices + grid + split -> a cascade spec, a front, a comparison.

:func:`planning_context` does the shared work once: load the profile (optionally re-priced
and restricted to some models), compute option tables for the grid on all problems (the
estimator caches them), and cut them into the planning part and the held-out part of the
split. :func:`plan` searches the planning part and returns a :class:`~planner.spec.CascadeSpec`
whose predictions on both parts come from the same exact formula with bootstrap intervals.
:func:`pareto_front` gives the whole front (exact), with the single-model front beside it.

With ``share_tests`` both also search test sharing (planner.search.sharing): the exact
plans are refined by simulating their sharing variants, and a plan that shares tests is
predicted by whole-replicate simulation, with its Monte Carlo standard error.
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from ..cascade import OptionTable
from ..errors import CodecascadeError
from ..options import CascadePlan, Grid, Stage
from ..profile import DEFAULT_PROFILE_NAME, Profile, ProfileError, load_profile
from ..spec import CascadeSpec, Prediction, Provenance, SolverInfo
from .base import (
    Objective,
    SearchError,
    SearchResult,
    SearchSpace,
    normalise_stages,
    score_stages_per_problem,
    single_threaded_blas,
    stages_from_codes,
)

if TYPE_CHECKING:
    from .sharing import Refinement, SimulatedPlan

#: The method ``plan`` uses unless told otherwise: exact enumeration with pruning is both
#: optimal and fast on the bundled grids.
DEFAULT_METHOD = "exact"
DEFAULT_GRID = "default"
#: The first of the paper's five validation/test splits.
DEFAULT_SPLIT = "paper-seed3"
DEFAULT_REPLICATES = 64
CONFIDENCE = 0.95
#: With test sharing and the exact method, the optimum's neighbours on each side of it on
#: the exact front are refined too (a cheaper or dearer plan's sharing form may fit best).
SHARING_NEIGHBOURS = 8


@dataclass(frozen=True, eq=False)
class PlanningContext:
    """Everything a search needs, computed once: see the module docstring."""

    profile: Profile
    profile_label: str
    grid: Grid
    split_name: str
    split_seed: int
    planning: SearchSpace
    heldout: SearchSpace | None
    planning_problems: np.ndarray
    heldout_problems: np.ndarray | None
    seed: int
    replicates: int

    def stages_plan(self, stages: Sequence[tuple[int, int]]) -> CascadePlan:
        tables = self.planning.tables
        return CascadePlan(tuple(Stage(tables[i].model, tables[i].options[r])
                                 for i, r in stages))

    def simulator(self, heldout: bool = False):
        """A :class:`~planner.estimate.PlanSimulator` on the planning (or held-out)
        problems with the tables' replicates, seed and sampling (common random numbers)."""
        from ..estimate import PlanSimulator

        problems = self.heldout_problems if heldout else self.planning_problems
        if problems is None:
            raise SearchError("this split has no held-out part")
        return PlanSimulator(self.profile, problems, self.replicates, self.seed,
                             self.grid.sampling)

    def predict_plan(self, plan: CascadePlan) -> tuple[Prediction, Prediction | None]:
        """Predictions of any plan, sharing ones included, by the estimator
        (:func:`~planner.estimate.estimate_plan`: the same draws as the tables)."""
        planning = _estimated(self, plan, self.planning_problems,
                              "validation" if self.heldout is not None else "all")
        heldout = None
        if self.heldout_problems is not None:
            heldout = _estimated(self, plan, self.heldout_problems, "test")
        return planning, heldout

    def predict(self, stages: Sequence[tuple[int, int]]) -> tuple[Prediction,
                                                                    Prediction | None]:
        """Predicted accuracy and cost with bootstrap intervals on both parts."""
        planning = _prediction(self.planning, stages, "validation"
                               if self.heldout is not None else "all", self.seed)
        heldout = None
        if self.heldout is not None:
            heldout = _prediction(self.heldout, stages, "test", self.seed)
        return planning, heldout


def _prediction(space: SearchSpace, stages, part: str, seed: int) -> Prediction:
    from ..intervals import bootstrap_ci

    acc, cost = score_stages_per_problem(space, stages)
    low, high = bootstrap_ci(np.stack([acc, cost], axis=1), confidence=CONFIDENCE, seed=seed)
    clip = lambda v: float(min(1.0, max(0.0, v)))  # noqa: E731  (float noise at 0 and 1)
    return Prediction(
        split=part, n_problems=int(acc.size), accuracy=clip(acc.mean()),
        accuracy_ci=(clip(low[0]), clip(high[0])), cost=float(max(0.0, cost.mean())),
        cost_ci=(float(max(0.0, low[1])), float(max(0.0, high[1]))), confidence=CONFIDENCE,
    )


def _estimated(context: PlanningContext, plan: CascadePlan, problems: np.ndarray,
               part: str) -> Prediction:
    from ..estimate import estimate_plan

    est = estimate_plan(context.profile, plan, problems, context.replicates, context.seed,
                        context.grid.sampling, confidence=CONFIDENCE)
    clip = lambda v: float(min(1.0, max(0.0, v)))  # noqa: E731  (float noise at 0 and 1)
    return Prediction(
        split=part, n_problems=len(est.problems), accuracy=clip(est.accuracy),
        accuracy_ci=(clip(est.accuracy_ci[0]), clip(est.accuracy_ci[1])),
        cost=float(max(0.0, est.cost)),
        cost_ci=(float(max(0.0, est.cost_ci[0])), float(max(0.0, est.cost_ci[1]))),
        confidence=CONFIDENCE, accuracy_mc_se=est.accuracy_mc_se, cost_mc_se=est.cost_mc_se,
    )


def parse_prices(pairs: Sequence[str]) -> dict[str, float]:
    """``NAME=DOLLARS_PER_1K_TOKENS`` strings -> {name: $ per token}; one-line errors."""
    prices = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        try:
            price = float(value)
        except ValueError:
            price = float("nan")
        if not sep or not name or not np.isfinite(price) or price < 0:
            raise CodecascadeError(
                f"bad price {pair!r}: expected MODEL=DOLLARS_PER_1K_TOKENS with a number >= 0"
            )
        prices[name] = price / 1000.0
    return prices


def planning_context(
    profile: Profile | str | os.PathLike[str] | None = None,
    *,
    grid: Grid | str = DEFAULT_GRID,
    split: str = DEFAULT_SPLIT,
    seed: int = 0,
    replicates: int = DEFAULT_REPLICATES,
    models: Sequence[str] | None = None,
    prices: dict[str, float] | None = None,
) -> PlanningContext:
    """Load, re-price, restrict, tabulate and split (see the module docstring)."""
    from ..estimate import option_tables
    from ..options import grid_by_name
    from ..splits import split_by_name

    if isinstance(profile, Profile):
        label = str(profile.provenance.get("name", "in-memory profile"))
    else:
        label = DEFAULT_PROFILE_NAME if profile is None else str(profile)
        profile = load_profile(profile)
    if prices:
        profile = profile.with_prices(prices)
    if replicates < 1:
        raise CodecascadeError(f"replicates must be >= 1, got {replicates}")
    grid = grid_by_name(grid) if isinstance(grid, str) else grid
    chosen = list(range(profile.n_models))
    if models:
        chosen = sorted({profile.model_index(name) for name in models})
    the_split = split_by_name(split, profile.n_problems)
    tables = option_tables(profile, grid, replicates=replicates, seed=seed)
    tables = [tables[i] for i in chosen]
    _check_tables(tables)
    everything = the_split.name == "all"
    planning_idx = np.arange(profile.n_problems) if everything else the_split.validation
    planning = SearchSpace(tuple(t.columns(planning_idx) for t in tables), grid.shared_theta)
    heldout = None
    heldout_idx = None
    if not everything:
        heldout_idx = the_split.test
        heldout = SearchSpace(tuple(t.columns(heldout_idx) for t in tables), grid.shared_theta)
    return PlanningContext(
        profile=profile, profile_label=label, grid=grid, split_name=the_split.name,
        split_seed=the_split.seed, planning=planning, heldout=heldout,
        planning_problems=planning_idx, heldout_problems=heldout_idx, seed=seed,
        replicates=replicates,
    )


def _check_tables(tables: Sequence[OptionTable]) -> None:
    if not tables:
        raise ProfileError("no models to plan with")
    for table in tables:
        if table.n_options == 0:
            raise SearchError(f"model {table.model!r} has no option on this grid")


def run_search(context: PlanningContext, objective: Objective, method: str = DEFAULT_METHOD,
               *, time_limit: float | None = None, ilp_solver: str = "auto") -> SearchResult:
    """One method's plan on the planning part of ``context`` (``time_limit`` and
    ``ilp_solver``, auto/highs/cbc, apply to the integer program)."""
    from . import IntegerProgram, get_method
    from .ilp import TIME_LIMIT

    searcher = get_method(method)
    if isinstance(searcher, IntegerProgram):
        searcher = IntegerProgram(time_limit=TIME_LIMIT if time_limit is None else time_limit,
                                  solver=ilp_solver)
    return searcher.search(context.planning, objective, seed=context.seed)


def _provenance(context: PlanningContext, prediction: str,
                extra: dict[str, object] | None = None) -> Provenance:
    from .. import __version__
    from ..estimate import ESTIMATOR_VERSION

    profile = context.profile
    return Provenance(
        profile=context.profile_label,
        profile_sha256=profile.fingerprint(),
        prices={m.name: m.price_generated for m in profile.models},
        grid=context.grid.name,
        split=context.split_name,
        seeds={"split": int(context.split_seed), "estimator": int(context.seed),
               "search": int(context.seed), "bootstrap": int(context.seed)},
        version=__version__,
        created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        extra={
            "grid": context.grid.to_json(),
            "models": list(context.planning.tables[i].model
                           for i in range(context.planning.n_models)),
            "prompt_prices": {m.name: m.price_prompt for m in profile.models},
            "replicates": context.replicates,
            "estimator_version": ESTIMATOR_VERSION,
            "prediction": prediction,
            "plans_in_space": context.planning.count_plans(),
            **(extra or {}),
        },
    )


_EXACT_PREDICTION = ("exact cascade formula on the option tables, percentile bootstrap over "
                     "problems")
_SIMULATED_PREDICTION = ("whole-replicate simulation (test sharing; the option tables' "
                         "draws), percentile bootstrap over problems, Monte Carlo SE beside")


def spec_from_result(context: PlanningContext, result: SearchResult,
                     objective: Objective) -> CascadeSpec:
    """The cascade spec of a search result, with predictions and provenance."""
    planning, heldout = context.predict(result.stages)
    return CascadeSpec(
        stages=context.stages_plan(result.stages).stages,
        objective="max_accuracy" if objective.is_budget else "min_cost",
        budget=objective.budget,
        target_accuracy=objective.target_accuracy,
        planning=planning,
        heldout=heldout,
        solver=SolverInfo(method=result.method, status=result.status, gap=result.gap,
                          seconds=result.seconds, solver=result.solver,
                          plans_evaluated=result.plans_evaluated),
        provenance=_provenance(context, _EXACT_PREDICTION),
    )


@dataclass(frozen=True)
class SharedResult:
    """A search result refined with test sharing: the refinement and its time."""

    result: SearchResult
    refinement: Refinement
    seconds: float


def refine_result(context: PlanningContext, result: SearchResult,
                  objective: Objective) -> SharedResult:
    """Refine a search result with test sharing (planner.search.sharing) on the planning
    part. For the exact method, the plans nearest to it on the exact front are refined too
    (SHARING_NEIGHBOURS on each side); other methods avoid that front, so only their plan
    is refined."""
    from .exact import exact_front
    from .sharing import refine_with_sharing

    start = time.perf_counter()
    plan = context.stages_plan(result.stages)
    bases: list[CascadePlan] = []
    with single_threaded_blas():
        if result.method == "exact":
            front, _ = exact_front(context.planning)
            at = int(np.searchsorted(front.cost, result.cost))
            lo, hi = max(0, at - SHARING_NEIGHBOURS), at + SHARING_NEIGHBOURS + 1
            bases = [context.stages_plan(normalise_stages(context.planning,
                                                          stages_from_codes(codes)))
                     for codes in front.codes[lo:hi]]
        refinement = refine_with_sharing(context.simulator(), plan, objective, context.grid,
                                         bases)
    return SharedResult(result, refinement, time.perf_counter() - start)


def spec_from_shared(context: PlanningContext, shared: SharedResult,
                     objective: Objective) -> CascadeSpec:
    """The cascade spec of a sharing-refined result. A plan that shares tests is predicted
    by simulation; the search info says the plan was refined (its status is then
    "feasible": the sharing space is searched locally, with no optimality proof)."""
    result, ref = shared.result, shared.refinement

    def simulated(point: SimulatedPlan) -> dict[str, float]:
        return {"accuracy": point.accuracy, "cost": point.cost,
                "accuracy_mc_se": point.accuracy_se, "cost_mc_se": point.cost_se}

    sharing = {
        "refined_by": "simulating sharing variants on the planning part "
                      "(planner.search.sharing)",
        "improved": ref.improved,
        "variants_evaluated": ref.variants_evaluated,
        "base_plan": ref.base.plan.label(),
        "base_status": result.status,
        "base_gap": result.gap,
        "base_simulated": simulated(ref.base),
        "chosen_simulated": simulated(ref.best),
    }
    if ref.improved:
        planning, heldout = context.predict_plan(ref.best.plan)
        status, gap, prediction = "feasible", None, _SIMULATED_PREDICTION
    else:
        planning, heldout = context.predict(result.stages)
        status, gap, prediction = result.status, result.gap, _EXACT_PREDICTION
    return CascadeSpec(
        stages=ref.best.plan.stages,
        objective="max_accuracy" if objective.is_budget else "min_cost",
        budget=objective.budget,
        target_accuracy=objective.target_accuracy,
        planning=planning,
        heldout=heldout,
        solver=SolverInfo(method=f"{result.method}+sharing", status=status, gap=gap,
                          seconds=result.seconds + shared.seconds,
                          solver=" + ".join(filter(None, [result.solver, "simulation"])),
                          plans_evaluated=result.plans_evaluated + ref.variants_evaluated),
        provenance=_provenance(context, prediction, {"sharing": sharing}),
    )


def plan(
    profile: Profile | str | os.PathLike[str] | None = None,
    budget: float | None = None,
    *,
    target_accuracy: float | None = None,
    method: str = DEFAULT_METHOD,
    grid: Grid | str = DEFAULT_GRID,
    split: str = DEFAULT_SPLIT,
    seed: int = 0,
    replicates: int = DEFAULT_REPLICATES,
    models: Sequence[str] | None = None,
    prices: dict[str, float] | None = None,
    time_limit: float | None = None,
    share_tests: bool = False,
    ilp_solver: str = "auto",
) -> CascadeSpec:
    """The most accurate cascade with expected cost <= ``budget`` ($ per problem) on the
    planning part of ``split`` (or, with ``target_accuracy``, the cheapest one reaching it),
    as a validated cascade spec. ``share_tests`` also searches test sharing (see the
    module docstring)."""
    objective = Objective(budget=budget, target_accuracy=target_accuracy)
    context = planning_context(profile, grid=grid, split=split, seed=seed,
                               replicates=replicates, models=models, prices=prices)
    result = run_search(context, objective, method, time_limit=time_limit,
                        ilp_solver=ilp_solver)
    if share_tests:
        return spec_from_shared(context, refine_result(context, result, objective), objective)
    return spec_from_result(context, result, objective)


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
        return {"plan": self.label, "accuracy": self.accuracy, "cost": self.cost,
                "heldout_accuracy": self.heldout_accuracy, "heldout_cost": self.heldout_cost,
                "estimator": "simulation" if self.simulated else "exact"}


def front_points(context: PlanningContext, stage_list) -> list[FrontPoint]:
    """Planning and held-out accuracy and cost of plans given as (model, row) stages."""
    from .base import score_stages

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


def pareto_front(context: PlanningContext, *, share_tests: bool = False) -> list[FrontPoint]:
    """The exact cost–accuracy front of all cascades on the planning part. With
    ``share_tests``, merged with the sharing variants of its plans (simulated, held-out
    numbers simulated on the held-out part too): planner.search.sharing.sharing_front."""
    from .exact import exact_front
    from .sharing import sharing_front, simulate_point

    with single_threaded_blas():
        front, _ = exact_front(context.planning)
    points = front_points(context, [normalise_stages(context.planning, stages_from_codes(c))
                                    for c in front.codes])
    if not share_tests:
        return points
    with single_threaded_blas():
        merged, _ = sharing_front(context.simulator(),
                                  [(p.plan, p.accuracy, p.cost) for p in points],
                                  context.grid)
    exact = {p.plan: p for p in points}
    heldout = context.simulator(heldout=True) if context.heldout is not None else None
    out = []
    for m in merged:
        if not m.simulated:
            out.append(exact[m.plan])
            continue
        h_acc = h_cost = None
        if heldout is not None:
            h = simulate_point(heldout, m.plan)
            h_acc, h_cost = h.accuracy, h.cost
        out.append(FrontPoint((), m.plan.label(), m.accuracy, m.cost, h_acc, h_cost,
                              simulated=True, plan=m.plan))
    return out


def single_model_front(context: PlanningContext) -> list[FrontPoint]:
    """The front of single-model plans (one model, its own tests deciding): the baseline
    a cascade has to beat."""
    from .pareto import ParetoFront

    space = context.planning
    front = ParetoFront(space.n_models)
    for i, cand in enumerate(space.last):
        if not cand.rows.size:
            continue
        table = space.tables[i]
        codes = np.full((cand.rows.size, space.n_models), -1, dtype=np.int64)
        codes[:, i] = cand.rows
        front.add(table.correct[cand.rows].mean(axis=1), table.cost[cand.rows].mean(axis=1),
                  codes)
    from .base import stages_from_codes

    return front_points(context, [stages_from_codes(c) for c in front.codes])


@dataclass(frozen=True)
class Comparison:
    """One method's outcome in :func:`compare_methods` (``error`` set if it failed): its
    plan's accuracy and cost on the planning part (simulated when the plan shares tests),
    the gap to the exact optimum, held-out numbers, status and time (search, plus the
    sharing refinement when asked)."""

    method: str
    result: SearchResult | None
    label: str
    gap_pp: float | None
    heldout_accuracy: float | None
    heldout_cost: float | None
    error: str = ""
    accuracy: float | None = None
    cost: float | None = None
    status: str | None = None
    seconds: float | None = None

    def to_json(self) -> dict[str, object]:
        r = self.result
        return {
            "method": self.method, "plan": self.label,
            "accuracy": self.accuracy, "cost": self.cost,
            "gap_to_exact_pp": self.gap_pp,
            "heldout_accuracy": self.heldout_accuracy, "heldout_cost": self.heldout_cost,
            "status": self.status,
            "solver_gap": None if r is None else r.gap,
            "seconds": self.seconds,
            "error": self.error,
        }


def _compared(context: PlanningContext, name: str, result: SearchResult,
              objective: Objective, share_tests: bool) -> Comparison:
    """A method's row before its gap is known; with ``share_tests`` its plan refined by
    test sharing (:func:`refine_result`), predicted by simulation when a sharing variant
    won."""
    from .base import score_stages

    label = context.stages_plan(result.stages).label()
    accuracy, cost = result.accuracy, result.cost
    status, seconds = result.status, result.seconds
    h_acc = h_cost = None
    if context.heldout is not None:
        h_acc, h_cost = score_stages(context.heldout, result.stages)
    if share_tests:
        shared = refine_result(context, result, objective)
        seconds += shared.seconds
        best = shared.refinement.best
        if shared.refinement.improved:
            label, accuracy, cost, status = best.plan.label(), best.accuracy, best.cost, \
                "feasible"
            heldout = context.predict_plan(best.plan)[1]
            if heldout is not None:
                h_acc, h_cost = heldout.accuracy, heldout.cost
    return Comparison(name, result, label, None, h_acc, h_cost, accuracy=accuracy, cost=cost,
                      status=status, seconds=seconds)


def compare_methods(context: PlanningContext, objective: Objective,
                    methods: Sequence[str], *, time_limit: float | None = None,
                    share_tests: bool = False, ilp_solver: str = "auto") -> list[Comparison]:
    """Every method's plan for the same objective, with its gap to the exact optimum in
    percentage points of accuracy (cost for a target accuracy: relative, in %). With
    ``share_tests`` every plan, the exact optimum's included, is refined by test sharing
    first, so the gaps compare refined plans."""
    rows: dict[str, Comparison] = {}
    for name in dict.fromkeys(["exact", *methods]):
        try:
            result = run_search(context, objective, name, time_limit=time_limit,
                                ilp_solver=ilp_solver)
        except SearchError as exc:
            if name == "exact":
                raise
            rows[name] = Comparison(name, None, "", None, None, None, str(exc))
            continue
        rows[name] = _compared(context, name, result, objective, share_tests)
    exact = rows["exact"]
    assert exact.accuracy is not None and exact.cost is not None
    out = []
    for name in methods:
        row = rows[name]
        if row.result is not None:
            assert row.accuracy is not None and row.cost is not None
            if objective.is_budget:
                gap = 100.0 * (exact.accuracy - row.accuracy)
            else:
                gap = 100.0 * (row.cost - exact.cost) / exact.cost if exact.cost else 0.0
            row = replace(row, gap_pp=gap)
        out.append(row)
    return out
