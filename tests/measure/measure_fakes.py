"""Helpers for the measurement tests: a tiny source folder in each format and a fake
executor that decides every verdict from the texts alone, without executing anything."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from planner.sandbox.fake import RuleExecutor
from planner.sandbox.grid import GridJob, GridResult, Verdict

_RETURNS = re.compile(r"return (\d+)")
_ASSERT = re.compile(r"assert (\w+)\(\) == (\d+)")
_EXPECT = re.compile(r"EXPECT = (\d+)")


class FakeExecutor(RuleExecutor):
    """A program ``def f(): return V`` passes ``assert f() == W`` iff V == W, and passes a
    ground-truth test ``EXPECT = W`` iff V == W; ``return 999`` times out everywhere.
    Records every job it ran; ``fail_after`` simulates a kill after that many jobs."""

    def __init__(self, fail_after: int | None = None) -> None:
        super().__init__(self.verdict, level="A", description={"executor": "fake"})
        self.fail_after = fail_after

    @staticmethod
    def verdict(program: str, test: str) -> Verdict:  # type: ignore[override]
        value = _RETURNS.search(program)
        if value is None:
            return Verdict.FAIL
        if value.group(1) == "999":
            return Verdict.TIMEOUT
        expected = _EXPECT.search(test) or _ASSERT.search(test)
        want = expected.group(expected.lastindex or 1) if expected else None
        return Verdict.PASS if want == value.group(1) else Verdict.FAIL

    def run(self, jobs: Sequence[GridJob]) -> Iterator[tuple[int, GridResult]]:
        for index, job in enumerate(jobs):
            if self.fail_after is not None and len(self.jobs) >= self.fail_after:
                raise KeyboardInterrupt
            yield from ((index, result) for _, result in super().run([job]))


def humaneval_problem(number: int, expected: int) -> dict:
    return {
        "task_id": f"HumanEval/{number}",
        "prompt": "def f():\n    \"\"\"Return a number.\"\"\"\n",
        "entry_point": "f",
        "canonical_solution": f"    return {expected}\n",
        "test": f"EXPECT = {expected}\ndef check(candidate):\n    assert candidate() == EXPECT\n",
    }


#: per problem: the expected value; per model and problem: sampled return values.
EXPECTED = [1, 2, 3]


def _solution(value: int) -> str:
    return f"def f():\n    return {value}\n"


def _tests(values: Sequence[int]) -> str:
    lines = [f"assert f() == {v}" for v in values]
    return "\n".join([*lines[:2], "# a comment line", *lines[2:]])


def write_wizardcoder(root: Path, sizes: Sequence[str] = ("7B", "13B"), loops: int = 2) -> Path:
    """A release in the seed paper's layout: ``loops`` loop files of 10 samples each."""
    root.mkdir(parents=True, exist_ok=True)
    problems = [humaneval_problem(i, e) for i, e in enumerate(EXPECTED)]
    (root / "HumanEval.json").write_text(json.dumps(problems))
    rng = np.random.default_rng(7)
    for m, size in enumerate(sizes):
        for kind in ("answer", "testcase"):
            (root / kind / size).mkdir(parents=True, exist_ok=True)
        for loop in range(loops):
            answers, tests = [], []
            for number, expected in enumerate(EXPECTED):
                for index in range(10):
                    value = expected if rng.random() < 0.3 + 0.3 * m else int(rng.integers(4, 7))
                    if (number, index, loop) == (2, 9, 0):
                        value = 999
                    text = _solution(value)
                    answers.append({"number": number, "checkpoint": size, "pass": index,
                                    "answer": text, "num_ids": 10 + value % 7})
                    values = [expected, int(rng.integers(1, 6)), expected, 7, expected + m]
                    tests.append({"number": number, "checkpoint": size, "pass": index,
                                  "answer": _tests(values), "num_ids_2": 20, "num_ids_4": 41})
            (root / "answer" / size / f"{size}_p10_l{loop}.json").write_text(json.dumps(answers))
            (root / "testcase" / size / f"{size}_p10_l{loop}.json").write_text(json.dumps(tests))
        greedy = [{"number": n, "checkpoint": size, "pass": 0, "correct": True,
                   "prompt": "### Instruction: write f", "answer": _solution(e), "num_ids": 9}
                  for n, e in enumerate(EXPECTED)]
        (root / "answer" / size / f"{size}_p0_l0.json").write_text(json.dumps(greedy))
        gtests = [{"number": n, "checkpoint": size, "pass": 0, "answer": _tests([e] * 5),
                   "num_ids_2": 18, "num_ids_4": 36} for n, e in enumerate(EXPECTED)]
        (root / "testcase" / size / f"{size}_p0_l0.json").write_text(json.dumps(gtests))
    return root


def write_api_runs(path: Path) -> Path:
    rows = []
    for model in ("gpt-3.5-turbo", "gpt-4"):
        for number, expected in enumerate(EXPECTED):
            for run in range(1, 4):
                value = expected if run != 2 else 5
                rows.append({"model": model, "task_id": f"HumanEval/{number}", "run": run,
                             "passed": True, "duration_s": 1.0, "code": _solution(value)})
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path
