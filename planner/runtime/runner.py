"""The cascade loop: run a plan on a stream of problems against live endpoints.

Per problem, stage by stage (docs/method.md §1, with the generalisations of §2):

1. Ask the stage's model for its solutions and test generations at once: k = 0 one greedy
   solution; k = 1 the greedy solution and the greedy test generation; k >= 2 k sampled
   solutions and t sampled test generations (no test request when l = 0 or t = 0).
2. Extract programs and lines; keep the first l lines of each test generation; those
   starting with ``assert`` are the stage's test lines. Under the project's own scoring
   rules (``pass_fraction``, ``consensus``) lines that cannot fail are left out
   (:func:`planner.testlines.solution_independent`); the ``paper`` rule keeps them, as the paper
   counts raw lines. With ``share_tests`` the lines the earlier stages generated are
   appended (the estimator's column order).
3. Run every solution on every test line in the sandbox (duplicates once), score the pass
   matrix with the spec's rule (:func:`planner.scoring.select_solution`) and accept iff
   :func:`planner.scoring.accepts` (``score >= theta * scale``); k = 0 always answers,
   the last stage always answers.
4. Cost = (solution tokens + kept test-line tokens) × price + prompt tokens × prompt price,
   from the endpoint's usage (see :mod:`planner.records.run`).

Problems run concurrently (at most ``concurrency`` at a time); sandbox batches run in worker
threads, at most ``sandbox_workers`` at a time. Every problem is appended to the records
file as soon as it is done.

Infrastructure failures are never the model's (:mod:`planner.runtime.failures`). Before the
first problem every endpoint passes a pre-flight check (:mod:`planner.runtime.preflight`).
A stage whose requests failed (after retries) does not decide: it is recorded as
``failed``, and the problem as *unfinished* (``--resume`` asks it again) with the cause.
What happens next is :class:`OnFailure`: ``stop`` (``codecascade run``) ends the problem
there; ``escalate`` (``codecascade serve``, where a user waits) asks the later stages
anyway. Either way, when no stage answers, the answer is the chosen solution of the last
stage that scored usable solutions, and the record says the cascade *degraded*. A
misconfigured endpoint (wrong key, URL or model: under either policy), an endpoint whose
circuit breaker opens (its recent requests all failed the same way) and a sandbox that
stopped working
(:class:`~planner.sandbox.SandboxBrokenError`) stop a ``stop`` run with one line; the
problems in flight are not recorded.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import enum
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import fields
from ..options import CascadePlan, Stage
from ..problems import Problem
from ..records import (
    AnswerRecord,
    Decision,
    ProblemRecord,
    RecordWriter,
    SolutionRecord,
    StageRecord,
    TestRecord,
)
from ..sandbox.grid import Executor, GridJob, GridResult, run_one
from ..scoring import accepts, select_solution
from ..testlines import counts_every_line, is_test_line, solution_independent
from .client import EndpointClient
from .endpoints import Endpoint, check_covers
from .failures import EndpointDown
from .preflight import EndpointCheck, preflight_clients
from .prompts import solution_prompt, test_prompt
from .rows import solution_record, test_record


class OnFailure(enum.StrEnum):
    """What the cascade does after a stage's endpoint failed (see the module docstring):
    ``stop`` the problem there (and the run when an endpoint is down), or ``escalate``."""

    STOP = "stop"
    ESCALATE = "escalate"


@dataclass(frozen=True)
class RunOptions:
    """How a run proceeds: ``concurrency`` problems in flight (>= 1), ``sandbox_workers``
    sandbox batches at once (0: one per CPU), the pre-flight check, and what a failed stage
    leads to (:class:`OnFailure`). (What decides a verdict, time limits included, is the
    executor's :class:`~planner.sandbox.GridConfig`; the progress bar is the command
    line's, planner.progress.) FieldError naming a bad value."""

    concurrency: int = 8
    sandbox_workers: int = 0  # 0: one per CPU
    preflight: bool = True
    on_failure: OnFailure = OnFailure.STOP

    def __post_init__(self) -> None:
        object.__setattr__(self, "concurrency",
                           fields.whole(self.concurrency, "concurrency", least=1))
        object.__setattr__(self, "sandbox_workers",
                           fields.whole(self.sandbox_workers, "sandbox_workers", least=0))
        object.__setattr__(self, "on_failure", OnFailure(self.on_failure))

    def workers(self) -> int:
        return self.sandbox_workers or (os.cpu_count() or 1)


@dataclass
class RunStats:
    """Where the time went, summed over the problems of this run (seconds)."""

    problems: int = 0
    wall_s: float = 0.0
    generation_s: float = 0.0
    sandbox_s: float = 0.0
    sandbox_queue_s: float = 0.0
    requests: int = 0
    retries: int = 0
    generation_errors: int = 0
    unfinished: int = 0
    degraded: int = 0
    checks: dict[str, EndpointCheck] = field(default_factory=dict)
    n_notes: dict[str, str] = field(default_factory=dict)


@dataclass
class _Slots:
    """Shared sandbox concurrency and its queueing time."""

    semaphore: asyncio.Semaphore
    queue_s: float = 0.0


class CascadeRunner:
    """Runs one plan against endpoints; see the module docstring."""

    def __init__(self, plan: CascadePlan, endpoints: dict[str, Endpoint], executor: Executor,
                 *, spec_hash: str, options: RunOptions | None = None):
        check_covers(endpoints, plan.models)
        self.plan = plan
        self.endpoints = endpoints
        self.executor = executor
        self.spec_hash = spec_hash
        self.options = options or RunOptions()
        self.stats = RunStats()
        self._clients: dict[str, EndpointClient] = {}
        self._slots: _Slots | None = None
        self._checked = False

    # ---- opening and closing ---------------------------------------------------------
    async def start(self) -> None:
        """Open one endpoint client per model and the sandbox slots. :meth:`run` does this
        itself; a server calls it once, then :meth:`run_problem` per request, then
        :meth:`close`."""
        if self._slots is None:
            self._slots = _Slots(asyncio.Semaphore(self.options.workers()))
            self._clients = {m: EndpointClient(self.endpoints[m]) for m in self.plan.models}

    async def close(self) -> None:
        """Close the endpoint clients, adding their request and retry counts to the stats."""
        clients, self._clients = self._clients, {}
        for model, client in clients.items():
            self.stats.requests += client.requests
            self.stats.retries += client.retries
            if client.n_note is not None:
                self.stats.n_notes[model] = client.n_note
            await client.close()
        if self._slots is not None:
            self.stats.sandbox_queue_s = self._slots.queue_s
        self._slots = None
        self._checked = False

    def client(self, model: str) -> EndpointClient:
        """The open client of one of the plan's models (after :meth:`start`)."""
        if model not in self._clients:
            raise KeyError(f"no open client for {model!r}; call start() first")
        return self._clients[model]

    async def preflight(self) -> dict[str, EndpointCheck]:
        """The pre-flight check of every endpoint of the plan (after :meth:`start`); ``n``
        is probed where a stage samples with it. Raises
        :class:`~planner.runtime.preflight.PreflightError` naming each failing endpoint."""
        sampled = {s.model for s in self.plan.stages if s.option.k >= 2}
        checks = await preflight_clients(self._clients, probe_n=sampled)
        self.stats.checks.update(checks)
        self._checked = True
        return checks

    # ---- the run -------------------------------------------------------------------
    async def run(self, problems: Sequence[Problem], writer: RecordWriter,
                  on_record: Callable[[ProblemRecord], None] | None = None) -> RunStats:
        """Run every problem, appending each record to ``writer`` as soon as it is done
        (after the pre-flight check, when :attr:`RunOptions.preflight` and it has not been
        done since :meth:`start`)."""
        started = time.perf_counter()
        await self.start()
        if self.options.preflight and problems and not self._checked:
            try:
                await self.preflight()
            except BaseException:
                await self.close()
                raise
        queue: asyncio.Queue[Problem] = asyncio.Queue()
        for problem in problems:
            queue.put_nowait(problem)

        async def worker() -> None:
            while True:
                try:
                    problem = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                record = await self.run_problem(problem)
                writer.write(record)
                self.stats.problems += 1
                self.stats.unfinished += not record.finished
                self.stats.degraded += record.degraded
                if on_record is not None:
                    on_record(record)

        workers = [asyncio.create_task(worker())
                   for _ in range(max(1, min(self.options.concurrency, len(problems))))]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            await self.close()
            self.stats.wall_s = time.perf_counter() - started
        return self.stats

    async def run_problem(self, problem: Problem,
                          on_stage: Callable[[StageRecord], None] | None = None
                          ) -> ProblemRecord:
        """All stages of the plan for one problem, and the ground-truth check.

        ``on_stage`` is called with each stage's record as soon as the stage has decided,
        so a caller that cancels the problem mid-way still holds the finished stages.
        """
        started = time.perf_counter()
        started_at = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        stages: list[StageRecord] = []
        answer: AnswerRecord | None = None
        failure: str | None = None
        for i, stage in enumerate(self.plan.stages):
            record = await self._run_stage(i, stage, problem, stages)
            stages.append(record)
            if on_stage is not None:
                on_stage(record)
            self.stats.generation_s += record.generation_s
            self.stats.sandbox_s += record.sandbox_s
            if record.decision is Decision.FAILED:
                failure = failure or f"{stage.model}: {record.failure}"
                if self.options.on_failure is OnFailure.STOP:
                    break
                continue
            if record.decision.answers:
                answer = AnswerRecord(stage.model, i, record.solutions[record.chosen].code)
                break
        if answer is None and failure is not None:
            answer = _last_usable(stages)
        latency = time.perf_counter() - started
        if answer is None and failure is not None:
            correct, verdict, check_s = None, None, 0.0  # not the models' doing: no verdict
        else:
            correct, verdict, check_s = await self._check(problem, answer)
        self.stats.sandbox_s += check_s
        return ProblemRecord(
            task_id=problem.task_id,
            prompt=problem.prompt,
            entry_point=problem.entry_point,
            spec_hash=self.spec_hash,
            stages=tuple(stages),
            answer=answer,
            correct=correct,
            cost=math.fsum(s.cost for s in stages),
            latency_s=latency,
            billed_cost=math.fsum(s.billed_cost for s in stages),
            correct_verdict=verdict,
            started_at=started_at,
            error=None if answer is not None else "no stage produced a usable solution",
            failure=failure,
            degraded=failure is not None and answer is not None,
        )

    # ---- one stage -----------------------------------------------------------------
    async def _run_stage(self, index: int, stage: Stage, problem: Problem,
                         earlier: list[StageRecord]) -> StageRecord:
        opt = stage.option
        ep = self.endpoints[stage.model]
        client = self._clients[stage.model]
        last = index == len(self.plan.stages) - 1
        started = time.perf_counter()
        greedy = opt.k <= 1
        n_solutions = opt.k if opt.k >= 2 else 1
        n_tests = 0 if opt.k == 0 or opt.l == 0 else (1 if opt.k == 1 else opt.t)
        sol_request = client.generate(
            solution_prompt(ep, problem.prompt, problem.entry_point), n_solutions,
            greedy=greedy, max_tokens=ep.max_tokens)
        test_request = client.generate(
            test_prompt(ep, problem.prompt, problem.entry_point, opt.l), n_tests,
            greedy=greedy, max_tokens=ep.test_max_tokens)
        try:
            sol_gens, test_gens = await asyncio.gather(sol_request, test_request)
        except EndpointDown as exc:
            if (self.options.on_failure is OnFailure.STOP
                    or exc.failure.kind.misconfiguration):
                raise
            return _failed_stage(stage, str(exc), str(exc.failure.kind),
                                 time.perf_counter() - started)
        generation_s = time.perf_counter() - started
        self.stats.generation_errors += sum(g.error is not None for g in (*sol_gens, *test_gens))

        solutions = tuple(solution_record(g, problem, ep, greedy) for g in sol_gens)
        tests = tuple(test_record(g, ep, greedy) for g in test_gens)
        failed = next((g for g in (*sol_gens, *test_gens) if g.failure is not None), None)
        if failed is not None:
            cost, billed = _stage_cost(ep, solutions, tests, opt.l)
            return _failed_stage(stage, failed.error or "", str(failed.failure),
                                 time.perf_counter() - started, solutions, tests, cost, billed,
                                 generation_s)
        informative = None if counts_every_line(opt.rule) else problem.entry_point
        columns = _own_columns(index, tests, opt.l, informative)
        if opt.share_tests:
            for s, prev in enumerate(earlier):
                columns += _own_columns(s, prev.tests, prev.l, informative)
        column_text = [_line_text(earlier, index, tests, c) for c in columns]

        usable = [i for i, s in enumerate(solutions) if s.code]
        execution = GridResult.empty(len(usable), 0)
        if usable and columns and opt.k >= 1:
            execution = await self._execute(GridJob(
                tuple(solutions[i].code for i in usable), tuple(column_text), problem.preamble))
        passed = np.zeros((len(solutions), len(columns)), dtype=bool)
        verdicts = [["no_code"] * len(columns) for _ in solutions]
        if execution.shape[1]:
            executed_passed, executed_verdicts = execution.passed, execution.verdicts.tolist()
            for row, i in enumerate(usable):
                passed[i] = executed_passed[row]
                verdicts[i] = executed_verdicts[row]

        if not usable:
            chosen = usable[-1] if usable else len(solutions) - 1
            score, scale, accepted = 0.0, 0.0, False
            decision = Decision.ERROR
        elif opt.k == 0:
            chosen, score, scale, accepted = usable[0], 0.0, 0.0, True
            decision = Decision.ANSWER if last else Decision.ACCEPT
        else:
            chosen, score, scale = select_solution(passed, opt.rule)
            accepted = bool(accepts(score, scale, opt.theta))
            if not solutions[chosen].code:
                chosen = usable[-1]
            decision = (Decision.ANSWER if last else
                        Decision.ACCEPT if accepted else Decision.ESCALATE)

        cost, billed = _stage_cost(ep, solutions, tests, opt.l)
        return StageRecord(
            model=stage.model, k=opt.k, t=opt.t, l=opt.l, theta=opt.theta, rule=opt.rule,
            share_tests=opt.share_tests, solutions=solutions, tests=tests,
            test_columns=tuple(columns),
            verdicts=tuple(tuple(v) for v in verdicts),
            chosen=int(chosen), score=float(score), scale=float(scale), accepted=accepted,
            decision=decision, cost=cost, billed_cost=billed,
            latency_s=time.perf_counter() - started, generation_s=generation_s,
            sandbox_s=execution.seconds, sandbox_level=execution.level,
        )

    async def _execute(self, job: GridJob) -> GridResult:
        assert self._slots is not None
        waited = time.perf_counter()
        async with self._slots.semaphore:
            self._slots.queue_s += time.perf_counter() - waited
            return await asyncio.to_thread(run_one, self.executor, job)

    async def _check(self, problem: Problem,
                     answer: AnswerRecord | None) -> tuple[bool | None, str | None, float]:
        """Ground-truth verdict of the answer (None without ground truth)."""
        program = problem.ground_truth_test
        if program is None:
            return None, None, 0.0
        if answer is None or not answer.text:
            return False, "no_answer", 0.0
        assert self._slots is not None
        async with self._slots.semaphore:
            execution = await asyncio.to_thread(run_one, self.executor, GridJob(
                (answer.text,), (program,), problem.preamble, check=True))
        return bool(execution.passed[0, 0]), str(execution.verdicts[0, 0]), execution.seconds


def _failed_stage(stage: Stage, cause: str, kind: str, latency: float,
                  solutions: tuple[SolutionRecord, ...] = (), tests: tuple[TestRecord, ...] = (),
                  cost: float = 0.0, billed: float = 0.0, generation_s: float | None = None
                  ) -> StageRecord:
    """The record of a stage whose endpoint failed: no verdicts, no decision."""
    opt = stage.option
    return StageRecord(
        model=stage.model, k=opt.k, t=opt.t, l=opt.l, theta=opt.theta, rule=opt.rule,
        share_tests=opt.share_tests, solutions=solutions, tests=tests, test_columns=(),
        verdicts=tuple(() for _ in solutions), chosen=0, score=0.0, scale=0.0,
        accepted=False, decision=Decision.FAILED, cost=cost, billed_cost=billed,
        latency_s=latency, generation_s=latency if generation_s is None else generation_s,
        sandbox_s=0.0, failure=cause, failure_kind=kind)


def _last_usable(stages: Sequence[StageRecord]) -> AnswerRecord | None:
    """The degraded answer: the chosen solution of the last stage that scored usable
    solutions and escalated (None when there is none)."""
    for i in range(len(stages) - 1, -1, -1):
        s = stages[i]
        if s.decision is Decision.ESCALATE and s.solutions[s.chosen].code:
            return AnswerRecord(s.model, i, s.solutions[s.chosen].code)
    return None


def _own_columns(stage: int, tests: Sequence[TestRecord], l: int,  # noqa: E741
                 informative: str | None = None) -> list[tuple[int, int, int]]:
    """(stage, generation, line) of the test lines a stage generated: the first ``l`` lines
    of each of its test generations that start with ``assert``; with ``informative`` (the
    function under test) only those that can fail (:func:`planner.testlines.solution_independent`:
    the project's own scoring rules; the paper rule counts raw lines)."""
    return [(stage, j, i) for j, t in enumerate(tests) for i, line in enumerate(t.lines[:l])
            if is_test_line(line)
            and (informative is None or not solution_independent(line, informative))]


def _line_text(earlier: Sequence[StageRecord], index: int, tests: Sequence[TestRecord],
               column: tuple[int, int, int]) -> str:
    stage, gen, line = column
    source = tests if stage == index else earlier[stage].tests
    return source[gen].lines[line]


def _stage_cost(ep: Endpoint, solutions: Sequence[SolutionRecord],
                tests: Sequence[TestRecord], l: int) -> tuple[float, float]:  # noqa: E741
    """(method cost, billed cost) in $ of one stage."""
    sol_tokens = sum(s.completion_tokens for s in solutions)
    kept = sum(sum(t.line_tokens[:l]) for t in tests)
    every = sum(t.completion_tokens for t in tests)
    prompt = sum(s.prompt_tokens for s in solutions) + sum(t.prompt_tokens for t in tests)
    paid_prompt = ep.price_prompt * prompt
    return (ep.price_generated * (sol_tokens + kept) + paid_prompt,
            ep.price_generated * (sol_tokens + every) + paid_prompt)
