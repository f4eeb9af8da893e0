"""The answer to a completion prompt: the text that continues the prompt.

A completion client inserts ``choices[0].text`` after its prompt, so the cascade's chosen
program (a whole function, usually with its signature, docstring and helpers) is turned
into what follows the prompt:

1. a program that starts with the prompt (a completion-style stage) continues it as is;
2. otherwise the body of the function under test after its docstring, then every other
   top-level statement of the program that the prompt does not already hold verbatim
   (imports and helpers from before the function, code after it). Python resolves globals
   when a function is *called*, so imports and helpers placed after the function behave as
   in the chosen program;
3. a program that does not parse, lacks the function or changed its signature is returned
   whole after a newline: its own definition replaces the prompt's (the client still gets
   exactly the code the cascade chose).
"""

from __future__ import annotations

import ast


def continuation(prompt: str, code: str, entry_point: str) -> str:
    """What to append to ``prompt`` so that it becomes the chosen program ``code``."""
    if code.startswith(prompt):
        return code[len(prompt):]
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return "\n" + code
    functions = [node for node in tree.body
                 if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                 and node.name == entry_point]
    if not functions:
        return "\n" + code
    fn = functions[-1]
    prompt_nodes = _prompt_statements(prompt)
    signatures = [ast.dump(node.args) for node in prompt_nodes
                  if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                  and node.name == entry_point]
    if signatures and signatures[-1] != ast.dump(fn.args):
        return "\n" + code
    lines = code.splitlines(keepends=True)
    body = _body_after_docstring(fn, code, lines)
    known = {ast.dump(node) for node in prompt_nodes}
    others = []
    for node in tree.body:
        if node is fn:
            continue
        segment = _segment(node, lines)
        if ast.dump(node) not in known and segment.strip():
            others.append(segment)
    out = body if body.endswith("\n") or not body else body + "\n"
    if others:
        out += "\n\n" + "\n\n".join(s.rstrip("\n") + "\n" for s in others)
    if not prompt.endswith("\n") and out and not out.startswith("\n"):
        out = "\n" + out
    return out


def _body_after_docstring(fn: ast.FunctionDef | ast.AsyncFunctionDef, code: str,
                          lines: list[str]) -> str:
    """The function's statements after its docstring, as source lines (comments kept)."""
    body = list(fn.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        start_line = body[0].end_lineno or body[0].lineno  # line after the docstring
        body = body[1:]
    else:
        start_line = body[0].lineno - 1 if body else fn.lineno
    if not body:
        return ""
    end_line = fn.end_lineno or body[-1].end_lineno or body[-1].lineno
    if start_line < fn.lineno or body[0].lineno == fn.lineno:
        # One-line function (``def f(x): return x``): re-indent its statements.
        parts = [ast.get_source_segment(code, stmt) or "" for stmt in body]
        return "".join(f"    {p}\n" for p in parts)
    return "".join(lines[start_line:end_line])


def _segment(node: ast.stmt, lines: list[str]) -> str:
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return "".join(lines[start - 1:node.end_lineno or node.lineno])


def _prompt_statements(prompt: str) -> list[ast.stmt]:
    """The prompt's top-level statements (a prompt that ends in a function without a body
    gets a ``pass`` to parse); none when it does not parse."""
    for text in (prompt, prompt.rstrip() + "\n    pass\n"):
        try:
            return list(ast.parse(text).body)
        except SyntaxError:
            continue
    return []
