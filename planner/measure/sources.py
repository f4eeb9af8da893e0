"""Readers: each data source becomes :class:`ModelGenerations`, one per model.

A model's generations per problem are its sampled solutions in their recorded order (as
whole programs, ready to run), an optional greedy solution, its test generations split
into line positions (raw lines with per-position token counts), an optional greedy test
generation, and prompt token counts. The readers do not execute anything; every text is
untrusted and only :mod:`planner.measure.build` sends it to the sandbox.

Sources (see ``../shared/data/README.md``): the seed paper's WizardCoder-Python release
(its reader is :mod:`planner.measure.wizardcoder`), CodeT's CodeGen-Mono-16B generations,
the GPT-3.5 / GPT-4 / CodeLlama-34B-Instruct API runs, and the project's own run records
(``codecascade run``).
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CodecascadeError
from ..problems import Problem
from ..testlines import LINE_POSITIONS
from ..tokens import token_counter
from .prices import ModelPrice

CODET_SOURCE = "microsoft/CodeT@35f54d6 (MIT), CodeGen-Mono-16B HumanEval generations"
API_RUNS_SOURCE = "jamesmurdza/humaneval-results@5eac780 (runs of 2023-09-01)"

#: The models in the API runs file, with the name a profile gives them and their counter.
API_MODELS: dict[str, tuple[str, str]] = {
    "gpt-3.5-turbo": ("gpt-3.5-turbo", "cl100k"),
    "gpt-4": ("gpt-4", "cl100k"),
    "codellama-34b-instruct": ("CodeLlama-34B-Instruct", "llama-approx"),
}


class SourceError(CodecascadeError):
    """An input file of a measurement is missing or malformed (one line naming it)."""


@dataclass(frozen=True)
class Sample:
    """One generated solution: the whole program to run, and its generated tokens."""

    program: str
    tokens: int


@dataclass(frozen=True)
class TestGeneration:
    """One generated test block, as its first line positions and their token counts."""

    lines: tuple[str, ...]
    line_tokens: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.line_tokens) != LINE_POSITIONS or len(self.lines) > LINE_POSITIONS:
            raise SourceError(
                f"a test generation has {len(self.lines)} lines / {len(self.line_tokens)} "
                f"token counts; expected at most {LINE_POSITIONS} / exactly {LINE_POSITIONS}")

    @classmethod
    def counted(cls, lines: Sequence[str], count: Callable[[str], int]) -> TestGeneration:
        """A generation whose line tokens are counted one line at a time."""
        kept = tuple(lines[:LINE_POSITIONS])
        tokens = [count(line + "\n") for line in kept]
        return cls(kept, tuple(tokens + [0] * (LINE_POSITIONS - len(kept))))


@dataclass(frozen=True)
class ProblemGenerations:
    """Everything one model generated for one problem."""

    samples: tuple[Sample, ...]
    greedy: Sample | None = None
    tests: tuple[TestGeneration, ...] = ()
    greedy_test: TestGeneration | None = None
    prompt_tokens: int = 0
    test_prompt_tokens: int = 0


@dataclass(frozen=True)
class ModelGenerations:
    """One model's generations on a set of problems (keyed by task id), with provenance.

    ``price`` is the model's price when the source carries it (collected generations carry
    the endpoints file's), else None (the price table prices it); ``details`` are further
    provenance entries of the source (served model name, sampling settings, dates).
    """

    name: str
    problems: Mapping[str, ProblemGenerations]
    samples_per_loop: int = 0
    source: str = ""
    token_counting: str = ""
    input_files: tuple[str, ...] = field(default_factory=tuple)
    price: ModelPrice | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


# ---- helpers ---------------------------------------------------------------------------

def _load_json(path: Path) -> Any:
    if not path.is_file():
        raise SourceError(f"input file not found: {path}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: not valid JSON ({exc})") from None


def _load_jsonl(path: Path) -> list[Any]:
    if not path.is_file():
        raise SourceError(f"input file not found: {path}")
    rows = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise SourceError(f"{path}:{number}: not valid JSON ({exc})") from None
    return rows


def _field(record: Any, name: str, kind: type, where: str) -> Any:
    if not isinstance(record, dict) or name not in record:
        raise SourceError(f"{where}: record lacks the field {name!r}")
    value = record[name]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise SourceError(f"{where}: field {name!r} must be an integer, got {value!r}")
    if kind is str and not isinstance(value, str):
        raise SourceError(f"{where}: field {name!r} must be a string")
    return value


def _loop_files(folder: Path, stem: str) -> list[Path]:
    """``{stem}_l0.json`` … in loop order; the loop indices must be 0..n-1."""
    found: dict[int, Path] = {}
    for path in folder.glob(f"{stem}_l*.json"):
        suffix = path.stem.removeprefix(f"{stem}_l")
        if suffix.isdigit():
            found[int(suffix)] = path
    if not found:
        raise SourceError(f"no files {stem}_l*.json in {folder}")
    if sorted(found) != list(range(len(found))):
        raise SourceError(f"{folder}: loop files {stem}_l* are not numbered 0..{len(found) - 1}")
    return [found[i] for i in range(len(found))]


def _by_number(records: Any, path: Path, n_problems: int, per_problem: int
               ) -> dict[int, dict[int, dict[str, Any]]]:
    """Records of one loop file grouped as number -> pass -> record, fully checked."""
    if not isinstance(records, list):
        raise SourceError(f"{path}: expected a JSON list of records")
    grouped: dict[int, dict[int, dict[str, Any]]] = {}
    for i, rec in enumerate(records):
        where = f"{path}[{i}]"
        number = _field(rec, "number", int, where)
        index = _field(rec, "pass", int, where) if per_problem > 1 else 0
        if not 0 <= number < n_problems:
            raise SourceError(f"{where}: problem number {number} outside 0..{n_problems - 1}")
        if not 0 <= index < per_problem:
            raise SourceError(f"{where}: sample index {index} outside 0..{per_problem - 1}")
        if index in grouped.setdefault(number, {}):
            raise SourceError(f"{where}: duplicate record for problem {number} sample {index}")
        grouped[number][index] = rec
    for number, by_index in grouped.items():
        if len(by_index) != per_problem:
            raise SourceError(f"{path}: problem {number} has {len(by_index)} records, "
                              f"expected {per_problem}")
    return grouped


# ---- CodeT: CodeGen-Mono-16B ------------------------------------------------------------

CODET_SOLUTIONS = "HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.jsonl"
CODET_TESTS = "HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_test_case.jsonl"
CODET_CODE_PROMPTS = "HumanEval_for_code_generation.jsonl"
CODET_TEST_PROMPTS = "HumanEval_for_test_case_generation.jsonl"

_ASSERT_SPLIT = re.compile(r"\bassert\b")


def codet_test_lines(completion: str) -> list[str]:
    """CodeT test generations continue a prompt ending in ``assert ``: put it back, split on
    the ``assert`` keyword, and keep the first non-empty line of each piece as one
    ``assert …`` line (what follows it on later lines is the model wandering off into other
    code, which is not part of that assert)."""
    lines = []
    for piece in _ASSERT_SPLIT.split("assert " + completion):
        first = piece.strip().split("\n", 1)[0].strip()
        if first:
            lines.append(f"assert {first}")
    return lines


@dataclass(frozen=True)
class CodetProblem:
    """CodeGen-Mono-16B's recordings of one problem in CodeT's files: the code prompt, each
    solution completion with its tokens, each test generation as its ``assert`` lines
    (:func:`codet_test_lines`) with their tokens (one line at a time, newline included),
    and the test prompt."""

    prompt: str
    solutions: tuple[tuple[str, int], ...]
    tests: tuple[tuple[tuple[str, ...], tuple[int, ...]], ...]
    test_prompt: str = ""


def load_codet(folder: str | os.PathLike[str], problems: Sequence[Problem]
               ) -> tuple[dict[str, CodetProblem], tuple[str, ...]]:
    """CodeGen-Mono-16B's recordings of ``problems`` (by task id; lines are joined to
    problems by their prompt text) and the input files; tokens are counted with the
    ``codegen-approx`` counter. The profile builder (:func:`read_codet`) and the replay
    server read CodeT through this one function, so both count the same tokens."""
    root = Path(folder)
    count = token_counter("codegen-approx")
    paths = [root / f for f in (CODET_SOLUTIONS, CODET_TESTS, CODET_CODE_PROMPTS,
                                CODET_TEST_PROMPTS)]
    solutions, tests, code_prompts, test_prompts = (_load_jsonl(p) for p in paths)
    task_of_code_prompt = {_field(r, "prompt", str, str(paths[2])):
                           _field(r, "task_id", str, str(paths[2])) for r in code_prompts}
    task_of_test_prompt = {_field(r, "prompt", str, str(paths[3])):
                           _field(r, "task_id", str, str(paths[3])) for r in test_prompts}

    def join(rows: list[Any], lookup: dict[str, str], path: Path) -> dict[str, dict[str, Any]]:
        joined: dict[str, dict[str, Any]] = {}
        for i, row in enumerate(rows):
            where = f"{path}:{i + 1}"
            task = lookup.get(_field(row, "prompt", str, where))
            if task is None:
                raise SourceError(f"{where}: its prompt matches no prompt file entry")
            samples = _field(row, "samples", list, where)
            if not all(isinstance(s, str) for s in samples):
                raise SourceError(f"{where}: samples must be strings")
            joined[task] = row
        return joined

    solution_rows = join(solutions, task_of_code_prompt, paths[0])
    test_rows = join(tests, task_of_test_prompt, paths[1])
    recordings: dict[str, CodetProblem] = {}
    for problem in problems:
        row = solution_rows.get(problem.task_id)
        if row is None:
            continue
        trow = test_rows.get(problem.task_id)
        test_gens = []
        for sample in (trow["samples"] if trow else []):
            lines = tuple(codet_test_lines(sample))
            test_gens.append((lines, tuple(count(line + "\n") for line in lines)))
        recordings[problem.task_id] = CodetProblem(
            prompt=row["prompt"], solutions=tuple((s, count(s)) for s in row["samples"]),
            tests=tuple(test_gens), test_prompt=trow["prompt"] if trow else "")
    return recordings, tuple(str(p) for p in paths)


def read_codet(folder: str | os.PathLike[str], problems: Sequence[Problem],
               name: str = "CodeGen-Mono-16B") -> ModelGenerations:
    """CodeGen-Mono-16B from CodeT: 100 solutions and 100 test generations per problem
    (:func:`load_codet`). No greedy outputs exist. Tokens are counted with the
    ``codegen-approx`` counter (solutions: the completion only)."""
    count = token_counter("codegen-approx")
    recordings, inputs = load_codet(folder, problems)
    generations: dict[str, ProblemGenerations] = {}
    for task, rec in recordings.items():
        generations[task] = ProblemGenerations(
            samples=tuple(Sample(rec.prompt + text, tokens) for text, tokens in rec.solutions),
            tests=tuple(TestGeneration(lines[:LINE_POSITIONS], tokens[:LINE_POSITIONS]
                                       + (0,) * max(0, LINE_POSITIONS - len(tokens)))
                        for lines, tokens in rec.tests),
            prompt_tokens=count(rec.prompt),
            test_prompt_tokens=count(rec.test_prompt) if rec.test_prompt else 0,
        )
    return ModelGenerations(
        name=name, problems=generations, samples_per_loop=10, source=CODET_SOURCE,
        token_counting="codegen-approx (cl100k BPE with CodeGen whitespace-run tokens)",
        input_files=inputs,
    )


# ---- GPT-3.5 / GPT-4 / CodeLlama-34B-Instruct API runs ----------------------------------

def read_api_runs(path: str | os.PathLike[str], model: str, problems: Sequence[Problem],
                  name: str | None = None) -> ModelGenerations:
    """One model of ``runs.jsonl`` (``gpt-3.5-turbo``, ``gpt-4``, ``codellama-34b-instruct``).

    Each run is one sample (index = run - 1). The answers are whole functions, run after the
    problem's preamble (the WizardCoder imports plus the prompt's own import lines). The
    stored ``passed`` is ignored. Tokens: cl100k (GPT) or llama-approx (CodeLlama) of the
    code, which misses any chat text around it; prompt tokens count the HumanEval prompt
    alone (a lower bound).
    """
    if model not in API_MODELS:
        raise SourceError(f"unknown API-run model {model!r}; known: {', '.join(API_MODELS)}")
    display, counter_name = API_MODELS[model]
    count = token_counter(counter_name)
    file = Path(path)
    by_task: dict[str, dict[int, str]] = {}
    for i, row in enumerate(_load_jsonl(file)):
        where = f"{file}:{i + 1}"
        if _field(row, "model", str, where) != model:
            continue
        run = _field(row, "run", int, where)
        task = _field(row, "task_id", str, where)
        if run < 1:
            raise SourceError(f"{where}: run numbers start at 1, got {run}")
        if run in by_task.setdefault(task, {}):
            raise SourceError(f"{where}: duplicate run {run} of {task}")
        by_task[task][run] = _field(row, "code", str, where)
    if not by_task:
        raise SourceError(f"{file}: no runs of model {model!r}")
    generations: dict[str, ProblemGenerations] = {}
    for problem in problems:
        runs = by_task.get(problem.task_id)
        if not runs:
            continue
        if sorted(runs) != list(range(1, len(runs) + 1)):
            raise SourceError(f"{file}: runs of {problem.task_id} are not numbered 1..n")
        generations[problem.task_id] = ProblemGenerations(
            samples=tuple(Sample(f"{problem.preamble}\n{runs[r]}", count(runs[r]))
                          for r in sorted(runs)),
            prompt_tokens=count(problem.prompt),
        )
    return ModelGenerations(
        name=name or display, problems=generations, samples_per_loop=0,
        source=API_RUNS_SOURCE, token_counting=f"{counter_name} of the code",
        input_files=(str(file),),
    )


# ---- the project's own run records ------------------------------------------------------

def read_run_records(paths: Iterable[str | os.PathLike[str]], problems: Sequence[Problem],
                     warn: Callable[[str], None] | None = None) -> list[ModelGenerations]:
    """Models measured by ``codecascade run`` (format ``codecascade-record/1``, read with
    :func:`planner.records.latest_records`: a record appended by ``--resume`` supersedes the
    one before it).

    Every stage of every record contributes that model's solutions (program = preamble +
    the prompt's imports + the extracted ``code``), its greedy solution, and its test
    generations (the recorded ``lines`` and ``line_tokens``, first five positions). A
    generation that failed (an endpoint failure: no text came back) is not a sample of the
    model and is left out; a model left with no generation at all is left out with a
    warning, and :class:`SourceError` (one line) says so when nothing usable is left.
    Token counts are the endpoint's ``completion_tokens``; the prompt tokens are one
    request's; the provenance says how many counts were apportioned by characters
    (``tokens_estimated``). A task id absent from ``problems`` is an error.
    """
    from ..records import latest_records

    warn = warn or (lambda message: None)
    known = {p.task_id: p for p in problems}
    collected: dict[str, dict[str, dict[str, Any]]] = {}
    counts: dict[str, Counter[str]] = {}
    files = [str(path) for path in paths]
    n_records = 0
    for path in files:
        for record in latest_records(path).values():
            n_records += 1
            problem = known.get(record.task_id)
            if problem is None:
                raise SourceError(f"{path}: record for {record.task_id!r}, which is not in "
                                  f"the problems file")
            for stage in record.stages:
                count = counts.setdefault(stage.model, Counter())
                acc = collected.setdefault(stage.model, {}).setdefault(
                    record.task_id, {"samples": [], "greedy": None, "tests": [],
                                     "greedy_test": None, "prompt_tokens": 0,
                                     "test_prompt_tokens": 0})
                for sol in stage.solutions:
                    if sol.failed:
                        count["failed"] += 1
                        continue
                    count["used"] += 1
                    count["estimated"] += sol.tokens_estimated
                    sample = Sample(f"{problem.preamble}\n{sol.code}", int(sol.completion_tokens))
                    acc["prompt_tokens"] = max(acc["prompt_tokens"], int(sol.prompt_tokens))
                    if sol.greedy:
                        acc["greedy"] = sample
                    else:
                        acc["samples"].append(sample)
                for test in stage.tests:
                    if test.failed:
                        count["failed"] += 1
                        continue
                    count["used"] += 1
                    count["estimated"] += test.tokens_estimated
                    lines = tuple(test.lines[:LINE_POSITIONS])
                    tokens = [int(x) for x in test.line_tokens[:LINE_POSITIONS]]
                    gen = TestGeneration(lines, tuple(tokens + [0] * (LINE_POSITIONS
                                                                      - len(tokens))))
                    acc["test_prompt_tokens"] = max(acc["test_prompt_tokens"],
                                                    int(test.prompt_tokens))
                    if test.greedy:
                        acc["greedy_test"] = gen
                    else:
                        acc["tests"].append(gen)
    if not n_records:
        raise SourceError(f"no records in {', '.join(files)}")
    usable = [m for m in collected if counts[m]["used"]]
    for model in collected:
        if model not in usable:
            warn(f"{model}: every one of its {counts[model]['failed']} generations in the "
                 "records failed (endpoint failures, not the model's); left out")
    if not usable:
        raise SourceError(f"no usable generations in {', '.join(files)}: every generation "
                          "failed (endpoint failures, not the model's); fix the endpoints and "
                          "run again with --resume")
    return [
        ModelGenerations(
            name=model,
            problems={task: ProblemGenerations(
                samples=tuple(a["samples"]), greedy=a["greedy"], tests=tuple(a["tests"]),
                greedy_test=a["greedy_test"], prompt_tokens=a["prompt_tokens"],
                test_prompt_tokens=a["test_prompt_tokens"])
                for task, a in collected[model].items()
                if a["samples"] or a["greedy"] is not None or a["tests"]
                or a["greedy_test"] is not None},
            samples_per_loop=0, source="codecascade run records",
            token_counting=_run_token_counting(counts[model]),
            input_files=tuple(files),
            details={"generations": counts[model]["used"],
                     "infrastructure_failures_skipped": counts[model]["failed"],
                     "token_counts_estimated": counts[model]["estimated"]})
        for model in usable
    ]


def _run_token_counting(count: Counter[str]) -> str:
    """How the token counts of a model's run records were counted, in words."""
    used, estimated = count["used"], count["estimated"]
    if not estimated:
        return ("reported by the endpoint (usage; per line from logprobs tokens): "
                f"all {used} generations exact")
    if estimated == used:
        return ("estimated from characters (the endpoint reported only request totals, or "
                f"no usage): all {used} generations (tokens_estimated)")
    return (f"reported by the endpoint for {used - estimated} of {used} generations; "
            f"{estimated} estimated from characters (tokens_estimated)")
