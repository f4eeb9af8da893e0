"""The frame every candidate-based selector shares: a cost rule, a pick, a statement.

For each budget a :class:`CandidateSelector`

1. keeps the candidate plans (:mod:`.candidates`) that fit the budget under its cost rule:
   mean planning cost <= budget, or, with ``budget_confidence`` P, the P-upper bootstrap
   bound of the mean cost <= budget (:func:`.honest.cost_bounds`); when none fits but the
   budget is above the cheapest plan, it falls back to the plan with the lowest bound and
   says so (``Choice.fits`` is False);
2. picks one of them by its own rule (:meth:`CandidateSelector.pick`);
3. states a prediction for new problems (``prediction``: in-sample, nested, corrected, 632
   or 632plus, :mod:`.honest`, with ``folds`` × ``repeats`` inner cross-validation).

Options with a knob can have it chosen by inner cross-validation (``tune=True``): each
value of the knob's grid is run on the inner training parts and scored out of fold; the
value with the best mean out-of-fold accuracy over the objectives (ties: the first, the
most conservative) is used on all planning problems (nested resampling: the knob never
sees the problems it is judged on).

Under a task's deadline (:class:`~.base.SelectionTask`) the frame chooses among the
candidates found by then (``Choice.complete`` False when they were cut short); tuning
keeps the knob values scored by then (none: the selector's own value); a statement for
new problems whose inner cross-validation cannot finish by then is the in-sample
statement, labelled as not corrected for selection (``Choice.statement_complete``).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from ..search.deadline import OutOfTime
from ..search.errors import BudgetTooLowError, SearchError
from ..search.objective import TOLERANCE, Objective
from ..search.stages import stages_from_codes
from .base import Choice, SelectionError, SelectionTask, Selector
from .candidates import (
    CandidateSet,
    CandidateSource,
    PlanFamily,
    candidate_set,
    single_model_codes,
)
from .honest import PredictionMethod, cost_bounds, honest_estimates, nested_outcome
from .predict import in_sample_estimate

#: The cost rule's confidence must leave room on both sides.
CONFIDENCE_RANGE = (0.5, 0.999)
#: Search source: searches per budget until the plan fits under the cost rule, and how
#: much further below the overshoot the next search's budget goes.
SEARCH_ROUNDS = 6
SEARCH_STEP = 0.01
#: What the in-sample statement adds when it stands in for a statement cut short.
UNCORRECTED = ("; not corrected for selection (optimistic for new problems): the time limit "
               "or Ctrl-C stopped the {prediction} statement's inner cross-validation")


@dataclass(frozen=True)
class CandidateSelector(Selector):
    """Base of the candidate-based selectors (see the module docstring)."""

    budget_confidence: float | None = None
    prediction: str = PredictionMethod.IN_SAMPLE.value
    folds: int = 5
    repeats: int = 1
    tune: bool = False
    #: the knob ``tune`` chooses, and the values it tries (first = most conservative)
    knob: ClassVar[str | None] = None
    knob_grid: ClassVar[tuple[Any, ...]] = ()
    #: the prediction methods this selector can state
    predictions: ClassVar[tuple[PredictionMethod, ...]] = tuple(PredictionMethod)
    #: whether :meth:`pick` handles a target accuracy (else budgets only)
    supports_target_accuracy: ClassVar[bool] = False
    #: internal: inner runs of a tuned selector use this knob value
    tuned: Any = field(default=None, metadata={"internal": True})
    #: internal: a run on resampled problems, where a budget below the cheapest plan
    #: falls back to the cheapest plan instead of failing
    resampled: bool = field(default=False, metadata={"internal": True})

    def __post_init__(self) -> None:
        p = self.budget_confidence
        if p is not None and not CONFIDENCE_RANGE[0] <= p <= CONFIDENCE_RANGE[1]:
            raise SelectionError(f"budget_confidence must be in [{CONFIDENCE_RANGE[0]}, "
                                 f"{CONFIDENCE_RANGE[1]}], got {p}")
        known = [m.value for m in self.predictions]
        if self.prediction not in known:
            raise SelectionError(f"selection {self.name!r}: unknown prediction "
                                 f"{self.prediction!r}; known: {', '.join(known)}")
        if self.folds < 2 or self.repeats < 1:
            raise SelectionError(f"inner cross-validation needs folds >= 2 and repeats >= 1, "
                                 f"got {self.folds} and {self.repeats}")
        if self.tune and self.knob is None:
            raise SelectionError(f"selection {self.name!r} has no knob to tune")

    # ---- what subclasses provide ---------------------------------------------------------

    @abstractmethod
    def pick(self, task: SelectionTask, candidates: CandidateSet, objective: Objective,
             feasible: np.ndarray) -> tuple[int, dict[str, Any]]:
        """Index of the chosen candidate among ``feasible`` ones (a non-empty [plans] mask
        of plans that fit the budget under the cost rule), and details to record."""

    def candidates(self, task: SelectionTask, objectives: Sequence[Objective]
                   ) -> CandidateSet:
        """The plans this selector chooses among for ``objectives``: the task's front, or
        (search source) each budget's best plan that fits under the cost rule."""
        if task.source is CandidateSource.FRONT:
            return task.candidates
        return self.searched(task, task, objectives)

    def searched(self, task: SelectionTask, search_task: SelectionTask,
                 objectives: Sequence[Objective]) -> CandidateSet:
        """Candidates from searches of ``search_task`` (the task itself, or the same options
        with other numbers): for every budget, the method's plan, its budget lowered until
        the plan fits under the cost rule with ``task``'s true numbers (at most
        ``SEARCH_ROUNDS`` searches), for every target accuracy the method's cheapest plan
        reaching it, plus the cheapest plan. Cached per task.

        Under the task's deadline each search gets what is left of it, and no search
        starts with less time left than the cheapest plan's search took (every search
        pays a setup that does not stop at the deadline: half a second on the generalised
        grid); the set is then marked incomplete. Past the deadline before any search, the
        cheapest single-model plan stands in for the cheapest plan."""
        budgets = tuple(sorted({o.budget for o in objectives if o.is_budget}))
        targets = tuple(sorted({o.target_accuracy for o in objectives if not o.is_budget}))
        key = ("searched", id(search_task), self.budget_confidence, budgets, targets)
        scored_on = None if search_task is task else search_task.planning

        def compute() -> CandidateSet:
            if task.expired():
                return candidate_set(task.planning, [_cheapest_single(search_task)],
                                     scored_on, complete=False)
            started = task.clock()
            cheapest = search_task.search(Objective(target_accuracy=0.0))
            setup = task.clock() - started
            plans = [cheapest]
            complete = True
            for budget in budgets:
                if task.time_left() > setup:
                    plans.append(self._fitting(task, search_task, budget, cheapest, setup))
                else:
                    complete = False
            if targets and task.time_left() > setup:
                plans += self._reaching(search_task, targets)
            elif targets:
                complete = False
            return candidate_set(task.planning, plans, scored_on,
                                 complete=complete and not task.expired())

        return task.memo(key, compute)

    def _reaching(self, search_task: SelectionTask, targets: Sequence[float]
                  ) -> list[tuple[tuple[int, int], ...]]:
        """The method's cheapest plan reaching each target accuracy on ``search_task``'s
        numbers (an unreachable target raises, except on an inner resample)."""
        out = []
        for target in targets:
            try:
                out.append(search_task.search(Objective(target_accuracy=target)))
            except SearchError:
                if not self.resampled:
                    raise
        return out

    def _fitting(self, task: SelectionTask, search_task: SelectionTask, budget: float,
                 cheapest: tuple[tuple[int, int], ...], setup: float = 0.0
                 ) -> tuple[tuple[int, int], ...]:
        """The method's plan for ``budget``, its budget lowered until the plan fits under
        the cost rule (``cheapest``, the method's cheapest plan, if none does); no round
        starts with ``setup`` seconds or less left of the task's deadline."""
        target = budget
        stages = cheapest
        for _ in range(SEARCH_ROUNDS):
            if task.time_left() <= setup:
                break
            try:
                stages = search_task.search(Objective(budget=target))
            except BudgetTooLowError:
                break
            plan = candidate_set(task.planning, [stages])
            bound = (plan.mean_cost if self.budget_confidence is None
                     else cost_bounds(plan, self.budget_confidence, task.seed))[0]
            if bound <= budget + TOLERANCE:
                break
            target *= budget / bound * (1.0 - SEARCH_STEP)
        return stages

    def knob_value(self) -> Any:
        return self.tuned if self.tuned is not None else getattr(self, self.knob or "", None)

    # ---- the frame -----------------------------------------------------------------------

    def feasible(self, task: SelectionTask, candidates: CandidateSet,
                 objective: Objective) -> tuple[np.ndarray, bool]:
        """([plans] mask of plans within the objective's budget under the cost rule, fits)."""
        if not objective.is_budget:
            return np.ones(len(candidates), dtype=bool), True
        if self.budget_confidence is None:
            bound = candidates.mean_cost
        else:
            key = ("cost-bound", id(candidates), self.budget_confidence)
            bound = task.memo(key, lambda: cost_bounds(candidates, self.budget_confidence,
                                                       task.seed))
        ok = bound <= objective.budget + TOLERANCE
        if ok.any():
            return ok, True
        cheapest = float(candidates.mean_cost.min())
        if objective.budget < cheapest - TOLERANCE and not self.resampled:
            what = "single-model plan" if task.family is PlanFamily.SINGLE else "possible plan"
            raise BudgetTooLowError(
                f"budget ${objective.budget:.6g} per problem is below the cheapest {what}, "
                f"which costs ${cheapest:.6g} per problem")
        return bound <= bound.min() + TOLERANCE, False

    def picks(self, task: SelectionTask, objectives: Sequence[Objective]
              ) -> tuple[list[tuple[tuple[tuple[int, int], ...], bool, dict[str, Any]]], bool]:
        """The plan chosen for each objective as (stages, fits, details), and whether the
        candidates (and the tuning) were complete; no statements (a front of chosen plans
        needs only the plans)."""
        selector = self
        details: dict[str, Any] = {}
        tuned = True
        if self.tune and self.tuned is None:
            value, scores, tuned = self._tune(task, objectives)
            selector = replace(self, tuned=value)
            details = {f"tuned_{self.knob}": value, "tuning_scores": scores}
        candidates = selector.candidates(task, objectives)
        out = []
        for objective in objectives:
            if not objective.is_budget and not selector.supports_target_accuracy:
                raise SelectionError(f"selection {self.name!r} chooses for a budget only; "
                                     "use naive for a target accuracy")
            feasible, fits = selector.feasible(task, candidates, objective)
            j, picked = selector.pick(task, candidates, objective, feasible)
            out.append((candidates.stages[j], fits, {**details, **picked}))
        return out, candidates.complete and tuned

    def choose(self, task: SelectionTask, objectives: Sequence[Objective]) -> list[Choice]:
        """The choices with in-sample statements (one per distinct plan)."""
        picks, complete = self.picks(task, objectives)
        stated: dict[tuple[tuple[int, int], ...], Any] = {}
        out = []
        for objective, (stages, fits, details) in zip(objectives, picks, strict=True):
            if stages not in stated:
                stated[stages] = in_sample_estimate(task, stages)
            acc, cost, predicted = stated[stages]
            out.append(Choice(objective, stages, acc, cost, predicted, self.name, fits,
                              details, complete=complete))
        return out

    def in_sample(self) -> CandidateSelector:
        """This selector as nested runs use it: in-sample statements, and a budget below
        the cheapest plan of a resample falls back to that plan."""
        return replace(self, prediction=PredictionMethod.IN_SAMPLE.value, resampled=True)

    def select(self, task: SelectionTask, objectives: Sequence[Objective]) -> list[Choice]:
        choices = self.choose(task, objectives)
        method = PredictionMethod(self.prediction)
        if method is PredictionMethod.IN_SAMPLE:
            return choices
        if task.expired() or not all(c.complete for c in choices):
            return [self._uncorrected(c) for c in choices]
        try:
            estimates = honest_estimates(
                method, self.in_sample(), task, objectives, choices, folds=self.folds,
                repeats=self.repeats,
                plans=lambda: CandidateSelector.candidates(self, task, objectives))
        except OutOfTime:
            return [self._uncorrected(c) for c in choices]
        except SearchError:
            # a search given what was left of the deadline found no plan in time
            if not task.expired():
                raise
            return [self._uncorrected(c) for c in choices]
        return [replace(c, predicted=e) for c, e in zip(choices, estimates, strict=True)]

    def _uncorrected(self, choice: Choice) -> Choice:
        """``choice`` with its in-sample statement standing in for one cut short."""
        predicted = replace(choice.predicted, method=choice.predicted.method
                            + UNCORRECTED.format(prediction=self.prediction))
        return replace(choice, predicted=predicted, statement_complete=False)

    def _tune(self, task: SelectionTask, objectives: Sequence[Objective]
              ) -> tuple[Any, dict[str, float], bool]:
        """The knob value with the best mean out-of-fold accuracy (module docstring), its
        scores, and whether every value was scored (False: the task's deadline stopped
        the tuning; the best value scored by then, or the selector's own)."""
        base = replace(self.in_sample(), tune=False)
        scores: dict[str, float] = {}
        best, best_score = None, -np.inf
        for value in self.knob_grid:
            try:
                inner = nested_outcome(replace(base, tuned=value), task, objectives,
                                       self.folds, self.repeats)
            except SearchError:
                continue
            except OutOfTime:
                return (getattr(self, self.knob or "") if best is None else best), scores, \
                    False
            score = float(inner.accuracy.mean())
            scores[str(value)] = score
            if score > best_score + TOLERANCE:
                best, best_score = value, score
        if best is None:
            raise SelectionError(f"selection {self.name!r}: no knob value could be tuned")
        return best, scores, True



def _cheapest_single(task: SelectionTask) -> tuple[tuple[int, int], ...]:
    """The cheapest single-model plan of ``task`` (no search: a vectorised front)."""
    front = single_model_codes(task.planning)
    return stages_from_codes(front.codes[int(np.argmin(front.cost))])
