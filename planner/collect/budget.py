"""Paying for a collection: what a batch costs, the most it can cost, and the cap.

A batch's cost is billed from the endpoint's reported usage: every generated token times the
model's price per generated token plus every prompt token times its price per prompt token
($ per million tokens in the endpoints file). :class:`CostCap` keeps a collection under
``--max-cost``: batches are admitted in the collection's order, and a batch starts only
when the money spent, plus the most every batch in flight can still cost, plus the most this
batch can cost, stays within the cap. The most a
batch can cost (:func:`batch_bound`) is its generations' token limits (``max_tokens`` per
solution, ``test_max_tokens`` per test generation) and, for prompts, one token per byte of
the prompt plus :data:`PROMPT_OVERHEAD_TOKENS` per request, every generation asked for in
its own request (the case of a server that ignores ``n``). So the running cost never passes
the cap unless an endpoint generates more than the ``max_tokens`` it was sent; when the
next batch in order cannot fit even with nothing in flight, the collection stops and says
so. Every batch before it in order is collected; none after it is started (so a file grown
by ``--resume`` stays a prefix of the order, whatever the concurrency).
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass

from ..records import Have, SolutionRecord, TestRecord
from ..runtime.endpoints import Endpoint
from ..runtime.prompts import Prompt
from .work import CollectError

#: Tokens a chat template or special tokens may add to a request's prompt.
PROMPT_OVERHEAD_TOKENS = 32


def billed_cost(endpoint: Endpoint, rows: Iterable[SolutionRecord | TestRecord]) -> float:
    """$ of the rows' reported usage: generated tokens × price + prompt tokens × price."""
    rows = list(rows)
    generated = sum(r.completion_tokens for r in rows)
    prompt = sum(r.prompt_tokens for r in rows)
    return math.fsum((endpoint.price_generated * generated, endpoint.price_prompt * prompt))


def batch_bound(endpoint: Endpoint, need: Have, solution: Prompt, tests: Prompt) -> float:
    """The most a batch asking ``endpoint`` for ``need`` can cost, in $ (module docstring)."""
    solutions = need.greedy_solution + need.samples
    test_gens = need.greedy_test + need.tests
    generated = solutions * endpoint.max_tokens + test_gens * endpoint.test_max_tokens
    prompt = (solutions * _prompt_bound(solution) + test_gens * _prompt_bound(tests))
    return math.fsum((endpoint.price_generated * generated, endpoint.price_prompt * prompt))


def _prompt_bound(prompt: Prompt) -> int:
    return len(prompt.flat().encode("utf-8", "surrogatepass")) + PROMPT_OVERHEAD_TOKENS


@dataclass(frozen=True)
class Stop:
    """Why a capped collection stopped: the next batch's bound would pass the cap.
    ``spent`` is what the collection spent in all, the batches in flight at the stop
    included."""

    model: str
    task_id: str
    bound: float
    spent: float
    limit: float

    def message(self) -> str:
        return (f"stopped before --max-cost ${self.limit:.6g}: spent ${self.spent:.6g}, and "
                f"the next batch ({self.model}, {self.task_id}) could cost up to "
                f"${self.bound:.6g} (its max_tokens at the endpoint's prices)")


class CostCap:
    """Admission under a cap in $, in order (module docstring). Use :meth:`admit` before a
    batch, with its position in the collection's order (0, 1, ...; every position is
    eventually asked for, as the collector's workers take batches in order), and
    :meth:`settle` after it (done or failed)."""

    def __init__(self, limit: float) -> None:
        if not (isinstance(limit, int | float) and math.isfinite(limit) and limit > 0):
            raise CollectError(f"--max-cost must be a positive number of dollars, got {limit!r}")
        self.limit = float(limit)
        self.spent = 0.0
        self.reserved = 0.0
        self.stop: Stop | None = None
        self._next = 0
        self._changed = asyncio.Condition()

    async def admit(self, position: int, model: str, task_id: str, bound: float) -> bool:
        """Wait until every earlier batch is decided and this one fits with what is in
        flight; False once the cap is reached (this batch cannot fit even with nothing in
        flight, or an earlier one could not)."""
        async with self._changed:
            while True:
                if self.stop is not None:
                    return False
                if position == self._next:
                    if self.spent + bound > self.limit:
                        self.stop = Stop(model, task_id, bound, self.spent, self.limit)
                        self._changed.notify_all()
                        return False
                    if self.spent + self.reserved + bound <= self.limit:
                        self.reserved += bound
                        self._next += 1
                        self._changed.notify_all()
                        return True
                await self._changed.wait()

    async def settle(self, bound: float, cost: float) -> None:
        """A batch admitted with ``bound`` is over and cost ``cost``."""
        async with self._changed:
            self.reserved = max(0.0, self.reserved - bound)
            self.spent += cost
            if self.stop is not None:
                self.stop = dataclasses.replace(self.stop, spent=self.spent)
            self._changed.notify_all()
