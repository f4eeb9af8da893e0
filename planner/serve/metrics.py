"""Prometheus metrics of the server (``GET /metrics``, text format, ``prometheus-client``).

One registry per server, so several servers in one process (tests) do not mix. Names:

* ``codecascade_requests_total{route, outcome}``: finished requests; outcome ``answered``,
  ``fallback``, ``rejected`` (429), ``bad_request``, ``unauthorized``, ``upstream_error``,
  ``upstream_timeout``, ``deadline``, ``disconnected``, ``shutdown``, ``error``.
* ``codecascade_requests_in_flight``, ``codecascade_max_concurrency``.
* ``codecascade_stage_reached_total{stage, model}``, ``..._stage_answers_total``,
  ``..._stage_escalations_total``, ``..._stage_errors_total`` (a stage whose generations
  failed), and ``codecascade_stage_escalation_rate{stage, model}`` (escalations / decided).
* ``codecascade_cost_dollars_total`` and the histogram ``codecascade_request_cost_dollars``
  ($ per request, the method's cost), ``codecascade_tokens_total{model, kind}``.
* Latency histograms (seconds): ``codecascade_request_latency_seconds{route}`` (admission to
  answer), ``codecascade_generation_seconds`` (waiting for the endpoints, summed over a
  request's stages), ``codecascade_sandbox_seconds`` (executing), and
  ``codecascade_overhead_seconds`` (the rest: what the server itself adds, sandbox queueing
  included).
* ``codecascade_generation_errors_total{model}`` (generations that failed after retries),
  ``codecascade_fallback_total{reason}``.
* Drift gauges, set by :mod:`planner.serve.drift`: ``codecascade_stage_acceptance_rate``,
  ``codecascade_stage_acceptance_predicted{bound}``, ``codecascade_stage_drift``.
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ..records import ProblemRecord

_LATENCY = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300)
_OVERHEAD = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
_COST = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1)

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """The server's metrics (see the module docstring); ``models`` are the stages' models."""

    def __init__(self, models: Sequence[str], max_concurrency: int):
        self.registry = CollectorRegistry()
        r = self.registry
        self.models = tuple(models)
        self.requests = Counter("codecascade_requests", "Finished requests.",
                                ("route", "outcome"), registry=r)
        self.in_flight = Gauge("codecascade_requests_in_flight", "Requests being answered.",
                               registry=r)
        Gauge("codecascade_max_concurrency", "Requests in flight allowed.",
              registry=r).set(max_concurrency)
        labels = ("stage", "model")
        self.reached = Counter("codecascade_stage_reached", "Requests that reached a stage.",
                               labels, registry=r)
        self.answers = Counter("codecascade_stage_answers", "Requests a stage answered.",
                               labels, registry=r)
        self.escalations = Counter("codecascade_stage_escalations",
                                   "Requests a stage passed on (score below θ).", labels,
                                   registry=r)
        self.stage_errors = Counter("codecascade_stage_errors", "Stages whose generations "
                                    "failed (escalated without a decision).", labels,
                                    registry=r)
        self.escalation_rate = Gauge("codecascade_stage_escalation_rate",
                                     "Escalations / decided requests of a stage.", labels,
                                     registry=r)
        self.cost = Counter("codecascade_cost_dollars", "Method cost of all requests, $.",
                            registry=r)
        self.request_cost = Histogram("codecascade_request_cost_dollars",
                                      "Method cost of one request, $.", buckets=_COST,
                                      registry=r)
        self.tokens = Counter("codecascade_tokens", "Tokens of the upstream requests.",
                              ("model", "kind"), registry=r)
        self.latency = Histogram("codecascade_request_latency_seconds",
                                 "Admission to answer.", ("route",), buckets=_LATENCY,
                                 registry=r)
        self.generation = Histogram("codecascade_generation_seconds",
                                    "Waiting for the endpoints, per request.",
                                    buckets=_LATENCY, registry=r)
        self.sandbox = Histogram("codecascade_sandbox_seconds",
                                 "Executing solutions and tests, per request.",
                                 buckets=_LATENCY, registry=r)
        self.overhead = Histogram("codecascade_overhead_seconds", "Latency beyond generation "
                                  "and sandbox time, per answered request.",
                                  buckets=_OVERHEAD, registry=r)
        self.generation_errors = Counter("codecascade_generation_errors",
                                         "Generations that failed after retries.", ("model",),
                                         registry=r)
        self.fallbacks = Counter("codecascade_fallback", "Requests answered or refused by the "
                                 "fallback (no function found).", ("reason",), registry=r)
        self.acceptance = Gauge("codecascade_stage_acceptance_rate",
                                "Live acceptance rate of a stage (accepted / decided).",
                                labels, registry=r)
        self.predicted = Gauge("codecascade_stage_acceptance_predicted",
                               "Acceptance rate the spec's profile predicts, with its "
                               "interval.", (*labels, "bound"), registry=r)
        self.drift = Gauge("codecascade_stage_drift", "1 when the live acceptance rate left "
                           "the predicted interval.", labels, registry=r)
        self._decided = [0] * len(self.models)
        self._escalated = [0] * len(self.models)
        for i, model in enumerate(self.models):
            for family in (self.reached, self.answers, self.escalations, self.stage_errors):
                family.labels(str(i), model)

    def finished(self, route: str, outcome: str, latency_s: float | None = None) -> None:
        self.requests.labels(route, outcome).inc()
        if latency_s is not None:
            self.latency.labels(route).observe(latency_s)

    def observe_record(self, record: ProblemRecord, latency_s: float | None = None) -> None:
        """Count a cascade run (answered, failed or cut short) by its stages."""
        generation = sandbox = 0.0
        for i, stage in enumerate(record.stages):
            label = (str(i), stage.model)
            self.reached.labels(*label).inc()
            generation += stage.generation_s
            sandbox += stage.sandbox_s
            failed = sum(x.error is not None for x in (*stage.solutions, *stage.tests))
            if failed:
                self.generation_errors.labels(stage.model).inc(failed)
            prompt = sum(x.prompt_tokens for x in (*stage.solutions, *stage.tests))
            completion = sum(x.completion_tokens for x in (*stage.solutions, *stage.tests))
            self.tokens.labels(stage.model, "prompt").inc(prompt)
            self.tokens.labels(stage.model, "completion").inc(completion)
            if stage.decision in ("error", "failed"):
                self.stage_errors.labels(*label).inc()
                continue
            if stage.decision in ("accept", "answer"):
                self.answers.labels(*label).inc()
            if i < len(self._decided):
                self._decided[i] += 1
                if stage.decision == "escalate":
                    self.escalations.labels(*label).inc()
                    self._escalated[i] += 1
                self.escalation_rate.labels(*label).set(self._escalated[i] / self._decided[i])
        self.cost.inc(record.cost)
        self.request_cost.observe(record.cost)
        self.generation.observe(generation)
        self.sandbox.observe(sandbox)
        if latency_s is not None and record.answer is not None:
            self.overhead.observe(max(0.0, latency_s - generation - sandbox))

    def observe_fallback(self, model: str, cost: float, prompt_tokens: int,
                         completion_tokens: int) -> None:
        self.cost.inc(cost)
        self.request_cost.observe(cost)
        self.tokens.labels(model, "prompt").inc(prompt_tokens)
        self.tokens.labels(model, "completion").inc(completion_tokens)

    def exposition(self) -> bytes:
        """The metrics in Prometheus text format."""
        return generate_latest(self.registry)
