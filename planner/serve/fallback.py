"""The fallback: a request in which no function is found goes to one model, passed through.

The request is sent to the fallback model's endpoint in that endpoint's style: a chat
endpoint gets the conversation (``developer`` messages as ``system``; a completion prompt
as one user message); an instruction endpoint gets the conversation's text in the
instruction template the cascade uses; a completion endpoint gets the prompt as is (a
conversation as its text). Retries, timeouts and token accounting are the runtime's
(:class:`planner.runtime.client.EndpointClient`); temperature 0 in the request asks for
greedy decoding, otherwise the endpoint's sampling settings apply; ``max_tokens`` is the
request's, else the endpoint's. The model's reply is returned unchanged.
"""

from __future__ import annotations

from ..runtime.endpoints import Endpoint
from ..runtime.prompts import ALPACA_WRAPPER, Prompt
from .requests import Kind, ParsedRequest


def fallback_prompt(endpoint: Endpoint, request: ParsedRequest) -> Prompt:
    """What to send to the fallback model for ``request``."""
    if request.kind is Kind.CHAT:
        conversation = tuple(("system" if role == "developer" else role, text)
                             for role, text in request.messages)
    else:
        conversation = (("user", request.prompt),)
    if endpoint.style == "chat":
        return Prompt(messages=tuple({"role": role, "content": text}
                                     for role, text in conversation))
    if request.kind is Kind.COMPLETION:
        return Prompt(text=request.prompt)
    flat = "\n\n".join(text for _, text in conversation if text.strip())
    if endpoint.style == "instruction":
        return Prompt(text=ALPACA_WRAPPER.format(instruction=flat))
    return Prompt(text=flat)
