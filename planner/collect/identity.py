"""What identifies a collection: how each model is asked (its :class:`EndpointInfo`) and
which problem text it was asked about (the prompt's sha256).

Both go into every line ``collect`` writes, so that ``collect --resume`` and ``measure``
can tell generations of the same sampling from a mix.
"""

from __future__ import annotations

import hashlib
import json

from ..problems import Problem
from ..records import EndpointInfo
from ..runtime.endpoints import Endpoint
from ..runtime.prompts import Prompt, solution_prompt, test_prompt

#: The problem the prompt templates are rendered on for their fingerprint.
_PROBE = ("def probe(x):\n    \"\"\"A probe.\"\"\"\n", "probe")


def prompt_sha256(problem: Problem) -> str:
    """sha256 of a problem's prompt text (UTF-8)."""
    return hashlib.sha256(problem.prompt.encode("utf-8", "surrogatepass")).hexdigest()


def _prompt_json(prompt: Prompt) -> dict[str, object]:
    return {"messages": list(prompt.messages) if prompt.messages is not None else None,
            "text": prompt.text, "stop": list(prompt.stop)}


def prompts_sha256(endpoint: Endpoint, test_lines: int) -> str:
    """sha256 of what ``endpoint`` is sent for a probe problem (solution and test prompts:
    style, templates, system prompt, stop sequences), so any change of the prompts shows."""
    text, entry_point = _PROBE
    rendered = {"solution": _prompt_json(solution_prompt(endpoint, text, entry_point)),
                "tests": _prompt_json(test_prompt(endpoint, text, entry_point, test_lines))}
    return hashlib.sha256(json.dumps(rendered, sort_keys=True).encode()).hexdigest()


def endpoint_info(endpoint: Endpoint, test_lines: int) -> EndpointInfo:
    """How ``endpoint`` is asked for generations (what a generations line records)."""
    return EndpointInfo(
        base_url=endpoint.base_url, model=endpoint.model, style=str(endpoint.style),
        temperature=endpoint.temperature, top_p=endpoint.top_p,
        max_tokens=endpoint.max_tokens, test_max_tokens=endpoint.test_max_tokens,
        test_lines=test_lines, prompts_sha256=prompts_sha256(endpoint, test_lines))
