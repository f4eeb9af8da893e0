"""The HTTP application: OpenAI-compatible routes in front of a cascade spec.

Routes: ``POST /v1/chat/completions``, ``POST /v1/completions``, ``GET /v1/models`` (the
cascade is one model), ``GET /v1/models/{id}``, ``GET /health`` and ``GET /metrics``.
:func:`prepare` does every check that can fail before a port is opened (spec, endpoints,
keys, fallback model, records file, sandbox level) and raises one-line
:class:`~planner.serve.config.ServeError`\\ s; :func:`create_app` builds the FastAPI app
around what it prepared.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..sandbox.grid import Executor
from ..spec import CascadeSpec
from .auth import check_bearer, load_token
from .config import LAST_STAGE, REJECT, ServeError, ServeOptions
from .drift import AcceptancePrediction, DriftMonitor
from .errors import APIError, ErrorType
from .limits import Admission
from .metrics import CONTENT_TYPE, Metrics
from .recorder import Recorder
from .requests import Kind, parse_body
from .responses import Answer, response_body
from .service import DISCONNECTED, SHUTDOWN, CascadeService, RequestContext
from .streaming import DONE, KEEPALIVE, answer_events, error_event

log = logging.getLogger("codecascade.serve")


@dataclass
class Prepared:
    """Everything the app serves with, checked (see :func:`prepare`)."""

    options: ServeOptions
    spec: CascadeSpec
    model_name: str
    token: str | None
    service: CascadeService
    metrics: Metrics
    drift: DriftMonitor | None
    drift_note: str | None
    sandbox_level: str
    price_notes: tuple[str, ...] = ()

    def check_endpoints(self) -> dict[str, object]:
        """The pre-flight check ``run`` makes before its first problem, of every endpoint
        of the spec (``n`` probed where a stage samples): ``GET /models`` and one 1-token
        request each. :class:`~planner.runtime.preflight.PreflightError` (one line) naming
        every failing endpoint; the server then does not start."""
        from ..runtime.preflight import preflight

        sampled = {s.model for s in self.spec.stages if s.option.k >= 2}
        return preflight(self.service.runner.endpoints, self.spec.models, sampled)

    def watch_drift(self, acceptance: Sequence[AcceptancePrediction] | None,
                    note: str | None = None) -> None:
        """Compare the traffic with the stages' predicted acceptance rates
        (:func:`planner.replay.stage_acceptance`); without them drift detection stays off
        and ``note`` (or a default) says why on ``/health``."""
        if len(self.spec.stages) < 2:
            self.drift_note = "a one-stage cascade has no acceptance rate to watch"
        elif acceptance is None:
            self.drift_note = note or "drift detection is off: no prediction given"
        else:
            self.drift = DriftMonitor(self.spec.models, acceptance, self.metrics,
                                      self.options.drift_min_requests)
            self.drift_note = None
        self.service.drift = self.drift


def prepare(options: ServeOptions, *, executor: Executor | None = None) -> Prepared:
    """Load and check everything; ServeError (or another one-line project error) when the
    server cannot start. ``executor`` replaces the sandbox (tests). Drift detection is off
    until :meth:`Prepared.watch_drift` is given the predictions."""
    from ..runtime.api import spec_hash
    from ..runtime.endpoints import check_covers, check_keys, load_endpoints
    from ..runtime.pricing import priced_endpoints
    from ..runtime.runner import CascadeRunner, OnFailure, RunOptions
    from ..spec import load_spec

    spec = load_spec(options.spec)
    endpoints = load_endpoints(options.endpoints)
    check_covers(endpoints, spec.models)
    check_keys(endpoints, spec.models, str(options.endpoints))
    endpoints, price_notes = priced_endpoints(endpoints, spec)
    token = load_token(options.api_key_env)
    if options.fallback == REJECT:
        fallback: str | None = None
    elif options.fallback == LAST_STAGE:
        fallback = spec.models[-1]
    elif options.fallback in spec.models:
        fallback = options.fallback
    else:
        raise ServeError(f"--fallback must be 'last', 'reject' or a model of the spec "
                         f"({', '.join(spec.models)}), got {options.fallback!r}")
    # A user waits for every request: a failed stage escalates (the answer may degrade to
    # an earlier stage's), an endpoint's circuit breaker fails its stages fast.
    run_options = RunOptions(sandbox_workers=options.sandbox_workers, preflight=False,
                             on_failure=OnFailure.ESCALATE)
    if executor is None:
        executor, level = _sandbox(options, run_options.workers())
    else:
        level = str(getattr(executor, "level", "custom executor"))
    digest = spec_hash(options.spec)
    recorder = Recorder(options.records, digest)
    metrics = Metrics(spec.models, options.max_concurrency)
    runner = CascadeRunner(spec.plan, endpoints, executor, spec_hash=digest,
                           options=run_options)
    service = CascadeService(runner, endpoints, recorder=recorder, metrics=metrics,
                             drift=None, admission=Admission(options.max_concurrency),
                             deadline_s=options.deadline_s, fallback_model=fallback)
    name = options.model_name or options.spec.stem
    prepared = Prepared(options, spec, name, token, service, metrics, None, None, level,
                        price_notes)
    prepared.watch_drift(None)
    return prepared


def _sandbox(options: ServeOptions, workers: int) -> tuple[Executor, str]:
    """The real sandbox: level A, or what ``--unsafe-no-sandbox`` accepts."""
    from ..sandbox import (
        GridConfig,
        IsolationLevel,
        SandboxError,
        SandboxExecutor,
        SandboxMode,
        probe_isolation,
    )
    from .execution import BoundedExecutor

    try:
        report = probe_isolation()
    except SandboxError as exc:
        raise ServeError(f"sandbox: {exc}") from None
    if report.level is not IsolationLevel.A and not options.unsafe_no_sandbox:
        raise ServeError(f"sandbox level {report.level.value} (missing "
                         f"{'; '.join(report.missing)}): serve runs model code only at level "
                         "A; install bubblewrap and libseccomp2, or pass --unsafe-no-sandbox "
                         "to accept the risk")
    config = GridConfig(test_timeout=options.test_timeout,
                        mode=SandboxMode.STRICT if options.strict_sandbox else SandboxMode.FAST)
    # Each call runs one problem's batch; at most `workers` of them run at once.
    inner = SandboxExecutor(config, workers=1, allow_unsafe=options.unsafe_no_sandbox)
    return BoundedExecutor(inner, workers), report.level.value


def create_app(prepared: Prepared) -> FastAPI:
    """The FastAPI application serving ``prepared``."""
    p = prepared
    service = p.service
    started = time.time()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        log.info("serving %s (%s) with %d stage(s): %s", p.model_name, p.options.spec,
                 len(p.spec.stages), p.spec.plan.label())
        try:
            yield
        finally:
            await service.close()

    app = FastAPI(title="codecascade", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.prepared = prepared

    @app.exception_handler(APIError)
    async def _api_error(request: Request, exc: APIError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        error = APIError(exc.status_code, str(exc.detail), ErrorType.INVALID_REQUEST,
                         code="not_found" if exc.status_code == 404 else None)
        return JSONResponse(error.body(), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s", request.url.path)
        error = _internal_error(exc)
        return JSONResponse(error.body(), status_code=500)

    def model_object() -> dict[str, Any]:
        return {"id": p.model_name, "object": "model", "created": int(started),
                "owned_by": "codecascade"}

    @app.get("/v1/models")
    async def models(request: Request) -> dict[str, Any]:
        check_bearer(request.headers.get("authorization"), p.token)
        return {"object": "list", "data": [model_object()]}

    @app.get("/v1/models/{model_id:path}")
    async def model(model_id: str, request: Request) -> dict[str, Any]:
        check_bearer(request.headers.get("authorization"), p.token)
        if model_id != p.model_name:
            raise APIError(404, f"the model {model_id!r} does not exist",
                           code="model_not_found", param="model")
        return model_object()

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        return await _complete(request, Kind.CHAT)

    @app.post("/v1/completions")
    async def completions(request: Request) -> Response:
        return await _complete(request, Kind.COMPLETION)

    @app.get("/health")
    async def health() -> JSONResponse:
        body = {
            "status": "draining" if service.draining else "ok",
            "model": p.model_name, "spec": str(p.options.spec),
            "spec_hash": service.recorder.spec_hash, "stages": list(p.spec.models),
            "plan": p.spec.plan.label(), "in_flight": service.in_flight,
            "max_concurrency": p.options.max_concurrency, "sandbox_level": p.sandbox_level,
            "records": str(p.options.records), "records_written": service.recorder.written,
            "fallback": service.fallback_model or "reject",
            "drift": p.drift.to_json() if p.drift is not None else p.drift_note,
            "uptime_s": time.time() - started,
        }
        return JSONResponse(body, status_code=503 if service.draining else 200)

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(p.metrics.exposition(), media_type=CONTENT_TYPE)

    async def _complete(request: Request, kind: Kind) -> Response:
        route = "chat" if kind is Kind.CHAT else "completions"
        try:
            check_bearer(request.headers.get("authorization"), p.token)
            parsed = parse_body(await request.body(), kind, p.model_name)
            ctx = RequestContext(kind, task_id=request.headers.get("x-codecascade-task-id"))
            task = service.submit(parsed, ctx)
        except APIError as exc:
            p.metrics.finished(route, {401: "unauthorized", 429: "rejected",
                                       503: "shutdown"}.get(exc.status, "bad_request"))
            raise
        ids = {"X-Request-Id": ctx.request_id}
        window = p.options.keepalive_s if parsed.stream else None
        if not await _wait(request, task, ctx, window):
            if not parsed.stream or ctx.stop_reason == DISCONNECTED:
                return Response(status_code=499)
            return StreamingResponse(_stream(task, ctx, parsed.include_usage),
                                     media_type="text/event-stream",
                                     headers={**ids, "Cache-Control": "no-cache"})
        answer = _result(task)
        if not parsed.stream:
            body = response_body(kind, ctx.request_id, p.model_name, ctx.created, answer)
            return JSONResponse(body, headers={**answer.headers, **ids})
        events = answer_events(kind, ctx.request_id, p.model_name, ctx.created, answer,
                               parsed.include_usage)
        return StreamingResponse(iter(events), media_type="text/event-stream",
                                 headers={**answer.headers, **ids, "Cache-Control": "no-cache"})

    async def _stream(task: asyncio.Task[Answer], ctx: RequestContext,
                      include_usage: bool) -> AsyncIterator[str]:
        try:
            while not task.done():
                done, _ = await asyncio.wait({task}, timeout=p.options.keepalive_s)
                if not done:
                    yield KEEPALIVE
            try:
                answer = _result(task)
            except APIError as exc:
                yield error_event(exc)
                yield DONE
                return
            for item in answer_events(ctx.kind, ctx.request_id, p.model_name, ctx.created,
                                      answer, include_usage):
                yield item
        finally:
            if not task.done():
                ctx.stop_reason = ctx.stop_reason or DISCONNECTED
                task.cancel()

    return app


async def _wait(request: Request, task: asyncio.Task[Answer], ctx: RequestContext,
                timeout: float | None) -> bool:
    """Wait for the answer (at most ``timeout`` s) while watching for a disconnect, which
    cancels the request. True when the task is done."""
    watcher = asyncio.create_task(_disconnect(request))
    try:
        done, _ = await asyncio.wait({task, watcher}, timeout=timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        ctx.stop_reason = ctx.stop_reason or SHUTDOWN
        task.cancel()
        raise
    finally:
        watcher.cancel()
    if task in done:
        return True
    if watcher in done:
        ctx.stop_reason = DISCONNECTED
        task.cancel()
    return False


async def _disconnect(request: Request) -> None:
    """Return when the client has gone (the ASGI ``http.disconnect`` message)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


def _result(task: asyncio.Task[Answer]) -> Answer:
    """The task's answer; its APIError as is; anything else as a 500 (logged)."""
    if task.cancelled():
        raise APIError(503, "the request was stopped before the cascade decided",
                       ErrorType.SERVER, code="cancelled")
    exc = task.exception()
    if exc is None:
        return task.result()
    if isinstance(exc, APIError):
        raise exc
    log.error("internal error", exc_info=exc)
    raise _internal_error(exc)


def _internal_error(exc: BaseException) -> APIError:
    return APIError(500, f"internal error: {type(exc).__name__}: {exc}", ErrorType.SERVER,
                    code="internal_error")
