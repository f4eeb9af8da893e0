"""Integer program: the exact linearisation of method.md §4, one program per model chain.

**Decomposition by chain.** A plan is a chain of models s_1 < … < s_m (profile order), each
with one option: a mid option (k != 0) on all but the last, a last option (k != 1) on the
last. The space is the disjoint union of its chains, so the optimum is the best chain
optimum. Fixing the chain removes the skip variables and the role choice of the single
program over all models, and the first stage sees reach 1, so its contribution is linear.
Shared θ (the paper's grid) adds one program per θ value for chains with two or more mid
stages (one mid stage always satisfies it).

**One chain's program.** For stage j and candidate option o: x[j,o] ∈ {0,1}, Σ_o x[j,o] = 1.
For j >= 2 and problem p: w[j,o,p] = x[j,o]·r_j(p), the share of p that reaches stage j and
is handled by o, linearised in multiple-choice form: Σ_o w[j,o,p] = r_j(p) and
l_j(p)·x[j,o] <= w[j,o,p] <= u_j(p)·x[j,o], with r_2(p) = Σ_o x[1,o]·π_o(p),
r_{j+1}(p) = Σ_o w[j,o,p]·π_o(p) (π = 1 − a, the share passed on). [l_j, u_j] bounds r_j:
r_j is a product of one π per earlier stage, so it lies between the products of each
stage's smallest and largest π. With one x at 1 these rows force w = r_j on the chosen
option and 0 elsewhere, so the integer points are exactly the chain's plans. Accuracy is
Σ x·G (stage 1) + Σ w·(g or h) over problems; cost likewise; both are means over problems.

**Exact reductions before building a program** (each keeps every plan that could beat or
tie the incumbent, so the optimum is unchanged):

* A first-stage option whose mean cost exceeds the budget is dropped: the first stage
  sees reach 1 and costs never go negative, so any plan with it is over budget. (Later
  stages see reach < 1; the budget cannot cut them directly.)
* Lagrangian option bounds. For μ >= 0, every plan within budget B has accuracy <=
  acc − μ·(cost − B). Per problem, the stages after the fixed ones are relaxed to the
  best option *for that problem* (a superset of the plans, so a larger maximum), which
  makes max(acc − μ·cost) a backward pass over per-problem tails. The first stage is kept
  exact (an option's value is a sum over problems); an option of a later stage is scored
  against every first-stage option exactly (a matrix product), the stages in between
  chosen per problem. The minimum over a grid of μ bounds each option; an option whose
  bound is below the incumbent's accuracy (less a tolerance, so ties survive) cannot be in
  a better plan and is dropped, stage by stage and in two sweeps (each stage is bounded
  over the already reduced other stages). In chains of three or more stages the first two
  stages are bounded by pairs instead (each pair of their options exact, with its own
  best μ; an option stays if some pair with it may beat the incumbent): O1·O2·P work,
  polynomial whatever the chain's length, against the O1·O2·…·Om plans of the chain.
  The surviving pairs are then bounded with each third-stage option exact as well
  (:func:`_third_stage_survivors`, one matrix product per multiplier), which drops the
  pairs and third options no triple with them can beat the incumbent with.
  A chain whose best first-stage bound is below the incumbent is skipped. The target
  accuracy objective uses the same pass with cost − λ·(acc − A).

In such chains the surviving pairs (up to ``MAX_MERGED_PAIRS``) become the options of one
merged first stage (:func:`_merged_stage`: the cascade formula of the two stages, exact, and
linear because the merged stage sees reach 1); with more pairs the program keeps both
stages and gets rows that admit only the surviving pairs (:func:`_pair_rows`).

Chains are solved shortest first (small programs whose optima strengthen the incumbent the
long chains are pruned against), by bound within a length, each with an objective cutoff
row at the incumbent (a chain that cannot beat it is proven infeasible). HiGHS stops at
the first plan that beats the incumbent; the chain is then reduced against the better
incumbent and solved again (a few times at most), which is much faster than proving the
optimum in a program reduced against the heuristic's weaker plan.

Programs are built as sparse matrices and solved by HiGHS (highspy) directly when it is
installed, warm-started from the incumbent where the chain holds it; otherwise by PuLP's
bundled CBC from the same matrices.

**One deadline.** The time limit covers the whole search. Chains are solved in two passes:
first each gets a fair share of the time left (one hard program cannot starve the others),
then the unsettled ones, most promising first, share the rest. HiGHS is stopped at its
deadline by interrupt callbacks (its own time limit is checked only between phases), large
programs skip its presolve (which ignores the limit) and run in a forked child that is
killed at the deadline; an unsettled chain's bound enters the reported gap.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sps

from ..vocabulary import SolverStatus
from .errors import SearchError
from .exact import unreachable
from .method import SearchMethod
from .objective import TOLERANCE, Objective
from .result import SearchOutcome
from .space import SearchSpace
from .stages import score_stages

#: Relative MIP gap asked of the solver: small enough that the optimum matches enumeration.
MIP_REL_GAP = 1e-7
#: Solver choices: HiGHS when installed else CBC, HiGHS (highspy), PuLP's bundled CBC.
SOLVERS = ("auto", "highs", "cbc")
#: Wall-clock limit of one search, seconds; on expiry the best plan found is returned with
#: status "feasible" and the largest remaining gap.
TIME_LIMIT = 60.0
#: Slack on bounds when pruning against the incumbent, so rounding never drops a tie.
BOUND_SLACK = 1e-9
#: Multipliers of the Lagrangian bounds, in units of the budget's (or cost's) scale.
MULTIPLIERS = np.concatenate([[0.0], np.logspace(-3, 1.5, 19)])
#: Multipliers kept for the costlier bounds of later stages (those that bound most
#: first-stage options).
LATER_MULTIPLIERS = 4
#: Passes of the stage-by-stage option reduction (a later pass bounds each stage over the
#: others' reduced options).
REDUCTION_SWEEPS = 2
#: Most surviving first/second-stage pairs merged into one stage (beyond, pair rows link
#: the two stages instead).
MAX_MERGED_PAIRS = 60_000
#: Restarts of one chain's program after it found a better plan (HiGHS stops at the first
#: plan that beats the incumbent by RESTART_GAIN; the chain is then reduced against it).
MAX_RESTARTS = 3
RESTART_GAIN = 1e-6
#: Least time a chain gets in the first pass (each chain gets its share of the time left).
MIN_CHAIN_SECONDS = 1.0
#: Largest temporary array (elements) of the per-problem relaxation.
CHUNK_ELEMENTS = 4_000_000
#: Programs with more nonzeros are solved without HiGHS's presolve, which does not watch
#: the time limit: on a 54 k-column chain of the seven-model profile (0.9 M nonzeros) it
#: took 450 s before the first LP (67 s with every optional rule off), the root LP 22 s.
PRESOLVE_MAX_NONZEROS = 200_000
#: Programs with more nonzeros are solved in a forked child that is killed at the deadline,
#: so no solver phase that ignores its time limit can overrun the search's.
GUARD_MIN_NONZEROS = 50_000
#: Seconds between a guarded solver's own time limit and its kill (time to report).
GUARD_GRACE = 1.0


@dataclass(frozen=True)
class _Stage:
    """One stage of a chain: candidate rows and their per-problem numbers (means: / P)."""

    model: int
    rows: np.ndarray
    gain: np.ndarray  # [O, P] g (mid) or h (last), / P
    cost: np.ndarray  # [O, P] cost / P, in cost units
    pass_on: np.ndarray  # [O, P] 1 − a (zeros for a last stage)

    def take(self, keep: np.ndarray) -> _Stage:
        return _Stage(self.model, self.rows[keep], self.gain[keep], self.cost[keep],
                      self.pass_on[keep])


@dataclass
class _Chain:
    """A chain's stages (after the budget cut), its first stage's option bounds and the
    multipliers that gave them."""

    stages: list[_Stage]
    first_bounds: np.ndarray
    multipliers: np.ndarray

    @property
    def bound(self) -> float:
        return float(self.first_bounds.max())


def _cost_unit(space: SearchSpace) -> float:
    """Costs in units of the priciest option's mean cost keep coefficients near 1."""
    return max(float(t.cost.mean(axis=1).max()) for t in space.tables) or 1.0


def _chains(space: SearchSpace, objective: Objective, unit: float) -> list[list[_Stage]]:
    """Every chain (and shared-θ value) as stage lists, empty stages left out."""
    n_problems = space.n_problems
    out = []
    for size in range(1, space.n_models + 1):
        for models in itertools.combinations(range(space.n_models), size):
            thetas: list[float | None] = [None]
            if space.shared_theta and size >= 3 and space.thetas().size:
                thetas = list(space.thetas())
            for theta in thetas:
                stages = []
                for j, i in enumerate(models):
                    table = space.tables[i]
                    last = j == size - 1
                    cand = space.last[i] if last else space.mid[i]
                    rows = cand.rows if theta is None or last else cand.rows[cand.theta == theta]
                    if j == 0 and objective.is_budget:
                        rows = rows[table.cost[rows].mean(axis=1) / unit
                                    <= objective.budget / unit + TOLERANCE]
                    if rows.size == 0:
                        break
                    gain = (table.correct if last else table.accept_correct)[rows] / n_problems
                    pass_on = (np.zeros((rows.size, n_problems)) if last
                               else 1.0 - table.accept[rows])
                    stages.append(_Stage(i, rows, gain, table.cost[rows] / (unit * n_problems),
                                         pass_on))
                else:
                    out.append(stages)
    return out


def _best_through(value: np.ndarray, pass_on: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Per problem and row o of ``after``: max over options o' of value[o'] +
    pass_on[o']·after[o] (a stage chosen per problem in front of a fixed option)."""
    out = np.empty_like(after)
    step = max(1, CHUNK_ELEMENTS // max(1, value.size))
    for lo in range(0, after.shape[0], step):
        block = after[lo:lo + step, None, :]
        out[lo:lo + step] = (value[None] + pass_on[None] * block).max(axis=1)
    return out


def _weights(objective: Objective, unit: float, s: float) -> tuple[float, float]:
    """(α, β) of the Lagrangian α·accuracy − β·cost for multiplier ``s``: with a budget
    β = s / budget (cost units), with a target accuracy α = 100·s."""
    if objective.is_budget:
        budget = objective.budget / unit
        return 1.0, (s / budget if budget > 0 else s)
    return s * 100.0, 1.0


def _as_bound(objective: Objective, unit: float, alpha: float, beta: float,
              value: np.ndarray) -> np.ndarray:
    """A relaxed maximum of α·acc − β·cost turned into a bound on the objective: accuracy
    (value + β·budget) with a budget, cost (α·target − value) with a target accuracy."""
    if objective.is_budget:
        return value + beta * objective.budget / unit
    return alpha * objective.target_accuracy - value


def _tightest(objective: Objective, a: np.ndarray | None, b: np.ndarray) -> np.ndarray:
    """The tighter of two bounds (the smaller accuracy bound, the larger cost bound)."""
    if a is None:
        return b
    return np.minimum(a, b) if objective.is_budget else np.maximum(a, b)


def _from_stage(stages: Sequence[_Stage], values: Sequence[np.ndarray], j: int) -> np.ndarray:
    """[O_j, P]: each option's value at stage j plus the share it passes on times the best
    per-problem value of the later stages (each chosen per problem)."""
    tail = None
    for k in range(len(stages) - 1, j, -1):
        v = values[k] if tail is None else values[k] + stages[k].pass_on * tail[None, :]
        tail = v.max(axis=0)
    return values[j] if tail is None else values[j] + stages[j].pass_on * tail[None, :]


def _relaxed_values(stages: Sequence[_Stage], j: int, alpha: float, beta: float
                    ) -> np.ndarray:
    """For every option o of stage j: an upper bound on Σ α·gain − β·cost (reach weighted)
    over the chain's plans with o at stage j. Stage 1 is exact; the stages after j, and
    those between 1 and j, are chosen per problem (more plans, so a larger maximum)."""
    values = [alpha * s.gain - beta * s.cost for s in stages]
    scored = _from_stage(stages, values, j)
    if j == 0:
        return scored.sum(axis=1)
    for k in range(j - 1, 0, -1):
        scored = _best_through(values[k], stages[k].pass_on, scored)
    first = stages[0]
    return (values[0].sum(axis=1)[None, :] + scored @ first.pass_on.T).max(axis=1)


def _pair_bounds(stages: Sequence[_Stage], objective: Objective, unit: float,
                 multipliers: np.ndarray) -> np.ndarray:
    """[O1, O2]: for each pair of first- and second-stage options, a bound on the objective
    of the chain's plans with that pair (the pair exact, later stages per problem), the
    best multiplier taken per pair: tighter than the per-option bounds, which take one
    multiplier for all pairs of an option."""
    first = stages[0]
    best = None
    for s in multipliers:
        alpha, beta = _weights(objective, unit, s)
        values = [alpha * st.gain - beta * st.cost for st in stages]
        pair = values[0].sum(axis=1)[:, None] + first.pass_on @ _from_stage(stages, values, 1).T
        best = _tightest(objective, best, _as_bound(objective, unit, alpha, beta, pair))
    assert best is not None
    return best


def _third_stage_survivors(stages: Sequence[_Stage], pairs: np.ndarray, objective: Objective,
                           unit: float, multipliers: np.ndarray, survives
                           ) -> tuple[np.ndarray, np.ndarray]:
    """The allowed first/second-stage pairs and third-stage options that survive bounds
    with the third stage exact as well (stages after it per problem): for each surviving
    pair and third option, the best multiplier's bound, one matrix product per multiplier
    and block of pairs. Far tighter than the pair bounds, where the third stage is chosen
    per problem: on the default grid at the highest budgets it leaves a handful of the
    52 k pairs. ``survives`` maps bounds to may-beat flags."""
    first, second, third = stages[0], stages[1], stages[2]
    o1, o2 = np.nonzero(pairs)
    per_multiplier = []
    for s in multipliers:
        alpha, beta = _weights(objective, unit, s)
        values = [alpha * st.gain - beta * st.cost for st in stages]
        per_multiplier.append((alpha, beta, values[0].sum(axis=1), values[1],
                               _from_stage(stages, values, 2)))
    keep_pairs = np.zeros(o1.size, dtype=bool)
    keep_third = np.zeros(third.rows.size, dtype=bool)
    step = max(1, CHUNK_ELEMENTS // max(third.rows.size, first.pass_on.shape[1]))
    for lo in range(0, o1.size, step):
        a, b = o1[lo:lo + step], o2[lo:lo + step]
        pass_a = first.pass_on[a]
        pass_ab = pass_a * second.pass_on[b]
        best = None
        for alpha, beta, first_value, second_value, after in per_multiplier:
            value = (first_value[a] + (pass_a * second_value[b]).sum(axis=1))[:, None] \
                + pass_ab @ after.T
            best = _tightest(objective, best, _as_bound(objective, unit, alpha, beta, value))
        ok = survives(best)
        keep_pairs[lo:lo + step] = ok.any(axis=1)
        keep_third |= ok.any(axis=0)
    refined = np.zeros_like(pairs)
    refined[o1[keep_pairs], o2[keep_pairs]] = True
    return refined, keep_third


def _option_bounds(stages: Sequence[_Stage], j: int, objective: Objective, unit: float,
                   multipliers: np.ndarray = MULTIPLIERS) -> tuple[np.ndarray, np.ndarray]:
    """Per option of stage j: a bound on the objective of any plan of the chain with it
    (accuracy upper bound, or cost lower bound in cost units), and for each multiplier the
    number of options whose bound it gave."""
    bounds = []
    for s in multipliers:
        alpha, beta = _weights(objective, unit, s)
        bounds.append(_as_bound(objective, unit, alpha, beta,
                                _relaxed_values(stages, j, alpha, beta)))
    stacked = np.array(bounds)
    pick = stacked.argmin(axis=0) if objective.is_budget else stacked.argmax(axis=0)
    best = stacked[pick, np.arange(stacked.shape[1])]
    return best, np.bincount(pick, minlength=len(multipliers))


@dataclass
class _Model:
    """A chain's program as arrays: maximise (or minimise) c·v, row_lo <= A v <= row_hi."""

    cost: np.ndarray
    col_lo: np.ndarray
    col_hi: np.ndarray
    integer: np.ndarray
    matrix: sps.csc_matrix
    row_lo: np.ndarray
    row_hi: np.ndarray
    maximise: bool
    x_cols: list[np.ndarray]
    w_cols: list[np.ndarray | None]


class _Builder:
    """Collects columns, rows and coefficients of one sparse program."""

    def __init__(self) -> None:
        self.cols: list[tuple[np.ndarray, np.ndarray, np.ndarray, bool]] = []
        self.rows: list[tuple[np.ndarray, np.ndarray]] = []
        self.entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.n_cols = 0
        self.n_rows = 0

    def add_cols(self, obj, low, up, integer: bool) -> np.ndarray:
        obj = np.asarray(obj, dtype=float).ravel()
        n = obj.size
        self.cols.append((obj, np.broadcast_to(np.asarray(low, float).ravel(), (n,)),
                          np.broadcast_to(np.asarray(up, float).ravel(), (n,)), integer))
        idx = np.arange(self.n_cols, self.n_cols + n)
        self.n_cols += n
        return idx

    def add_rows(self, low, up, n: int) -> np.ndarray:
        self.rows.append((np.broadcast_to(np.asarray(low, float), (n,)),
                          np.broadcast_to(np.asarray(up, float), (n,))))
        idx = np.arange(self.n_rows, self.n_rows + n)
        self.n_rows += n
        return idx

    def add(self, rows, cols, values) -> None:
        rows, cols = np.broadcast_arrays(rows, cols)
        values = np.broadcast_to(np.asarray(values, float), rows.shape)
        self.entries.append((rows.ravel(), cols.ravel(), values.ravel()))

    def model(self, maximise: bool, x_cols, w_cols) -> _Model:
        r, c, v = (np.concatenate(parts) for parts in zip(*self.entries, strict=True))
        matrix = sps.csc_matrix((v, (r, c)), shape=(self.n_rows, self.n_cols))
        return _Model(
            cost=np.concatenate([col[0] for col in self.cols]),
            col_lo=np.concatenate([col[1] for col in self.cols]),
            col_hi=np.concatenate([col[2] for col in self.cols]),
            integer=np.concatenate([np.full(col[0].size, col[3]) for col in self.cols]),
            matrix=matrix,
            row_lo=np.concatenate([row[0] for row in self.rows]),
            row_hi=np.concatenate([row[1] for row in self.rows]),
            maximise=maximise, x_cols=x_cols, w_cols=w_cols,
        )


def _build(stages: Sequence[_Stage], objective: Objective, unit: float,
           cutoff: float | None, pairs: np.ndarray | None = None) -> _Model:
    """The chain's program (module docstring); ``cutoff`` is an objective row, ``pairs``
    the first/second-stage pairs that may beat it (rows that link the two stages)."""
    b = _Builder()
    n_problems = stages[0].gain.shape[1]
    acc_entries, cost_entries = [], []
    x_cols, w_cols = [], []
    reach_rows = None
    upper, lower = np.ones(n_problems), np.ones(n_problems)
    for j, stage in enumerate(stages):
        n = stage.rows.size
        own = stage.gain if objective.is_budget else stage.cost
        x = b.add_cols(own.sum(axis=1) if j == 0 else np.zeros(n), 0.0, 1.0, True)
        b.add(b.add_rows(1.0, 1.0, 1), x, 1.0)
        if j == 0:
            acc_entries.append((x, stage.gain.sum(axis=1)))
            cost_entries.append((x, stage.cost.sum(axis=1)))
            w = None
            feed = x[:, None]
        else:
            w = b.add_cols(own, 0.0, np.broadcast_to(upper, (n, n_problems)),
                           False).reshape(n, n_problems)
            acc_entries.append((w, stage.gain))
            cost_entries.append((w, stage.cost))
            b.add(reach_rows[None, :], w, 1.0)  # Σ_o w[o,p] − r(p) = 0 (r added below)
            up_rows = b.add_rows(-np.inf, 0.0, n * n_problems).reshape(n, n_problems)
            b.add(up_rows, w, 1.0)
            b.add(up_rows, x[:, None], -upper[None, :])
            positive = np.flatnonzero(lower > 0)
            if positive.size:
                low_rows = b.add_rows(0.0, np.inf, n * positive.size).reshape(n, positive.size)
                b.add(low_rows, w[:, positive], 1.0)
                b.add(low_rows, x[:, None], -lower[None, positive])
            feed = w
        if j < len(stages) - 1:
            reach_rows = b.add_rows(0.0, 0.0, n_problems)
            b.add(reach_rows[None, :], feed, -stage.pass_on)
            upper = upper * stage.pass_on.max(axis=0)
            lower = lower * stage.pass_on.min(axis=0)
        x_cols.append(x)
        w_cols.append(w)
    target_entries, limit_entries = ((acc_entries, cost_entries) if objective.is_budget
                                     else (cost_entries, acc_entries))
    limit = b.add_rows(*((-np.inf, objective.budget / unit) if objective.is_budget
                         else (objective.target_accuracy, np.inf)), 1)
    for cols, values in limit_entries:
        b.add(limit, cols, values)
    if pairs is not None:
        _pair_rows(b, stages[0], pairs, x_cols, w_cols)
    if cutoff is not None:
        row = b.add_rows(*((cutoff, np.inf) if objective.is_budget else (-np.inf, cutoff)), 1)
        for cols, values in target_entries:
            b.add(row, cols, values)
    return b.model(objective.is_budget, x_cols, w_cols)


def _merged_stage(a: _Stage, b: _Stage, first: np.ndarray, second: np.ndarray) -> _Stage:
    """The first two stages as one stage whose options are the allowed pairs: per problem,
    gain g_a + π_a·g_b, cost c_a + π_a·c_b, passed on π_a·π_b (the cascade formula for
    the two stages, so the product of their choices needs no linearisation)."""
    pass_a = a.pass_on[first]
    return _Stage(-1, np.arange(first.size), a.gain[first] + pass_a * b.gain[second],
                  a.cost[first] + pass_a * b.cost[second], pass_a * b.pass_on[second])


def _pair_rows(b: _Builder, first: _Stage, pairs: np.ndarray, x_cols, w_cols) -> None:
    """Rows that only admit the allowed first/second-stage pairs: each option needs an
    allowed partner (x2[o] <= Σ_{o' allowed} x1[o'] and the mirror), and the reach a
    second-stage option handles comes from its allowed partners alone
    (w2[o,p] <= Σ_{o' allowed} π_o'(p)·x1[o']: with x2[o] = 1 this is r_2(p) itself,
    with x2[o] = 0 both sides are >= 0). Exact for plans that may beat the cutoff."""
    x1, x2, w2 = x_cols[0], x_cols[1], w_cols[1]
    n1, n2 = pairs.shape
    n_problems = first.pass_on.shape[1]
    rows = b.add_rows(-np.inf, 0.0, n2)
    b.add(rows, x2, 1.0)
    o1, o2 = np.nonzero(pairs)
    b.add(rows[o2], x1[o1], -1.0)
    rows = b.add_rows(-np.inf, 0.0, n1)
    b.add(rows, x1, 1.0)
    b.add(rows[o1], x2[o2], -1.0)
    rows = b.add_rows(-np.inf, 0.0, n2 * n_problems).reshape(n2, n_problems)
    b.add(rows, w2, 1.0)
    b.add(rows[o2], x1[o1][:, None], -first.pass_on[o1])


def _start_values(model: _Model, stages: Sequence[_Stage],
                  chosen: Sequence[int]) -> np.ndarray:
    """Column values of the plan that picks option index ``chosen[j]`` at stage j."""
    values = np.zeros(model.cost.size)
    reach = np.ones(stages[0].gain.shape[1])
    for j, (stage, o) in enumerate(zip(stages, chosen, strict=True)):
        values[model.x_cols[j][o]] = 1.0
        if j > 0:
            values[model.w_cols[j][o]] = reach
        reach = reach * stage.pass_on[o]
    return values


@dataclass(frozen=True)
class _Outcome:
    """A program's answer: option index per stage (or None), proof and bound."""

    chosen: tuple[int, ...] | None
    proven: bool
    bound: float | None
    solver: str
    at_target: bool = False


def _solve_highs(model: _Model, start: np.ndarray | None, time_limit: float,
                 target: float | None) -> _Outcome:
    """Solve with HiGHS; with ``target`` it stops at the first plan that reaches it."""
    import highspy

    with _quiet_stdout():
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    time_limit = max(0.1, time_limit)
    h.setOptionValue("time_limit", time_limit)
    if model.matrix.nnz > PRESOLVE_MAX_NONZEROS:
        h.setOptionValue("presolve", "off")
    h.setOptionValue("mip_rel_gap", MIP_REL_GAP)
    h.setOptionValue("mip_abs_gap", 1e-10)
    if target is not None:
        h.setOptionValue("objective_target", float(target))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = model.cost.size, model.row_lo.size
    lp.sense_ = highspy.ObjSense.kMaximize if model.maximise else highspy.ObjSense.kMinimize
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = model.cost, model.col_lo, model.col_hi
    lp.row_lower_, lp.row_upper_ = model.row_lo, model.row_hi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = model.matrix.indptr
    lp.a_matrix_.index_ = model.matrix.indices
    lp.a_matrix_.value_ = model.matrix.data
    lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                       for i in model.integer]
    h.passModel(lp)
    if start is not None:
        solution = highspy.HighsSolution()
        solution.col_value = list(start)
        h.setSolution(solution)
    deadline = time.perf_counter() + time_limit

    def stop_at_deadline(event) -> None:
        """HiGHS checks ``time_limit`` only between phases (a cut round of a large program
        ran 37 s past it); these callbacks stop the LP and the search on time."""
        if time.perf_counter() > deadline:
            event.interrupt()

    h.cbSimplexInterrupt += stop_at_deadline
    h.cbMipInterrupt += stop_at_deadline
    with _quiet_stdout():
        h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    if status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kModelEmpty):
        return _Outcome(None, True, None, "HiGHS")
    bound = float(info.mip_dual_bound)
    bound = bound if np.isfinite(bound) else None
    proven = status == highspy.HighsModelStatus.kOptimal
    chosen = None
    if info.primal_solution_status == 2:
        values = np.asarray(h.getSolution().col_value)
        chosen = tuple(int(np.argmax(values[x])) for x in model.x_cols)
    return _Outcome(chosen, proven, bound, "HiGHS",
                    status == highspy.HighsModelStatus.kObjectiveTarget)


def _solve_cbc(model: _Model, start: np.ndarray | None, time_limit: float,
               target: float | None) -> _Outcome:
    """Solve with PuLP's CBC (``target`` is not supported there and is ignored)."""
    import pulp

    prob = pulp.LpProblem("chain", pulp.LpMaximize if model.maximise else pulp.LpMinimize)
    variables = [pulp.LpVariable(f"v{k}", lowBound=lo, upBound=up,
                                 cat="Binary" if i else "Continuous")
                 for k, (lo, up, i) in enumerate(zip(model.col_lo, model.col_hi,
                                                     model.integer, strict=True))]
    prob += pulp.LpAffineExpression([(variables[k], float(c))
                                     for k in np.flatnonzero(model.cost)
                                     for c in [model.cost[k]]])
    rows = model.matrix.tocsr()
    for r in range(rows.shape[0]):
        lo, up = model.row_lo[r], model.row_hi[r]
        sl = slice(rows.indptr[r], rows.indptr[r + 1])
        expr = pulp.LpAffineExpression([(variables[c], float(v))
                                        for c, v in zip(rows.indices[sl], rows.data[sl],
                                                        strict=True)])
        if lo == up:
            prob += expr == float(lo)
        else:
            if np.isfinite(lo):
                prob += expr >= float(lo)
            if np.isfinite(up):
                prob += expr <= float(up)
    if start is not None:
        for var, value in zip(variables, start, strict=True):
            var.setInitialValue(float(value))
    solver = pulp.PULP_CBC_CMD(msg=False, gapRel=MIP_REL_GAP, timeLimit=max(1.0, time_limit),
                               warmStart=start is not None)
    with _quiet_stdout():
        prob.solve(solver)
    if prob.status == pulp.LpStatusInfeasible:
        return _Outcome(None, True, None, "CBC")
    if prob.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        return _Outcome(None, False, None, "CBC")
    values = np.array([v.value() or 0.0 for v in variables])
    chosen = tuple(int(np.argmax(values[x])) for x in model.x_cols)
    return _Outcome(chosen, prob.sol_status == pulp.LpSolutionOptimal, None, "CBC")


def _solve_guarded(model: _Model, start: np.ndarray | None, time_limit: float,
                   target: float | None) -> _Outcome:
    """:func:`_solve_highs`; for large programs in a forked child (a fork costs
    milliseconds) whose solver stops ``GUARD_GRACE`` seconds before ``time_limit`` and
    which is killed at it. A killed or failed child yields no plan and no proof. (CBC
    needs no guard: PuLP runs it as its own process under its own limit.)"""
    if model.matrix.nnz < GUARD_MIN_NONZEROS:
        return _solve_highs(model, start, time_limit, target)
    import multiprocessing

    time_limit = max(0.1, time_limit - GUARD_GRACE)

    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_guarded_child, args=(send, model, start, time_limit, target),
                        daemon=True)
    child.start()
    send.close()
    try:
        if receive.poll(time_limit + GUARD_GRACE):
            return receive.recv()
        return _Outcome(None, False, None, "HiGHS")
    except EOFError:  # the child died without an answer
        return _Outcome(None, False, None, "HiGHS")
    finally:
        receive.close()
        if child.is_alive():
            child.kill()
        child.join()


def _guarded_child(send, model, start, time_limit, target) -> None:
    """Body of the guarded solver's child: solve and send the outcome back."""
    send.send(_solve_highs(model, start, time_limit, target))
    send.close()


def _have_highs() -> bool:
    try:
        import highspy  # noqa: F401
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence the solver's own banner, which HiGHS prints from C++ to file descriptor 1
    even with output off; ``plan`` prints its JSON spec on stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _representative(space: SearchSpace, i: int, row: int, last: bool) -> int:
    """The candidate row that stands for ``row`` (identical numbers in that role)."""
    table = space.tables[i]
    if last:
        rows, arrays = space.last[i].rows, (table.correct, table.cost)
    else:
        rows, arrays = space.mid[i].rows, (table.accept, table.accept_correct, table.cost)
    if row in rows:
        return row
    for other in rows:
        if all(np.array_equal(a[other], a[row]) for a in arrays):
            return int(other)
    return row


class IntegerProgram(SearchMethod):
    """Solves the linearised cascade program to optimality (or to the time limit)."""

    name = "ilp"

    def __init__(self, time_limit: float = TIME_LIMIT, solver: str = "auto") -> None:
        if solver not in SOLVERS:
            raise SearchError(f"unknown ILP solver {solver!r} (auto, highs or cbc)")
        self.time_limit = time_limit
        self.solver = solver

    def _search(self, space: SearchSpace, objective: Objective, seed: int) -> SearchOutcome:
        from .heuristic import HeuristicSearch

        deadline = time.perf_counter() + self.time_limit
        try:
            incumbent = HeuristicSearch().search(space, objective, seed)
        except SearchError:
            incumbent = None
        unit = _cost_unit(space)
        best: tuple[tuple[tuple[int, int], ...], float, float] | None = None
        if incumbent is not None:
            best = (incumbent.stages, incumbent.accuracy, incumbent.cost)
        chains = []
        for stages in _chains(space, objective, unit):
            bounds, used = _option_bounds(stages, 0, objective, unit)
            top = np.argsort(-used, kind="stable")[:LATER_MULTIPLIERS]
            chains.append(_Chain(stages, bounds, MULTIPLIERS[np.sort(top)]))
        sign = 1.0 if objective.is_budget else -1.0
        # short chains first (small programs that give the long ones a strong incumbent to
        # prune against), the most promising first within a length
        chains.sort(key=lambda c: (len(c.stages), -sign * c.bound))
        solver, solved = "", 0

        def solve_chain(chain: _Chain, until: float) -> float | None:
            """Solve one chain until ``until`` (restarting after a better plan); its open
            bound if it is not settled, else None."""
            nonlocal best, solver, solved
            for restart in range(MAX_RESTARTS + 1):
                reduced = self._reduce(chain, best, objective, unit)
                if reduced is None:
                    return None
                stages, pairs = reduced
                target = None
                if best is not None and restart < MAX_RESTARTS:
                    target = (best[1] + RESTART_GAIN if objective.is_budget
                              else best[2] / unit * (1.0 - RESTART_GAIN))
                found, proven, bound, used, at_target = self._solve_chain(
                    space, stages, pairs, objective, unit, best, until, target)
                if used:  # a program was solved (not skipped at the deadline)
                    solver, solved = used, solved + 1
                improved = False
                if found is not None:
                    acc, cost = score_stages(space, found)
                    if objective.feasible(acc, cost) and (
                            best is None or objective.better(acc, cost, best[1], best[2])):
                        best, improved = (found, acc, cost), True
                if at_target and improved:
                    continue  # a better incumbent: reduce again and solve a smaller program
                if proven:
                    return None
                return chain.bound if bound is None else (
                    min if objective.is_budget else max)(bound, chain.bound)
            return None

        # Two passes: first each chain gets a fair share of the time left (so one hard
        # program cannot starve the rest), then the unsettled ones, most promising first,
        # share what remains.
        unsettled = [(chain, chain.bound) for chain in chains]
        for final in (False, True):
            queue, unsettled = unsettled, []
            if final:
                queue.sort(key=lambda item: -sign * item[1])
            for n, (chain, bound) in enumerate(queue):
                if best is not None and not self._may_beat(bound, best, objective, unit):
                    continue
                now = time.perf_counter()
                until = deadline if final else min(
                    deadline, now + max(MIN_CHAIN_SECONDS, (deadline - now) / (len(queue) - n)))
                left = solve_chain(chain, until) if now < deadline else bound
                if left is not None:
                    unsettled.append((chain, left))
        open_bounds = [bound for _, bound in unsettled
                       if best is None or self._may_beat(bound, best, objective, unit)]
        if best is None:
            if not open_bounds:
                raise unreachable(space, objective, self.name)
            raise SearchError(f"{solver or 'the solver'} found no plan within "
                              f"{self.time_limit:g} s")
        gap = 0.0
        if open_bounds:
            value = best[1] if objective.is_budget else best[2] / unit
            worst = max(open_bounds) if objective.is_budget else min(open_bounds)
            gap = max(0.0, sign * (worst - value)) / max(abs(value), 1e-12)
        proven = gap <= MIP_REL_GAP or not open_bounds
        return SearchOutcome(best[0], SolverStatus.OPTIMAL if proven else SolverStatus.FEASIBLE,
                             0.0 if proven else gap, solver or "bounds", solved)

    @staticmethod
    def _may_beat(bound, best, objective: Objective, unit: float):
        """Can a plan with this bound (or array of bounds) beat or tie ``best``?"""
        if objective.is_budget:
            return bound >= best[1] - BOUND_SLACK
        return bound <= best[2] / unit + BOUND_SLACK

    def _reduce(self, chain: _Chain, best, objective: Objective, unit: float
                ) -> tuple[list[_Stage], np.ndarray | None] | None:
        """The chain's stages without options that cannot beat or tie ``best``, stage by
        stage and twice over (each stage bounded over the already reduced other stages:
        they still hold every plan that could beat ``best``), and for chains of three or
        more stages the [O1, O2] mask of first/second-stage pairs that may still beat it.
        None if a stage empties."""
        stages = list(chain.stages)
        pairs = None
        if best is None:
            return stages, pairs
        for sweep in range(REDUCTION_SWEEPS):
            before = sum(s.rows.size for s in stages)
            for j in range(len(stages)):
                if len(stages) >= 3 and j <= 1:
                    if j == 0:
                        pairs = self._may_beat(
                            _pair_bounds(stages, objective, unit, chain.multipliers), best,
                            objective, unit)
                    keep = pairs.any(axis=1 - j)
                    if not keep.any():
                        return None
                    pairs = pairs[keep] if j == 0 else pairs[:, keep]
                    stages[j] = stages[j].take(keep)
                    if j == 1:
                        pairs, third = _third_stage_survivors(
                            stages, pairs, objective, unit, MULTIPLIERS,
                            lambda bound: self._may_beat(bound, best, objective, unit))
                        if not third.any():
                            return None
                        first, second = pairs.any(axis=1), pairs.any(axis=0)
                        pairs = pairs[first][:, second]
                        stages[:3] = [stages[0].take(first), stages[1].take(second),
                                      stages[2].take(third)]
                    continue
                if sweep == 0 and j == 0:
                    bound = chain.first_bounds
                else:
                    bound = _option_bounds(stages, j, objective, unit,
                                           MULTIPLIERS if j == 0 else chain.multipliers)[0]
                keep = self._may_beat(bound, best, objective, unit)
                if not keep.any():
                    return None
                stages[j] = stages[j].take(keep)
            if sum(s.rows.size for s in stages) == before or len(stages) == 1:
                break
        return stages, pairs

    def _solve_chain(self, space, stages, pairs, objective, unit, best, deadline, target):
        """Solve one chain; tighten the limit if solver tolerance lets the plan overshoot
        it by a hair (a few times at most). (stages or None, proven, bound, solver,
        stopped at ``target``)."""
        use_highs = self.solver == "highs" or (self.solver == "auto" and _have_highs())
        cutoff = None
        start = None
        if best is not None:
            cutoff = (best[1] - BOUND_SLACK if objective.is_budget
                      else best[2] / unit + BOUND_SLACK)
            start = self._start_choice(space, stages, best[0])
        program, pair_rows, first, second = stages, pairs, None, None
        if pairs is not None and pairs.sum() <= MAX_MERGED_PAIRS:
            first, second = np.nonzero(pairs)
            program, pair_rows = [_merged_stage(stages[0], stages[1], first, second),
                                  *stages[2:]], None
            if start is not None:
                where = np.flatnonzero((first == start[0]) & (second == start[1]))
                start = [int(where[0]), *start[2:]] if where.size else None
        request = objective
        outcome = _Outcome(None, False, None, "")
        for _ in range(4):
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return None, False, outcome.bound, outcome.solver, False
            model = _build(program, request, unit, cutoff, pair_rows)
            values = None if start is None else _start_values(model, program, start)
            outcome = (_solve_guarded(model, values, remaining, target)
                       if use_highs else _solve_cbc(model, values, remaining, target))
            if outcome.chosen is None:
                return None, outcome.proven, outcome.bound, outcome.solver, False
            chosen = outcome.chosen
            if first is not None:
                chosen = (int(first[chosen[0]]), int(second[chosen[0]]), *chosen[1:])
            found = tuple((s.model, int(s.rows[o])) for s, o in zip(stages, chosen, strict=True))
            acc, cost = score_stages(space, found)
            if objective.feasible(acc, cost):
                return found, outcome.proven, outcome.bound, outcome.solver, outcome.at_target
            if objective.is_budget:
                request = Objective(budget=max(
                    0.0, request.budget - 2 * (cost - objective.budget) - TOLERANCE))
            else:
                request = Objective(target_accuracy=min(1.0, request.target_accuracy + 2 * (
                    objective.target_accuracy - acc) + TOLERANCE))
            start = None
        return None, False, outcome.bound, outcome.solver, False

    @staticmethod
    def _start_choice(space: SearchSpace, stages: Sequence[_Stage],
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
