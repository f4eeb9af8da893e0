"""Option tables and the exact cascade formula (docs/method.md §3.2–3.3).

An :class:`OptionTable` holds, for one model and every stage option on a grid, the
per-problem quantities the estimator computes:

* ``accept`` a_o(p): probability that the stage accepts,
* ``accept_correct`` g_o(p): probability that it accepts and its chosen solution is correct,
* ``correct`` h_o(p): probability that its chosen solution is correct (used when last),
* ``cost`` c_o(p): expected cost of the stage in $.

Because models sample independently given the problem, a cascade's accuracy and cost are
exact functions of these tables (:func:`cascade_arrays`, the one place the formula is
written; :func:`cascade_per_problem` applies it to table rows). Everything here is numpy on
[options, problems] arrays; the search methods work only with option tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .errors import CodecascadeError
from .options import StageOption


@dataclass(frozen=True, eq=False)
class OptionTable:
    """Per-problem a, g, h, c of every option of one model; arrays are [options, problems].

    ``accuracy_se`` is the Monte Carlo standard error of each option's mean accuracy as a
    last stage (0 where the quantity is exact); ``problems`` names the columns.
    """

    model: str
    options: tuple[StageOption, ...]
    accept: np.ndarray
    accept_correct: np.ndarray
    correct: np.ndarray
    cost: np.ndarray
    problems: tuple[str, ...] = ()
    accuracy_se: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        shape = (len(self.options), self.accept.shape[-1] if self.accept.ndim == 2 else -1)
        for name in ("accept", "accept_correct", "correct", "cost"):
            arr = getattr(self, name)
            if arr.ndim != 2 or arr.shape != shape:
                raise CodecascadeError(
                    f"option table {self.model!r}: {name} has shape {arr.shape}, "
                    f"expected {shape}"
                )
        if self.problems and len(self.problems) != shape[1]:
            raise CodecascadeError(f"option table {self.model!r}: problems do not match")
        if self.accuracy_se.size not in (0, shape[0]):
            raise CodecascadeError(f"option table {self.model!r}: accuracy_se has wrong size")

    @property
    def n_options(self) -> int:
        return len(self.options)

    @property
    def n_problems(self) -> int:
        return int(self.accept.shape[1])

    def index(self, option: StageOption) -> int:
        """Row of ``option``; CodecascadeError if the grid does not contain it."""
        try:
            return self.options.index(option)
        except ValueError:
            raise CodecascadeError(
                f"option {option.label()} is not on the grid of model {self.model!r}"
            ) from None

    def select(self, rows: Sequence[int] | np.ndarray) -> OptionTable:
        """A table with only the given option rows."""
        idx = np.asarray(rows, dtype=np.int64)
        return OptionTable(
            model=self.model,
            options=tuple(self.options[i] for i in idx),
            accept=self.accept[idx],
            accept_correct=self.accept_correct[idx],
            correct=self.correct[idx],
            cost=self.cost[idx],
            problems=self.problems,
            accuracy_se=self.accuracy_se[idx] if self.accuracy_se.size else self.accuracy_se,
        )

    def columns(self, problems: Sequence[int] | np.ndarray) -> OptionTable:
        """A table restricted to the given problem columns (a split)."""
        idx = np.asarray(problems, dtype=np.int64)
        return OptionTable(
            model=self.model,
            options=self.options,
            accept=self.accept[:, idx],
            accept_correct=self.accept_correct[:, idx],
            correct=self.correct[:, idx],
            cost=self.cost[:, idx],
            problems=tuple(self.problems[i] for i in idx) if self.problems else (),
            accuracy_se=self.accuracy_se,
        )


def cascade_arrays(
    stages: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    *,
    open_end: bool = False,
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """The cascade formula of docs/method.md §3.3, the one place it is written.

    ``stages`` are (a, g, h, c) arrays of one shape (per problem, or per problem and
    replicate, ...), in cascade order; the last stage answers whatever reaches it:
    accuracy = g1 + (1-a1) g2 + ... + Π_{j<m}(1-aj) h_m, and the same with c for cost.
    Returns accuracy, cost and each stage's reach (the share that gets to it). With
    ``open_end`` every stage is a mid stage (h unused): the accuracy and cost of the
    answers given so far, and as a last reach the share passed on after the last stage.
    """
    if not stages:
        raise CodecascadeError("a cascade needs at least one stage")
    reach = np.ones_like(stages[0][0], dtype=np.float64)
    accuracy = np.zeros_like(reach)
    cost = np.zeros_like(reach)
    reaches = []
    last = len(stages) - 1
    for i, (a, g, h, c) in enumerate(stages):
        reaches.append(reach)
        cost = cost + reach * c
        if i == last and not open_end:
            accuracy = accuracy + reach * h
        else:
            accuracy = accuracy + reach * g
            reach = reach * (1.0 - a)
    if open_end:
        reaches.append(reach)
    return accuracy, cost, reaches


def cascade_per_problem(
    stages: Sequence[tuple[OptionTable, int]],
) -> tuple[np.ndarray, np.ndarray]:
    """Exact per-problem accuracy and cost of a cascade of independent stages:
    :func:`cascade_arrays` on the option rows. ``stages`` is the ordered list of (table,
    option row); the last stage always answers."""
    if not stages:
        raise CodecascadeError("a cascade needs at least one stage")
    n = stages[0][0].n_problems
    if any(table.n_problems != n for table, _ in stages):
        raise CodecascadeError("stages of a cascade must cover the same problems")
    accuracy, cost, _ = cascade_arrays([(table.accept[row], table.accept_correct[row],
                                         table.correct[row], table.cost[row])
                                        for table, row in stages])
    return accuracy, cost


def cascade_mean(stages: Sequence[tuple[OptionTable, int]]) -> tuple[float, float]:
    """Mean accuracy (fraction) and mean cost ($ per problem) of a cascade."""
    accuracy, cost = cascade_per_problem(stages)
    return float(accuracy.mean()), float(cost.mean())
