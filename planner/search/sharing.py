"""Test sharing as a searchable option: refine exact-search plans by simulation.

With ``share_tests`` a later stage also runs its solutions on the test lines the earlier
stages paid for. Stages are then no longer independent, so the exact cascade formula that
the search methods enumerate does not hold (docs/method.md §3.4); such plans are scored by
simulating whole replicates (:class:`~planner.estimate.PlanSimulator`, the same draws as
the option tables: common random numbers).

So sharing is searched as a refinement of the non-sharing space. Starting from plans the
exact methods found (the optimum and its neighbours on the exact Pareto front), every
*sharing variant* of a plan is simulated: each later stage with tests (k >= 1) either stays
as it is or shares, and a sharing stage may also re-choose its own test generations
t' <= t (the shared lines may make fewer own tests enough) and, as a mid stage on a
per-stage-θ grid, its θ. The first stage, which never shares, may instead write any other
number of test generations the grid allows (k >= 2): its tests now serve the later stages
too, and they are the cheapest ones. t' and θ stay on the grid. Variants are generated
lazily and reduced on the fly (best so far, or a running front): never all in memory.

* :func:`refine_with_sharing` returns a variant only if it beats the input plan when both
  are simulated on the same replicates, within the budget (or reaching the target
  accuracy) by simulation; otherwise the input itself. It is never worse than its input.
  It varies the first stage's test count only around each base plan's best variant. With
  a deadline it stops between variants with the best one so far (``stopped`` says so).
* :func:`sharing_front` merges all the variants of front plans into the exact front.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .. import progress
from ..options import CascadePlan, Grid, Stage, StageOption
from .deadline import Deadline
from .objective import TOLERANCE, Objective
from .pareto import ParetoFront

if TYPE_CHECKING:
    from ..estimate import PlanSimulator


@dataclass(frozen=True)
class SimulatedPlan:
    """A plan's mean accuracy and cost over the simulator's problems and replicates, with
    their Monte Carlo standard errors (0 for the paper's loops, an exact average)."""

    plan: CascadePlan
    accuracy: float
    cost: float
    accuracy_se: float
    cost_se: float


@dataclass(frozen=True)
class Refinement:
    """What :func:`refine_with_sharing` chose: ``best`` (the input when no variant beat
    it), the input as simulated on the same replicates, and how many variants it scored."""

    best: SimulatedPlan
    base: SimulatedPlan
    variants_evaluated: int
    stopped: bool = False

    @property
    def improved(self) -> bool:
        return self.best.plan != self.base.plan


def simulate_point(simulator: PlanSimulator, plan: CascadePlan) -> SimulatedPlan:
    """Mean accuracy and cost of ``plan`` with Monte Carlo standard errors."""
    sim = simulator.simulate(plan)
    n_r = sim.correct.shape[1]
    exact = not simulator.sampling.is_random or n_r < 2
    def se(per_replicate: np.ndarray) -> float:
        return 0.0 if exact else float(per_replicate.std(ddof=1) / np.sqrt(n_r))
    return SimulatedPlan(plan=plan, accuracy=float(sim.correct.mean()),
                         cost=float(sim.cost.mean()),
                         accuracy_se=se(sim.correct.mean(axis=0)),
                         cost_se=se(sim.cost.mean(axis=0)))


def _stage_choices(stage: Stage, mid: bool, grid: Grid) -> list[StageOption]:
    """The stage as it is, then its sharing forms (see the module docstring)."""
    opt = stage.option
    out = [opt]
    if opt.k < 1:
        return out
    if opt.k == 1:
        own_ts = [1]
    elif grid.ts is None:
        own_ts = [opt.t]
    else:
        own_ts = sorted({t for t in grid.ts if t <= opt.t} | {opt.t})
    thetas = [opt.theta] if (not mid or grid.shared_theta) else sorted(
        set(grid.thetas) | {opt.theta})
    out += [dataclasses.replace(opt, t=t, theta=th, share_tests=True)
            for t in own_ts for th in thetas]
    return out


def _first_stage_choices(stage: Stage, grid: Grid) -> list[StageOption]:
    """The first stage as it is, then with every other number of test generations."""
    opt = stage.option
    if opt.k < 2 or grid.ts is None:
        return [opt]
    return [opt] + [dataclasses.replace(opt, t=t) for t in grid.ts if t != opt.t]


def _variant_choices(plan: CascadePlan, grid: Grid, vary_first: bool
                     ) -> list[list[StageOption]]:
    stages = plan.stages
    last = len(stages) - 1
    first = _first_stage_choices(stages[0], grid) if vary_first else [stages[0].option]
    return [first] + [_stage_choices(s, i < last, grid) for i, s in enumerate(stages) if i > 0]


def count_variants(plan: CascadePlan, grid: Grid, *, vary_first: bool = True) -> int:
    """How many plans :func:`sharing_variants` yields (without making them)."""
    if len(plan.stages) < 2:
        return 0
    choices = _variant_choices(plan, grid, vary_first)
    # the variants where nothing shares: the first stage's choices, each later stage as is
    return int(np.prod([len(c) for c in choices])) - len(choices[0])


def sharing_variants(plan: CascadePlan, grid: Grid, *,
                     vary_first: bool = True) -> Iterator[CascadePlan]:
    """Every sharing variant of ``plan`` (see the module docstring; at least one stage
    shares, so the plan itself is not one), lazily; ``vary_first=False`` keeps the first
    stage as it is."""
    stages = plan.stages
    if len(stages) < 2:
        return
    choices = _variant_choices(plan, grid, vary_first)
    for options in itertools.product(*choices):
        if not any(o.share_tests for o in options):
            continue
        yield CascadePlan(tuple(Stage(s.model, o) for s, o in zip(stages, options,
                                                                     strict=True)))


def refine_with_sharing(simulator: PlanSimulator, plan: CascadePlan, objective: Objective,
                        grid: Grid, extra_bases: Iterable[CascadePlan] = (),
                        deadline: Deadline | None = None, reserve: float = 0.0
                        ) -> Refinement:
    """The best sharing variant of ``plan`` and of ``extra_bases`` (for example the
    input's neighbours on the exact front) for ``objective``, if it beats ``plan`` when
    both are simulated on the same replicates; else ``plan`` itself. At ``deadline`` it
    stops with the best so far (``Refinement.stopped``), ``reserve`` simulations earlier
    (as long as simulating ``plan`` took): the time a caller needs to predict the plan
    it returns, so that the whole stays within the deadline."""
    started = time.perf_counter()
    base = simulate_point(simulator, plan)
    best = base
    evaluated = 0
    bases = list(dict.fromkeys([plan, *extra_bases]))
    if deadline is not None and reserve > 0:
        one = time.perf_counter() - started
        deadline = deadline.within(deadline.remaining() - reserve * one)
    expired = deadline.expired if deadline is not None else (lambda: False)
    with progress.task("test sharing", unit="variant") as step:
        step.set_total(sum(count_variants(b, grid, vary_first=False)
                           + max(0, len(_first_stage_choices(b.stages[0], grid)) - 1)
                           for b in bases))
        for start in bases:
            if expired():
                return Refinement(best=best, base=base, variants_evaluated=evaluated,
                                  stopped=True)
            found, evaluated = _refine_base(simulator, start, objective, grid, best,
                                            evaluated, expired, step)
            if found is not None:
                best = found
    return Refinement(best=best, base=base, variants_evaluated=evaluated,
                      stopped=expired())


def _refine_base(simulator: PlanSimulator, start: CascadePlan, objective: Objective,
                 grid: Grid, best: SimulatedPlan, evaluated: int, expired,
                 step: progress.Step) -> tuple[SimulatedPlan | None, int]:
    """The best variant of one base plan if it beats ``best`` (else None), and the
    running count of variants scored; stops when ``expired()``."""

    def better(point: SimulatedPlan, incumbent: SimulatedPlan | None) -> bool:
        return objective.feasible(point.accuracy, point.cost) and (
            incumbent is None or objective.better(point.accuracy, point.cost,
                                                  incumbent.accuracy, incumbent.cost))

    # the later stages' sharing forms first; then, for this base's best one, the first
    # stage's other test counts (coordinate-wise: the full product costs 5x as much)
    best_here: SimulatedPlan | None = None
    for variant in sharing_variants(start, grid, vary_first=False):
        if expired():
            break
        point = simulate_point(simulator, variant)
        evaluated += 1
        step.advance()
        if better(point, best_here):
            best_here = point
    if best_here is None:
        return None, evaluated
    first, rest = best_here.plan.stages[0], best_here.plan.stages[1:]
    for option in _first_stage_choices(first, grid)[1:]:
        if expired():
            break
        point = simulate_point(simulator, CascadePlan((Stage(first.model, option), *rest)))
        evaluated += 1
        step.advance()
        if better(point, best_here):
            best_here = point
    return (best_here if better(best_here, best) else None), evaluated


@dataclass(frozen=True)
class FrontPlan:
    """A plan of a merged front: accuracy and cost on the simulator's problems, exact
    (the cascade formula) or ``simulated`` (a sharing variant)."""

    plan: CascadePlan
    accuracy: float
    cost: float
    simulated: bool


def sharing_front(simulator: PlanSimulator, front: Sequence[tuple[CascadePlan, float, float]],
                  grid: Grid, deadline: Deadline | None = None
                  ) -> tuple[list[FrontPlan], int, bool]:
    """The cost–accuracy front of ``front`` (plans with their exact accuracy and cost)
    together with the sharing variants of its plans, how many variants were scored, and
    whether all were (``deadline`` stops it between variants). A variant counts with its
    simulated numbers and joins only where nothing on the merged front dominates it."""
    merged = ParetoFront(1)
    plans: dict[int, FrontPlan] = {}
    for i, (plan, acc, cost) in enumerate(front):
        plans[i] = FrontPlan(plan, float(acc), float(cost), simulated=False)
        merged.add(np.array([acc]), np.array([cost]), np.array([[i]]))
    next_key = len(plans)
    evaluated = 0
    expired = deadline.expired if deadline is not None else (lambda: False)
    with progress.task("test sharing", unit="variant") as step:
        step.set_total(sum(count_variants(plan, grid) for plan, _, _ in front))
        evaluated, complete = _merge_variants(simulator, front, grid, merged, plans, next_key,
                                              step, expired)
    return [plans[int(k)] for k in merged.codes[:, 0]], evaluated, complete


def _merge_variants(simulator: PlanSimulator, front: Sequence[tuple[CascadePlan, float, float]],
                    grid: Grid, merged: ParetoFront, plans: dict[int, FrontPlan],
                    next_key: int, step: progress.Step, expired) -> tuple[int, bool]:
    """Add every sharing variant of the front's plans that nothing on ``merged``
    dominates (``plans`` maps its keys to plans); returns how many were scored and
    whether all were (False once ``expired()``)."""
    evaluated = 0
    for plan, _, _ in front:
        for variant in sharing_variants(plan, grid):
            if expired():
                return evaluated, False
            point = simulate_point(simulator, variant)
            evaluated += 1
            step.advance()
            if point.accuracy <= merged.best_accuracy_within(
                    np.array([point.cost]))[0] + TOLERANCE:
                continue
            plans[next_key] = FrontPlan(variant, point.accuracy, point.cost, simulated=True)
            merged.add(np.array([point.accuracy]), np.array([point.cost]),
                       np.array([[next_key]]))
            next_key += 1
        kept = {int(k) for k in merged.codes[:, 0]}
        for key in [k for k in plans if k not in kept]:
            del plans[key]
    return evaluated, True
