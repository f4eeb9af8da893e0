"""The endpoints file: which OpenAI-compatible server answers for each model of a spec.

A TOML file with an optional ``[defaults]`` table and one ``[models."<spec model name>"]``
table per model; every key of a model table may also be set in ``[defaults]``::

    [defaults]
    timeout_s = 120
    max_retries = 6

    [models."WizardCoder-Python-7B"]
    base_url = "http://localhost:8000/v1"      # any OpenAI-compatible server
    model = "WizardLM/WizardCoder-Python-7B-V1.0"
    api_key_env = "VLLM_API_KEY"               # the variable's name, never the key
    style = "instruction"                      # chat | instruction | completion
    temperature = 0.8                          # sampling for k >= 2 (greedy uses 0)
    top_p = 0.95
    max_tokens = 1024                          # per solution
    test_max_tokens = 512                      # per test generation
    supports_n = true                          # one request with n=k, else k requests
    logprobs = false                           # ask for tokens: exact per-line counts
    price_per_1m_generated = 1.91              # $ per million generated tokens
    price_per_1m_prompt = 0.0                  # without it: 0 (generated tokens only)

An endpoint without ``price_per_1m_generated`` has an unknown price, never $0: ``run`` and
``serve`` take the spec's own price of the model and say so, or refuse
(:mod:`planner.runtime.pricing`).

Styles: ``chat`` sends the instruction as a chat message to ``/chat/completions``;
``instruction`` wraps it in an Alpaca-style instruction template and sends it to
``/completions`` (WizardCoder, CodeLlama-Instruct on a plain server); ``completion`` sends
the bare problem to ``/completions`` and the model continues the function body. Templates
can be replaced per model with ``solution_template`` / ``test_template`` (see
:mod:`planner.runtime.prompts` for the placeholders).
"""

from __future__ import annotations

import enum
import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CodecascadeError
from ..keys import key_variable_problem
from ..units import per_token


class EndpointStyle(enum.StrEnum):
    """How a model is asked (see the module docstring)."""

    CHAT = "chat"
    INSTRUCTION = "instruction"
    COMPLETION = "completion"


STYLES = tuple(EndpointStyle)

#: What an environment variable's name looks like (POSIX); anything else in ``api_key_env``
#: is most likely the key itself, pasted by mistake, and is never printed.


class EndpointError(CodecascadeError, ValueError):
    """The endpoints file is malformed or an endpoint refuses the run; one line."""


@dataclass(frozen=True)
class Endpoint:
    """How to reach and sample one model (see the module docstring for the keys)."""

    name: str
    base_url: str
    model: str
    style: EndpointStyle = EndpointStyle.CHAT
    api_key_env: str | None = None
    temperature: float = 0.8
    top_p: float = 0.95
    max_tokens: int = 1024
    test_max_tokens: int = 512
    supports_n: bool = True
    logprobs: bool = False
    timeout_s: float = 120.0
    max_retries: int = 6
    backoff_s: float = 1.0
    backoff_max_s: float = 60.0
    max_parallel_requests: int = 16
    price_per_1m_generated: float | None = None
    price_per_1m_prompt: float | None = None
    system_prompt: str | None = None
    solution_template: str | None = None
    test_template: str | None = None

    def __post_init__(self) -> None:
        where = f"endpoint {self.name!r}"
        if self.style not in STYLES:
            raise EndpointError(f"{where}: style must be one of {', '.join(STYLES)}, got "
                                f"{self.style!r}")
        object.__setattr__(self, "style", EndpointStyle(self.style))
        if not self.base_url.startswith(("http://", "https://")):
            raise EndpointError(f"{where}: base_url must start with http:// or https://")
        if not self.model:
            raise EndpointError(f"{where}: model (the served model name) is empty")
        problem = None if self.api_key_env is None else key_variable_problem(self.api_key_env)
        if problem is not None:
            raise EndpointError(f"{where}: api_key_env {problem}: put the key in a variable "
                                "and name the variable here")
        checks = {
            "temperature": 0.0 <= self.temperature <= 2.0,
            "top_p": 0.0 < self.top_p <= 1.0,
            "max_tokens": self.max_tokens >= 1,
            "test_max_tokens": self.test_max_tokens >= 1,
            "timeout_s": self.timeout_s > 0,
            "max_retries": self.max_retries >= 0,
            "backoff_s": self.backoff_s >= 0,
            "backoff_max_s": self.backoff_max_s >= self.backoff_s,
            "max_parallel_requests": self.max_parallel_requests >= 1,
            "price_per_1m_generated": (self.price_per_1m_generated is None
                                       or self.price_per_1m_generated >= 0),
            "price_per_1m_prompt": (self.price_per_1m_prompt is None
                                    or self.price_per_1m_prompt >= 0),
        }
        for key, ok in checks.items():
            if not ok:
                raise EndpointError(f"{where}: invalid {key} = {getattr(self, key)!r}")

    @property
    def price_generated(self) -> float:
        """$ per generated token; EndpointError when the endpoints file gives no
        ``price_per_1m_generated`` (an unknown price is never $0: see
        :func:`planner.runtime.pricing.priced_endpoints`)."""
        if self.price_per_1m_generated is None:
            raise EndpointError(f"endpoint {self.name!r} has no price_per_1m_generated ($ per "
                                "million generated tokens; 0 for a free endpoint)")
        return per_token(self.price_per_1m_generated)

    @property
    def price_prompt(self) -> float:
        """$ per prompt token (``price_per_1m_prompt``; without it 0, the method's
        convention of pricing generated tokens only)."""
        return per_token(self.price_per_1m_prompt or 0.0)

    def api_key(self) -> str:
        """The key from ``api_key_env``; local servers without a key get a placeholder."""
        if self.api_key_env is None:
            return "EMPTY"
        value = os.environ.get(self.api_key_env)
        if not value:
            raise EndpointError(
                f"endpoint {self.name!r}: environment variable {self.api_key_env} is not set"
            )
        return value


_FIELD_TYPES: dict[str, type] = {
    "base_url": str, "model": str, "style": str, "api_key_env": str,
    "temperature": float, "top_p": float, "max_tokens": int, "test_max_tokens": int,
    "supports_n": bool, "logprobs": bool, "timeout_s": float, "max_retries": int,
    "backoff_s": float, "backoff_max_s": float, "max_parallel_requests": int,
    "price_per_1m_generated": float, "price_per_1m_prompt": float, "system_prompt": str,
    "solution_template": str, "test_template": str,
}


def _coerce(name: str, key: str, value: Any) -> Any:
    want = _FIELD_TYPES[key]
    if want is bool:
        ok = isinstance(value, bool)
    elif want is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif want is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, str)
    if not ok:
        shown = "a value that is not shown" if key == "api_key_env" else repr(value)
        raise EndpointError(f"endpoint {name!r}: {key} must be a {want.__name__}, got {shown}")
    return want(value)


def parse_endpoints(data: dict[str, Any], source: str = "endpoints") -> dict[str, Endpoint]:
    """Endpoints by spec model name from a parsed TOML document."""
    unknown_top = set(data) - {"defaults", "models"}
    if unknown_top:
        raise EndpointError(f"{source}: unknown top-level keys {sorted(unknown_top)}")
    defaults = data.get("defaults", {})
    models = data.get("models")
    if not isinstance(defaults, dict):
        raise EndpointError(f"{source}: [defaults] must be a table")
    if not isinstance(models, dict) or not models:
        raise EndpointError(f"{source}: needs at least one [models.\"<name>\"] table")
    result = {}
    for name, table in models.items():
        if not isinstance(table, dict):
            raise EndpointError(f"{source}: models.{name} must be a table")
        merged = {**defaults, **table}
        unknown = set(merged) - set(_FIELD_TYPES)
        if unknown:
            raise EndpointError(f"{source}: endpoint {name!r} has unknown keys {sorted(unknown)}")
        for key in ("base_url", "model"):
            if key not in merged:
                raise EndpointError(f"{source}: endpoint {name!r} has no {key}")
        try:
            kwargs = {k: _coerce(name, k, v) for k, v in merged.items()}
            result[name] = Endpoint(name=name, **kwargs)
        except EndpointError as exc:
            raise EndpointError(f"{source}: {exc}") from None
    return result


def load_endpoints(path: str | os.PathLike[str]) -> dict[str, Endpoint]:
    """Read and validate an endpoints TOML file."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise EndpointError(f"cannot read endpoints file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise EndpointError(f"endpoints file {path} is not valid TOML: {exc}") from None
    return parse_endpoints(data, str(path))


def check_covers(endpoints: dict[str, Endpoint], models: Iterable[str]) -> None:
    """Every model of the spec must have an endpoint; name the missing ones."""
    missing = [m for m in models if m not in endpoints]
    if missing:
        known = ", ".join(sorted(endpoints)) or "none"
        raise EndpointError(f"no endpoint for spec model(s) {missing}; the file defines: {known}")


def check_keys(endpoints: dict[str, Endpoint], models: Iterable[str], source: str) -> None:
    """Every chosen model's ``api_key_env`` variable must be set: EndpointError naming
    ``source`` (the endpoints file), the endpoint and the variable, never its value."""
    for model in models:
        try:
            endpoints[model].api_key()
        except EndpointError as exc:
            raise EndpointError(f"{source}: {exc}") from None
