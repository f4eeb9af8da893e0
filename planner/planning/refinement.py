"""Refining a search's plan with test sharing on the planning part.

The refinement itself is planner.search.sharing (simulating a plan's sharing variants);
this module chooses what to refine: the method's plan and, for the exact method, its
neighbours on the exact front (a cheaper or dearer plan's sharing form may fit best).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..options import CascadePlan
from ..search.blas import single_threaded_blas
from ..search.deadline import Deadline
from ..search.exact import exact_front
from ..search.objective import Objective
from ..search.result import SearchResult
from ..search.sharing import Refinement, refine_with_sharing
from ..search.stages import normalise_stages, stages_from_codes
from ..search.stopping import listening
from ..vocabulary import MethodName
from .context import PlanningContext

#: With the exact method, the optimum's neighbours on each side of it on the exact front
#: are refined too.
SHARING_NEIGHBOURS = 8


@dataclass(frozen=True)
class SharedResult:
    """A search result refined with test sharing: the refinement (None when the deadline
    had passed before it could start: the result stands unrefined, nothing simulated) and
    its time (s)."""

    result: SearchResult
    refinement: Refinement | None
    seconds: float

    @property
    def improved(self) -> bool:
        """Whether a sharing variant replaced the result's plan."""
        return self.refinement is not None and self.refinement.improved


def refine_result(context: PlanningContext, result: SearchResult, objective: Objective,
                  deadline: Deadline | None = None) -> SharedResult:
    """Refine a search result with test sharing (planner.search.sharing) on the planning
    part. For the exact method, the plans nearest to it on the exact front are refined too
    (SHARING_NEIGHBOURS on each side); other methods avoid that front, so only their plan
    is refined. At ``deadline`` (default: none, or Ctrl-C on the command line) it stops
    with the best plan so far (``refinement.stopped``), leaving time for the simulations
    that predict a sharing plan afterwards (one per part of the split: planner.search.
    sharing's ``reserve``); past it (before the refinement, or once the exact front of
    the neighbours took what was left), nothing is refined (``refinement`` None)."""
    start = time.perf_counter()
    if deadline is None:
        deadline = Deadline.after(None)
    if deadline.expired():
        return SharedResult(result, None, time.perf_counter() - start)
    plan = context.stages_plan(result.stages)
    bases: list[CascadePlan] = []
    with single_threaded_blas(), listening():
        if result.method == MethodName.EXACT:
            front, _ = exact_front(context.planning, deadline)
            at = int(np.searchsorted(front.cost, result.cost))
            lo, hi = max(0, at - SHARING_NEIGHBOURS), at + SHARING_NEIGHBOURS + 1
            bases = [context.stages_plan(normalise_stages(context.planning,
                                                          stages_from_codes(codes)))
                     for codes in front.codes[lo:hi]]
            if deadline.expired():  # the front took what was left: nothing to simulate
                return SharedResult(result, None, time.perf_counter() - start)
        reserve = 1 if context.heldout is None else 2
        refinement = refine_with_sharing(context.simulator(), plan, objective, context.grid,
                                         bases, deadline, reserve=reserve)
    return SharedResult(result, refinement, time.perf_counter() - start)
