"""Finding the function in a request: completion prompts, fenced and unfenced chat
messages, the last top-level ``def``; and the continuation that answers a completion."""

from __future__ import annotations

import ast
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.serve.continuation import continuation
from planner.serve.problem import (
    Source,
    problem_in_completion,
    problem_in_messages,
    problem_in_text,
)


def test_every_humaneval_prompt_is_found_unchanged(humaneval):
    for p in humaneval:
        found = problem_in_completion(p.prompt)
        assert found is not None and found.source is Source.COMPLETION
        assert (found.prompt, found.entry_point) == (p.prompt, p.entry_point), p.task_id
        fenced = problem_in_text(f"Complete this function.\n\n```python\n{p.prompt}```\nThanks")
        assert fenced is not None and fenced.source is Source.FENCE
        assert (fenced.prompt.strip(), fenced.entry_point) == (p.prompt.strip(), p.entry_point)


def test_unfenced_chat_takes_the_code_around_the_last_def(humaneval):
    missed = []
    for p in humaneval:
        found = problem_in_text(f"Please complete:\n\n{p.prompt}\nMake it fast, thanks!")
        assert found is not None and found.entry_point == p.entry_point, p.task_id
        assert found.source is Source.TEXT
        if found.prompt.strip() != p.prompt.strip():
            missed.append(p.task_id)
    # HumanEval/64 starts with a module-level string whose lines are at column 0: the
    # search for code before the function stops there (a fence keeps it).
    assert missed == ["HumanEval/64"]


@pytest.mark.parametrize(("text", "entry", "prompt"), [
    # the last top-level def is the function under test; nested defs do not count
    ("def helper(x):\n    return x\n\ndef main(y):\n    \"\"\"Doc.\"\"\"\n",
     "main", None),
    ("def outer(x):\n    def inner(y):\n        return y\n", "outer", None),
    # prose before and after, no fence
    ("Write this:\nimport re\n\ndef f(s):\n    '''Count.'''\nThat is all.", "f",
     "import re\n\ndef f(s):\n    '''Count.'''\n"),
    # an indented (quoted) function is dedented
    ("Here:\n    def g(a, b):\n        \"\"\"Add.\"\"\"\n", "g",
     "def g(a, b):\n    \"\"\"Add.\"\"\"\n"),
    # the last fenced block with a def wins; an output block after it is ignored
    ("```python\ndef a():\n    pass\n```\nand\n```py\ndef b(n):\n    '''B.'''\n```\n"
     "```\n>>> b(1)\n```", "b", "def b(n):\n    '''B.'''\n"),
    ("async def fetch(url):\n    \"\"\"Get it.\"\"\"\n", "fetch", None),
])
def test_problem_in_text_cases(text, entry, prompt):
    found = problem_in_text(text)
    assert found is not None and found.entry_point == entry
    if prompt is not None:
        assert found.prompt == prompt


@pytest.mark.parametrize("text", [
    "What is a closure in Python?",
    "```python\nx = 1\nprint(x)\n```",
    "define a function that adds",
    "",
])
def test_no_function_is_none(text):
    assert problem_in_text(text) is None
    assert problem_in_completion(text) is None


def test_a_completion_prompt_must_end_inside_the_function():
    inside = "def f(x):\n    \"\"\"Double.\"\"\"\n"
    assert problem_in_completion(inside).entry_point == "f"
    assert problem_in_completion("def f(x):") is not None
    assert problem_in_completion(inside + "\nprint(f(2))\n") is None
    assert problem_in_completion(inside + "\n\n# a comment\n") is None


def test_messages_are_searched_from_the_last_user_message():
    messages = (("system", "You write Python."),
                ("user", "```python\ndef first(a):\n    '''1'''\n```"),
                ("assistant", "```python\ndef answer(a):\n    return 1\n```"),
                ("user", "Now this one:\ndef second(b):\n    '''2'''\n"))
    assert problem_in_messages(messages).entry_point == "second"
    assert problem_in_messages(messages[:3]).entry_point == "first"
    assert problem_in_messages((("user", "thanks"),)) is None
    assert problem_in_messages((("developer", "def dev(x):\n    '''d'''\n"),
                                ("user", "go"))).entry_point == "dev"


names = st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True).filter(
    lambda s: s not in {"def", "class", "import", "from", "async", "if", "for", "in", "is",
                        "or", "and", "not", "as", "with", "while", "try", "pass", "else",
                        "elif", "del", "global", "lambda", "return", "yield", "raise",
                        "assert", "break", "continue", "except", "finally", "nonlocal",
                        "await", "none", "true", "false"})
prose = st.text(alphabet=st.characters(whitelist_categories=("Lu", "Ll", "Zs"),
                                       whitelist_characters=".,!?"), max_size=60)


@settings(max_examples=60, deadline=None)
@given(helper=names, name=names, before=prose, after=prose, fenced=st.booleans(),
       doc=st.text(alphabet="abcdefghij klmn", max_size=40))
def test_the_last_def_is_found_in_any_wrapping(helper, name, before, after, fenced, doc):
    code = (f"import math\n\ndef {helper}(x):\n    return x\n\n\n"
            f"def {name}(a, b):\n    \"\"\"{doc}\"\"\"\n")
    text = f"{before}\n```python\n{code}```\n{after}" if fenced else \
        f"{before}\n\n{code}\n{after}"
    found = problem_in_text(text)
    assert found is not None and found.entry_point == name
    assert found.prompt.strip().endswith(f'"""{doc}"""')
    assert f"def {helper}(x)" in found.prompt


def test_continuation_rebuilds_every_recorded_answer(humaneval, shared_data):
    """For every recorded greedy WizardCoder answer: prompt + continuation parses and
    defines the function with exactly the chosen program's body; the program's other
    statements follow."""
    from planner.runtime.extract import extract_code

    root = shared_data / "wizardcoder-python-humaneval" / "answer"
    checked = 0
    for size in ("7B", "13B", "34B"):
        for r in json.loads((root / size / f"{size}_p0_l0.json").read_text()):
            p = humaneval[r["number"]]
            code = extract_code(f"```python\n{r['answer']}\n```", p.prompt, p.entry_point,
                                "chat")
            try:
                chosen = ast.parse(code)
            except SyntaxError:
                continue
            text = continuation(p.prompt, code, p.entry_point)
            rebuilt = ast.parse(p.prompt + text)
            fn = [n for n in chosen.body if getattr(n, "name", None) == p.entry_point]
            got = [n for n in rebuilt.body if getattr(n, "name", None) == p.entry_point]
            if text.startswith("\n") and code in text:  # the whole program, redefined
                assert ast.dump(got[-1]) == ast.dump(fn[-1])
            else:
                body = fn[-1].body[1:] if ast.get_docstring(fn[-1]) else fn[-1].body
                assert [ast.dump(s) for s in got[0].body[-len(body):]] == [
                    ast.dump(s) for s in body], (p.task_id, size)
                # every other statement of the chosen program is in the rebuilt one
                have = {ast.dump(n) for n in rebuilt.body}
                assert all(ast.dump(n) in have for n in chosen.body if n is not fn[-1])
            checked += 1
    assert checked > 450


def test_continuation_cases():
    prompt = "def f(x):\n    \"\"\"Double.\"\"\"\n"
    # a completion-style program continues the prompt as is
    assert continuation(prompt, prompt + "    return 2 * x\n", "f") == "    return 2 * x\n"
    # a whole function with an import: the body, then the import
    code = "import math\n\ndef f(x):\n    \"\"\"Double.\"\"\"\n    # twice\n    return 2 * x\n"
    assert continuation(prompt, code, "f") == "    # twice\n    return 2 * x\n\n\nimport math\n"
    # a one-line function
    assert continuation(prompt, "def f(x): return 2 * x\n", "f") == "    return 2 * x\n"
    # a changed signature or a broken program: the program itself, after a newline
    assert continuation(prompt, "def f(y):\n    return 2 * y\n", "f") == \
        "\ndef f(y):\n    return 2 * y\n"
    assert continuation(prompt, "def f(x) return\n", "f") == "\ndef f(x) return\n"
    # helpers the prompt already has are not repeated
    prompt2 = "def h(a):\n    return a\n\n\ndef f(x):\n    \"\"\"Use h.\"\"\"\n"
    code2 = "def h(a):\n    return a\n\n\ndef f(x):\n    return h(x)\n"
    assert continuation(prompt2, code2, "f") == "    return h(x)\n"
