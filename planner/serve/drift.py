"""Drift: is the live traffic still the traffic the plan was made for?

The plan's stages accept or escalate at rates the profile predicts. For every stage but the
last (which always answers), :func:`predict_acceptance` computes from the spec's profile
the probability that a request *reaching* the stage is accepted there: per problem of the
spec's prediction set (the held-out part of its split, else the planning part) and
replicate, the stage that answered in a whole-replicate simulation of the plan
(:func:`planner.estimate.simulate_plan`, the estimator's own draws and seed), then
``sum(accepted) / sum(reached)`` over problems, with a percentile bootstrap interval over
problems (2,000 resamples, 95 %).

:class:`DriftMonitor` counts, per stage, the requests that reached it and got a decision
(stages whose generations failed are infrastructure errors and are not counted) and the
accepted ones. Once a stage has ``min_requests`` decisions, its live rate is *out of the
predicted interval* when the Wilson interval of the live rate at 99 % lies wholly outside
the predicted 95 % interval: the difference is then more than sampling noise of either
side. The gauge ``codecascade_stage_drift`` says so and one warning is logged when a stage
drifts (and one line when it comes back): the traffic no longer looks like the profile,
and the plan should be made again on a profile of this traffic (``measure --records``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..measure.records import ProblemRecord
from ..runtime.runner import wilson_interval
from ..spec import CascadeSpec
from .metrics import Metrics

log = logging.getLogger("codecascade.serve")

#: z of the live rate's Wilson interval (99 %, two-sided).
LIVE_Z = 2.5758293035489


@dataclass(frozen=True)
class StagePrediction:
    """Predicted acceptance rate of a stage among the requests that reach it, with its
    interval (fractions), on ``n_problems`` problems of the profile."""

    stage: int
    model: str
    rate: float
    low: float
    high: float
    n_problems: int


def predict_acceptance(spec: CascadeSpec, profile_name: str | None = None, *,
                       n_boot: int = 2000, confidence: float = 0.95,
                       replicates: int = 64) -> tuple[StagePrediction, ...]:
    """Predicted acceptance rate of every stage but the last (see the module docstring).

    Raises :class:`planner.profile.ProfileError` when the profile is not found, and
    :class:`planner.errors.CodecascadeError` subclasses when a spec model is not in it.
    """
    from ..estimate import simulate_plan
    from ..profile import load_profile
    from ..splits import SplitError, split_by_name

    prov = spec.provenance
    profile = load_profile(profile_name or prov.profile)
    for stage in spec.stages:
        profile.model_index(stage.model)
    try:
        split = split_by_name(prov.split, profile.n_problems)
        problems = split.part("test" if spec.heldout is not None else "validation")
    except SplitError:  # a split this profile cannot make: every problem
        problems = None
    sampling = "paper_loops" if prov.grid == "paper" else "random"
    sim = simulate_plan(profile, spec.plan, problems, replicates=replicates,
                        seed=int(prov.seeds.get("estimator", 0)), sampling=sampling)
    answered = sim.answered_by  # [P, R]
    rng = np.random.default_rng(int(prov.seeds.get("bootstrap", 0)))
    n_problems = answered.shape[0]
    resamples = rng.integers(0, n_problems, size=(n_boot, n_problems))
    alpha = (1 - confidence) / 2
    out = []
    for i, stage in enumerate(spec.stages[:-1]):
        reached = (answered >= i).mean(axis=1)
        accepted = (answered == i).mean(axis=1)
        if reached.sum() == 0:
            continue
        rate = float(accepted.sum() / reached.sum())
        num = accepted[resamples].sum(axis=1)
        den = reached[resamples].sum(axis=1)
        boot = num[den > 0] / den[den > 0]
        low, high = (float(x) for x in np.quantile(boot, [alpha, 1 - alpha]))
        out.append(StagePrediction(i, stage.model, rate, low, high, n_problems))
    return tuple(out)


class DriftMonitor:
    """Live acceptance rate per stage against the prediction (see the module docstring)."""

    def __init__(self, models: Sequence[str], predictions: Sequence[StagePrediction],
                 metrics: Metrics, min_requests: int = 20):
        self.models = tuple(models)
        self.predictions = {p.stage: p for p in predictions}
        self.metrics = metrics
        self.min_requests = min_requests
        self.decided = [0] * len(self.models)
        self.accepted = [0] * len(self.models)
        self.drifting = [False] * len(self.models)
        for p in predictions:
            for bound, value in (("low", p.low), ("mean", p.rate), ("high", p.high)):
                metrics.predicted.labels(str(p.stage), p.model, bound).set(value)
            metrics.drift.labels(str(p.stage), p.model).set(0)

    def observe(self, record: ProblemRecord) -> None:
        """Count the decided stages of one request and re-check each stage it reached."""
        last = len(self.models) - 1
        for i, stage in enumerate(record.stages[:last]):
            if stage.decision not in ("accept", "escalate"):
                continue
            self.decided[i] += 1
            self.accepted[i] += stage.decision == "accept"
            self.metrics.acceptance.labels(str(i), stage.model).set(
                self.accepted[i] / self.decided[i])
            self._check(i)

    def live_interval(self, stage: int) -> tuple[float, float]:
        return wilson_interval(self.accepted[stage], self.decided[stage], LIVE_Z)

    def _check(self, i: int) -> None:
        p = self.predictions.get(i)
        if p is None or self.decided[i] < self.min_requests:
            return
        lo, hi = self.live_interval(i)
        out = hi < p.low or lo > p.high
        if out == self.drifting[i]:
            return
        self.drifting[i] = out
        self.metrics.drift.labels(str(i), p.model).set(int(out))
        rate = self.accepted[i] / self.decided[i]
        where = (f"stage {i} ({p.model}) accepts {100 * rate:.1f}% of {self.decided[i]} "
                 f"requests (99% interval {100 * lo:.1f}-{100 * hi:.1f}%); the profile "
                 f"predicts {100 * p.rate:.1f}% [{100 * p.low:.1f}, {100 * p.high:.1f}]")
        if out:
            log.warning("drift: %s: the traffic no longer looks like the profile; re-plan "
                        "on a profile of this traffic (codecascade measure --records)", where)
        else:
            log.info("drift: %s: back inside the predicted interval", where)

    def to_json(self) -> list[dict[str, object]]:
        out = []
        for i, model in enumerate(self.models[:-1]):
            p = self.predictions.get(i)
            n = self.decided[i]
            out.append({
                "stage": i, "model": model, "decided": n, "accepted": self.accepted[i],
                "rate": self.accepted[i] / n if n else None,
                "predicted": None if p is None else {"rate": p.rate, "low": p.low,
                                                     "high": p.high},
                "drift": self.drifting[i],
            })
        return out
