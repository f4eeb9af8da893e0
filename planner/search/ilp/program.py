"""One chain's integer program as sparse arrays (docs/ilp.md §3).

For stage j and candidate option o: x[j,o] ∈ {0,1}, Σ_o x[j,o] = 1. For j >= 2 and problem
p: w[j,o,p] = x[j,o]·r_j(p), the share of p that reaches stage j and is handled by o, in
multiple-choice form: Σ_o w[j,o,p] = r_j(p) and l_j(p)·x[j,o] <= w[j,o,p] <= u_j(p)·x[j,o],
with r_2(p) = Σ_o x[1,o]·π_o(p) and r_{j+1}(p) = Σ_o w[j,o,p]·π_o(p) (π = 1 − a, the
share passed on), [l_j, u_j] the products of the earlier stages' smallest and largest π.
Accuracy is Σ x·G (stage 1) + Σ w·(g or h); cost likewise; the :class:`~.goal.Goal` says
which is the objective and which the limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sps

from .chains import ChainStage
from .goal import Goal, Incumbent


@dataclass(frozen=True, eq=False)
class Program:
    """A chain's program as arrays: maximise (or minimise) c·v, row_lo <= A v <= row_hi,
    col_lo <= v <= col_hi, v integer where ``integer``; ``x_cols[j]`` are stage j's
    choice columns, ``w_cols[j]`` its [O, P] reach columns (None for the first stage)."""

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

    def chosen(self, values: np.ndarray) -> tuple[int, ...]:
        """The option index per stage of a solution's column values."""
        return tuple(int(np.argmax(values[x])) for x in self.x_cols)


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

    def program(self, maximise: bool, x_cols, w_cols) -> Program:
        r, c, v = (np.concatenate(parts) for parts in zip(*self.entries, strict=True))
        matrix = sps.csc_matrix((v, (r, c)), shape=(self.n_rows, self.n_cols))
        return Program(
            cost=np.concatenate([col[0] for col in self.cols]),
            col_lo=np.concatenate([col[1] for col in self.cols]),
            col_hi=np.concatenate([col[2] for col in self.cols]),
            integer=np.concatenate([np.full(col[0].size, col[3]) for col in self.cols]),
            matrix=matrix,
            row_lo=np.concatenate([row[0] for row in self.rows]),
            row_hi=np.concatenate([row[1] for row in self.rows]),
            maximise=maximise, x_cols=x_cols, w_cols=w_cols,
        )


def build(stages: Sequence[ChainStage], goal: Goal, incumbent: Incumbent | None,
          pairs: np.ndarray | None = None) -> Program:
    """The chain's program (module docstring), with an objective cutoff row at the
    ``incumbent`` when there is one (a plan must beat or tie it) and, with ``pairs``, rows
    that admit only those first/second-stage pairs."""
    b = _Builder()
    n_problems = stages[0].gain.shape[1]
    acc_terms, cost_terms = [], []
    x_cols, w_cols = [], []
    reach_rows = None
    upper, lower = np.ones(n_problems), np.ones(n_problems)
    for j, stage in enumerate(stages):
        n = stage.rows.size
        own = goal.order(stage.gain, stage.cost)[0]
        x = b.add_cols(own.sum(axis=1) if j == 0 else np.zeros(n), 0.0, 1.0, True)
        b.add(b.add_rows(1.0, 1.0, 1), x, 1.0)
        if j == 0:
            acc_terms.append((x, stage.gain.sum(axis=1)))
            cost_terms.append((x, stage.cost.sum(axis=1)))
            w = None
            feed = x[:, None]
        else:
            w = b.add_cols(own, 0.0, np.broadcast_to(upper, (n, n_problems)),
                           False).reshape(n, n_problems)
            acc_terms.append((w, stage.gain))
            cost_terms.append((w, stage.cost))
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
    objective_terms, limit_terms = goal.order(acc_terms, cost_terms)
    limit = b.add_rows(*goal.limit_row(), 1)
    for cols, values in limit_terms:
        b.add(limit, cols, values)
    if pairs is not None:
        _pair_rows(b, stages[0], pairs, x_cols, w_cols)
    if incumbent is not None:
        row = b.add_rows(*goal.cutoff_row(incumbent), 1)
        for cols, values in objective_terms:
            b.add(row, cols, values)
    return b.program(goal.maximise, x_cols, w_cols)


def merged_stage(a: ChainStage, b: ChainStage, first: np.ndarray,
                 second: np.ndarray) -> ChainStage:
    """The first two stages as one stage whose options are the allowed pairs: per problem,
    gain g_a + π_a·g_b, cost c_a + π_a·c_b, passed on π_a·π_b (the cascade formula for
    the two stages, so the product of their choices needs no linearisation)."""
    pass_a = a.pass_on[first]
    return ChainStage(-1, np.arange(first.size), a.gain[first] + pass_a * b.gain[second],
                      a.cost[first] + pass_a * b.cost[second], pass_a * b.pass_on[second])


def _pair_rows(b: _Builder, first: ChainStage, pairs: np.ndarray, x_cols, w_cols) -> None:
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


def start_values(program: Program, stages: Sequence[ChainStage],
                 chosen: Sequence[int]) -> np.ndarray:
    """Column values of the plan that picks option index ``chosen[j]`` at stage j."""
    values = np.zeros(program.cost.size)
    reach = np.ones(stages[0].gain.shape[1])
    for j, (stage, o) in enumerate(zip(stages, chosen, strict=True)):
        values[program.x_cols[j][o]] = 1.0
        if j > 0:
            values[program.w_cols[j][o]] = reach
        reach = reach * stage.pass_on[o]
    return values
