"""Drift: is the live traffic still the traffic the plan was made for?

The plan's stages accept or escalate at rates the profile predicts: for every stage but
the last (which always answers), :func:`planner.replay.stage_acceptance` gives the
probability that a request *reaching* the stage is accepted there, with an interval, on the
problems of the spec's prediction. The predictions are passed in (the command line computes
them from the spec's profile), so the server itself never imports the estimator.

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
from typing import Protocol

from ..intervals import wilson_interval
from ..records import ProblemRecord
from .metrics import Metrics

log = logging.getLogger("codecascade.serve")

#: z of the live rate's Wilson interval (99 %, two-sided).
LIVE_Z = 2.5758293035489


class AcceptancePrediction(Protocol):
    """A stage's predicted acceptance rate and interval (fractions), e.g.
    :class:`planner.replay.StageAcceptance`."""

    @property
    def stage(self) -> int: ...
    @property
    def model(self) -> str: ...
    @property
    def rate(self) -> float: ...
    @property
    def low(self) -> float: ...
    @property
    def high(self) -> float: ...


class DriftMonitor:
    """Live acceptance rate per stage against the prediction (see the module docstring)."""

    def __init__(self, models: Sequence[str], predictions: Sequence[AcceptancePrediction],
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
