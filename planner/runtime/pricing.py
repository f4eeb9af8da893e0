"""Prices of the endpoints a spec runs on: an unknown price is never $0.

An endpoint in the endpoints file without ``price_per_1m_generated`` has an unknown price.
:func:`priced_endpoints` gives it the price the spec was planned with (the spec's
provenance: ``prices_per_1m`` and ``prompt_prices_per_1m``, $ per million generated and
prompt tokens), with a note saying so, or refuses (:class:`UnknownPriceError`, one line) when the
spec has no price for the model. Metering at $0 would print a run's cost next to the
spec's predicted cost as if it were measured.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from ..spec import CascadeSpec
from .endpoints import Endpoint, EndpointError


class UnknownPriceError(EndpointError):
    """An endpoint's price is unknown and the spec has none for its model; one line."""


def priced_endpoints(endpoints: Mapping[str, Endpoint], spec: CascadeSpec
                     ) -> tuple[dict[str, Endpoint], tuple[str, ...]]:
    """The endpoints with every spec model priced, and one note per price taken from the
    spec (``"prices of M: the spec's ($X per 1M generated tokens, $Y per 1M prompt
    tokens); the endpoints file gives none"``). Raises :class:`UnknownPriceError` naming
    every spec model whose price is unknown to both."""
    prices = spec.provenance.prices_per_1m
    prompt_prices = spec.provenance.prompt_prices_per_1m
    result = dict(endpoints)
    notes = []
    missing = []
    for model in dict.fromkeys(spec.models):
        ep = endpoints[model]
        if ep.price_per_1m_generated is not None:
            continue
        if model not in prices:
            missing.append(model)
            continue
        generated = float(prices[model])
        prompt = (ep.price_per_1m_prompt if ep.price_per_1m_prompt is not None
                  else float(prompt_prices.get(model, 0.0)))
        result[model] = replace(ep, price_per_1m_generated=generated,
                                price_per_1m_prompt=prompt)
        notes.append(f"prices of {model}: the spec's (${generated:.6g} per 1M generated "
                     f"tokens, ${prompt:.6g} per 1M prompt tokens); the endpoints file "
                     "gives none")
    if missing:
        raise UnknownPriceError(
            f"no price for {', '.join(repr(m) for m in missing)}: the endpoints file has no "
            "price_per_1m_generated and the spec none either; set it ($ per million "
            "generated tokens, 0 for a free endpoint)")
    return result, tuple(notes)
