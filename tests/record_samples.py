"""A run record with every kind of field filled, for the records and summary tests."""

from __future__ import annotations

from planner.records import (
    AnswerRecord,
    ProblemRecord,
    SolutionRecord,
    StageRecord,
    TestRecord,
)


def make_record(task_id: str = "HumanEval/0", text: str = "def f():\n    return 1\n"
                ) -> ProblemRecord:
    stage = StageRecord(
        model="m", k=2, t=1, l=2, theta=0.5, rule="paper", share_tests=False,
        solutions=(SolutionRecord(text, text, 12, 30, False),
                   SolutionRecord("", "", 0, 0, False, error="HTTP 500")),
        tests=(TestRecord("assert f() == 1\nx = 1", ("assert f() == 1", "x = 1"), (6, 3), 9,
                          25, False, tokens_estimated=True),),
        test_columns=((0, 0, 0),),
        verdicts=(("pass",), ("no_code",)),
        chosen=0, score=1.0, scale=2.0, accepted=True, decision="accept",
        cost=0.001, billed_cost=0.002, latency_s=1.5, generation_s=1.0, sandbox_s=0.4,
        sandbox_level="A",
    )
    return ProblemRecord(task_id=task_id, prompt="def f():\n", entry_point="f", spec_hash="abc",
                         stages=(stage,), answer=AnswerRecord("m", 0, text), correct=True,
                         cost=0.001, latency_s=1.6, billed_cost=0.002)
