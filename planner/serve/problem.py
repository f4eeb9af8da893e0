"""Finding the code problem in a request: the function to write, and the code around it.

* A completion prompt is a problem when it *ends inside* a Python function: its last
  top-level ``def`` is followed only by indented or blank lines (the signature and
  docstring, perhaps part of a body). The whole prompt is the problem, unchanged, so the
  cascade sees exactly what ``codecascade run`` would see for the same prompt.
* A chat message holds a problem in a markdown code block (Python or untagged; the last
  block with a ``def`` wins) or, without fences, in the lines around its last top-level
  ``def``: the code-like lines before it (imports, decorators, comments, helper functions,
  assignments) and the function's indented lines after it; prose before or after is left
  out. Messages are searched from the last user message back to the first.

The function under test (the problem's ``entry_point``) is the last top-level ``def``.
Instructions outside the code do not reach the models: the cascade's prompts are the spec's
fixed templates, as in ``run`` (requirements belong in the docstring).
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from ..runtime.fences import code_blocks

_DEF = re.compile(r"^(?P<indent>[ \t]*)(?:async[ \t]+)?def[ \t]+(?P<name>[A-Za-z_]\w*)[ \t]*\(",
                  re.MULTILINE)
_CODE_START = re.compile(
    r"import\s+[A-Za-z_]|from\s+[\w.]+\s+import\b|(async\s+)?def\s+\w+\s*\(|class\s+\w+"
    r"|@[A-Za-z_]|#|if\s+__name__\b")


class Source(StrEnum):
    """Where the problem was found."""

    COMPLETION = "completion"
    FENCE = "fence"
    TEXT = "text"


@dataclass(frozen=True)
class CodeProblem:
    """The problem handed to the cascade: ``prompt`` (the code up to and including the
    function's signature and docstring) and ``entry_point`` (the function's name)."""

    prompt: str
    entry_point: str
    source: Source


def _indent(text: str) -> int:
    return len(text.expandtabs(4)) - len(text.expandtabs(4).lstrip())


def _last_top_level_def(text: str) -> re.Match[str] | None:
    """The last ``def`` with the smallest indentation of all ``def`` lines in ``text``."""
    found = list(_DEF.finditer(text))
    if not found:
        return None
    top = min(_indent(m.group("indent")) for m in found)
    return [m for m in found if _indent(m.group("indent")) == top][-1]


def _ends_inside(text: str, match: re.Match[str]) -> bool:
    """True when every non-blank line after the ``def`` line is indented deeper than it."""
    depth = _indent(match.group("indent"))
    rest = text[match.end():].split("\n")[1:]
    return all(not line.strip() or _indent(line) > depth for line in rest)


def problem_in_completion(prompt: str) -> CodeProblem | None:
    """The problem of a completion prompt that ends inside a function, else None."""
    match = _last_top_level_def(prompt)
    if match is None or not _ends_inside(prompt, match):
        return None
    return CodeProblem(prompt, match.group("name"), Source.COMPLETION)


def _code_like(line: str) -> bool:
    """A line that can belong to code before a function: blank, indented, a comment, an
    import, decorator, ``def``/``class``, or a statement such as an assignment."""
    stripped = line.strip()
    if not stripped or line[:1] in (" ", "\t") or _CODE_START.match(stripped):
        return True
    try:
        tree = ast.parse(stripped)
    except SyntaxError:
        return False
    return bool(tree.body) and all(
        isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign | ast.Import
                   | ast.ImportFrom) for node in tree.body)


def _problem_in_block(block: str, source: Source) -> CodeProblem | None:
    match = _last_top_level_def(block)
    if match is None:
        return None
    lines = block.split("\n")
    at = block.count("\n", 0, match.start())
    depth = _indent(match.group("indent"))
    end = at + 1
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > depth):
        end += 1
    start = at
    if source is Source.TEXT:
        while start > 0 and _code_like(lines[start - 1]):
            start -= 1
    else:
        start = 0
    while start < at and not lines[start].strip():
        start += 1
    while end > at + 1 and not lines[end - 1].strip():
        end -= 1
    if source is Source.TEXT:
        end = _parsable_end(lines, start, at, end, depth)
    code = "\n".join(lines[start:end])
    if depth:
        code = textwrap.dedent(code)
    code = code.rstrip() + "\n"
    return CodeProblem(code, match.group("name"), source)


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True


def _parsable_end(lines: list[str], start: int, at: int, end: int, depth: int) -> int:
    """Without fences, indented prose after a function looks like its body: drop up to 64
    trailing lines until the code parses (unchanged when no shorter piece does)."""
    def code(stop: int) -> str:
        text = "\n".join(lines[start:stop])
        return textwrap.dedent(text) if depth else text

    if _parses(code(end)):
        return end
    for stop in range(end - 1, max(at, end - 65), -1):
        if lines[stop - 1].strip() and _parses(code(stop)):
            return stop
    return end


def problem_in_text(text: str) -> CodeProblem | None:
    """The problem in one chat message: the last code block with a ``def``, else the code
    around the last top-level ``def`` of the text (see the module docstring)."""
    for start, end in reversed(code_blocks(text)):
        found = _problem_in_block(text[start:end], Source.FENCE)
        if found is not None:
            return found
    return _problem_in_block(text, Source.TEXT)


def problem_in_messages(messages: Sequence[tuple[str, str]]) -> CodeProblem | None:
    """The problem in a chat conversation of (role, text) pairs: the last user message
    holding one (then system/developer messages, last first)."""
    ordered = [text for role, text in reversed(messages) if role == "user"]
    ordered += [text for role, text in reversed(messages) if role in ("system", "developer")]
    for text in ordered:
        found = problem_in_text(text)
        if found is not None:
            return found
    return None
