"""A running cost–accuracy Pareto front that never holds dominated points.

Points are (accuracy, cost, codes) where ``codes`` is the per-model option row of the plan
(-1 = skipped). The front is kept sorted by cost with strictly increasing accuracy, so
"best accuracy affordable at cost c" is one binary search, and a new batch is filtered
against the front before the (small) survivors are merged.
"""

from __future__ import annotations

import numpy as np

#: Accuracy differences below this are float noise (sums in another order), not progress.
ACCURACY_RESOLUTION = 1e-12


class ParetoFront:
    """Non-dominated plans: no kept plan is both cheaper-or-equal and at least as accurate
    as another kept plan."""

    def __init__(self, n_models: int) -> None:
        self.accuracy = np.zeros(0)
        self.cost = np.zeros(0)
        self.codes = np.zeros((0, n_models), dtype=np.int64)
        #: False when the plans offered were cut short (an enumeration stopped at a
        #: deadline): the front of the plans seen, not of every plan
        self.complete = True

    def __len__(self) -> int:
        return int(self.accuracy.size)

    def best_accuracy_within(self, cost: np.ndarray) -> np.ndarray:
        """For each cost, the best front accuracy at cost <= it (-inf if none)."""
        cost = np.asarray(cost, dtype=float)
        idx = np.searchsorted(self.cost, cost, side="right") - 1
        out = np.full(cost.shape, -np.inf)
        ok = idx >= 0
        out[ok] = self.accuracy[idx[ok]]
        return out

    def add(self, accuracy: np.ndarray, cost: np.ndarray, codes: np.ndarray) -> None:
        """Merge a batch of points into the front."""
        acc = np.concatenate([self.accuracy, np.asarray(accuracy, dtype=float)])
        cst = np.concatenate([self.cost, np.asarray(cost, dtype=float)])
        cds = np.concatenate([self.codes, np.asarray(codes, dtype=np.int64)])
        order = np.lexsort((-acc, cst))  # by cost, then most accurate first
        acc, cst, cds = acc[order], cst[order], cds[order]
        running = np.maximum.accumulate(acc)
        keep = np.ones(acc.size, dtype=bool)
        keep[1:] = acc[1:] > running[:-1] + ACCURACY_RESOLUTION
        self.accuracy, self.cost, self.codes = acc[keep], cst[keep], cds[keep]
