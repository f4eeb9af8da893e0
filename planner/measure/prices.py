"""Price tables: $ per million generated and prompt tokens per model, with source and date.

A price table is JSON::

    {"currency": "USD", "unit": "$ per million tokens",
     "models": {name: {"price_per_1m_generated": float, "price_per_1m_prompt": float,
                       "source": str, "date": str}}}

in the unit providers publish (planner.units), with the field names the endpoints file
uses. A table in the earlier unit (``generated_per_1k`` / ``prompt_per_1k``, $ per 1,000
tokens) is still read and converted. Profiles store $ per token (planner.units converts).
The bundled table is ``planner/data/prices.json``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import CodecascadeError
from ..units import per_million, per_token, per_token_from_per_1k


class PriceError(CodecascadeError):
    """A price table is missing, malformed, or lacks a model."""


@dataclass(frozen=True)
class ModelPrice:
    """A model's list price in $ per million tokens, with where and when it was read."""

    per_1m_generated: float
    per_1m_prompt: float
    source: str
    date: str

    @property
    def generated_per_token(self) -> float:
        return per_token(self.per_1m_generated)

    @property
    def prompt_per_token(self) -> float:
        return per_token(self.per_1m_prompt)

    def to_json(self) -> dict[str, object]:
        return {"price_per_1m_generated": self.per_1m_generated,
                "price_per_1m_prompt": self.per_1m_prompt, "source": self.source,
                "date": self.date}


#: Field names per unit: ($ per million tokens, $ per 1,000 tokens), generated and prompt.
_FIELDS = {"per_1m": ("price_per_1m_generated", "price_per_1m_prompt"),
           "per_1k": ("generated_per_1k", "prompt_per_1k")}


def _price(file: Path, name: str, entry: dict, key: str, required: bool) -> float:
    value = entry.get(key, None if required else 0.0)
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not math.isfinite(value) or value < 0):
        raise PriceError(f"{file}: {name!r} needs a non-negative number {key}, got {value!r}")
    return float(value)


def load_prices(path: str | os.PathLike[str]) -> dict[str, ModelPrice]:
    """Read and validate a price table ($ per million tokens; $ per 1,000 tokens in the
    earlier field names is converted)."""
    file = Path(path)
    try:
        obj = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PriceError(f"price table not found: {file}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PriceError(f"{file}: not a readable JSON price table ({exc})") from None
    models = obj.get("models") if isinstance(obj, dict) else None
    if not isinstance(models, dict) or not models:
        raise PriceError(f"{file}: expected a non-empty 'models' object")
    prices = {}
    for name, entry in models.items():
        if not isinstance(entry, dict):
            raise PriceError(f"{file}: entry of {name!r} must be an object")
        unit = "per_1k" if _FIELDS["per_1k"][0] in entry else "per_1m"
        generated_key, prompt_key = _FIELDS[unit]
        generated = _price(file, name, entry, generated_key, True)
        prompt = _price(file, name, entry, prompt_key, False)
        if unit == "per_1k":
            generated = per_million(per_token_from_per_1k(generated))
            prompt = per_million(per_token_from_per_1k(prompt))
        source, date = entry.get("source"), entry.get("date")
        if not isinstance(source, str) or not source or not isinstance(date, str) or not date:
            raise PriceError(f"{file}: {name!r} needs a 'source' and a 'date'")
        prices[name] = ModelPrice(generated, prompt, source, date)
    return prices
