"""What every plan selector shares: the task it sees, the choice it returns, its interface.

A *selector* decides which plan ``plan`` returns for an objective (a budget in $ per
problem, or a target accuracy), given only the planning part of the problems. Choosing the
plan that is best on the planning problems (today's rule, :mod:`.naive`) overfits them: the
winner of a search over ~10^8 plans is, on new problems, worse than it looked (the
optimizer's curse, docs/selection.md). The other selectors trade some in-sample accuracy
for plans that hold on new problems, and every selector states a prediction *for new
problems* (:class:`NewProblemEstimate`).

A :class:`SelectionTask` holds the planning part's option tables and nothing of any
held-out part: a selector cannot read held-out problems because it never receives them.
Selectors that resample (bootstrap, inner cross-validation) do so over the task's planning
problems (:meth:`SelectionTask.restrict`).

A task may carry a :class:`~planner.search.deadline.Deadline` (the request's time limit;
it also passes on Ctrl-C on the command line). Every front and search of the selection
stops at it; a selector then chooses among the candidates found by then and says so
(``Choice.complete``), and a statement for new problems whose inner cross-validation was
cut short falls back to the in-sample one and says so (``Choice.statement_complete``).
"""

from __future__ import annotations

import dataclasses
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from ..errors import CodecascadeError
from ..search.deadline import Anytime, Deadline
from ..search.objective import Objective
from ..search.space import SearchSpace
from ..spec import NewProblemEstimate
from .candidates import (
    FRONT_LIMIT,
    CandidateSet,
    CandidateSource,
    PlanFamily,
    family_candidates,
)


class SelectionError(CodecascadeError, ValueError):
    """A selector cannot be built or run as asked; one line."""


@dataclass(frozen=True, eq=False)
class SelectionTask:
    """Everything a selector may see: the option tables on the planning problems.

    ``planning`` is the planning part's :class:`~planner.search.space.SearchSpace` (its
    tables have one column per planning problem); ``seed`` seeds the search and every
    resampling; ``method`` and ``method_options`` name the search method and its options
    (planner.search.registry), as a plan request gives them. ``candidate_source`` says
    where candidate plans come from (None: the exact front, or searches per objective for
    a cascade space over ``FRONT_LIMIT`` plans; :mod:`.candidates`). ``deadline`` (None:
    none) stops every front and search of the selection (module docstring); inner tasks
    share it. Expensive derived things (the candidate plans, inner resampling tasks) are
    computed once per task and shared by every selector run on it.
    """

    planning: SearchSpace
    family: PlanFamily = PlanFamily.CASCADE
    seed: int = 0
    method: str = "exact"
    method_options: Mapping[str, Any] = field(default_factory=dict)
    candidate_source: CandidateSource | None = None
    deadline: Deadline | None = None
    _inner: dict[tuple[Any, ...], SelectionTask] = field(default_factory=dict, repr=False)
    _memo: dict[tuple[Any, ...], Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_context(cls, context: Any, family: PlanFamily | str = PlanFamily.CASCADE,
                     deadline: Deadline | None = None) -> SelectionTask:
        """The task of a :class:`~planner.planning.PlanningContext`: its planning part, seed
        and the request's search method with its options (the held-out part is not passed
        on), stopping at ``deadline``. A cascade task whose method is not ``exact`` takes
        its candidates from that method's searches (one per budget), so ``--method``
        decides how plans are found for every selection."""
        request = context.request
        family = PlanFamily(family)
        source = None
        if family is PlanFamily.CASCADE and str(request.method) != "exact":
            source = CandidateSource.SEARCH
        return cls(planning=context.planning, family=family, seed=context.seed,
                   method=str(request.method),
                   method_options=dict(request.options_for(request.method)),
                   candidate_source=source, deadline=deadline)

    def search(self, objective: Objective) -> tuple[tuple[int, int], ...]:
        """The stages of the task's search method's plan for ``objective`` on the planning
        problems (the registry builds the method with ``method_options``, as ``plan``
        does), within what is left of the task's deadline; BudgetTooLowError when no plan
        fits."""
        from ..search.registry import get_method

        options = dict(self.method_options)
        left = math.inf if self.deadline is None else self.deadline.remaining()
        if not math.isinf(left):
            given = options.get("time_limit")
            options["time_limit"] = max(1e-3, left if given is None else min(given, left))
        method = get_method(self.method, **options)
        if self.deadline is not None and isinstance(method, Anytime):
            method = method.until(self.deadline)
        return method.search(self.planning, objective, seed=self.seed).stages

    def expired(self) -> bool:
        """Whether the task's deadline has passed (never without one)."""
        return self.deadline is not None and self.deadline.expired()

    def time_left(self) -> float:
        """Seconds left of the task's deadline (infinite without one; 0 once stopped)."""
        return math.inf if self.deadline is None else self.deadline.remaining()

    def clock(self) -> float:
        """The deadline's clock (``time.perf_counter`` without one), seconds."""
        return time.perf_counter() if self.deadline is None else self.deadline.clock()

    @property
    def n_problems(self) -> int:
        return self.planning.n_problems

    @cached_property
    def source(self) -> CandidateSource:
        """Where this task's candidate plans come from (see the class docstring)."""
        if self.candidate_source is not None:
            return CandidateSource(self.candidate_source)
        if self.family is PlanFamily.SINGLE or self.planning.count_plans() <= FRONT_LIMIT:
            return CandidateSource.FRONT
        return CandidateSource.SEARCH

    @cached_property
    def candidates(self) -> CandidateSet:
        """The exact Pareto front of the family on the planning problems, with per-problem
        numbers (:mod:`.candidates`)."""
        return family_candidates(self.planning, self.family, deadline=self.deadline)

    def memo(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """``compute()`` once per ``key`` on this task (cost bounds, bootstrap means, ...)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def restrict(self, problems: np.ndarray, key: tuple[Any, ...] | None = None
                 ) -> SelectionTask:
        """The same task on some of its planning problems (positions 0..n_problems-1, in
        that order). With ``key`` the sub-task is cached on this task, so resampling
        selectors that use the same inner folds share their candidate sets."""
        if key is not None and key in self._inner:
            return self._inner[key]
        idx = np.asarray(problems, dtype=np.int64)
        if idx.size == 0:
            raise SelectionError("a resampled task needs at least one problem")
        space = SearchSpace(tuple(t.columns(idx) for t in self.planning.tables),
                            self.planning.shared_theta)
        task = SelectionTask(planning=space, family=self.family, seed=self.seed,
                             method=self.method, method_options=self.method_options,
                             candidate_source=self.source, deadline=self.deadline)
        if key is not None:
            self._inner[key] = task
        return task


@dataclass(frozen=True)
class Choice:
    """The plan a selector chose for one objective.

    ``stages`` are (model index, table row) in cascade order; ``planning_accuracy`` and
    ``planning_cost`` are its in-sample means on the task's problems; ``predicted`` is what
    the selector states for new problems. ``fits`` is False when no plan met the
    objective under the selector's cost rule and the choice is its fallback (the plan
    closest to meeting it); ``details`` holds selector-specific facts (a tuned knob, the
    number of plans within one standard error, ...).
    """

    objective: Objective
    stages: tuple[tuple[int, int], ...]
    planning_accuracy: float
    planning_cost: float
    predicted: NewProblemEstimate
    selector: str
    fits: bool = True
    details: dict[str, Any] = field(default_factory=dict)
    complete: bool = True
    statement_complete: bool = True


def options(selector: Selector | type[Selector]) -> list[dataclasses.Field]:
    """The user-facing options of a selector (its dataclass fields not marked internal)."""
    return [f for f in dataclasses.fields(selector)  # type: ignore[arg-type]
            if not f.metadata.get("internal")]


class Selector(ABC):
    """One way of choosing a plan for each objective from the planning part alone.

    Subclasses are frozen dataclasses whose fields are their options (so a registry entry
    carries its own options) and implement :meth:`select`.
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""

    @abstractmethod
    def select(self, task: SelectionTask, objectives: Sequence[Objective]) -> list[Choice]:
        """One :class:`Choice` per objective, in order. Raises
        :class:`~planner.search.errors.BudgetTooLowError` when an objective cannot be met
        by any plan at all (a budget below the cheapest plan)."""

    def label(self) -> str:
        """The selector's name with its options, as ``--selection`` spells it."""
        opts = [f"{f.name}={getattr(self, f.name)}" for f in options(self)
                if getattr(self, f.name) != f.default]
        return self.name + (":" + ",".join(opts) if opts else "")
