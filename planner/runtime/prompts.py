"""Prompts for solutions and tests, in the three endpoint styles.

Placeholders available to custom templates: ``{prompt}`` (the problem: signature and
docstring), ``{entry_point}`` (the function name) and ``{n_lines}`` (test lines wanted).

* ``chat``: the instruction is one user message (plus the endpoint's optional system prompt).
* ``instruction``: the instruction is wrapped in the Alpaca-style template that
  instruction-tuned code models such as WizardCoder were trained on, and sent as text.
* ``completion``: the model continues code. Solutions continue the problem's prompt (the
  function body); tests continue a stub of the function followed by ``assert `` (the CodeT
  test prompt), so the first line's ``assert `` is part of the prompt.
"""

from __future__ import annotations

from dataclasses import dataclass

from .endpoints import Endpoint, EndpointError, EndpointStyle

SOLUTION_INSTRUCTION = (
    "Complete the following Python function. Reply with the complete function, signature "
    "included, in a single ```python code block.\n\n```python\n{prompt}\n```"
)
TEST_INSTRUCTION = (
    "Write {n_lines} test cases for the Python function `{entry_point}` below, one "
    "`assert` statement per line, each calling `{entry_point}` on concrete arguments and "
    "comparing the result with the expected value. Reply with only the assert lines in a "
    "single ```python code block; do not implement the function.\n\n```python\n{prompt}\n```"
)
ALPACA_WRAPPER = (
    "Below is an instruction that describes a task. Write a response that appropriately "
    "completes the request.\n\n### Instruction:\n{instruction}\n\n### Response:"
)
COMPLETION_TEST_SUFFIX = "    pass\n\n\n# check the correctness of {entry_point}\nassert "
#: Stop sequences for completion style: the function ends where top-level code starts.
COMPLETION_STOPS = ("\ndef ", "\nclass ", "\nif __name__", "\nprint(")


@dataclass(frozen=True)
class Prompt:
    """What to send: chat ``messages`` or a completion ``text`` (exactly one is set)."""

    messages: tuple[dict[str, str], ...] | None = None
    text: str | None = None
    stop: tuple[str, ...] = ()

    @property
    def is_chat(self) -> bool:
        return self.messages is not None

    def flat(self) -> str:
        """The prompt as one string (for logs and loopback servers)."""
        if self.messages is not None:
            return "\n".join(m["content"] for m in self.messages)
        return self.text or ""


def _fill(template: str, endpoint: Endpoint, **values: object) -> str:
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        raise EndpointError(
            f"endpoint {endpoint.name!r}: bad prompt template ({type(exc).__name__}: {exc}); "
            "placeholders are {prompt}, {entry_point}, {n_lines}"
        ) from None


def _wrap(endpoint: Endpoint, instruction: str) -> Prompt:
    if endpoint.style is EndpointStyle.CHAT:
        messages = []
        if endpoint.system_prompt:
            messages.append({"role": "system", "content": endpoint.system_prompt})
        messages.append({"role": "user", "content": instruction})
        return Prompt(messages=tuple(messages))
    return Prompt(text=ALPACA_WRAPPER.format(instruction=instruction))


def solution_prompt(endpoint: Endpoint, prompt: str, entry_point: str) -> Prompt:
    """The request for one candidate solution of a problem."""
    values = {"prompt": prompt.rstrip(), "entry_point": entry_point, "n_lines": 0}
    if endpoint.style is EndpointStyle.COMPLETION:
        text = _fill(endpoint.solution_template or "{prompt}\n", endpoint, **values)
        return Prompt(text=text, stop=COMPLETION_STOPS)
    return _wrap(endpoint, _fill(endpoint.solution_template or SOLUTION_INSTRUCTION,
                                 endpoint, **values))


def test_prompt(endpoint: Endpoint, prompt: str, entry_point: str, n_lines: int) -> Prompt:
    """The request for one test generation of ``n_lines`` assert lines."""
    values = {"prompt": prompt.rstrip(), "entry_point": entry_point, "n_lines": max(1, n_lines)}
    if endpoint.style is EndpointStyle.COMPLETION:
        default = "{prompt}\n" + COMPLETION_TEST_SUFFIX.replace("{entry_point}", entry_point)
        text = _fill(endpoint.test_template or default, endpoint, **values)
        return Prompt(text=text, stop=("\ndef ", "\nclass ", "\nif __name__"))
    return _wrap(endpoint, _fill(endpoint.test_template or TEST_INSTRUCTION, endpoint, **values))


test_prompt.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
