"""End to end through the loopback replay server: a three-stage cascade on 20 HumanEval
problems gives the decisions and costs an independent replay of the same recorded samples
gives; faults end with every problem recorded; resume and the record contents."""

from __future__ import annotations

import asyncio
import json

import pytest

from planner.options import CascadePlan, Stage, StageOption
from planner.problems import load_problems
from planner.records import RecordWriter, read_records, validate_record
from planner.runtime.endpoints import parse_endpoints
from planner.runtime.replay_server import Faults
from planner.runtime.runner import CascadeRunner, RunOptions
from planner.sandbox.fake import RuleExecutor
from planner.sandbox.grid import GridConfig
from planner.scoring import select_solution

from .conftest import sandbox_available

PRICES = {"7B": 1.91, "13B": 6.65, "34B": 20.24}  # $ per 1M generated tokens (the paper's)

PLAN = CascadePlan((
    Stage("7B", StageOption(k=1, t=1, l=2, theta=1.0)),
    Stage("13B", StageOption(k=3, t=3, l=4, theta=0.8, share_tests=True)),
    Stage("34B", StageOption(k=5, t=2, l=2, theta=0.5, rule="pass_fraction")),
))


def endpoints_for(server, **extra):
    models = {size: {"model": f"WizardCoder-Python-{size}", "price_per_1m_generated": price}
              for size, price in PRICES.items()}
    models["13B"]["style"] = "instruction"
    return parse_endpoints({"defaults": {"base_url": server.base_url, "logprobs": True,
                                         "backoff_s": 0.0, "backoff_max_s": 0.0, **extra},
                            "models": models})


def run(plan, endpoints, executor, problems, path, **options):
    runner = CascadeRunner(plan, endpoints, executor, spec_hash="test",
                           options=RunOptions(**options))
    with RecordWriter(path, append=False) as writer:
        stats = asyncio.run(runner.run(problems, writer))
    for line in path.read_text().splitlines():
        validate_record(json.loads(line))
    return stats, {r.task_id: r for r in read_records(path)}


def expected_stage(data, number, size, option, earlier_lines):
    """What the recorded samples give for one stage, computed from the data files alone:
    (solution texts, own test lines, generated tokens of solutions + kept lines)."""
    if option.k <= 1:
        sols = [data.greedy_solution[size][number]]
        gens = [data.greedy_test[size][number]] if option.k == 1 else []
    else:
        sols = data.solutions[size][number][: option.k]
        gens = data.tests[size][number][: option.t]
    lines = [line.strip() for g in gens for line in g.text.split("\n")[: option.l]
             if line.strip().startswith("assert")]
    tokens = sum(s.tokens for s in sols) + sum(sum(g.line_tokens[: option.l]) for g in gens)
    columns = lines + (earlier_lines if option.share_tests else [])
    return [s.text for s in sols], lines, columns, tokens


@pytest.mark.slow
@pytest.mark.skipif(not sandbox_available(), reason="planner.sandbox.run_batch is unavailable")
def test_three_stage_run_matches_the_replay_of_the_same_samples(replay_server, wizard_data,
                                                                tmp_path):
    from planner.sandbox import BatchJob, Limits, SandboxExecutor, run_batch

    server = replay_server()
    problems = load_problems("humaneval", limit=20)
    executor = SandboxExecutor(GridConfig(test_timeout=2.0), workers=1)
    _, records = run(PLAN, endpoints_for(server), executor, problems, tmp_path / "r.jsonl",
                     concurrency=4)
    assert sorted(records) == sorted(p.task_id for p in problems)
    escalated = answered_late = 0
    for problem in problems:
        record = records[problem.task_id]
        number = wizard_data.task_ids.index(problem.task_id)
        earlier: list[str] = []
        for i, stage_record in enumerate(record.stages):
            stage = PLAN.stages[i]
            texts, own, columns, tokens = expected_stage(wizard_data, number, stage.model,
                                                         stage.option, earlier)
            earlier += own
            # The runtime ran exactly the recorded samples and kept exactly their lines.
            assert [s.code.rstrip() for s in stage_record.solutions] == [
                t.rstrip() for t in texts]
            kept = [stage_record.tests[g].lines[line] for s, g, line in
                    stage_record.test_columns if s == i]
            assert kept == own
            # Cost = recorded tokens x price, exactly.
            assert stage_record.cost == pytest.approx(tokens * PRICES[stage.model] / 1e6,
                                                      rel=1e-12)
            # The same decision from an independent execution of the recorded texts.
            result = run_batch(BatchJob(solutions=tuple(texts), tests=tuple(columns),
                                        preamble=problem.preamble,
                                        limits=Limits(test_timeout=2.0)))
            chosen, score, scale = select_solution(result.passed, stage.option.rule)
            accepted = score >= stage.option.theta * scale
            assert (stage_record.chosen, stage_record.score, stage_record.scale) == (
                chosen, score, scale), (problem.task_id, i)
            assert stage_record.accepted == accepted
            last = i == len(PLAN.stages) - 1
            assert stage_record.decision == (
                "answer" if last else ("accept" if accepted else "escalate"))
        escalated += len(record.stages) > 1
        answered_late += record.answer.stage == 2
        assert record.answer.text == record.stages[-1].solutions[record.stages[-1].chosen].code
        assert record.cost == pytest.approx(sum(s.cost for s in record.stages))
        assert record.correct is not None
    # The run exercised escalation, not only first-stage answers.
    assert escalated >= 3 and answered_late >= 1


def test_faults_end_with_every_problem_recorded(replay_server, wizard_data, tmp_path):
    faults = Faults(rate_limit=0.1, server_error=0.1, malformed=0.05, cut_off=0.05,
                    slow=0.05, slow_s=3.0, seed=11,
                    always_malformed_tasks=frozenset({"HumanEval/3"}))
    server = replay_server(faults)
    eps = endpoints_for(server, max_retries=8, timeout_s=1.5)
    problems = load_problems("humaneval", limit=10)
    stats, records = run(PLAN, eps, RuleExecutor(), problems, tmp_path / "r.jsonl",
                         concurrency=4, preflight=False)
    assert sorted(records) == sorted(p.task_id for p in problems)
    assert stats.retries > 0
    # The endpoint never sent a valid body for HumanEval/3: not the model's failure. The
    # problem stops at its first stage, unfinished, with the cause and no verdict.
    hit = records["HumanEval/3"]
    assert hit.answer is None and hit.correct is None and not hit.finished
    assert [s.decision for s in hit.stages] == ["failed"]
    assert hit.failure.startswith("7B: malformed response")
    assert all(sol.error and sol.attempts == 9 and sol.failure == "bad_response"
               for sol in hit.stages[0].solutions)
    for task, record in records.items():
        if task != "HumanEval/3":
            assert record.answer is not None and record.finished, task


def test_stand_in_verdicts_drive_acceptance_and_sharing(replay_server, tmp_path):
    """With every line passing, the greedy stage accepts at θ=1; with none passing, the
    problem reaches the last stage, and the middle stage ran on the first stage's lines."""
    server = replay_server()
    problems = load_problems("humaneval", limit=2)
    _, records = run(PLAN, endpoints_for(server), RuleExecutor(lambda s, t: True), problems,
                     tmp_path / "a.jsonl")
    assert all(len(r.stages) == 1 and r.stages[0].decision == "accept"
               for r in records.values())
    executor = RuleExecutor(lambda s, t: False)
    _, records = run(PLAN, endpoints_for(server), executor, problems, tmp_path / "b.jsonl")
    for record in records.values():
        assert [s.decision for s in record.stages] == ["escalate", "escalate", "answer"]
        middle = record.stages[1]
        shared = [c for c in middle.test_columns if c[0] == 0]
        assert shared == list(record.stages[0].test_columns)
        assert len(middle.verdicts) == 3 and all(len(v) == len(middle.test_columns)
                                                 for v in middle.verdicts)
        last = record.stages[2]
        assert last.chosen == len(last.solutions) - 1 and last.score == 0


def _wizardcoder_profile():
    """The profile to compare with: ``CODECASCADE_TEST_PROFILE`` or the bundled default,
    if it holds at least two WizardCoder-Python models."""
    import os

    from planner.profile import ProfileError, load_profile

    try:
        profile = load_profile(os.environ.get("CODECASCADE_TEST_PROFILE"))
    except ProfileError:
        return None
    present = [s for s in PRICES if f"WizardCoder-Python-{s}" in profile.model_names]
    return (profile, present) if len(present) >= 2 else None


@pytest.mark.slow
@pytest.mark.skipif(not sandbox_available(), reason="planner.sandbox.run_batch is unavailable")
def test_run_matches_the_estimators_paper_loop_replay(replay_server, tmp_path):
    """The estimator's own replay (simulate_plan, paper loop 0 = the samples the server
    serves first) on a measured profile gives the same answering stage, correctness and
    cost per problem as the live run."""
    from planner.estimate import simulate_plan
    from planner.sandbox import SandboxExecutor

    found = _wizardcoder_profile()
    if found is None:
        pytest.skip("no WizardCoder-Python profile (codecascade measure builds it; "
                    "CODECASCADE_TEST_PROFILE names one)")
    profile, sizes = found
    if len(sizes) == 3:
        stages = PLAN.stages
    else:
        stages = (Stage(sizes[0], StageOption(k=1, t=1, l=2, theta=1.0)),
                  Stage(sizes[-1], StageOption(k=3, t=3, l=4, theta=0.6, share_tests=True)))
    plan = CascadePlan(tuple(Stage(f"WizardCoder-Python-{s.model}", s.option) for s in stages))
    server = replay_server()
    models = {}
    for name in plan.models:
        info = profile.models[profile.model_index(name)]
        if info.price_prompt:
            pytest.skip("the profile prices prompt tokens; the replay server's prompt counts "
                        "are approximations")
        models[name] = {"model": name, "price_per_1m_generated": info.price_generated * 1e6}
    eps = parse_endpoints({"defaults": {"base_url": server.base_url, "logprobs": True},
                           "models": models})
    problems = [p for p in load_problems("humaneval") if p.task_id in profile.problems][:20]
    index = [profile.problems.index(p.task_id) for p in problems]
    executor = SandboxExecutor(GridConfig(test_timeout=1.0), workers=1)
    _, records = run(plan, eps, executor, problems, tmp_path / "r.jsonl", concurrency=4)
    sim = simulate_plan(profile, plan, index, sampling="paper_loops")
    for row, problem in enumerate(problems):
        record = records[problem.task_id]
        assert record.answer.stage == sim.answered_by[row, 0], problem.task_id
        assert record.cost == pytest.approx(sim.cost[row, 0], rel=1e-9), problem.task_id
        assert record.correct == bool(sim.correct[row, 0]), problem.task_id


def test_without_logprobs_totals_stay_exact_and_splits_are_flagged(replay_server, wizard_data,
                                                                    tmp_path):
    server = replay_server()
    eps = endpoints_for(server, logprobs=False)
    problems = load_problems("humaneval", limit=2)
    _, records = run(PLAN, eps, RuleExecutor(lambda s, t: False), problems,
                     tmp_path / "r.jsonl")
    for problem in problems:
        number = wizard_data.task_ids.index(problem.task_id)
        middle = records[problem.task_id].stages[1]
        recorded = wizard_data.solutions["13B"][number][:3]
        assert sum(s.completion_tokens for s in middle.solutions) == sum(
            r.tokens for r in recorded)
        assert all(s.tokens_estimated for s in middle.solutions)
        # The request total is exact; its split over choices and lines is by characters.
        assert sum(t.completion_tokens for t in middle.tests) == sum(
            r.tokens for r in wizard_data.tests["13B"][number][:3])
        for test in middle.tests:
            assert sum(test.line_tokens) <= test.completion_tokens and test.tokens_estimated
