"""One request through the cascade (or the fallback), with its deadline, cancellation,
records, metrics and drift; what the routes call.

Per request (a task, so that a disconnect or shutdown can cancel it):

* a request with a problem runs :meth:`planner.runtime.runner.CascadeRunner.run_problem`,
  the very code ``codecascade run`` uses (prompts, extraction, sandbox, scoring rule, θ,
  test sharing, retries and cost), under the request's deadline;
* a request without one goes to the fallback model (or is refused with a 400);
* a stage whose endpoint fails (after retries, or at once while that endpoint's circuit
  breaker is open) does not decide and the cascade goes on to the next stage; when no
  stage answers, the chosen solution of the last stage that scored one is the answer,
  marked degraded (``X-Codecascade-Degraded``, and ``degraded`` / ``failure`` in the
  ``codecascade`` object);
* whatever happens, a cascade run is appended to the records file and counted: answered;
  no usable solution from any stage (502 ``upstream_error``; 504 ``upstream_timeout`` when
  every failure was a timeout; 503 ``upstream_unavailable`` with ``Retry-After`` when every
  failed stage was skipped because its endpoint's circuit breaker is open); an endpoint
  refusing the server's key or model (502 ``upstream_refused``); the deadline (504); shutdown
  past the grace period (503); a client that disconnected (no answer; the stages still
  running are cancelled).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import logging
import math
import time
import uuid
from dataclasses import dataclass, field

from ..problems import Problem
from ..records import Decision, ProblemRecord, StageRecord
from ..runtime.breaker import COOLDOWN_S
from ..runtime.endpoints import Endpoint, EndpointError
from ..runtime.failures import EndpointDown, FailureKind
from ..runtime.runner import CascadeRunner
from ..sandbox import SandboxError
from .drift import DriftMonitor
from .errors import APIError, ErrorType
from .fallback import fallback_prompt
from .limits import Admission
from .metrics import Metrics
from .recorder import Recorder
from .requests import Kind, ParsedRequest
from .responses import Answer, Usage, cascade_answer

log = logging.getLogger("codecascade.serve")

SHUTDOWN = "the server shut down before the cascade decided"
DISCONNECTED = "the client disconnected before the cascade decided"


@dataclass
class RequestContext:
    """One request in flight: its ids, when it was admitted, and why it was stopped."""

    kind: Kind
    task_id: str | None = None
    request_id: str = ""
    created: int = field(default_factory=lambda: int(time.time()))
    started: float = field(default_factory=time.monotonic)
    stop_reason: str | None = None

    def __post_init__(self) -> None:
        if not self.request_id:
            prefix = "chatcmpl" if self.kind is Kind.CHAT else "cmpl"
            self.request_id = f"{prefix}-{uuid.uuid4().hex}"
        if not self.task_id:
            self.task_id = self.request_id

    @property
    def route(self) -> str:
        return "chat" if self.kind is Kind.CHAT else "completions"


class CascadeService:
    """Answers parsed requests with the spec's cascade (see the module docstring)."""

    def __init__(self, runner: CascadeRunner, endpoints: dict[str, Endpoint], *,
                 recorder: Recorder, metrics: Metrics, drift: DriftMonitor | None,
                 admission: Admission, deadline_s: float, fallback_model: str | None):
        self.runner = runner
        self.endpoints = endpoints
        self.recorder = recorder
        self.metrics = metrics
        self.drift = drift
        self.admission = admission
        self.deadline_s = deadline_s
        self.fallback_model = fallback_model
        self.draining = False
        self._inflight: dict[asyncio.Task, RequestContext] = {}
        self._drain_timer: asyncio.TimerHandle | None = None

    # ---- lifecycle -----------------------------------------------------------------
    async def start(self) -> None:
        self.recorder.open()
        await self.runner.start()

    async def close(self) -> None:
        if self._drain_timer is not None:
            self._drain_timer.cancel()
        for task, ctx in list(self._inflight.items()):
            ctx.stop_reason = ctx.stop_reason or SHUTDOWN
            task.cancel()
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
        await self.runner.close()
        self.recorder.close()

    def begin_drain(self, grace_s: float) -> None:
        """Stop taking requests; after ``grace_s`` cancel those still running (503)."""
        if self.draining:
            return
        self.draining = True
        log.info("shutting down: %d request(s) in flight get up to %g s to finish",
                 len(self._inflight), grace_s)
        loop = asyncio.get_running_loop()
        self._drain_timer = loop.call_later(grace_s, self._expire)

    def _expire(self) -> None:
        if self._inflight:
            log.warning("grace period over: stopping %d request(s) in flight",
                        len(self._inflight))
        for task, ctx in list(self._inflight.items()):
            ctx.stop_reason = SHUTDOWN
            task.cancel()

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    # ---- admission -----------------------------------------------------------------
    def submit(self, request: ParsedRequest, ctx: RequestContext) -> asyncio.Task[Answer]:
        """Admit the request and start answering it; APIError 429 (busy) or 503 (draining)
        when it cannot be taken."""
        if self.draining:
            raise APIError(503, "the server is shutting down", ErrorType.SERVER,
                           code="shutting_down", headers={"Retry-After": "1"})
        ticket = self.admission.admit()
        self.metrics.in_flight.inc()
        task = asyncio.create_task(self._answer(request, ctx))
        self._inflight[task] = ctx

        def done(finished: asyncio.Task) -> None:
            self._inflight.pop(finished, None)
            self.admission.release(ticket)
            self.metrics.in_flight.dec()
            if not finished.cancelled():
                finished.exception()  # retrieved: the route reports it

        task.add_done_callback(done)
        return task

    def _remaining(self, ctx: RequestContext) -> float:
        return max(0.0, self.deadline_s - (time.monotonic() - ctx.started))

    # ---- one request ---------------------------------------------------------------
    async def _answer(self, request: ParsedRequest, ctx: RequestContext) -> Answer:
        try:
            if request.problem is None:
                answer = await self._fallback(request, ctx)
            else:
                answer = await self._cascade(request, ctx)
        except APIError as exc:
            self.metrics.finished(ctx.route, _outcome(exc), time.monotonic() - ctx.started)
            raise
        except asyncio.CancelledError:
            self.metrics.finished(ctx.route, "disconnected")
            raise
        except Exception:
            self.metrics.finished(ctx.route, "error")
            raise
        self.metrics.finished(ctx.route, "fallback" if request.problem is None else "answered",
                              time.monotonic() - ctx.started)
        return answer

    async def _cascade(self, request: ParsedRequest, ctx: RequestContext) -> Answer:
        assert request.problem is not None and ctx.task_id is not None
        problem = Problem(ctx.task_id, request.problem.prompt, request.problem.entry_point)
        stages: list[StageRecord] = []
        started_at = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        try:
            async with asyncio.timeout(self._remaining(ctx)):
                record = await self.runner.run_problem(problem, on_stage=stages.append)
        except TimeoutError:
            running = len(stages)
            await self._record(self._partial(problem, stages, ctx, started_at,
                                             f"deadline of {self.deadline_s:g} s passed"))
            raise APIError(504, f"the cascade did not decide within the deadline of "
                           f"{self.deadline_s:g} s (stage {running} of "
                           f"{len(self.runner.plan.stages)} was running)", ErrorType.TIMEOUT,
                           code="deadline_exceeded") from None
        except asyncio.CancelledError:
            reason = ctx.stop_reason or DISCONNECTED
            self._record_now(self._partial(problem, stages, ctx, started_at, reason))
            task = asyncio.current_task()
            if reason == SHUTDOWN and task is not None and task.uncancel() == 0:
                raise APIError(503, "the server shut down before the cascade decided",
                               ErrorType.SERVER, code="shutting_down") from None
            raise
        except EndpointError as exc:
            await self._record(self._partial(problem, stages, ctx, started_at, str(exc)))
            log.error("upstream refused: %s", exc)
            raise APIError(502, f"an upstream endpoint refused the request: {exc}",
                           ErrorType.UPSTREAM, code="upstream_refused") from None
        except SandboxError as exc:
            await self._record(self._partial(problem, stages, ctx, started_at, str(exc)))
            log.error("sandbox failed: %s", exc)
            raise APIError(503, f"the sandbox cannot run code: {exc}", ErrorType.SERVER,
                           code="sandbox_unavailable") from None
        await self._record(record)
        if record.answer is None:
            raise _no_answer(record)
        return cascade_answer(request, record)

    def _partial(self, problem: Problem, stages: list[StageRecord], ctx: RequestContext,
                 started_at: str, reason: str) -> ProblemRecord:
        return ProblemRecord(
            task_id=problem.task_id, prompt=problem.prompt, entry_point=problem.entry_point,
            spec_hash=self.recorder.spec_hash, stages=tuple(stages), answer=None,
            correct=None, cost=math.fsum(s.cost for s in stages),
            latency_s=time.monotonic() - ctx.started,
            billed_cost=math.fsum(s.billed_cost for s in stages), started_at=started_at,
            error=reason)

    async def _record(self, record: ProblemRecord) -> None:
        await self.recorder.write(record)
        self._observe(record)

    def _record_now(self, record: ProblemRecord) -> None:
        self.recorder.write_now(record)
        self._observe(record)

    def _observe(self, record: ProblemRecord) -> None:
        self.metrics.observe_record(record, record.latency_s)
        if self.drift is not None:
            self.drift.observe(record)

    # ---- the fallback --------------------------------------------------------------
    async def _fallback(self, request: ParsedRequest, ctx: RequestContext) -> Answer:
        where = "messages" if request.kind is Kind.CHAT else "prompt"
        if self.fallback_model is None:
            self.metrics.fallbacks.labels("rejected").inc()
            raise APIError(400, "no Python function found in the request: send the function "
                           "to complete (its signature and docstring), in a code block or as "
                           "the prompt", ErrorType.INVALID_REQUEST, code="no_function",
                           param=where)
        model = self.fallback_model
        self.metrics.fallbacks.labels("no_function").inc()
        endpoint = self.endpoints[model]
        started = time.monotonic()
        greedy = request.temperature == 0
        try:
            async with asyncio.timeout(self._remaining(ctx)):
                generations = await self.runner.client(model).generate(
                    fallback_prompt(endpoint, request), 1, greedy=greedy,
                    max_tokens=request.max_tokens or endpoint.max_tokens)
        except TimeoutError:
            raise APIError(504, f"the fallback model did not answer within the deadline of "
                           f"{self.deadline_s:g} s", ErrorType.TIMEOUT,
                           code="deadline_exceeded") from None
        except EndpointDown as exc:
            if not exc.failure.kind.misconfiguration:  # its circuit breaker is open
                raise APIError(503, f"the fallback model is unavailable: {exc}",
                               ErrorType.SERVER, code="upstream_unavailable",
                               headers={"Retry-After": f"{COOLDOWN_S:g}"}) from None
            log.error("upstream refused: %s", exc)
            raise APIError(502, f"an upstream endpoint refused the request: {exc}",
                           ErrorType.UPSTREAM, code="upstream_refused") from None
        g = generations[0]
        if g.error is not None:
            status = 504 if g.failure is FailureKind.TIMEOUT else 502
            raise APIError(status, f"the fallback model {model} failed: {g.error} (after "
                           f"{g.attempts} attempt(s))",
                           ErrorType.TIMEOUT if status == 504 else ErrorType.UPSTREAM,
                           code="upstream_timeout" if status == 504 else "upstream_error")
        cost = (endpoint.price_generated * g.completion_tokens
                + endpoint.price_prompt * g.prompt_tokens)
        self.metrics.observe_fallback(model, cost, g.prompt_tokens, g.completion_tokens)
        latency = time.monotonic() - started
        log.info("fallback %s: no function found; answered by %s", ctx.request_id, model)
        extension = {"task_id": ctx.task_id, "stages": [], "answered_by": None,
                     "cost": cost, "billed_cost": cost, "latency_s": latency,
                     "generation_s": g.wait_s, "sandbox_s": 0.0,
                     "fallback": {"reason": "no_function", "model": model}, "error": None}
        headers = {"X-Codecascade-Fallback": "no_function", "X-Codecascade-Model": model,
                   "X-Codecascade-Cost": f"{cost:.8g}"}
        return Answer(g.text, g.finish_reason or "stop",
                      Usage(g.prompt_tokens, g.completion_tokens), extension, headers)


def _no_answer(record: ProblemRecord) -> APIError:
    """The error answer of a cascade run without an answer, naming each stage's failure:
    504 when every failure was a timeout, 503 (with ``Retry-After``) when every failed stage
    was skipped by an open circuit breaker, else 502."""
    kinds = [x.failure for s in record.stages for x in (*s.solutions, *s.tests)
             if x.error is not None]
    kinds += [s.failure_kind for s in record.stages
              if s.decision == Decision.FAILED and not (s.solutions or s.tests)]
    causes = []
    for s in record.stages:
        first = next((x for x in (*s.solutions, *s.tests) if x.error is not None), None)
        if first is not None:
            causes.append(f"{s.model}: {first.error} (after {first.attempts} attempt(s))")
        elif s.failure is not None:
            causes.append(f"{s.model}: {s.failure}")
        else:
            causes.append(f"{s.model}: no usable solution")
    message = "no stage produced a usable solution; " + "; ".join(causes)
    if kinds and all(k == FailureKind.TIMEOUT for k in kinds):
        return APIError(504, message, ErrorType.TIMEOUT, code="upstream_timeout")
    if kinds and all(k == FailureKind.CIRCUIT_OPEN for k in kinds):
        return APIError(503, message, ErrorType.SERVER, code="upstream_unavailable",
                        headers={"Retry-After": f"{COOLDOWN_S:g}"})
    return APIError(502, message, ErrorType.UPSTREAM, code="upstream_error")


def _outcome(error: APIError) -> str:
    return {400: "bad_request", 429: "rejected", 502: "upstream_error",
            503: "shutdown" if error.code == "shutting_down" else "error",
            504: "deadline" if error.code == "deadline_exceeded" else "upstream_timeout",
            }.get(error.status, "error")
