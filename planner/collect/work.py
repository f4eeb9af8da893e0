"""What a collection asks for: the wanted generations per model and problem, what an
existing generations file already holds, and the batches still missing.

A *batch* is one (model, problem) pair and the generations it still needs: the greedy
solution, the greedy test generation, ``samples`` sampled solutions and ``tests`` sampled
test generations. Generations already in the file (rows without an infrastructure error,
:attr:`planner.records.CollectedRecord.have`) are never asked for again, so a killed and
restarted collection requests only what is missing, and a collection with more samples or
problems requests only the new ones.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import fields
from ..errors import CodecascadeError, FieldError
from ..problems import Problem
from ..records import CollectedRecord, EndpointInfo, Have, read_collected
from .identity import prompt_sha256


class CollectError(CodecascadeError, ValueError):
    """A collection cannot start as asked (options, output file, resume mismatch); one
    line."""


class CollectFieldError(CollectError, FieldError):
    """A bad value of a collection option, naming its field."""


@dataclass(frozen=True)
class Want:
    """Generations wanted per (model, problem): the greedy solution and greedy test
    generation (one each) and ``samples`` / ``tests`` sampled ones."""

    samples: int = 10
    tests: int = 10

    def __post_init__(self) -> None:
        for name in ("samples", "tests"):
            object.__setattr__(self, name, fields.whole(getattr(self, name), name, least=0,
                                                        error=CollectFieldError))

    @property
    def per_pair(self) -> int:
        """Generations per (model, problem), greedy ones included."""
        return 2 + self.samples + self.tests

    def missing(self, have: Have) -> Have:
        """What is still needed when ``have`` is already collected."""
        return Have(greedy_solution=max(0, 1 - have.greedy_solution),
                    greedy_test=max(0, 1 - have.greedy_test),
                    samples=max(0, self.samples - have.samples),
                    tests=max(0, self.tests - have.tests))


@dataclass(frozen=True)
class Batch:
    """One (model, problem) pair and the generations still to ask for."""

    model: str
    problem: Problem
    need: Have


@dataclass
class Existing:
    """What a generations file already holds: usable generations per (model, task id), the
    endpoint information of each model, the file's recorded cost and lines."""

    have: dict[tuple[str, str], Have] = field(default_factory=dict)
    endpoints: dict[str, EndpointInfo] = field(default_factory=dict)
    prompts: dict[str, str] = field(default_factory=dict)
    cost: float = 0.0
    lines: int = 0


def read_existing(path: str | os.PathLike[str],
                  warn: Callable[[str], None] | None = None) -> Existing:
    """Read a generations file to resume it (a partial last line is reported to ``warn``
    and will be cut off by the writer). Lines of one model must agree on the endpoint and
    lines of one task on the prompt; :class:`CollectError` names the first line that does
    not."""
    warn = warn or (lambda message: print(f"warning: {message}", file=sys.stderr))
    existing = Existing()

    def partial(number: int) -> None:
        warn(f"{path}:{number}: the last line is incomplete (a collection killed mid-write); "
             "ignoring it")

    for number, record in read_collected(path, on_partial=partial):
        _check_consistent(existing, record, f"{path}:{number}")
        key = (record.model, record.task_id)
        existing.have[key] = existing.have.get(key, Have()) + record.have
        existing.cost += record.cost
        existing.lines += 1
    return existing


def _check_consistent(existing: Existing, record: CollectedRecord, where: str) -> None:
    seen = existing.endpoints.setdefault(record.model, record.endpoint)
    if seen != record.endpoint:
        raise CollectError(
            f"{where}: model {record.model!r} was collected differently from an earlier line "
            f"({'; '.join(record.endpoint.differences(seen))}); the file mixes samplings")
    if existing.prompts.setdefault(record.task_id, record.prompt_sha256) != record.prompt_sha256:
        raise CollectError(f"{where}: task {record.task_id!r} was collected for a different "
                           "prompt than on an earlier line")


def check_resumable(existing: Existing, infos: dict[str, EndpointInfo],
                    problems: Sequence[Problem], path: Path, *, allow_mixed: bool = False,
                    warn: Callable[[str], None] | None = None) -> None:
    """Resuming ``path`` must use the same endpoints and sampling for every model it already
    holds, and the same prompt for every problem; :class:`CollectError` naming the first
    difference, or with ``allow_mixed`` a warning per difference."""
    problems_found = []
    for model, info in infos.items():
        if model in existing.endpoints:
            recorded = existing.endpoints[model]
            if recorded != info:
                problems_found.append(
                    f"{path} holds {model!r} collected differently "
                    f"({'; '.join(recorded.differences(info))}, recorded vs the endpoints "
                    "file)")
    for problem in problems:
        recorded_prompt = existing.prompts.get(problem.task_id)
        if recorded_prompt is not None and recorded_prompt != prompt_sha256(problem):
            problems_found.append(f"{path} holds {problem.task_id!r} collected for a "
                                  "different prompt than the problems file gives")
    for message in problems_found:
        if not allow_mixed:
            raise CollectError(f"{message}; collect into a new file, or pass --allow-mixed "
                               "to add to it anyway")
        (warn or _stderr)(f"{message} (adding to it: --allow-mixed)")


def _stderr(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def missing_batches(models: Sequence[str], problems: Sequence[Problem], want: Want,
                    existing: Existing | None = None) -> list[Batch]:
    """The batches still needed, model by model (in the given order), problems in order."""
    have = existing.have if existing is not None else {}
    batches = []
    for model in models:
        for problem in problems:
            need = want.missing(have.get((model, problem.task_id), Have()))
            if need.total:
                batches.append(Batch(model, problem, need))
    return batches
