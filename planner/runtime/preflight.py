"""The pre-flight check: every endpoint answers before the first problem is asked.

For each endpoint a run (or a collection) will use, concurrently:

1. ``GET {base_url}/models``: the server must be reachable and, when it lists its models,
   list the endpoint's ``model`` (llama-cpp-python answers any model name with its one
   loaded model, so a typo would otherwise go unnoticed). A server without the route
   (404/405) or with a broken one is not held to it: step 2 decides.
2. One tiny request (``max_tokens=1``, greedy) in the endpoint's style, with at most
   :data:`PREFLIGHT_RETRIES` retries (fewer when the endpoint allows fewer). Where samples
   will be asked with ``n`` (``probe_n``), the request asks ``n=2`` instead, so that a
   server refusing or ignoring ``n`` is known before the first problem (:class:`NSupport`;
   the client then asks one sample per request).

Every failure is collected and reported in one line, naming each endpoint and its cause
(:class:`PreflightError`); the cost is a few tokens per endpoint.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from .client import EndpointClient
from .endpoints import Endpoint, EndpointError, EndpointStyle, check_covers
from .failures import EndpointDown, Failure, FailureKind, classify, one_line
from .prompts import Prompt

#: Retries of the tiny request at most: enough for a busy server (429, a 503 while it
#: loads), few enough that a server that is down costs seconds of backoff, not minutes.
PREFLIGHT_RETRIES = 3
#: What the tiny request asks.
PING_TEXT = "Reply with the single word OK."
#: Models listed in the error message at most.
_SHOWN = 8


class NSupport(enum.StrEnum):
    """What a server does with ``n > 1``: ``honoured`` (n choices), ``ignored`` (fewer),
    ``refused`` (an error; one request succeeds), ``unused`` (not probed: the endpoint is
    configured without ``n`` or no stage samples)."""

    HONOURED = "honoured"
    IGNORED = "ignored"
    REFUSED = "refused"
    UNUSED = "unused"


@dataclass(frozen=True)
class EndpointCheck:
    """One endpoint's pre-flight result: whether ``/models`` lists the model (None: the
    server has no usable listing), what it does with ``n``, and how long it took (s)."""

    name: str
    listed: bool | None
    n_support: NSupport
    seconds: float
    served: tuple[str, ...] = ()


class PreflightError(EndpointError):
    """At least one endpoint failed the pre-flight check; one line naming each."""


def ping_prompt(endpoint: Endpoint) -> Prompt:
    """The tiny request in the endpoint's style."""
    if endpoint.style is EndpointStyle.CHAT:
        return Prompt(messages=({"role": "user", "content": PING_TEXT},))
    return Prompt(text=PING_TEXT + "\n")


async def _listed(client: EndpointClient) -> tuple[bool | None, tuple[str, ...]]:
    """(model listed?, ids listed) from ``GET /models``; raises :class:`EndpointDown` when
    the server cannot be reached or refuses the key."""
    ep = client.endpoint
    try:
        page = await client.openai.models.list()
    except Exception as exc:  # the listing is optional: anything odd, step 2 decides
        failure = classify(exc, ep)
        if failure is None:
            return None, ()
        if failure.kind is FailureKind.AUTH:
            raise EndpointDown(ep, failure, "refused the key (GET /models)") from None
        if failure.kind in (FailureKind.CONNECTION, FailureKind.TIMEOUT):
            raise EndpointDown(ep, failure, "cannot be reached (GET /models)") from None
        return None, ()
    ids = tuple(str(getattr(m, "id", "")) for m in (getattr(page, "data", None) or ()))
    if not ids:
        return None, ()
    return ep.model in ids, ids


async def check_endpoint(client: EndpointClient, *, probe_n: bool = False) -> EndpointCheck:
    """Check one endpoint (see the module docstring); raises :class:`EndpointDown` naming
    the cause, and tells the client to ask one sample per request when ``n`` is refused or
    ignored."""
    ep = client.endpoint
    started = time.perf_counter()
    listed, served = await _listed(client)
    if listed is False:
        shown = ", ".join(served[:_SHOWN]) + (", ..." if len(served) > _SHOWN else "")
        raise EndpointDown(ep, Failure(FailureKind.NOT_FOUND,
                                       f"the server does not list model {ep.model!r} "
                                       f"(it lists: {shown}); check `model` in the "
                                       "endpoints file"), "is not usable")
    n = 2 if probe_n and client.uses_n else 1
    greedy = n == 1
    retries = min(ep.max_retries, PREFLIGHT_RETRIES)
    outcome = await client.request(ping_prompt(ep), n, greedy=greedy, max_tokens=1,
                                   retries=retries)
    support = NSupport.UNUSED
    if outcome.failure is not None and n > 1 and outcome.failure.kind in (
            FailureKind.REFUSED, FailureKind.SERVER_ERROR):
        single = await client.request(ping_prompt(ep), 1, greedy=True, max_tokens=1,
                                      retries=retries)
        if single.failure is None:
            support = NSupport.REFUSED
            client.one_per_request(f"refused n=2 ({outcome.failure.message})")
        outcome = single
    if outcome.failure is not None:
        raise EndpointDown(ep, outcome.failure,
                           f"failed a 1-token request after {outcome.attempts} attempt(s)")
    if n > 1 and support is NSupport.UNUSED:
        if len(outcome.generations) >= n:
            support = NSupport.HONOURED
        else:
            support = NSupport.IGNORED
            client.one_per_request(f"answered n=2 with {len(outcome.generations)} choice")
    return EndpointCheck(ep.name, listed, support, time.perf_counter() - started, served)


async def preflight_clients(clients: Mapping[str, EndpointClient],
                            probe_n: Collection[str] = ()) -> dict[str, EndpointCheck]:
    """Check every client's endpoint at once (``probe_n``: the names whose samples will be
    asked with ``n``); raises :class:`PreflightError` naming every failing endpoint."""
    names = list(clients)
    results = await asyncio.gather(
        *(check_endpoint(clients[m], probe_n=m in probe_n) for m in names),
        return_exceptions=True)
    failures = []
    checks = {}
    for name, result in zip(names, results, strict=True):
        if isinstance(result, EndpointError):
            failures.append(str(result))
        elif isinstance(result, BaseException):
            raise result
        else:
            checks[name] = result
    if failures:
        raise PreflightError("pre-flight check failed: " + "; ".join(
            one_line(f, 400) for f in failures))
    return checks


def preflight(endpoints: Mapping[str, Endpoint], models: Collection[str],
              probe_n: Collection[str] = ()) -> dict[str, EndpointCheck]:
    """Check the endpoints of ``models`` (blocking; opens and closes its own clients).

    Raises :class:`~planner.runtime.endpoints.EndpointError` when a model has no endpoint
    or a key variable is unset, and :class:`PreflightError` naming every endpoint that
    fails; returns each model's :class:`EndpointCheck` (what it does with ``n`` included).
    """
    check_covers(endpoints, models)

    async def go() -> dict[str, EndpointCheck]:
        clients = {m: EndpointClient(endpoints[m]) for m in models}
        try:
            return await preflight_clients(clients, probe_n)
        finally:
            for client in clients.values():
                await client.close()

    return asyncio.run(go())
