"""Reading collected generations (``codecascade collect``) into the profile builder's form.

Every line of a generations file (:mod:`planner.records.collected`) is one model's batch on
one problem; lines of one (model, problem) join in file order, across files in the order
given. A model's samples are its sampled solutions without an infrastructure error (program
= the problem's preamble + the extracted ``code``; an empty ``code`` is the model's own
failure and stays a failing sample), its greedy solution the first greedy one, its test
generations the first :data:`~planner.testlines.LINE_POSITIONS` recorded ``lines`` with
their ``line_tokens``. Token counts are the endpoint's reported usage; prompt tokens are one
request's.

What is refused (one line naming the file and line), unless ``allow_mixed``: lines of one
model collected from different endpoints or with a different sampling setting
(:class:`~planner.records.EndpointInfo`), a problem whose prompt differs from the one
collected, and, when an endpoints file is given, a model it lacks or describes differently.
Prices come from the endpoints file when one is given, else from the lines (the latest line
of each model). A truncated last line is skipped with a warning.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..collect.identity import endpoint_info, prompt_sha256
from ..problems import Problem
from ..records import CollectedRecord, EndpointInfo, read_collected
from ..runtime.endpoints import Endpoint, load_endpoints
from ..testlines import LINE_POSITIONS
from .prices import ModelPrice
from .sources import ModelGenerations, ProblemGenerations, Sample, SourceError, TestGeneration

COLLECTED_SOURCE = "codecascade collect"


@dataclass
class _Pair:
    """One (model, problem) being joined from its lines."""

    samples: list[Sample] = field(default_factory=list)
    greedy: Sample | None = None
    tests: list[TestGeneration] = field(default_factory=list)
    greedy_test: TestGeneration | None = None
    prompt_tokens: int = 0
    test_prompt_tokens: int = 0


@dataclass
class _Model:
    """One model being joined: its pairs, how it was asked, its price, dates, counts."""

    endpoint: EndpointInfo
    where: str
    price: tuple[float, float] = (0.0, 0.0)
    pairs: dict[str, _Pair] = field(default_factory=dict)
    first: str = ""
    last: str = ""
    lines: int = 0
    failures: int = 0
    estimated: int = 0
    generations: int = 0
    order: tuple[str, ...] = ()


def _test_generation(lines: Sequence[str], tokens: Sequence[int]) -> TestGeneration:
    kept = tuple(lines[:LINE_POSITIONS])
    counts = [int(x) for x in tokens[:LINE_POSITIONS]]
    return TestGeneration(kept, tuple(counts + [0] * (LINE_POSITIONS - len(counts))))


def _add(model: _Model, record: CollectedRecord, problem: Problem) -> None:
    pair = model.pairs.setdefault(record.task_id, _Pair())
    for sol in record.solutions:
        if sol.error is not None:
            continue
        sample = Sample(f"{problem.preamble}\n{sol.code}", int(sol.completion_tokens))
        pair.prompt_tokens = max(pair.prompt_tokens, int(sol.prompt_tokens))
        model.estimated += sol.tokens_estimated
        model.generations += 1
        if not sol.greedy:
            pair.samples.append(sample)
        elif pair.greedy is None:
            pair.greedy = sample
    for test in record.tests:
        if test.error is not None:
            continue
        gen = _test_generation(test.lines, test.line_tokens)
        pair.test_prompt_tokens = max(pair.test_prompt_tokens, int(test.prompt_tokens))
        model.estimated += test.tokens_estimated
        model.generations += 1
        if not test.greedy:
            pair.tests.append(gen)
        elif pair.greedy_test is None:
            pair.greedy_test = gen
    model.failures += len(record.failures)
    model.lines += 1
    model.price = (record.price_per_1m_generated, record.price_per_1m_prompt)
    model.first = min(model.first or record.started_at, record.started_at)
    model.last = max(model.last, record.finished_at)


@dataclass(frozen=True)
class Collected:
    """The models of some generations files, ready for the builder, and what the reader
    noticed: (model, problem) pairs with fewer generations than the model's others."""

    models: tuple[ModelGenerations, ...]
    incomplete: tuple[tuple[str, str], ...]


def read_generations(paths: Sequence[str | os.PathLike[str]], problems: Sequence[Problem], *,
                     endpoints: str | os.PathLike[str] | None = None,
                     allow_mixed: bool = False,
                     warn: Callable[[str], None] | None = None) -> Collected:
    """The models of the generations files ``paths`` on ``problems`` (module docstring).

    ``endpoints`` (an endpoints file) orders the models as it lists them, prices them and
    must describe each as it was collected. ``warn`` receives one-line warnings (a
    truncated last line, mixed inputs accepted by ``allow_mixed``). Raises
    :class:`SourceError` (one line) for a generations file that cannot be used.
    """
    warn = warn or (lambda message: None)
    known = {p.task_id: p for p in problems}
    models: dict[str, _Model] = {}
    files = [str(p) for p in paths]
    for path in files:
        def partial(number: int, path: str = path) -> None:
            warn(f"{path}:{number}: the last line is incomplete (a collection killed "
                 "mid-write); ignoring it")

        for number, record in read_collected(path, on_partial=partial):
            where = f"{path}:{number}"
            problem = known.get(record.task_id)
            if problem is None:
                raise SourceError(f"{where}: generations for {record.task_id!r}, which is not "
                                  "in the problems")
            if record.prompt_sha256 != prompt_sha256(problem):
                _mixed(allow_mixed, warn, f"{where}: {record.task_id!r} was collected for a "
                       "different prompt than the problems give (another version of the "
                       "benchmark?)")
            model = models.get(record.model)
            if model is None:
                model = models[record.model] = _Model(record.endpoint, where,
                                                      order=record.models)
            elif record.endpoint != model.endpoint:
                _mixed(allow_mixed, warn, f"{where}: {record.model!r} was collected "
                       f"differently from {model.where} ("
                       f"{'; '.join(record.endpoint.differences(model.endpoint))})")
            _add(model, record, problem)
    if not models:
        raise SourceError(f"no generations in {', '.join(files)}")
    order = _model_order(models)
    served: dict[str, Endpoint] = {}
    if endpoints is not None:
        served = load_endpoints(endpoints)
        order = [m for m in served if m in models] + [m for m in order if m not in served]
        for name in order:
            _check_endpoint(name, models[name], served.get(name), str(endpoints),
                            allow_mixed, warn)
    built = tuple(_generations(name, models[name], served.get(name), files) for name in order)
    incomplete = tuple((g.name, task) for g in built for task in _short(g))
    return Collected(built, incomplete)


def _mixed(allowed: bool, warn: Callable[[str], None], message: str) -> None:
    if not allowed:
        raise SourceError(f"{message}; pass --allow-mixed to use it anyway")
    warn(f"{message} (used: --allow-mixed)")


def _model_order(models: dict[str, _Model]) -> list[str]:
    """The collections' own order (each line lists its collection's models), then first
    appearance."""
    order: dict[str, None] = {}
    for model in models.values():
        order.update((m, None) for m in model.order if m in models)
    order.update((m, None) for m in models)
    return list(order)


def _check_endpoint(name: str, model: _Model, endpoint: Endpoint | None, source: str,
                    allow_mixed: bool, warn: Callable[[str], None]) -> None:
    if endpoint is None:
        _mixed(allow_mixed, warn, f"{model.where}: {name!r} is not in {source} (generations "
               "from other endpoints)")
        return
    now = endpoint_info(endpoint, model.endpoint.test_lines)
    if now != model.endpoint:
        _mixed(allow_mixed, warn, f"{model.where}: {name!r} was collected differently from "
               f"what {source} says ({'; '.join(model.endpoint.differences(now))}, collected "
               "vs now)")


def _generations(name: str, model: _Model, endpoint: Endpoint | None,
                 files: Sequence[str]) -> ModelGenerations:
    priced = endpoint is not None and endpoint.price_per_1m_generated is not None
    per_1m = ((endpoint.price_per_1m_generated, endpoint.price_per_1m_prompt or 0.0)
              if priced and endpoint is not None else model.price)
    where = "the endpoints file" if priced else "the generations file"
    price = ModelPrice(per_1m[0], per_1m[1],
                       source=f"{where} (price_per_1m_generated, price_per_1m_prompt)",
                       date=model.last[:10])
    info = model.endpoint
    details: dict[str, Any] = {
        "served_model": info.model, "base_url": info.base_url, "style": info.style,
        "sampling": {"temperature": info.temperature, "top_p": info.top_p,
                     "max_tokens": info.max_tokens, "test_max_tokens": info.test_max_tokens,
                     "test_lines": info.test_lines, "greedy_temperature": 0.0,
                     "prompts_sha256": info.prompts_sha256},
        "collected": {"first": model.first, "last": model.last, "lines": model.lines,
                      "generations": model.generations,
                      "infrastructure_failures_skipped": model.failures,
                      "token_counts_estimated": model.estimated},
    }
    problems = {task: ProblemGenerations(
        samples=tuple(p.samples), greedy=p.greedy, tests=tuple(p.tests),
        greedy_test=p.greedy_test, prompt_tokens=p.prompt_tokens,
        test_prompt_tokens=p.test_prompt_tokens)
        for task, p in model.pairs.items()}
    return ModelGenerations(
        name=name, problems=problems, samples_per_loop=0,
        source=f"{COLLECTED_SOURCE}: {info.model} at {info.base_url}",
        token_counting="reported by the endpoint (usage; per line from logprobs tokens, or "
                       "apportioned by characters where token_counts_estimated)",
        input_files=tuple(files), price=price, details=details)


def _short(model: ModelGenerations) -> list[str]:
    """Task ids where the model holds fewer generations of a kind than on its fullest
    problem (requests that failed and were not asked again)."""
    gens = list(model.problems.values())
    samples = max(len(g.samples) for g in gens)
    tests = max(len(g.tests) for g in gens)
    greedy = any(g.greedy is not None for g in gens)
    greedy_test = any(g.greedy_test is not None for g in gens)
    return [task for task, g in model.problems.items()
            if len(g.samples) < samples or len(g.tests) < tests
            or (greedy and g.greedy is None) or (greedy_test and g.greedy_test is None)]


def is_generations_file(path: str | os.PathLike[str]) -> bool:
    """True when the first complete line of ``path`` is a ``codecascade-generations/1``
    line (else it is read as run records)."""
    from ..records import GENERATIONS_FORMAT, read_jsonl

    for _, obj in read_jsonl(Path(path), what="records"):
        return isinstance(obj, dict) and obj.get("format") == GENERATIONS_FORMAT
    return False
