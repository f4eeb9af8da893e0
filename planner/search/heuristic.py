"""Heuristic search: a short list enumerated exactly, then exact coordinate descent.

Milliseconds instead of seconds, no optimality proof; the gap to the exact optimum is
measured by ``codecascade compare`` and ``benchmarks/bench_search.py``.

1. **Short list** (the paper's rules of thumb): per model, the last-stage options on that
   model's own single-stage cost–accuracy front, and the mid-stage options (on a shared-θ
   grid only those with the paper's high θ in {0.9, 1.0}) that are on the front of
   "this stage, then the strongest model's best answer". The few thousand plans of the short
   list are enumerated exactly (:mod:`planner.search.exact`).
2. **Coordinate descent** on the full grid from that plan and from the best single-stage
   plan: for one model at a time, every replacement (skip, any mid option, any last option
   dropping the later stages, or appending it after the current last stage) is scored at
   once with the exact formula, vectorised over options and problems; the best improving
   move is taken until none is left. A shared-θ move re-maps all mid stages to another θ.

With a time limit (or a deadline handed on by a caller, :meth:`HeuristicSearch.until`) the
descent stops at it with the best plan so far; moves are scored in blocks with the
deadline checked between them.
"""

from __future__ import annotations

import itertools
import time

import numpy as np

from .. import fields
from ..cascade import OptionTable, cascade_arrays
from ..vocabulary import SolverStatus
from .deadline import Clock, Deadline, OutOfTime
from .errors import SearchFieldError
from .exact import best_plan_codes, unreachable
from .method import SearchMethod
from .objective import TOLERANCE, Objective
from .result import SearchOutcome
from .space import SearchSpace
from .stages import score_stages, score_stages_per_problem, stages_from_codes

#: θ values the seed paper found best for escalation (its rule of thumb).
RULE_OF_THUMB_THETAS = (0.9, 1.0)
#: Options per model and role kept on the short list.
SHORTLIST = 24
#: Upper bound on descent sweeps (each sweep visits every model once).
MAX_SWEEPS = 25
#: Candidates ranked at once when picking a move (bounds temporaries; the deadline is
#: checked between blocks).
PICK_BLOCK = 1 << 20


def _front_rows(acc: np.ndarray, cost: np.ndarray, cap: int) -> np.ndarray:
    """Indices of the cost–accuracy front of points, at most ``cap`` spread along it."""
    order = np.lexsort((-acc, cost))
    best = -np.inf
    front = []
    for j in order:
        if acc[j] > best + TOLERANCE:
            front.append(j)
            best = acc[j]
    front = np.array(front, dtype=np.int64)
    if front.size > cap:
        front = front[np.unique(np.linspace(0, front.size - 1, cap).round().astype(int))]
    return front


def _shortlist(space: SearchSpace) -> SearchSpace:
    """A much smaller space of promising rows (see the module docstring), and row maps."""
    strongest = space.tables[-1]
    last_rows = space.last[-1].rows
    if last_rows.size == 0:
        strongest = next(t for i, t in reversed(list(enumerate(space.tables)))
                         if space.last[i].rows.size)
        last_rows = space.last[space.tables.index(strongest)].rows
    ref = last_rows[np.argmax(strongest.correct[last_rows].mean(axis=1))]
    ref_h, ref_c = strongest.correct[ref], strongest.cost[ref]
    selected = []
    for i, table in enumerate(space.tables):
        rows: list[np.ndarray] = []
        last = space.last[i].rows
        if last.size:
            rows.append(last[_front_rows(table.correct[last].mean(axis=1),
                                         table.cost[last].mean(axis=1), SHORTLIST)])
        mid = space.mid[i].rows
        if mid.size and i < space.n_models - 1:
            if space.shared_theta:  # one θ for all stages: the paper's rule of thumb
                high = np.isin(space.mid[i].theta, RULE_OF_THUMB_THETAS)
                if high.any():
                    mid = mid[high]
            stay = 1.0 - table.accept[mid]
            acc = (table.accept_correct[mid] + stay * ref_h).mean(axis=1)
            cost = (table.cost[mid] + stay * ref_c).mean(axis=1)
            rows.append(mid[_front_rows(acc, cost, SHORTLIST)])
        selected.append(np.unique(np.concatenate(rows)) if rows else np.zeros(0, np.int64))
    tables = tuple(t.select(r) for t, r in zip(space.tables, selected, strict=True))
    return SearchSpace(tables, space.shared_theta), selected


class _Descent:
    """Exact coordinate descent over one plan (per-model codes, -1 = skipped)."""

    def __init__(self, space: SearchSpace, objective: Objective, deadline: Deadline) -> None:
        self.space = space
        self.objective = objective
        self.deadline = deadline
        self.evaluated = 0
        # per model, the candidate rows' arrays once (fancy indexing copies)
        self.mid_gain, self.mid_cost, self.mid_stay = [], [], []
        self.last_gain, self.last_cost = [], []
        for i, table in enumerate(space.tables):
            mid, last = space.mid[i].rows, space.last[i].rows
            self.mid_gain.append(table.accept_correct[mid])
            self.mid_cost.append(table.cost[mid])
            self.mid_stay.append(1.0 - table.accept[mid])
            self.last_gain.append(table.correct[last])
            self.last_cost.append(table.cost[last])

    def key(self, acc: np.ndarray, cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(feasible, primary score) per candidate; larger is better."""
        obj = self.objective
        if obj.is_budget:
            ok = cost <= obj.budget + TOLERANCE
            return ok, np.where(ok, acc - 1e-12 * cost, -cost)
        ok = acc >= obj.target_accuracy - TOLERANCE
        return ok, np.where(ok, -cost + 1e-12 * acc, acc)

    def value(self, stages) -> tuple[bool, float]:
        acc, cost = score_stages(self.space, stages)
        ok, score = self.key(np.array([acc]), np.array([cost]))
        return bool(ok[0]), float(score[0])

    def allowed_mid(self, i: int, stages, exclude: int) -> tuple[np.ndarray, slice | np.ndarray]:
        """Model i's mid candidate rows that keep the plan's shared θ (if any), and the
        index into its candidate arrays (a slice when all are allowed: no copies)."""
        cand = self.space.mid[i]
        if self.space.shared_theta:
            thetas = {self.space.tables[j].options[r].theta
                      for j, r in stages[:-1] if j != exclude}
            if thetas:
                positions = np.flatnonzero(cand.theta == next(iter(thetas)))
                return cand.rows[positions], positions
        return cand.rows, slice(None)

    def _pick(self, acc: np.ndarray, cost: np.ndarray) -> tuple[bool, float, int]:
        """(feasible, score, flat index) of the best candidate: the first of the largest
        score among feasible ones, else among all. In blocks of :data:`PICK_BLOCK`, with
        the deadline checked between them (OutOfTime)."""
        self.evaluated += acc.size
        acc, cost = acc.ravel(), cost.ravel()
        best = None
        for lo in range(0, acc.size, PICK_BLOCK):
            if lo:
                self.deadline.check()
            ok, score = self.key(acc[lo:lo + PICK_BLOCK], cost[lo:lo + PICK_BLOCK])
            ranked = np.where(ok, score + 1e9, score)
            k = int(np.argmax(ranked))
            if best is None or ranked[k] > best[0]:
                best = (ranked[k], bool(ok[k]), float(score[k]), lo + k)
        return best[1], best[2], best[3]

    def moves(self, stages):
        """Best replacement of each model's choice: yields (ok, score, new stages)."""
        space = self.space
        n = space.n_problems
        pos = [j for j, _ in stages]
        for i in range(space.n_models):
            before = [(j, r) for j, r in stages if j < i]
            after = [(j, r) for j, r in stages if j > i]
            reach, pre_acc, pre_cost = _prefix(space, before)
            pre_acc_mean, pre_cost_mean = pre_acc.mean(), pre_cost.mean()
            prefix_ok = not before or _is_mid_capable(space, before[-1])
            last = space.last[i].rows
            if last.size and prefix_ok:  # i as the last stage (the later stages dropped)
                ok, score, b = self._pick(pre_acc_mean + self.last_gain[i] @ reach / n,
                                          pre_cost_mean + self.last_cost[i] @ reach / n)
                yield ok, score, (*before, (i, int(last[b])))
            if after and prefix_ok:
                suf_acc, suf_cost = score_stages_per_problem(space, after)
                rows, allowed = self.allowed_mid(i, stages, exclude=i)
                if rows.size:  # i as a mid stage before the same later stages
                    stay = self.mid_stay[i][allowed]
                    acc = pre_acc_mean + (self.mid_gain[i][allowed] @ reach
                                          + stay @ (suf_acc * reach)) / n
                    cost = pre_cost_mean + (self.mid_cost[i][allowed] @ reach
                                            + stay @ (suf_cost * reach)) / n
                    ok, score, b = self._pick(acc, cost)
                    yield ok, score, (*before, (i, int(rows[b])), *after)
                if i in pos:  # skip i
                    ok, score, _ = self._pick(
                        np.array([pre_acc_mean + (reach * suf_acc).mean()]),
                        np.array([pre_cost_mean + (reach * suf_cost).mean()]))
                    yield ok, score, (*before, *after)
            elif not after and before and i not in pos and last.size:
                # append i after the current last stage j, which becomes a mid stage
                j, _ = before[-1]
                head = before[:-1]
                reach_j, acc_j, cost_j = _prefix(space, head)
                rows, allowed = self.allowed_mid(j, stages, exclude=j)
                if rows.size == 0:
                    continue
                stay = self.mid_stay[j][allowed]
                base_acc = acc_j.mean() + self.mid_gain[j][allowed] @ reach_j / n
                base_cost = cost_j.mean() + self.mid_cost[j][allowed] @ reach_j / n
                gain = (self.last_gain[i] * reach_j).T / n  # problems x last rows
                spend = (self.last_cost[i] * reach_j).T / n
                # (mid rows x last rows) pairs in blocks of about PICK_BLOCK, the deadline
                # checked between them: on a large grid one product took seconds
                block = max(1, PICK_BLOCK // max(1, last.size))
                best = None
                for lo in range(0, stay.shape[0], block):
                    self.deadline.check()
                    part = slice(lo, lo + block)
                    ok, score, flat = self._pick(base_acc[part, None] + stay[part] @ gain,
                                                 base_cost[part, None] + stay[part] @ spend)
                    if best is None or (ok, score) > best[:2]:
                        best = (ok, score, lo * last.size + flat)
                ok, score, flat = best
                a, b = divmod(flat, last.size)
                yield ok, score, (*head, (j, int(rows[a])), (i, int(last[b])))

    def theta_moves(self, stages):
        """Re-map every mid stage to the same option at another θ (shared-θ grids)."""
        if not self.space.shared_theta or len(stages) < 2:
            return
        for value in self.space.thetas():
            new = []
            for j, r in stages[:-1]:
                o = self.space.tables[j].options[r]
                match = [row for row in self.space.mid[j].rows
                         if self.space.tables[j].options[row].theta == value
                         and _same_shape(self.space.tables[j].options[row], o)]
                if not match:
                    break
                new.append((j, int(match[0])))
            else:
                candidate = (*new, stages[-1])
                ok, score = self.value(candidate)
                yield ok, score, candidate

    def run(self, stages) -> tuple:
        """Descend from ``stages`` until no move improves (or the deadline passes: the best
        plan so far); every move of a sweep is scored against the sweep's starting plan."""
        current = tuple(stages)
        ok, score = self.value(current)
        try:
            for _ in range(MAX_SWEEPS):
                improved = False
                for new_ok, new_score, candidate in itertools.chain(
                        self.moves(current), self.theta_moves(current)):
                    if (new_ok, new_score) > (ok, score + 1e-15):
                        current, ok, score, improved = candidate, new_ok, new_score, True
                    self.deadline.check()
                if not improved:
                    break
        except OutOfTime:
            pass
        return current, ok, score


def _prefix(space: SearchSpace, stages) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-problem reach after, and accuracy and cost of, stages that are all mid stages."""
    if not stages:
        return np.ones(space.n_problems), np.zeros(space.n_problems), np.zeros(space.n_problems)
    acc, cost, reaches = cascade_arrays(
        [(space.tables[j].accept[r], space.tables[j].accept_correct[r],
          space.tables[j].correct[r], space.tables[j].cost[r]) for j, r in stages],
        open_end=True)
    return reaches[-1], acc, cost


def _is_mid_capable(space: SearchSpace, stage: tuple[int, int]) -> bool:
    return space.tables[stage[0]].options[stage[1]].can_have_successor


def _same_shape(a, b) -> bool:
    return (a.k, a.t, a.l, a.rule, a.share_tests) == (b.k, b.t, b.l, b.rule, b.share_tests)


def _best_single_stage(space: SearchSpace, descent: _Descent):
    best = None
    for i, cand in enumerate(space.last):
        table: OptionTable = space.tables[i]
        if not cand.rows.size:
            continue
        ok, score = descent.key(table.correct[cand.rows].mean(axis=1),
                                table.cost[cand.rows].mean(axis=1))
        j = int(np.argmax(np.where(ok, score + 1e9, score)))
        if best is None or (bool(ok[j]), float(score[j])) > best[:2]:
            best = (bool(ok[j]), float(score[j]), ((i, int(cand.rows[j])),))
    return best[2]


class HeuristicSearch(SearchMethod):
    """Short list + exact coordinate descent (milliseconds; no optimality proof).

    ``time_limit`` (seconds, None for none) stops the descent with the best plan so far;
    ``deadline`` is an absolute one (how a caller such as the integer program hands on its
    own, :meth:`until`); ``clock`` is the seconds clock both are measured on.
    """

    name = "heuristic"

    def __init__(self, *, time_limit: float | None = None, deadline: Deadline | None = None,
                 clock: Clock = time.perf_counter) -> None:
        if time_limit is not None:
            time_limit = fields.positive(time_limit, "time_limit", error=SearchFieldError)
        self.time_limit = time_limit
        self.deadline = deadline
        self.clock = clock

    def until(self, deadline: Deadline) -> HeuristicSearch:
        """This search, stopping at ``deadline`` at the latest (:class:`Anytime`)."""
        return HeuristicSearch(time_limit=self.time_limit, deadline=deadline, clock=self.clock)

    def _search(self, space: SearchSpace, objective: Objective, seed: int) -> SearchOutcome:
        deadline = Deadline.after(self.time_limit, self.clock)
        if self.deadline is not None and self.deadline.at < deadline.at:
            deadline = self.deadline
        descent = _Descent(space, objective, deadline)
        starts = [_best_single_stage(space, descent)]
        if not deadline.expired():
            small, selected = _shortlist(space)
            codes, evaluated = best_plan_codes(small, objective)
            descent.evaluated += evaluated
            if codes is not None:
                starts.append(tuple((i, int(selected[i][r]))
                                    for i, r in stages_from_codes(codes)))
        best = None
        for start in starts:
            stages, ok, score = descent.run(start)
            if best is None or (ok, score) > best[:2]:
                best = (ok, score, stages)
            if deadline.expired():
                break
        if not best[0]:
            raise unreachable(space, objective, self.name)
        return SearchOutcome(best[2], SolverStatus.HEURISTIC, None, "shortlist+descent",
                             descent.evaluated)
