"""The integer program as a search method: chains solved by a deadline (docs/ilp.md §5).

:class:`IntegerProgram` takes its warm start as a collaborator (a search method whose plan
is the first incumbent), reduces every chain against the incumbent (:mod:`.bounds`),
builds the survivors' programs (:mod:`.program`) and hands them to a solver
(:mod:`.solvers`). Chains are solved shortest first (small programs whose optima
strengthen the incumbent the long chains are pruned against), by bound within a length,
each with an objective cutoff row at the incumbent; HiGHS stops at the first plan that
beats the incumbent, and the chain is then reduced against the better incumbent and
solved again (a few times at most).

**One deadline.** The time limit covers the whole search, the warm start included (at
most :data:`WARM_START_SHARE` of it, for a warm start that can stop early). Chains are
solved in two passes: first each gets a fair share of the time left (one hard program
cannot starve the others), then the unsettled ones, most promising first, share the
rest. Bounding and reduction check the deadline between blocks of work; a chain not
settled by then enters the reported gap with its bound, and chains never bounded with
the bound on the whole space (:func:`~.bounds.space_bound`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ... import fields, progress
from ...vocabulary import IlpSolver, SolverStatus, parse
from ..deadline import Anytime, Clock, Deadline, OutOfTime
from ..errors import SearchError, SearchFieldError
from ..exact import unreachable
from ..heuristic import HeuristicSearch
from ..method import SearchMethod
from ..objective import Objective
from ..result import SearchOutcome
from ..space import SearchSpace
from ..stages import score_stages
from .bounds import bound_chain, reduce_chain, space_bound
from .chains import Chain, ChainStage, StageBank, chains
from .goal import Goal, Incumbent, cost_unit
from .program import build, merged_stage, start_values
from .solvers import MIP_REL_GAP, Solver, SolverOutcome, solver_for

#: Wall-clock limit of one search, seconds; on expiry the best plan found is returned with
#: status "feasible" and the largest remaining gap.
TIME_LIMIT = 60.0
#: Most of the time limit a warm start that can stop early may take.
WARM_START_SHARE = 0.5
#: The warm start when none is given: the heuristic search (milliseconds on the bundled
#: profiles), whose plan every bound is pruned against.
DEFAULT_WARM_START: Callable[[], SearchMethod] = HeuristicSearch
#: Most surviving first/second-stage pairs merged into one stage (beyond, pair rows link
#: the two stages instead).
MAX_MERGED_PAIRS = 60_000
#: Restarts of one chain's program after it found a better plan (HiGHS stops at the first
#: plan that beats the incumbent by RESTART_GAIN; the chain is then reduced against it).
MAX_RESTARTS = 3
#: Programs asked again, twice as tight, when solver tolerance let a plan overshoot the
#: limit by a hair.
MAX_TOLERANCE_RETRIES = 4
#: Least time a chain gets in the first pass (each chain gets its share of the time left).
MIN_CHAIN_SECONDS = 1.0


@dataclass(frozen=True)
class ChainAnswer:
    """What solving one reduced chain gave: its best plan as (model, row) stages (None if
    none), whether the chain is settled (optimum proven or no better plan), the solver's
    bound, the solver's name ("" if no program was solved) and whether it stopped at the
    restart target."""

    found: tuple[tuple[int, int], ...] | None
    proven: bool
    bound: float | None
    solver: str
    at_target: bool = False


class IntegerProgram(SearchMethod):
    """Solves the linearised cascade program to optimality, or to the time limit.

    ``solver``: auto (HiGHS when installed, else CBC), highs or cbc. ``time_limit``: seconds
    for the whole search (None: :data:`TIME_LIMIT`); at the limit the best plan found is
    returned with status "feasible" and its gap. ``warm_start``: the search method whose
    plan is the first incumbent (None: :data:`DEFAULT_WARM_START`); it runs inside the
    time limit. ``clock``: the seconds clock the limit is measured on. SearchError on an
    unknown solver or a time limit that is not a positive number.
    """

    name = "ilp"

    def __init__(self, *, solver: IlpSolver | str = IlpSolver.AUTO,
                 time_limit: float | None = None, warm_start: SearchMethod | None = None,
                 clock: Clock = time.perf_counter) -> None:
        self.solver = parse(IlpSolver, solver, "ILP solver", SearchError)
        limit = TIME_LIMIT if time_limit is None else time_limit
        self.time_limit = fields.positive(limit, "time_limit", error=SearchFieldError)
        self.warm_start = DEFAULT_WARM_START() if warm_start is None else warm_start
        self.clock = clock

    def _search(self, space: SearchSpace, objective: Objective, seed: int) -> SearchOutcome:
        deadline = Deadline.after(self.time_limit, self.clock)
        goal = Goal.of(objective, cost_unit(space))
        incumbent = self._warm_start(space, objective, seed, deadline)
        run = _ChainSearch(space, objective, goal, solver_for(self.solver), deadline, incumbent)
        run.solve_all()
        return run.outcome(self.name, self.time_limit)

    def _warm_start(self, space: SearchSpace, objective: Objective, seed: int,
                    deadline: Deadline) -> Incumbent | None:
        """The warm start's plan (None if it finds none); a warm start that can stop early
        gets at most :data:`WARM_START_SHARE` of the time limit."""
        method = self.warm_start
        if isinstance(method, Anytime):
            method = method.until(deadline.within(WARM_START_SHARE * self.time_limit))
        try:
            result = method.search(space, objective, seed)
        except SearchError:
            return None
        return Incumbent(result.stages, result.accuracy, result.cost)


class _ChainSearch:
    """One run over a space's chains: the incumbent, the open bounds, what was solved."""

    def __init__(self, space: SearchSpace, objective: Objective, goal: Goal, solver: Solver,
                 deadline: Deadline, incumbent: Incumbent | None) -> None:
        self.space = space
        self.objective = objective
        self.goal = goal
        self.solver = solver
        self.deadline = deadline
        self.incumbent = incumbent
        self.solver_used = ""
        self.programs = 0
        self.open_bounds: list[float] = []
        self.bank = StageBank(space, goal)
        self.space_bound = goal.unbounded()

    def bounded_chains(self) -> tuple[list[Chain], bool]:
        """The chains with their first-stage bounds, short chains first and the most
        promising first within a length; and whether every chain is there (False when the
        deadline came first: chains are bounded shortest first)."""
        out = []
        complete = True
        for stages in chains(self.bank):
            try:
                out.append(bound_chain(stages, self.goal, self.deadline))
            except OutOfTime:
                complete = False
                break
        out.sort(key=lambda c: (len(c.stages), -self.goal.promise(c.bound(self.goal))))
        return out, complete

    def solve_all(self) -> None:
        """Two passes over the chains (the module docstring); leaves the bounds of the
        chains that may still hold a better plan in ``open_bounds`` (with the bound every
        plan satisfies when some chain was never bounded)."""
        goal = self.goal
        self.space_bound = space_bound(self.bank, self.deadline)
        bounded, complete = self.bounded_chains()
        unsettled = [(chain, chain.bound(goal)) for chain in bounded]
        with progress.task("integer program", total=len(unsettled), unit="chain") as step:
            total = len(unsettled)
            for final in (False, True):
                queue, unsettled = unsettled, []
                if final:
                    queue.sort(key=lambda item: -goal.promise(item[1]))
                    total += len(queue)
                    step.set_total(total)
                for n, (chain, bound) in enumerate(queue):
                    step.advance()
                    if self.incumbent is not None and not goal.may_beat(bound,
                                                                        self.incumbent):
                        continue
                    remaining = self.deadline.remaining()
                    if remaining <= 0:
                        left = bound
                    else:
                        until = self.deadline if final else self.deadline.within(
                            max(MIN_CHAIN_SECONDS, remaining / (len(queue) - n)))
                        left = self.solve_chain(chain, until)
                    if left is not None:
                        unsettled.append((chain, left))
        if not complete:
            unsettled.append((None, self.space_bound))
        self.open_bounds = [bound for _, bound in unsettled if self.incumbent is None
                            or goal.may_beat(bound, self.incumbent)]

    def solve_chain(self, chain: Chain, until: Deadline) -> float | None:
        """Solve one chain until ``until`` (restarting after a better plan); its open bound
        if it is not settled, else None. Its reduction stops only at the search's
        deadline."""
        goal = self.goal
        for restart in range(MAX_RESTARTS + 1):
            try:
                reduced = reduce_chain(chain, self.incumbent, goal, self.deadline)
            except OutOfTime:
                return chain.bound(goal)
            if reduced is None:
                return None
            target = None
            if self.incumbent is not None and restart < MAX_RESTARTS:
                target = goal.restart_target(self.incumbent)
            answer = self.solve_reduced(reduced.stages, reduced.pairs, until, target)
            if answer.solver:  # a program was solved (not skipped at the deadline)
                self.solver_used, self.programs = answer.solver, self.programs + 1
            improved = answer.found is not None and self._offer(answer.found)
            if answer.at_target and improved:
                continue  # a better incumbent: reduce again and solve a smaller program
            if answer.proven:
                return None
            if answer.bound is None:
                return chain.bound(goal)
            return float(goal.tightest(answer.bound, chain.bound(goal)))
        return None

    def _offer(self, stages: tuple[tuple[int, int], ...]) -> bool:
        """Make ``stages`` the incumbent if it is feasible and better; whether it was."""
        acc, cost = score_stages(self.space, stages)
        best = self.incumbent
        if not self.objective.feasible(acc, cost) or (
                best is not None and not self.objective.better(acc, cost, best.accuracy,
                                                               best.cost)):
            return False
        self.incumbent = Incumbent(stages, acc, cost)
        return True

    def solve_reduced(self, stages: Sequence[ChainStage], pairs: np.ndarray | None,
                      until: Deadline, target: float | None) -> ChainAnswer:
        """Solve one reduced chain by ``until``: the surviving pairs merged into one stage
        when few enough, warm-started from the incumbent where the chain holds it; asked
        again, tighter, if solver tolerance lets the plan overshoot the limit by a hair."""
        start = None
        if self.incumbent is not None:
            start = _start_choice(self.space, stages, self.incumbent.stages)
        program_stages, pair_rows, first, second = tuple(stages), pairs, None, None
        if pairs is not None and pairs.sum() <= MAX_MERGED_PAIRS:
            first, second = np.nonzero(pairs)
            program_stages = (merged_stage(stages[0], stages[1], first, second), *stages[2:])
            pair_rows = None
            if start is not None:
                where = np.flatnonzero((first == start[0]) & (second == start[1]))
                start = [int(where[0]), *start[2:]] if where.size else None
        goal = self.goal
        outcome = SolverOutcome(None, False, None, "")
        for _ in range(MAX_TOLERANCE_RETRIES):
            if until.expired():
                return ChainAnswer(None, False, outcome.bound, outcome.solver)
            program = build(program_stages, goal, self.incumbent, pair_rows)
            values = None if start is None else start_values(program, program_stages, start)
            outcome = self.solver.solve(program, values, until, target)
            if outcome.chosen is None:
                return ChainAnswer(None, outcome.proven, outcome.bound, outcome.solver)
            chosen = outcome.chosen
            if first is not None:
                chosen = (int(first[chosen[0]]), int(second[chosen[0]]), *chosen[1:])
            found = tuple((s.model, int(s.rows[o])) for s, o in zip(stages, chosen, strict=True))
            acc, cost = score_stages(self.space, found)
            if self.objective.feasible(acc, cost):
                return ChainAnswer(found, outcome.proven, outcome.bound, outcome.solver,
                                   outcome.at_target)
            goal = goal.tightened(self.objective, acc, cost)
            start = None
        return ChainAnswer(None, False, outcome.bound, outcome.solver)

    def outcome(self, name: str, time_limit: float) -> SearchOutcome:
        """The incumbent with its status and gap; SearchError if there is none."""
        best = self.incumbent
        if best is None:
            if not self.open_bounds:
                raise unreachable(self.space, self.objective, name)
            raise SearchError(f"{self.solver_used or 'the solver'} found no plan within "
                              f"{time_limit:g} s")
        gap = self.goal.gap(best, self.open_bounds)
        proven = gap <= MIP_REL_GAP or not self.open_bounds
        return SearchOutcome(best.stages, SolverStatus.OPTIMAL if proven else SolverStatus.FEASIBLE,
                             0.0 if proven else gap, self.solver_used or "bounds", self.programs)


def _start_choice(space: SearchSpace, stages: Sequence[ChainStage],
                  plan: Sequence[tuple[int, int]]) -> list[int] | None:
    """Option indices of ``plan`` in this chain's stages, or None if it is not here."""
    if [m for m, _ in plan] != [s.model for s in stages]:
        return None
    chosen = []
    for j, ((i, row), stage) in enumerate(zip(plan, stages, strict=True)):
        row = _representative(space, i, row, j == len(stages) - 1)
        where = np.flatnonzero(stage.rows == row)
        if where.size == 0:
            return None
        chosen.append(int(where[0]))
    return chosen


def _representative(space: SearchSpace, i: int, row: int, last: bool) -> int:
    """The candidate row that stands for ``row`` (identical numbers in that role)."""
    table = space.tables[i]
    if last:
        rows, arrays = space.last[i].rows, (table.correct, table.cost)
    else:
        rows, arrays = space.mid[i].rows, (table.accept, table.accept_correct, table.cost)
    if row in rows:
        return row
    same = np.ones(rows.size, dtype=bool)
    for a in arrays:
        same &= (a[rows] == a[row]).all(axis=1)
    hits = np.flatnonzero(same)
    return int(rows[hits[0]]) if hits.size else row
