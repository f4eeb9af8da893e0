"""How a stage's subsets are drawn: the :class:`Sampling` value object, and the problems.

Every estimate is an average over which k recorded samples and t recorded test generations
a model would have produced (docs/method.md §3.2). :class:`Sampling` says how those subsets
are drawn — uniformly random subsets with R replicates from a seed, or the seed paper's
fixed loops — and is validated once, here; the estimator's functions pass it along
instead of three loose arguments.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import fields
from ..errors import CodecascadeError, FieldError
from ..profile import Profile
from ..vocabulary import SamplingMethod, parse

#: Default Monte Carlo replicates: the SE of a mean over 164 problems is then <= 0.49 pp.
DEFAULT_REPLICATES = 64
#: Bytes the estimator holds per Monte Carlo replicate for each problem and each recorded
#: sample or test generation of a model: a float64 random key and an int64 rank per item
#: when it draws subsets (:func:`planner.estimate.draws.draw_subsets`). On the default
#: profile (164 problems, 100 samples + 100 test generations per model) that predicts
#: 0.50 MiB per replicate; the option tables' peak memory grows by 0.51 MiB per replicate.
DRAW_BYTES = 16


class EstimateError(CodecascadeError, ValueError):
    """An estimate cannot be computed as asked (too few samples, bad problems, ...)."""


class SamplingFieldError(EstimateError, FieldError):
    """A bad seed or number of replicates: an :class:`EstimateError` naming its field, so
    the command line can name its option."""


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
        object.__setattr__(self, "replicates", fields.whole(
            self.replicates, "replicates", least=1, error=SamplingFieldError))
        object.__setattr__(self, "seed", fields.whole(self.seed, "seed", least=0,
                                                      error=SamplingFieldError))

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

    def check_memory(self, profile: Profile) -> None:
        """Refuse, before any work, replicates whose draws would not fit in this machine's
        physical memory (:data:`DRAW_BYTES` per replicate, problem and recorded sample or
        test generation): SamplingFieldError naming the replicates, the memory they need
        and how many fit. The paper's fixed loops draw nothing."""
        if not self.is_random:
            return
        per_replicate = DRAW_BYTES * profile.n_problems * (
            profile.sample_solution.shape[2] + profile.test_line.shape[2])
        memory = physical_memory()
        if memory is not None and per_replicate * self.replicates > memory:
            gib = 2.0 ** 30
            raise SamplingFieldError(
                f"{{replicates}} = {self.replicates} would need about "
                f"{per_replicate * self.replicates / gib:,.0f} GiB for the estimator's "
                f"draws on this profile; this machine has {memory / gib:,.0f} GiB in all, which "
                f"would hold at most {memory // per_replicate:,} replicates with nothing else "
                f"running", "replicates")

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


def physical_memory() -> int | None:
    """Bytes of physical memory, or None where the system does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
