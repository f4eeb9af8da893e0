"""The collection loop: ask every model for its batches, write one line per batch.

Batches run concurrently (at most ``concurrency`` at a time, in model-then-problem order),
each through the same :class:`~planner.runtime.client.EndpointClient`, prompts
(:mod:`planner.runtime.prompts`) and extraction (:mod:`planner.runtime.rows`) as
``codecascade run``: its retries, its backoff and its use of ``n`` where the endpoint
supports it (and single requests where a server answers ``n`` with fewer choices). A batch
asks for its greedy solution, greedy test generation, sampled solutions and sampled test
generations at once; when all have come back its line is appended to the generations file
at once (:class:`~planner.records.CollectedWriter`, one write and an fsync). A generation
that still fails after the retries is an infrastructure failure: its row keeps the error,
no reader counts it, and ``--resume`` asks for it again. Before the first batch every endpoint
with batches to collect passes ``run``'s pre-flight check (:mod:`planner.runtime.preflight`):
a URL where nothing answers, a server answering 500 or HTML, a model name a proxy refuses
stop the collection in seconds with one line, before anything is written.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..records import CollectedRecord, CollectedWriter, EndpointInfo
from ..runtime.client import EndpointClient
from ..runtime.endpoints import Endpoint
from ..runtime.preflight import preflight_clients
from ..runtime.prompts import solution_prompt, test_prompt
from ..runtime.rows import solution_record, test_record
from .budget import CostCap, batch_bound, billed_cost
from .identity import prompt_sha256
from .work import Batch


@dataclass
class CollectStats:
    """What this collection did: batches written, generations received and failed,
    requests and retries, $ spent (reported usage × prices), wall seconds, and per model
    why its endpoint was asked one sample per request (``n`` refused or ignored)."""

    batches: int = 0
    generations: int = 0
    failures: int = 0
    requests: int = 0
    retries: int = 0
    cost: float = 0.0
    wall_s: float = 0.0
    n_notes: dict[str, str] = field(default_factory=dict)


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


class Collector:
    """Collects batches from endpoints into a generations file (module docstring).

    ``infos`` is each model's :class:`~planner.records.EndpointInfo` (what every line
    records), ``models`` the collection's models in order, ``cap`` an optional
    :class:`~planner.collect.budget.CostCap`; ``preflight=False`` skips the pre-flight
    check.
    """

    def __init__(self, endpoints: dict[str, Endpoint], infos: dict[str, EndpointInfo],
                 models: Sequence[str], *, concurrency: int = 8,
                 cap: CostCap | None = None, preflight: bool = True) -> None:
        self.endpoints = endpoints
        self.infos = infos
        self.models = tuple(models)
        self.concurrency = concurrency
        self.cap = cap
        self.preflight = preflight
        self.stats = CollectStats()
        self._clients: dict[str, EndpointClient] = {}

    async def run(self, batches: Sequence[Batch], writer: CollectedWriter,
                  on_record: Callable[[CollectedRecord], None] | None = None) -> CollectStats:
        """Collect every batch (until the cap stops it), appending each line to ``writer``
        as soon as its batch is complete."""
        started = time.perf_counter()
        self._clients = {m: EndpointClient(self.endpoints[m]) for m in self.models}
        if self.preflight and batches:
            try:
                await self._preflight(batches)
            except BaseException:
                for client in self._clients.values():
                    await client.close()
                self._clients = {}
                raise
        queue: asyncio.Queue[tuple[int, Batch]] = asyncio.Queue()
        for position, batch in enumerate(batches):
            queue.put_nowait((position, batch))

        async def worker() -> None:
            while True:
                try:
                    position, batch = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                record = await self._admitted(position, batch)
                if record is None:
                    return
                writer.write(record)
                self.stats.batches += 1
                failures = len(record.failures)
                self.stats.failures += failures
                self.stats.generations += len(record.solutions) + len(record.tests) - failures
                self.stats.cost += record.cost
                if on_record is not None:
                    on_record(record)

        workers = [asyncio.create_task(worker())
                   for _ in range(max(1, min(self.concurrency, len(batches))))]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            for model, client in self._clients.items():
                self.stats.requests += client.requests
                self.stats.retries += client.retries
                if client.n_note is not None:
                    self.stats.n_notes[model] = client.n_note
                await client.close()
            self._clients = {}
            self.stats.wall_s = time.perf_counter() - started
        return self.stats

    async def _preflight(self, batches: Sequence[Batch]) -> None:
        """Check every endpoint that has batches to collect (raises
        :class:`~planner.runtime.preflight.PreflightError`, one line naming each failing
        endpoint); those asked for samples are probed with ``n=2``."""
        used = {b.model for b in batches}
        sampled = {b.model for b in batches if b.need.samples > 1 or b.need.tests > 1}
        await preflight_clients({m: self._clients[m] for m in self.models if m in used},
                                probe_n=sampled)

    async def _admitted(self, position: int, batch: Batch) -> CollectedRecord | None:
        """The batch's record, or None when the cost cap stops the collection first
        (``position``: the batch's place in the collection's order)."""
        if self.cap is None:
            return await self.collect_batch(batch)
        ep = self.endpoints[batch.model]
        bound = batch_bound(ep, batch.need,
                            solution_prompt(ep, batch.problem.prompt, batch.problem.entry_point),
                            test_prompt(ep, batch.problem.prompt, batch.problem.entry_point,
                                        self.infos[batch.model].test_lines))
        if not await self.cap.admit(position, batch.model, batch.problem.task_id, bound):
            return None
        cost = 0.0
        try:
            record = await self.collect_batch(batch)
            cost = record.cost
            return record
        finally:
            await self.cap.settle(bound, cost)

    async def collect_batch(self, batch: Batch) -> CollectedRecord:
        """Ask for one batch's generations at once and build its line."""
        ep = self.endpoints[batch.model]
        info = self.infos[batch.model]
        client = self._clients[batch.model]
        problem, need = batch.problem, batch.need
        started_at, started = _now(), time.perf_counter()
        sp = solution_prompt(ep, problem.prompt, problem.entry_point)
        tp = test_prompt(ep, problem.prompt, problem.entry_point, info.test_lines)
        greedy_s, greedy_t, sampled_s, sampled_t = await asyncio.gather(
            client.generate(sp, need.greedy_solution, greedy=True, max_tokens=ep.max_tokens),
            client.generate(tp, need.greedy_test, greedy=True, max_tokens=ep.test_max_tokens),
            client.generate(sp, need.samples, greedy=False, max_tokens=ep.max_tokens),
            client.generate(tp, need.tests, greedy=False, max_tokens=ep.test_max_tokens))
        solutions = tuple(
            [solution_record(g, problem, ep, True) for g in greedy_s]
            + [solution_record(g, problem, ep, False) for g in sampled_s])
        tests = tuple([test_record(g, ep, True) for g in greedy_t]
                      + [test_record(g, ep, False) for g in sampled_t])
        return CollectedRecord(
            model=batch.model, task_id=problem.task_id, prompt_sha256=prompt_sha256(problem),
            endpoint=info, price_per_1m_generated=ep.price_per_1m_generated,
            price_per_1m_prompt=ep.price_per_1m_prompt or 0.0, models=self.models,
            solutions=solutions, tests=tests, cost=billed_cost(ep, (*solutions, *tests)),
            generation_s=time.perf_counter() - started, started_at=started_at,
            finished_at=_now())
