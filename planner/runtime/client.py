"""Asking an OpenAI-compatible endpoint for generations, robustly.

One :class:`EndpointClient` per model wraps ``openai.AsyncOpenAI`` (with the endpoint's base
URL, and the client's own retries switched off so that retries are ours, bounded and
recorded). It requests ``n`` samples in one call where the endpoint supports ``n`` and in
``n`` parallel calls otherwise (also, from then on, when a server silently answers an
``n`` request with fewer choices), retries 429, 5xx, timeouts, connection errors and malformed
bodies with exponential backoff and jitter (honouring ``Retry-After``), and turns whatever
still fails into a :class:`Generation` with an ``error`` instead of an exception. Only a
misconfiguration (401, 403, 404: wrong key, URL or model name) stops the run, with an
:class:`EndpointError`.

Token counts come from the response's ``usage``. When an ``n``-sample response reports only
a total, each choice's share is taken from its logprobs tokens when present, else the total
is apportioned by characters (and ``tokens_estimated`` is set). Without any ``usage`` the
count is estimated as characters / 4 (also flagged).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass
from typing import Any

from ..tokens import apportion
from .endpoints import Endpoint, EndpointError
from .prompts import Prompt

CHARS_PER_TOKEN_GUESS = 4
_SHORT = "endpoint returned only"


@dataclass(frozen=True)
class Generation:
    """One generated text with its token accounting.

    ``token_starts`` are the start offsets of the generated tokens in ``text`` when the
    endpoint returned them (logprobs), else None. ``prompt_tokens`` is set on the first
    generation of each request only (a request pays its prompt once). ``wait_s`` is the wall
    time of the request including retries.
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


class _Retryable(Exception):
    """A failure worth another attempt; carries a suggested delay (Retry-After)."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class EndpointClient:
    """Generations from one endpoint (see the module docstring)."""

    def __init__(self, endpoint: Endpoint, *, seed: int | None = None):
        import openai

        self.endpoint = endpoint
        self._openai = openai
        self._client = openai.AsyncOpenAI(
            api_key=endpoint.api_key(),
            base_url=endpoint.base_url,
            max_retries=0,
            timeout=endpoint.timeout_s,
        )
        self._slots = asyncio.Semaphore(endpoint.max_parallel_requests)
        self._use_n = endpoint.supports_n
        self._rng = random.Random(seed)
        self.requests = 0
        self.retries = 0

    async def close(self) -> None:
        await self._client.close()

    async def generate(self, prompt: Prompt, n: int, *, greedy: bool,
                       max_tokens: int) -> list[Generation]:
        """``n`` generations for ``prompt`` (greedy: temperature 0)."""
        if n <= 0:
            return []
        if n == 1 or self._use_n:
            gens = await self._request(prompt, n, greedy=greedy, max_tokens=max_tokens)
            missing = sum(g.error is not None and g.error.startswith(_SHORT) for g in gens)
            if not missing:
                return gens
            # The server ignored n (llama.cpp, Ollama): ask for the rest one by one, and
            # from now on always.
            self._use_n = False
            kept = [g for g in gens if not (g.error and g.error.startswith(_SHORT))]
            return kept + await self._separately(prompt, missing, greedy, max_tokens)
        return await self._separately(prompt, n, greedy, max_tokens)

    async def _separately(self, prompt: Prompt, n: int, greedy: bool,
                          max_tokens: int) -> list[Generation]:
        parts = await asyncio.gather(*(
            self._request(prompt, 1, greedy=greedy, max_tokens=max_tokens) for _ in range(n)))
        return [g for part in parts for g in part]

    async def _request(self, prompt: Prompt, n: int, *, greedy: bool,
                       max_tokens: int) -> list[Generation]:
        ep = self.endpoint
        started = time.perf_counter()
        last_error = "no attempt made"
        attempts = 0
        for attempt in range(ep.max_retries + 1):
            attempts = attempt + 1
            try:
                async with self._slots:
                    self.requests += 1
                    response = await self._call(prompt, n, greedy=greedy, max_tokens=max_tokens)
                return self._parse(response, n, attempts, time.perf_counter() - started)
            except _Retryable as exc:
                last_error = str(exc)
                if attempt == ep.max_retries:
                    break
                self.retries += 1
                delay = min(ep.backoff_max_s, ep.backoff_s * 2 ** attempt)
                delay *= 0.5 + self._rng.random()
                if exc.retry_after is not None:
                    delay = max(delay, min(ep.backoff_max_s, exc.retry_after))
                await asyncio.sleep(delay)
            except _Final as exc:
                last_error = str(exc)
                break
        wait = time.perf_counter() - started
        return [Generation("", 0, 0, error=last_error, attempts=attempts, wait_s=wait)
                for _ in range(n)]

    async def _call(self, prompt: Prompt, n: int, *, greedy: bool, max_tokens: int) -> Any:
        ep = self.endpoint
        oa = self._openai
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
        except (oa.AuthenticationError, oa.PermissionDeniedError, oa.NotFoundError) as exc:
            raise EndpointError(
                f"endpoint {ep.name!r} ({ep.base_url}, model {ep.model!r}) refused the "
                f"request: HTTP {exc.status_code} {_one_line(exc.message)}"
                + (f"; check {ep.api_key_env}" if ep.api_key_env else "")
            ) from None
        except oa.RateLimitError as exc:
            raise _Retryable(f"HTTP 429 {_one_line(exc.message)}", _retry_after(exc)) from None
        except oa.APITimeoutError:
            raise _Retryable(f"timeout after {ep.timeout_s:g} s") from None
        except oa.APIConnectionError as exc:
            cause = exc.__cause__ or exc.__context__
            detail = f" ({type(cause).__name__}: {_one_line(str(cause))})" if cause else ""
            raise _Retryable(f"connection error{detail}") from None
        except oa.APIStatusError as exc:
            if exc.status_code >= 500 or exc.status_code == 408:
                raise _Retryable(f"HTTP {exc.status_code} {_one_line(exc.message)}",
                                 _retry_after(exc)) from None
            raise _Final(f"HTTP {exc.status_code} {_one_line(exc.message)}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise _Retryable(f"malformed response body: {_one_line(str(exc))}") from None
        except oa.APIResponseValidationError as exc:
            raise _Retryable(f"malformed response: {_one_line(str(exc))}") from None

    def _parse(self, response: Any, n: int, attempts: int, wait: float) -> list[Generation]:
        choices = getattr(response, "choices", None)
        if not isinstance(choices, list) or not choices:
            raise _Retryable("malformed response: no choices")
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
            error = None if text is not None else "malformed response: choice without text"
            out.append(Generation(
                text=text or "",
                completion_tokens=int(counts[i]),
                prompt_tokens=int(prompt_tokens or 0) if i == 0 else 0,
                token_starts=starts[i],
                finish_reason=reasons[i],
                error=error,
                tokens_estimated=estimated or not isinstance(prompt_tokens, int),
                attempts=attempts,
                wait_s=wait,
            ))
        for _ in range(n - len(out)):
            out.append(Generation("", 0, 0, error=f"{_SHORT} {len(texts)} of {n} choices",
                                  attempts=attempts, wait_s=wait))
        return out


class _Final(Exception):
    """A failure that another attempt would not fix (a 4xx other than 408/429)."""


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:200]


def _retry_after(exc: Any) -> float | None:
    try:
        value = exc.response.headers.get("retry-after")
        return float(value) if value is not None else None
    except (AttributeError, TypeError, ValueError):
        return None


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
