"""Price tables: $ per 1,000 generated and prompt tokens per model, with source and date.

A price table is JSON: ``{"models": {name: {"generated_per_1k": float, "prompt_per_1k":
float, "source": str, "date": str}}}``. Profiles store $ per token, so the loader divides
by 1,000. The bundled table is ``planner/data/prices.json``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import CodecascadeError


class PriceError(CodecascadeError):
    """A price table is missing, malformed, or lacks a model."""


@dataclass(frozen=True)
class ModelPrice:
    """A model's list price in $ per 1,000 tokens, with where and when it was read."""

    generated_per_1k: float
    prompt_per_1k: float
    source: str
    date: str

    @property
    def generated_per_token(self) -> float:
        return self.generated_per_1k / 1000.0

    @property
    def prompt_per_token(self) -> float:
        return self.prompt_per_1k / 1000.0


def load_prices(path: str | os.PathLike[str]) -> dict[str, ModelPrice]:
    """Read and validate a price table."""
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
        values = {}
        for key in ("generated_per_1k", "prompt_per_1k"):
            value = entry.get(key, 0.0 if key == "prompt_per_1k" else None)
            if (isinstance(value, bool) or not isinstance(value, int | float)
                    or not math.isfinite(value) or value < 0):
                raise PriceError(f"{file}: {name!r} needs a non-negative number {key}, "
                                 f"got {value!r}")
            values[key] = float(value)
        source, date = entry.get("source"), entry.get("date")
        if not isinstance(source, str) or not source or not isinstance(date, str) or not date:
            raise PriceError(f"{file}: {name!r} needs a 'source' and a 'date'")
        prices[name] = ModelPrice(values["generated_per_1k"], values["prompt_per_1k"],
                                  source, date)
    return prices
