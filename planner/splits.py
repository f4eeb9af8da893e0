"""Validation/test protocols: plans are chosen on one part of the problems and scored on
the other.

* :func:`paper_splits` — the seed paper's protocol: 30 % of the problems for validation
  (49 of HumanEval's 164), drawn with Python's ``random.seed(seed); random.sample(range(n),
  49)`` exactly as its ``check_combinations.py`` does, for seeds 3, 7, 9, 13 and 15; the
  other 70 % are the test part.
* :func:`kfold_splits` — k-fold cross-validation: the problems are shuffled once and cut
  into k folds; split i chooses on the other k − 1 folds and tests on fold i, so every
  problem is held out exactly once.

Splits have names (``paper-seed7``, ``kfold5-seed0-fold2``) that a cascade spec records and
:func:`split_by_name` turns back into the same indices.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

import numpy as np

from .errors import CodecascadeError
from .vocabulary import SplitPart

PAPER_SEEDS = (3, 7, 9, 13, 15)
PAPER_VALIDATION_FRACTION = 0.3
SPLIT_PARTS = tuple(SplitPart)


class SplitError(CodecascadeError, ValueError):
    """A split cannot be made or named as asked; one line."""


@dataclass(frozen=True, eq=False)
class Split:
    """Problem indices to choose a plan on (``validation``) and to score it on (``test``)."""

    name: str
    seed: int
    validation: np.ndarray
    test: np.ndarray

    def part(self, which: str) -> np.ndarray:
        """The indices of ``validation``, ``test`` or ``all`` (both, sorted)."""
        if which == "validation":
            return self.validation
        if which == "test":
            return self.test
        if which == "all":
            return np.sort(np.concatenate([self.validation, self.test]))
        raise SplitError(f"unknown split part {which!r}; known: {', '.join(SPLIT_PARTS)}")


def _check_n(n_problems: int, at_least: int) -> None:
    if n_problems < at_least:
        raise SplitError(f"need at least {at_least} problems to split, got {n_problems}")


def paper_split(n_problems: int = 164, seed: int = 7,
                fraction: float = PAPER_VALIDATION_FRACTION) -> Split:
    """One split of the paper's protocol (see the module docstring)."""
    _check_n(n_problems, 2)
    if not 0.0 < fraction < 1.0:
        raise SplitError(f"validation fraction must be in (0, 1), got {fraction}")
    n_val = min(max(round(fraction * n_problems), 1), n_problems - 1)
    chosen = random.Random(seed).sample(range(n_problems), n_val)
    validation = np.array(sorted(chosen), dtype=np.int64)
    test = np.setdiff1d(np.arange(n_problems), validation)
    return Split(f"paper-seed{seed}", seed, validation, test)


def paper_splits(n_problems: int = 164, seeds: tuple[int, ...] = PAPER_SEEDS,
                 fraction: float = PAPER_VALIDATION_FRACTION) -> list[Split]:
    """The paper's five 30 % / 70 % splits."""
    return [paper_split(n_problems, s, fraction) for s in seeds]


def kfold_splits(n_problems: int, k: int = 5, seed: int = 0) -> list[Split]:
    """k-fold cross-validation splits (see the module docstring)."""
    if k < 2:
        raise SplitError(f"k-fold needs k >= 2, got {k}")
    _check_n(n_problems, k)
    order = np.random.default_rng(seed).permutation(n_problems)
    folds = np.array_split(order, k)
    out = []
    for i, fold in enumerate(folds):
        rest = np.concatenate([f for j, f in enumerate(folds) if j != i])
        out.append(Split(f"kfold{k}-seed{seed}-fold{i}", seed, np.sort(rest), np.sort(fold)))
    return out


def split_by_name(name: str, n_problems: int) -> Split:
    """The split called ``name`` (``paper-seed7``, ``kfold5-seed0-fold2``, or ``all``: every
    problem in both parts); SplitError naming the accepted forms otherwise."""
    if name == "all":
        everything = np.arange(n_problems)
        return Split("all", 0, everything, everything)
    paper = re.fullmatch(r"paper-seed(\d+)", name)
    if paper:
        return paper_split(n_problems, int(paper.group(1)))
    kfold = re.fullmatch(r"kfold(\d+)-seed(\d+)-fold(\d+)", name)
    if kfold:
        k, seed, fold = (int(x) for x in kfold.groups())
        if fold >= k:
            raise SplitError(f"split {name!r}: fold {fold} does not exist in {k} folds")
        return kfold_splits(n_problems, k, seed)[fold]
    raise SplitError(f"unknown split name {name!r}; expected 'all', 'paper-seed<S>' or "
                     "'kfold<K>-seed<S>-fold<I>'")
