"""Asking an OpenAI-compatible endpoint for generations, robustly.

One :class:`EndpointClient` per model wraps ``openai.AsyncOpenAI`` (with the endpoint's base
URL, and the client's own retries switched off so that retries are ours, bounded and
recorded).

* **Retries.** 429, 5xx, 408, timeouts, connection errors and malformed bodies are retried
  with exponential backoff and jitter (honouring ``Retry-After``), at most
  ``max_retries`` times; other 4xx are not (another attempt would get the same answer).
* **Failures are typed** (:class:`~planner.runtime.failures.Failure`): whatever still
  fails becomes a :class:`Generation` with ``error`` (one line) and ``failure`` (its
  :class:`~planner.runtime.failures.FailureKind`), never an exception, and never the
  model's failure. A misconfiguration (401, 403, 404: wrong key, URL or model name) raises
  :class:`~planner.runtime.failures.EndpointDown` at once.
* **Circuit breaker.** Every request's final outcome goes to the endpoint's
  :class:`~planner.runtime.breaker.CircuitBreaker`, which raises
  :class:`~planner.runtime.failures.EndpointDown` when the endpoint's recent requests all
  failed the same way (and, open, refuses new requests).
* **n samples.** ``n`` samples come from one request where the endpoint supports ``n``,
  else from ``n`` parallel requests. From the first time a server answers an ``n`` request
  with fewer choices (llama-cpp-python, Ollama), or refuses it (the llama.cpp server: 400,
  or 500 in some versions, "Only one completion choice is allowed"; recognised by its
  words without retrying, or by a single request succeeding where the ``n`` request was
  refused), the client asks one sample per request for the rest of its life
  (:attr:`EndpointClient.uses_n`, :attr:`EndpointClient.n_note`).

Token counts come from the response's ``usage``. When an ``n``-sample response reports only
a total, each choice's share is taken from its logprobs tokens when present, else the total
is apportioned by characters (and ``tokens_estimated`` is set). Without any ``usage`` the
count is estimated as characters / 4 (also flagged).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from typing import Any

from ..tokens import apportion
from .breaker import CircuitBreaker
from .endpoints import Endpoint
from .failures import EndpointDown, Failure, FailureKind, classify, refuses_n
from .prompts import Prompt

CHARS_PER_TOKEN_GUESS = 4


@dataclass(frozen=True)
class Generation:
    """One generated text with its token accounting.

    ``token_starts`` are the start offsets of the generated tokens in ``text`` when the
    endpoint returned them (logprobs), else None. ``prompt_tokens`` is set on the first
    generation of each request only (a request pays its prompt once). ``wait_s`` is the wall
    time of the request including retries. ``error`` (one line) and ``failure`` (its kind)
    are set when no text came back: an infrastructure failure, not the model's.
    """

    text: str
    completion_tokens: int
    prompt_tokens: int
    token_starts: tuple[int, ...] | None = None
    finish_reason: str | None = None
    error: str | None = None
    tokens_estimated: bool = False
    attempts: int = 1
    wait_s: float = 0.0
    failure: FailureKind | None = None

    @classmethod
    def failed(cls, failure: Failure, attempts: int, wait_s: float) -> Generation:
        return cls("", 0, 0, error=failure.message, attempts=attempts, wait_s=wait_s,
                   failure=failure.kind)


@dataclass(frozen=True)
class RequestOutcome:
    """What one request (with its retries) brought: choices, or the failure that ended it
    (then ``generations`` is empty)."""

    generations: tuple[Generation, ...] = ()
    failure: Failure | None = None
    attempts: int = 1
    wait_s: float = 0.0

    def failed(self, n: int) -> list[Generation]:
        assert self.failure is not None
        return [Generation.failed(self.failure, self.attempts, self.wait_s) for _ in range(n)]


class _AttemptFailed(Exception):
    def __init__(self, failure: Failure):
        super().__init__(failure.message)
        self.failure = failure


class EndpointClient:
    """Generations from one endpoint (see the module docstring). ``breaker`` defaults to a
    :class:`~planner.runtime.breaker.CircuitBreaker` with its defaults."""

    def __init__(self, endpoint: Endpoint, *, seed: int | None = None,
                 breaker: CircuitBreaker | None = None):
        import openai

        self.endpoint = endpoint
        self._client = openai.AsyncOpenAI(
            api_key=endpoint.api_key(),
            base_url=endpoint.base_url,
            max_retries=0,
            timeout=endpoint.timeout_s,
        )
        self._slots = asyncio.Semaphore(endpoint.max_parallel_requests)
        self._use_n = endpoint.supports_n
        self._rng = random.Random(seed)
        self.breaker = breaker or CircuitBreaker(endpoint)
        self.n_note: str | None = None
        self.requests = 0
        self.retries = 0

    @property
    def openai(self) -> Any:
        """The underlying ``openai.AsyncOpenAI`` client (for the pre-flight check)."""
        return self._client

    @property
    def uses_n(self) -> bool:
        """True while ``n`` samples are asked in one request."""
        return self._use_n

    def one_per_request(self, why: str) -> None:
        """From now on ask one sample per request; ``why`` is kept in :attr:`n_note`."""
        if self._use_n:
            self._use_n = False
            self.n_note = why

    async def close(self) -> None:
        await self._client.close()

    async def generate(self, prompt: Prompt, n: int, *, greedy: bool,
                       max_tokens: int) -> list[Generation]:
        """``n`` generations for ``prompt`` (greedy: temperature 0).

        Raises :class:`EndpointDown` when the endpoint is misconfigured or its circuit
        breaker opens; every other failure is a generation with ``error`` set."""
        if n <= 0:
            return []
        self.breaker.check()
        if n == 1 or not self._use_n:
            return await self._separately(prompt, n, greedy, max_tokens)
        outcome = await self.request(prompt, n, greedy=greedy, max_tokens=max_tokens)
        if outcome.failure is None:
            gens = list(outcome.generations)
            self.breaker.success()
            if len(gens) >= n:
                return gens[:n]
            self.one_per_request(f"answered n={n} with {len(gens)} choice(s)")
            return gens + await self._separately(prompt, n - len(gens), greedy, max_tokens)
        failure = outcome.failure
        if failure.kind in (FailureKind.REFUSED, FailureKind.SERVER_ERROR):
            # Was it n? One single request decides.
            single = await self.request(prompt, 1, greedy=greedy, max_tokens=max_tokens)
            if single.failure is None:
                self.breaker.success()
                self.one_per_request(f"refused n={n} ({failure.message})")
                return list(single.generations) + await self._separately(
                    prompt, n - 1, greedy, max_tokens)
            self.breaker.failure(failure, _key(prompt))
            outcome = single
        self.breaker.failure(outcome.failure, _key(prompt))  # type: ignore[arg-type]
        return outcome.failed(n)

    async def _separately(self, prompt: Prompt, n: int, greedy: bool,
                          max_tokens: int) -> list[Generation]:
        outcomes = await asyncio.gather(*(
            self.request(prompt, 1, greedy=greedy, max_tokens=max_tokens) for _ in range(n)))
        if any(outcome.failure is None for outcome in outcomes):
            self.breaker.success()
        for outcome in outcomes:
            if outcome.failure is not None:
                self.breaker.failure(outcome.failure, _key(prompt))
        return [outcome.generations[0] if outcome.failure is None else outcome.failed(1)[0]
                for outcome in outcomes]

    async def request(self, prompt: Prompt, n: int, *, greedy: bool, max_tokens: int,
                      retries: int | None = None) -> RequestOutcome:
        """One request for ``n`` choices with at most ``retries`` retries (default: the
        endpoint's): the choices it brought (fewer than ``n`` when the server ignored
        ``n``), or its final failure. It neither reports to the circuit breaker nor falls
        back from ``n``; :meth:`generate` does both."""
        ep = self.endpoint
        retries = ep.max_retries if retries is None else retries
        started = time.perf_counter()
        failure = Failure(FailureKind.CONNECTION, "no attempt made")
        attempts = 0
        for attempt in range(retries + 1):
            attempts = attempt + 1
            try:
                async with self._slots:
                    self.requests += 1
                    response = await self._call(prompt, n, greedy=greedy, max_tokens=max_tokens)
                gens = self._parse(response, n, attempts, time.perf_counter() - started)
                return RequestOutcome(tuple(gens), None, attempts,
                                      time.perf_counter() - started)
            except _AttemptFailed as exc:
                failure = exc.failure
            if (not failure.kind.retryable or attempt == retries
                    or (n > 1 and refuses_n(failure))):
                break
            self.retries += 1
            delay = min(ep.backoff_max_s, ep.backoff_s * 2 ** attempt)
            delay *= 0.5 + self._rng.random()
            if failure.retry_after is not None:
                delay = max(delay, min(ep.backoff_max_s, failure.retry_after))
            await asyncio.sleep(delay)
        return RequestOutcome((), failure, attempts, time.perf_counter() - started)

    async def _call(self, prompt: Prompt, n: int, *, greedy: bool, max_tokens: int) -> Any:
        ep = self.endpoint
        sampling: dict[str, Any] = {"temperature": 0.0} if greedy else {
            "temperature": ep.temperature, "top_p": ep.top_p}
        if n > 1:
            sampling["n"] = n
        if prompt.stop:
            sampling["stop"] = list(prompt.stop[:4])
        try:
            if prompt.is_chat:
                if ep.logprobs:
                    sampling["logprobs"] = True
                return await self._client.chat.completions.create(
                    model=ep.model, messages=list(prompt.messages or ()),
                    max_tokens=max_tokens, **sampling)
            if ep.logprobs:
                sampling["logprobs"] = 1
            return await self._client.completions.create(
                model=ep.model, prompt=prompt.text or "", max_tokens=max_tokens, **sampling)
        except Exception as exc:
            failure = classify(exc, ep)
            if failure is None:
                raise
            if failure.kind.misconfiguration:
                raise EndpointDown(ep, failure, "refused the request") from None
            raise _AttemptFailed(failure) from None

    def _parse(self, response: Any, n: int, attempts: int, wait: float) -> list[Generation]:
        """The choices of a response (at most ``n``; fewer when the server ignored ``n``)."""
        if isinstance(response, str | bytes):  # the client's answer to a non-JSON body
            start = (response if isinstance(response, str)
                     else response.decode("utf-8", "replace"))[:40]
            raise _AttemptFailed(Failure(FailureKind.BAD_RESPONSE,
                                         f"malformed response: not JSON ({start!r})"))
        choices = getattr(response, "choices", None)
        if not isinstance(choices, list) or not choices:
            raise _AttemptFailed(Failure(FailureKind.BAD_RESPONSE,
                                         "malformed response: no choices"))
        chat = hasattr(choices[0], "message")
        texts: list[str | None] = []
        starts: list[tuple[int, ...] | None] = []
        reasons: list[str | None] = []
        for choice in sorted(choices, key=lambda c: getattr(c, "index", 0) or 0)[:n]:
            text = (choice.message.content if chat and choice.message is not None
                    else getattr(choice, "text", None))
            texts.append(text if isinstance(text, str) else None)
            starts.append(_token_starts(choice, text) if isinstance(text, str) else None)
            reasons.append(getattr(choice, "finish_reason", None))
        usage = getattr(response, "usage", None)
        total = getattr(usage, "completion_tokens", None) if usage is not None else None
        prompt_tokens = getattr(usage, "prompt_tokens", None) if usage is not None else None
        valid = [t or "" for t in texts]
        if isinstance(total, int) and total >= 0:
            if len(valid) == 1:
                counts, estimated = [total], False
            elif all(s is not None for s in starts):
                counts, estimated = [len(s or ()) for s in starts], False
            else:
                counts, estimated = apportion(total, [len(t) for t in valid]), True
        else:
            counts = [len(s) if s is not None else -(-len(t) // CHARS_PER_TOKEN_GUESS)
                      for s, t in zip(starts, valid, strict=True)]
            estimated = any(s is None for s in starts)
        out = []
        for i, text in enumerate(texts):
            missing = text is None
            out.append(Generation(
                text=text or "",
                completion_tokens=int(counts[i]),
                prompt_tokens=int(prompt_tokens or 0) if i == 0 else 0,
                token_starts=starts[i],
                finish_reason=reasons[i],
                error="malformed response: choice without text" if missing else None,
                tokens_estimated=estimated or not isinstance(prompt_tokens, int),
                attempts=attempts,
                wait_s=wait,
                failure=FailureKind.BAD_RESPONSE if missing else None,
            ))
        return out


def _key(prompt: Prompt) -> str:
    """What the circuit breaker knows a prompt by."""
    return repr((prompt.text, prompt.messages))


def _token_starts(choice: Any, text: str) -> tuple[int, ...] | None:
    """Start offsets of the generated tokens, when logprobs carry them and they add up to
    the text (byte-fallback tokens do not; then None)."""
    logprobs = getattr(choice, "logprobs", None)
    if logprobs is None:
        return None
    offsets = getattr(logprobs, "text_offset", None)
    tokens = getattr(logprobs, "tokens", None)
    if tokens is None:
        content = getattr(logprobs, "content", None)
        if not content:
            return None
        tokens = [getattr(t, "token", None) for t in content]
        offsets = None
    if not tokens or any(not isinstance(t, str) for t in tokens):
        return None
    if "".join(tokens) != text:
        return None
    if offsets is not None and len(offsets) == len(tokens):
        base = offsets[0]
        return tuple(int(o) - int(base) for o in offsets)
    starts, pos = [], 0
    for token in tokens:
        starts.append(pos)
        pos += len(token)
    return tuple(starts)
