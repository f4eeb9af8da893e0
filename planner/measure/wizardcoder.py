"""The seed paper's WizardCoder-Python release: one validated reader for the profile builder
and the replay server.

Layout (``../shared/data/README.md``): ``answer/<size>/<size>_p10_l<loop>.json`` (10 sampled
solutions per problem and loop), ``testcase/<size>/<size>_p10_l<loop>.json`` (10 sampled
test generations), and ``<size>_p0_l0.json`` in each folder (the greedy output). Records
carry ``number`` (HumanEval index), ``pass`` (sample index in the loop), ``answer`` and
token counts: ``num_ids`` for a solution, ``num_ids_2``/``num_ids_4`` (tokens of the first
2 / 4 lines) for a test generation. :func:`load_release` checks every file (numbering,
completeness, field types, consistent counts) and :func:`read_wizardcoder` turns one model
into :class:`~planner.measure.sources.ModelGenerations`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..problems import BASE_IMPORTS, Problem
from ..testlines import raw_lines
from ..tokens import LineTokens, TokenCountError, split_line_tokens, token_counter
from .sources import (
    LINE_POSITIONS,
    ModelGenerations,
    ProblemGenerations,
    Sample,
    SourceError,
    TestGeneration,
    _by_number,
    _field,
    _load_json,
    _loop_files,
)

WIZARDCODER_SOURCE = ("code_cascading_shared (arXiv 2405.15842), "
                      "BoyuanJackChen/code_cascading_shared@f13952b")

#: The sizes of the release, and the sampled outputs per problem in one loop file.
SIZES = ("7B", "13B", "34B")
SAMPLES_PER_LOOP = 10


@dataclass(frozen=True)
class RecordedSolution:
    """A recorded solution: the whole function as generated, and its ``num_ids``."""

    text: str
    tokens: int


@dataclass(frozen=True)
class RecordedTests:
    """A recorded test generation: its text and its tokens per line
    (:func:`planner.tokens.split_line_tokens` of ``num_ids_2``/``num_ids_4``)."""

    text: str
    line_tokens: LineTokens

    @property
    def lines(self) -> list[str]:
        """The raw lines, as line positions count them (:func:`planner.testlines.raw_lines`)."""
        return raw_lines(self.text)


@dataclass(frozen=True)
class ReleaseModel:
    """One model of the release, by HumanEval problem number: samples and test generations
    in sample order (loop * 10 + pass), the greedy outputs and the greedy prompt."""

    size: str
    samples: dict[int, tuple[RecordedSolution, ...]]
    tests: dict[int, tuple[RecordedTests, ...]]
    greedy: dict[int, RecordedSolution]
    greedy_tests: dict[int, RecordedTests]
    greedy_prompts: dict[int, str]
    input_files: tuple[str, ...]


def load_release(folder: str | os.PathLike[str], size: str, n_problems: int) -> ReleaseModel:
    """Read and check one model (``size`` is ``7B``, ``13B`` or ``34B``) of the release for
    problems ``0 .. n_problems - 1``; :class:`SourceError` names the file and record of any
    fault."""
    root = Path(folder)
    answer_dir, test_dir = root / "answer" / size, root / "testcase" / size
    inputs: list[Path] = []

    def loops(folder: Path) -> list[dict[int, dict[int, dict[str, Any]]]]:
        files = _loop_files(folder, f"{size}_p10")
        inputs.extend(files)
        return [_by_number(_load_json(f), f, n_problems, SAMPLES_PER_LOOP) for f in files]

    def single(path: Path) -> dict[int, dict[str, Any]]:
        inputs.append(path)
        return {k: v[0] for k, v in _by_number(_load_json(path), path, n_problems, 1).items()}

    answer_loops = loops(answer_dir)
    test_loops = loops(test_dir)
    for kind, loop_list in (("answer", answer_loops), ("testcase", test_loops)):
        if any(set(loop) != set(loop_list[0]) for loop in loop_list):
            raise SourceError(f"{root}: the {kind} loop files of {size} cover different problems")
    greedy = single(answer_dir / f"{size}_p0_l0.json")
    greedy_tests = single(test_dir / f"{size}_p0_l0.json")

    def solution(rec: dict[str, Any], where: str) -> RecordedSolution:
        return RecordedSolution(_field(rec, "answer", str, where),
                                _field(rec, "num_ids", int, where))

    def tests(rec: dict[str, Any], where: str) -> RecordedTests:
        text = _field(rec, "answer", str, where)
        tokens_2 = _field(rec, "num_ids_2", int, where)
        tokens_4 = _field(rec, "num_ids_4", int, where)
        try:
            split = split_line_tokens(raw_lines(text), tokens_2, tokens_4)
        except TokenCountError as exc:
            raise SourceError(f"{where}: {exc}") from None
        return RecordedTests(text, split)

    def ordered(loop_list: list[dict[int, dict[int, dict[str, Any]]]], number: int,
                make: Any, where: str) -> tuple[Any, ...]:
        return tuple(make(rec, where) for loop in loop_list
                     for _, rec in sorted(loop.get(number, {}).items()))

    numbers = sorted(set(answer_loops[0] if answer_loops else ()) | set(greedy))
    samples, test_gens, prompts = {}, {}, {}
    for number in numbers:
        where = f"{root} {size} problem {number}"
        samples[number] = ordered(answer_loops, number, solution, where)
        test_gens[number] = ordered(test_loops, number, tests, where)
        prompt = greedy.get(number, {}).get("prompt", "")
        prompts[number] = prompt if isinstance(prompt, str) else ""
    return ReleaseModel(
        size=size, samples=samples, tests=test_gens,
        greedy={k: solution(v, f"{root} {size} greedy {k}") for k, v in greedy.items()},
        greedy_tests={k: tests(v, f"{root} {size} greedy {k}") for k, v in greedy_tests.items()},
        greedy_prompts=prompts, input_files=tuple(str(p) for p in inputs))


def read_wizardcoder(folder: str | os.PathLike[str], size: str,
                     problems: Sequence[Problem], name: str | None = None) -> ModelGenerations:
    """One WizardCoder-Python model as generations for the profile builder.

    ``problems`` are the release's HumanEval problems in index order. Sample index = loop *
    10 + pass; programs are :data:`~planner.problems.BASE_IMPORTS` and the answer (the
    paper's harness); token counts are the recorded ``num_ids``; test lines are the first
    :data:`~planner.measure.sources.LINE_POSITIONS` raw lines with their tokens from
    :func:`planner.tokens.split_line_tokens`; prompt tokens of the solution prompt (recorded
    in the greedy file) are approximated with the Llama counter; the test prompt is not
    recorded, so its tokens are 0.
    """
    release = load_release(folder, size, len(problems))
    llama = token_counter("llama-approx")

    def sample(rec: RecordedSolution) -> Sample:
        return Sample(f"{BASE_IMPORTS}\n{rec.text}", rec.tokens)

    def test_generation(rec: RecordedTests) -> TestGeneration:
        return TestGeneration(tuple(rec.lines[:LINE_POSITIONS]),
                              rec.line_tokens.positions(LINE_POSITIONS))

    generations: dict[str, ProblemGenerations] = {}
    for number, problem in enumerate(problems):
        samples = release.samples.get(number, ())
        greedy = release.greedy.get(number)
        if not samples and greedy is None:
            continue
        greedy_test = release.greedy_tests.get(number)
        generations[problem.task_id] = ProblemGenerations(
            samples=tuple(sample(s) for s in samples),
            greedy=sample(greedy) if greedy is not None else None,
            tests=tuple(test_generation(t) for t in release.tests.get(number, ())),
            greedy_test=test_generation(greedy_test) if greedy_test is not None else None,
            prompt_tokens=llama(release.greedy_prompts.get(number, "")),
        )
    return ModelGenerations(
        name=name or f"WizardCoder-Python-{size}",
        problems=generations,
        samples_per_loop=SAMPLES_PER_LOOP,
        source=WIZARDCODER_SOURCE,
        token_counting="recorded num_ids (solutions); test lines split from recorded "
                       "num_ids_2/num_ids_4 by character length; prompts: llama-approx",
        input_files=release.input_files,
    )
