"""The search space: option tables in model order, with each model's candidate rows.

The search space is a list of :class:`~planner.cascade.OptionTable` in the profile's model
order (cheapest first). A plan picks, per model, either nothing (skip) or one option row;
the chosen models form the cascade in that order. Mid stages (all but the last) need an
option that can have a successor (k != 0), the last stage an option that can end a cascade
(k != 1). With ``shared_theta`` (the paper's grid), every mid stage with k >= 1 uses one and
the same θ (the last stage's θ has no effect on its answer).

:class:`SearchSpace` precomputes what all methods need: for every model the mid-stage and
last-stage candidate rows, with rows whose per-problem quantities are identical collapsed
to one (an exact reduction: identical rows give identical cascades).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..cascade import OptionTable
from .errors import SearchError


@dataclass(frozen=True)
class Candidates:
    """Rows of one model's table usable in one role, with identical rows collapsed.

    ``rows`` are representative table rows; ``theta`` is each row's θ (NaN where θ has no
    effect: k = 0). For the last role only ``correct`` and ``cost`` matter; for the mid role
    ``accept``, ``accept_correct`` and ``cost``.
    """

    rows: np.ndarray
    theta: np.ndarray


def _unique_rows(arrays: Sequence[np.ndarray], rows: np.ndarray) -> np.ndarray:
    """The first row of every group of rows that are identical in all ``arrays``."""
    if rows.size == 0:
        return rows
    stacked = np.concatenate([a[rows] for a in arrays], axis=1)
    stacked = np.ascontiguousarray(stacked)
    view = stacked.view(np.dtype((np.void, stacked.dtype.itemsize * stacked.shape[1])))
    _, first = np.unique(view.ravel(), return_index=True)
    return rows[np.sort(first)]


@dataclass(frozen=True, eq=False)
class SearchSpace:
    """The option tables of a search plus the per-model candidate rows of each role."""

    tables: tuple[OptionTable, ...]
    shared_theta: bool
    mid: tuple[Candidates, ...] = field(init=False)
    last: tuple[Candidates, ...] = field(init=False)

    def __post_init__(self) -> None:
        if not self.tables:
            raise SearchError("no option tables to search")
        n = self.tables[0].n_problems
        if n == 0:
            raise SearchError("the option tables cover no problems")
        names = [t.model for t in self.tables]
        if len(set(names)) != len(names):
            raise SearchError(f"duplicate models in the search space: {names}")
        mid, last = [], []
        for table in self.tables:
            if table.n_problems != n:
                raise SearchError("option tables must cover the same problems")
            for name in ("accept", "accept_correct", "correct", "cost"):
                arr = getattr(table, name)
                if not np.isfinite(arr).all():
                    raise SearchError(f"option table {table.model!r}: {name} is not finite")
            if (table.cost < 0).any():
                raise SearchError(f"option table {table.model!r} has negative costs")
            k = np.array([o.k for o in table.options], dtype=np.int64)
            theta = np.array([np.nan if o.k == 0 else o.theta for o in table.options])
            mid_rows = np.flatnonzero(k != 0)
            if self.shared_theta:
                # collapse only within one θ so that every θ keeps its own rows
                groups = [mid_rows[theta[mid_rows] == v] for v in np.unique(theta[mid_rows])]
            else:
                groups = [mid_rows]
            mid_rows = np.concatenate(
                [_unique_rows((table.accept, table.accept_correct, table.cost), g)
                 for g in groups] or [np.zeros(0, dtype=np.int64)]
            )
            mid_rows = np.sort(mid_rows)
            last_rows = _unique_rows((table.correct, table.cost), np.flatnonzero(k != 1))
            mid.append(Candidates(mid_rows, theta[mid_rows]))
            last.append(Candidates(last_rows, theta[last_rows]))
        if not any(c.rows.size for c in last):
            raise SearchError("no option can end a cascade (every option has k=1)")
        object.__setattr__(self, "mid", tuple(mid))
        object.__setattr__(self, "last", tuple(last))

    @property
    def n_models(self) -> int:
        return len(self.tables)

    @property
    def n_problems(self) -> int:
        return self.tables[0].n_problems

    def thetas(self) -> np.ndarray:
        """The distinct θ values of mid-stage candidates (for the shared-θ constraint)."""
        values = [c.theta[~np.isnan(c.theta)] for c in self.mid]
        return np.unique(np.concatenate(values)) if values else np.zeros(0)

    def count_plans(self) -> int:
        """How many distinct plans the (collapsed) space holds, by a small DP over models."""
        if self.shared_theta:
            thetas = self.thetas()
            groups = [[int((c.theta == v).sum()) for c in self.mid] for v in thetas] or [
                [0] * self.n_models
            ]
        else:
            groups = [[c.rows.size for c in self.mid]]
        total = 0
        n_last = [c.rows.size for c in self.last]
        for n_mid in groups:
            prefixes = 1  # ways to choose mid stages among the models seen so far
            for i in range(self.n_models):
                total += prefixes * n_last[i]
                prefixes += prefixes * n_mid[i]
        if self.shared_theta:
            # plans without any θ-bearing mid stage were counted once per θ
            total -= (len(groups) - 1) * sum(n_last) if groups else 0
        return total
