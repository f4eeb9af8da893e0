"""The recorded generations a replay server serves, read by the profile builder's readers.

:class:`ReplayData` holds, per model key (the size in the model's name: ``7B``, ``13B``,
``34B`` for WizardCoder-Python, ``16B`` for CodeGen-Mono-16B) and HumanEval problem, the
sampled solutions and test generations in recorded order and the greedy ones, each as a
:class:`Recorded` text with its generated tokens per line. WizardCoder-Python comes from the
seed paper's release through :func:`planner.measure.wizardcoder.load_release`, CodeGen-16B
from CodeT's files through :func:`planner.measure.sources.load_codet`, so a run or a
collection against the server is charged the tokens a profile built from the same files
charges:

* WizardCoder: a solution's recorded ``num_ids``; a test generation's lines split by
  :func:`planner.tokens.split_line_tokens`. Solutions are whole functions.
* CodeGen: a solution is a completion of the prompt (the function body) with its
  ``codegen-approx`` count; a test generation is the ``assert`` lines the builder reads from
  it (:func:`planner.measure.sources.codet_test_lines`), each counted with its newline. No
  greedy outputs were recorded: a greedy request gets the first recorded sample, the
  convention the estimator uses for a source without greedy decoding
  (:mod:`planner.estimate.outcomes`), so a run and a profile collected from the server
  agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..measure.sources import load_codet
from ..measure.wizardcoder import SIZES as WIZARDCODER_SIZES
from ..measure.wizardcoder import RecordedSolution, RecordedTests, load_release
from ..problems import load_problems

#: The model key of CodeGen-Mono-16B.
CODEGEN_KEY = "16B"


@dataclass(frozen=True)
class Recorded:
    """One recorded generation and its generated-token count per line (solutions: one
    "line", the whole text), plus the tokens of no line (an end-of-sequence token)."""

    text: str
    line_tokens: tuple[int, ...]
    unplaced: int = 0

    @property
    def tokens(self) -> int:
        return sum(self.line_tokens) + self.unplaced


def synthetic_tokens(segments: list[tuple[str, int]]) -> list[str]:
    """Tokens whose concatenation is the joined text, ``count`` tokens per segment, each
    starting inside its segment (empty tokens first when a segment is shorter; an empty
    final segment's tokens are empty tokens at the very end, inside no line)."""
    tokens: list[str] = []
    for text, count in segments:
        if count <= 0:
            if tokens:
                tokens[-1] += text
            else:
                tokens.append(text)
            continue
        if count >= len(text):
            tokens.extend([""] * (count - len(text)))
            tokens.extend(text)
            continue
        cuts = [round(i * len(text) / count) for i in range(count + 1)]
        tokens.extend(text[cuts[i]:cuts[i + 1]] for i in range(count))
    return tokens


@dataclass
class ReplayData:
    """Recorded generations by model key and problem number (module docstring).

    ``root`` is the ``wizardcoder-python-humaneval`` folder (its ``HumanEval.json`` numbers
    the problems), ``sizes`` the WizardCoder sizes to load, ``codet`` CodeT's folder to
    also serve CodeGen-Mono-16B (key ``16B``; its greedy outputs are its first samples).
    ``greedy_solution`` / ``greedy_test`` hold None where nothing was recorded;
    ``continuations`` names the keys whose solutions continue the prompt rather than repeat
    the whole function.
    """

    root: Path
    sizes: tuple[str, ...] = WIZARDCODER_SIZES
    codet: Path | None = None
    prompts: list[str] = field(init=False)
    task_ids: list[str] = field(init=False)
    solutions: dict[str, list[list[Recorded]]] = field(init=False, default_factory=dict)
    tests: dict[str, list[list[Recorded]]] = field(init=False, default_factory=dict)
    greedy_solution: dict[str, list[Recorded | None]] = field(init=False,
                                                               default_factory=dict)
    greedy_test: dict[str, list[Recorded | None]] = field(init=False, default_factory=dict)
    continuations: set[str] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        problems = load_problems(self.root / "HumanEval.json")
        self.prompts = [p.prompt.strip() for p in problems]
        self.task_ids = [p.task_id for p in problems]
        n = len(problems)
        for size in self.sizes:
            release = load_release(self.root, size, n)
            self.solutions[size] = [[_solution(r) for r in release.samples.get(i, ())]
                                    for i in range(n)]
            self.tests[size] = [[_tests(r) for r in release.tests.get(i, ())] for i in range(n)]
            self.greedy_solution[size] = [
                _solution(release.greedy[i]) if i in release.greedy else None for i in range(n)]
            self.greedy_test[size] = [
                _tests(release.greedy_tests[i]) if i in release.greedy_tests else None
                for i in range(n)]
        if self.codet is not None:
            self.codet = Path(self.codet)
            recordings, _ = load_codet(self.codet, problems)
            rows = [recordings.get(task) for task in self.task_ids]
            self.solutions[CODEGEN_KEY] = [
                [Recorded(text, (tokens,)) for text, tokens in (r.solutions if r else ())]
                for r in rows]
            self.tests[CODEGEN_KEY] = [
                [Recorded("".join(f"{line}\n" for line in lines), tokens)
                 for lines, tokens in (r.tests if r else ())] for r in rows]
            self.greedy_solution[CODEGEN_KEY] = [s[0] if s else None
                                                 for s in self.solutions[CODEGEN_KEY]]
            self.greedy_test[CODEGEN_KEY] = [t[0] if t else None
                                             for t in self.tests[CODEGEN_KEY]]
            self.continuations.add(CODEGEN_KEY)

    @property
    def keys(self) -> tuple[str, ...]:
        """The model keys served."""
        return tuple(self.solutions)

    def find_problem(self, text: str) -> int | None:
        """Index of the problem whose prompt occurs in ``text`` (the longest match)."""
        best = None
        for i, prompt in enumerate(self.prompts):
            if prompt in text and (best is None or len(prompt) > len(self.prompts[best])):
                best = i
        return best


def _solution(rec: RecordedSolution) -> Recorded:
    return Recorded(rec.text, (rec.tokens,))


def _tests(rec: RecordedTests) -> Recorded:
    return Recorded(rec.text, rec.line_tokens.counts, rec.line_tokens.unplaced)
