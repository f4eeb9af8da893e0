"""The plans candidate-based selectors choose among, with their per-problem numbers.

Two sources (:class:`CandidateSource`): the exact front (below), or, for spaces too large
to enumerate a front in reasonable time (more than ``FRONT_LIMIT`` plans, e.g. the
seven-model profile, whose default-grid front takes over ten minutes per split), the
search method's optimum for each objective the selector is asked about (the union is a
subset of the front: the front's points at those budgets).

A cascade selector chooses, for a budget, among the plans of the exact cost–accuracy
Pareto front of the planning problems (planner.search.exact.exact_front): every plan off
the front is beaten by a front plan that is at most as expensive and at least as accurate
on the same problems, so the front holds every plan a rule that prefers accuracy and
cheapness could want. A single-model selector chooses among the front of one-stage plans.
The front is a few hundred plans, so their per-problem accuracy and cost vectors
([plans, problems], the exact cascade formula) fit in memory, and every resampling a
selector does (bootstrap weights, inner folds, paired differences) is a matrix product on
them instead of a new search.

A front built under a deadline (the request's time limit, or Ctrl-C on the command line:
planner.search.deadline) that passes first is the front of the plans enumerated by then:
its :class:`CandidateSet` says so (``complete`` False), and it is never stored in the
disk cache (:mod:`.front_cache`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from ..cascade import cascade_per_problem
from ..search.blas import single_threaded_blas
from ..search.deadline import Deadline
from ..search.exact import exact_front
from ..search.pareto import ParetoFront
from ..search.space import SearchSpace
from ..search.stages import normalise_stages, stages_from_codes
from .front_cache import cached_front_codes

#: Above this many plans, a cascade task takes its candidates from searches, not the front.
FRONT_LIMIT = 10**10


class CandidateSource(StrEnum):
    FRONT = "front"
    SEARCH = "search"


class PlanFamily(StrEnum):
    """Which plans a task ranges over: every cascade, or single-model plans only (one
    model, its own tests deciding: the baseline a cascade has to beat)."""

    CASCADE = "cascade"
    SINGLE = "single"


@dataclass(frozen=True, eq=False)
class CandidateSet:
    """Plans with their per-problem numbers on the planning problems.

    ``stages[j]`` is plan j as (model index, table row) stages; ``accuracy`` and ``cost``
    are [plans, problems] (probability correct; $), from the task's own option tables.
    ``score`` ([plans], optional) is the accuracy a selector ranks the plans by when it is
    not their mean accuracy (a shrunk estimate, :mod:`.shrinkage`). ``complete`` is False
    when a deadline cut the work that found them short (the front of the plans
    enumerated by then, or the searches run by then).
    """

    stages: tuple[tuple[tuple[int, int], ...], ...]
    accuracy: np.ndarray
    cost: np.ndarray
    score: np.ndarray | None = None
    complete: bool = True

    def __len__(self) -> int:
        return len(self.stages)

    @property
    def n_problems(self) -> int:
        return int(self.accuracy.shape[1])

    @property
    def mean_accuracy(self) -> np.ndarray:
        return self.accuracy.mean(axis=1)

    @property
    def mean_cost(self) -> np.ndarray:
        return self.cost.mean(axis=1)

    def columns(self, problems: np.ndarray) -> CandidateSet:
        """The same plans on some of the problems (positions)."""
        return CandidateSet(self.stages, self.accuracy[:, problems], self.cost[:, problems],
                            complete=self.complete)

    @property
    def ranking_accuracy(self) -> np.ndarray:
        """[plans] what plans are ranked by: ``score`` if set, else the mean accuracy."""
        return self.mean_accuracy if self.score is None else self.score


def per_problem(space: SearchSpace, plans) -> tuple[np.ndarray, np.ndarray]:
    """[plans, problems] accuracy and cost of plans given as (model, row) stages."""
    n = space.n_problems
    acc = np.empty((len(plans), n))
    cost = np.empty((len(plans), n))
    for j, stages in enumerate(plans):
        acc[j], cost[j] = cascade_per_problem([(space.tables[i], r) for i, r in stages])
    return acc, cost


def single_model_codes(space: SearchSpace) -> ParetoFront:
    """The Pareto front of single-model plans (one stage of one model, any option that
    can end a cascade)."""
    front = ParetoFront(space.n_models)
    for i, cand in enumerate(space.last):
        if not cand.rows.size:
            continue
        table = space.tables[i]
        codes = np.full((cand.rows.size, space.n_models), -1, dtype=np.int64)
        codes[:, i] = cand.rows
        front.add(table.correct[cand.rows].mean(axis=1), table.cost[cand.rows].mean(axis=1),
                  codes)
    return front


def family_candidates(space: SearchSpace, family: PlanFamily,
                      scored_on: SearchSpace | None = None,
                      deadline: Deadline | None = None) -> CandidateSet:
    """The front of ``family`` on ``space`` as a :class:`CandidateSet` (a cascade front
    from the disk cache when it holds it, :mod:`.front_cache`). With
    ``scored_on`` (the same options with other per-problem numbers, e.g. shrunk ones), the
    front is built on ``scored_on``, its accuracy there becomes ``score``, and the
    per-problem numbers come from ``space``. At ``deadline`` (None: none, but Ctrl-C on
    the command line still stops it) the enumeration stops: the front of the plans
    enumerated by then (always every single-stage plan), ``complete`` False."""
    built = space if scored_on is None else scored_on
    complete = True
    if family is PlanFamily.SINGLE:
        codes = single_model_codes(built).codes
    else:
        codes, complete = cached_front_codes(built, lambda: _exact_codes(built, deadline))
    return candidate_set(space, [normalise_stages(built, stages_from_codes(c))
                                 for c in codes], scored_on, complete=complete)


def _exact_codes(space: SearchSpace, deadline: Deadline | None) -> tuple[np.ndarray, bool]:
    with single_threaded_blas():
        front, _ = exact_front(space, Deadline.after(None) if deadline is None else deadline)
    return front.codes, front.complete


def candidate_set(space: SearchSpace, plans, scored_on: SearchSpace | None = None, *,
                  complete: bool = True) -> CandidateSet:
    """A :class:`CandidateSet` of the distinct ``plans`` ((model, row) stages), sorted by
    mean cost on ``space``; ``score`` is their mean accuracy on ``scored_on`` if given;
    ``complete`` as the set says (see :class:`CandidateSet`)."""
    distinct = tuple(dict.fromkeys(tuple(p) for p in plans))
    acc, cost = per_problem(space, distinct)
    order = np.lexsort((-acc.mean(axis=1), cost.mean(axis=1)))
    distinct = tuple(distinct[i] for i in order)
    acc, cost = acc[order], cost[order]
    score = None if scored_on is None else per_problem(scored_on, distinct)[0].mean(axis=1)
    return CandidateSet(distinct, acc, cost, score, complete)
