"""Confidence intervals from resampling problems.

Every reported accuracy and cost carries a **percentile bootstrap** interval over problems:
the problems are resampled with replacement ``n_boot`` times, the mean is recomputed on
each resample, and the interval is the (α/2, 1 − α/2) quantiles of those means. It covers
the uncertainty from which problems were measured (the dominant one); Monte Carlo error of
the estimator is reported separately as a standard error.
"""

from __future__ import annotations

import numpy as np

from .errors import CodecascadeError

#: How the intervals are made, as printed next to them.
INTERVAL_KIND = "percentile bootstrap over problems"


def bootstrap_ci(
    values: np.ndarray,
    *,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile-bootstrap interval of the mean over axis 0 (problems).

    ``values`` is [P] or [P, Q] (Q quantities resampled jointly with the same problem
    draws, e.g. accuracy and cost, or many plans at once). Returns (low, high) with the
    shape of one row (scalars as 0-d arrays for a 1-d input).
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim not in (1, 2) or x.shape[0] == 0:
        raise CodecascadeError("bootstrap needs a non-empty [problems] or [problems, q] array")
    if not 0.0 < confidence < 1.0:
        raise CodecascadeError(f"confidence must be in (0, 1), got {confidence}")
    if n_boot < 1:
        raise CodecascadeError(f"n_boot must be >= 1, got {n_boot}")
    n = x.shape[0]
    rng = np.random.default_rng(seed)
    # each resample as counts per problem: one matrix product gives every resample's mean
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64)
    means = counts @ x.reshape(n, -1) / n
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha], axis=0)
    shape = x.shape[1:]
    return low.reshape(shape), high.reshape(shape)


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``successes / n`` (``z``: the normal
    quantile of the confidence, 1.96 for 95 %); (0, 1) when ``n`` is 0. Wilson (1927),
    JASA 22:209; it stays inside [0, 1] and is exact at 0 and ``n`` successes."""
    import math

    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return (lo, hi)
