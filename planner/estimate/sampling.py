"""How a stage's subsets are drawn: the :class:`Sampling` value object, and the problems.

Every estimate is an average over which k recorded samples and t recorded test generations
a model would have produced (docs/method.md §3.2). :class:`Sampling` says how those subsets
are drawn — uniformly random subsets with R replicates from a seed, or the seed paper's
fixed loops — and is validated once, here; the estimator's functions pass it along
instead of three loose arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import CodecascadeError
from ..profile import Profile
from ..vocabulary import SamplingMethod, parse

#: Default Monte Carlo replicates: the SE of a mean over 164 problems is then <= 0.49 pp.
DEFAULT_REPLICATES = 64


class EstimateError(CodecascadeError, ValueError):
    """An estimate cannot be computed as asked (too few samples, bad problems, ...)."""


def _count(value: object, what: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < least:
        raise EstimateError(f"{what} must be an integer >= {least}, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class Sampling:
    """How subsets are drawn (docs/method.md §3.2).

    ``method`` random: each of ``replicates`` replicates draws a uniformly random subset of
    the recorded samples and test generations, from ``seed`` (Monte Carlo, common random
    numbers across options). ``method`` paper_loops: replicate L is the seed paper's loop
    L (its first k samples and first t test generations); the loops are fixed, so
    ``replicates`` and ``seed`` play no part. EstimateError on an unknown method, fewer
    than one replicate or a negative seed.
    """

    method: SamplingMethod = SamplingMethod.RANDOM
    replicates: int = DEFAULT_REPLICATES
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "method",
                           parse(SamplingMethod, self.method, "sampling", EstimateError))
        object.__setattr__(self, "replicates", _count(self.replicates, "replicates", 1))
        object.__setattr__(self, "seed", _count(self.seed, "the seed", 0))

    @classmethod
    def of(cls, sampling: Sampling | SamplingMethod | str = SamplingMethod.RANDOM,
           replicates: int | None = None, seed: int | None = None) -> Sampling:
        """``sampling`` itself, or a Sampling of the method it names with ``replicates``
        (default :data:`DEFAULT_REPLICATES`) and ``seed`` (default 0): the estimator's
        public functions take either form. EstimateError if a Sampling comes with its
        replicates or seed given beside it."""
        if isinstance(sampling, Sampling):
            if replicates is not None or seed is not None:
                raise EstimateError("give replicates and seed inside the Sampling, not beside it")
            return sampling
        return cls(sampling, DEFAULT_REPLICATES if replicates is None else replicates,
                   0 if seed is None else seed)

    @property
    def is_random(self) -> bool:
        """Monte Carlo subsets (so estimates carry a Monte Carlo standard error)."""
        return self.method is SamplingMethod.RANDOM

    def key(self) -> dict[str, int]:
        """What of it changes an estimate: R and the seed for random subsets, nothing for
        the paper's fixed loops (both 0)."""
        return {"replicates": self.replicates if self.is_random else 0,
                "seed": self.seed if self.is_random else 0}


def problem_index(profile: Profile, problems: Sequence[int] | np.ndarray | None) -> np.ndarray:
    """The profile indices to estimate on (all problems for None); EstimateError unless a
    non-empty list of valid indices."""
    if problems is None:
        return np.arange(profile.n_problems)
    idx = np.asarray(problems)
    if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
        raise EstimateError("problems must be a non-empty list of problem indices")
    if idx.min() < 0 or idx.max() >= profile.n_problems:
        raise EstimateError(f"problem indices must be in 0..{profile.n_problems - 1}")
    return idx.astype(np.int64)
