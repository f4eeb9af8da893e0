"""The estimator: exactness where a closed form exists, Monte Carlo convergence elsewhere,
the fast path against explicit matrices, plans, sharing, caching."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.cascade import cascade_mean
from planner.estimate import (
    EstimateError,
    draw_subsets,
    estimate_plan,
    option_tables,
    simulate_plan,
    stage_outcomes,
)
from planner.estimate.replicates import generic_replicates
from planner.options import (
    SCORING_RULES,
    THETA_STEPS,
    CascadePlan,
    Grid,
    Stage,
    StageOption,
    default_grid,
    paper_grid,
)
from planner.profile import ModelInfo, _replace
from planner.scoring import select_solution
from planner.synthetic import synthetic_profile

from .tiny import enumerate_option, tiny_profile

sampled_options = st.builds(
    StageOption,
    k=st.integers(2, 3), t=st.integers(1, 2), l=st.integers(1, 2),
    theta=st.sampled_from(THETA_STEPS), rule=st.sampled_from(SCORING_RULES),
)


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), option=sampled_options)
def test_monte_carlo_converges_to_exact_enumeration(seed, option):
    profile = tiny_profile(seed)
    replicates = 4000
    out = stage_outcomes(profile, 0, [option], np.arange(2), replicates=replicates, seed=seed)
    for p in range(2):
        a, g, h, c = enumerate_option(profile, option, p)
        for got, exact in ((out.accept[0, p], a), (out.accept_correct[0, p], g),
                           (out.correct[0, p], h)):
            sd = np.sqrt(max(exact * (1 - exact), 1e-4) / replicates)
            assert abs(got - exact) <= 5 * sd + 1e-12
        # the sampled cost is the exact closed form, not an estimate
        assert out.cost[0, p] == pytest.approx(c, rel=1e-12)


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), data=st.data())
def test_fast_path_equals_explicit_matrices_replicate_by_replicate(seed, data):
    """The prefix-sum fast path and the explicit per-replicate matrices agree replicate by
    replicate, with every line able to fail or a third of the pooled lines that cannot."""
    profile = synthetic_profile(n_models=1, n_problems=6, n_samples=12, n_tests=12,
                                seed=seed)
    if data.draw(st.booleans(), label="masked"):
        rng = np.random.default_rng(seed)
        profile = _replace(profile,
                           line_informative=rng.random(profile.line_informative.shape) < 0.67)
    options = data.draw(st.lists(st.builds(
        StageOption, k=st.integers(2, 8), t=st.integers(1, 6), l=st.integers(1, 5),
        theta=st.sampled_from(THETA_STEPS), rule=st.sampled_from(SCORING_RULES)),
        min_size=1, max_size=12))
    idx = np.arange(6)
    out = stage_outcomes(profile, 0, options, idx, replicates=5, seed=seed,
                         keep_replicates=True)
    draws = draw_subsets(profile, 0, idx, k_max=max(o.k for o in options),
                         t_max=max(o.t for o in options), replicates=5, seed=seed,
                         sampling="random")
    accept, correct, cost, _ = generic_replicates(profile, 0, options, draws, None)
    np.testing.assert_array_equal(out.replicate_accept, accept)
    np.testing.assert_array_equal(out.replicate_correct, correct)
    np.testing.assert_allclose(out.replicate_cost, cost)


def test_greedy_options_by_hand():
    profile = tiny_profile(3, greedy=True)
    out = stage_outcomes(profile, 0, [StageOption(k=0), StageOption(k=1, t=1, l=2,
                                                                    theta=0.5)],
                         np.arange(2))
    price, prompt_price = 1e-3, 1e-4
    for p in range(2):
        gid = profile.greedy_solution[0, p]
        ok = profile.solution_correct[p, gid]
        assert out.accept[0, p] == 1.0
        assert out.correct[0, p] == out.accept_correct[0, p] == ok
        assert out.cost[0, p] == pytest.approx(price * profile.greedy_tokens[0, p]
                                               + prompt_price * profile.prompt_tokens[0, p])
        lines = profile.greedy_test_line[0, p, :2]
        lines = lines[lines >= 0]
        passed = profile.pass_matrix[p, gid, lines].sum()
        assert out.accept[1, p] == float(passed >= 0.5 * len(lines))
        assert out.correct[1, p] == ok
        assert out.cost[1, p] == pytest.approx(
            price * (profile.greedy_tokens[0, p] + profile.greedy_test_line_tokens[0, p].sum())
            + prompt_price * (profile.prompt_tokens[0, p] + profile.test_prompt_tokens[0, p]))


def test_missing_greedy_is_an_exact_average_over_recorded_samples():
    profile = tiny_profile(5, greedy=False)
    out = stage_outcomes(profile, 0, [StageOption(k=0), StageOption(k=1, t=1, l=2,
                                                                    theta=1.0)],
                         np.arange(2))
    for p in range(2):
        ids = profile.sample_solution[0, p]
        assert out.correct[0, p] == pytest.approx(profile.solution_correct[p, ids].mean())
        lines = profile.greedy_test_line[0, p, :2]
        lines = lines[lines >= 0]
        acc = [select_solution(profile.pass_matrix[p][[s]][:, lines], "paper") for s in ids]
        accepted = [score >= 1.0 * scale for _, score, scale in acc]
        assert out.accept[1, p] == pytest.approx(np.mean(accepted))


@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000))
def test_tables_are_probabilities_and_consistent(seed):
    profile = synthetic_profile(n_models=2, n_problems=12, n_samples=20, n_tests=20,
                                seed=seed)
    grid = Grid(name="t", ks=(2, 5, 10), ts=(1, 3, 10), ls=(1, 5), thetas=(0.0, 0.5, 1.0),
                rules=SCORING_RULES, greedy_ls=(1, 5))
    for table in option_tables(profile, grid, replicates=8, cache=False):
        for arr in (table.accept, table.accept_correct, table.correct):
            assert ((arr >= 0) & (arr <= 1)).all()
        assert (table.accept_correct <= np.minimum(table.accept, table.correct) + 1e-12).all()
        assert (table.cost > 0).all()
        assert ((table.accuracy_se >= 0) & (table.accuracy_se < 0.2)).all()
        # θ = 0 accepts everything; θ only lowers acceptance as it grows
        rows = {o: i for i, o in enumerate(table.options)}
        for o, i in rows.items():
            if o.k >= 1 and o.theta == 0.0:
                assert (table.accept[i] == 1.0).all()
            if o.k >= 1 and o.theta == 0.5:
                higher = rows[StageOption(o.k, o.t, o.l, 1.0, o.rule)]
                assert (table.accept[higher] <= table.accept[i]).all()


def test_one_stage_plan_equals_the_stage_alone_and_two_stages_the_formula():
    profile = synthetic_profile(n_models=2, n_problems=15, n_samples=20, n_tests=20, seed=4)
    grid = Grid(name="t", ks=(3,), ts=(2,), ls=(2,), thetas=(0.8,), greedy_ls=(2,))
    tables = option_tables(profile, grid, replicates=16, seed=9, cache=False)
    opt = StageOption(k=3, t=2, l=2, theta=0.8)
    one = estimate_plan(profile, CascadePlan((Stage("model-1", opt),)), replicates=16, seed=9)
    row = tables[1].index(opt)
    assert one.accuracy == pytest.approx(tables[1].correct[row].mean())
    assert one.cost == pytest.approx(tables[1].cost[row].mean())
    assert one.accuracy_ci[0] <= one.accuracy <= one.accuracy_ci[1]
    assert one.cost_ci[0] <= one.cost <= one.cost_ci[1]
    assert one.stage_reach == (1.0,)
    two = estimate_plan(profile, CascadePlan((Stage("model-0", opt),
                                              Stage("model-1", StageOption(k=0)))),
                        replicates=16, seed=9)
    expected = cascade_mean([(tables[0], row), (tables[1], tables[1].index(StageOption(k=0)))])
    assert (two.accuracy, two.cost) == pytest.approx(expected)
    assert two.accuracy_mc_se > 0 and "formula" in two.method


def test_formula_by_hand_on_a_two_stage_plan():
    profile = synthetic_profile(n_models=2, n_problems=10, seed=2)
    plan = CascadePlan((Stage("model-0", StageOption(k=1, t=1, l=3, theta=1.0)),
                        Stage("model-1", StageOption(k=0))))
    est = estimate_plan(profile, plan)
    first = stage_outcomes(profile, 0, [plan.stages[0].option], np.arange(10))
    second = stage_outcomes(profile, 1, [StageOption(k=0)], np.arange(10))
    a, g, c1 = first.accept[0], first.accept_correct[0], first.cost[0]
    expected_acc = g + (1 - a) * second.correct[0]
    expected_cost = c1 + (1 - a) * second.cost[0]
    np.testing.assert_allclose(est.per_problem_accuracy, expected_acc)
    np.testing.assert_allclose(est.per_problem_cost, expected_cost)
    assert est.stage_reach == pytest.approx((1.0, float((1 - a).mean())))


def test_whole_replicate_simulation_converges_to_the_formula():
    profile = synthetic_profile(n_models=2, n_problems=20, n_samples=20, n_tests=20, seed=6)
    plan = CascadePlan((Stage("model-0", StageOption(k=3, t=3, l=2, theta=0.9)),
                        Stage("model-1", StageOption(k=4, t=2, l=3, theta=0.5))))
    est = estimate_plan(profile, plan, replicates=400, seed=1)
    sim = simulate_plan(profile, plan, replicates=400, seed=1)
    assert sim.correct.mean() == pytest.approx(est.accuracy, abs=4 * est.accuracy_mc_se + 1e-3)
    assert sim.cost.mean() == pytest.approx(est.cost, rel=0.02)


def _two_model_sharing_profile():
    """Model b's own test lines are all non-asserts; model a's lines tell b's correct
    sample (pool id 0) from its wrong one (pool id 1)."""
    base = tiny_profile(0, n_problems=1, n_samples=2, n_tests=2, n_positions=2, n_pool=2,
                        n_lines=2)
    stack = lambda x, y: np.concatenate([x, y], axis=0)  # noqa: E731
    sample_solution = np.array([[[0, 0]], [[0, 1]]], dtype=np.int32)
    test_line = stack(np.broadcast_to(np.array([0, 1], dtype=np.int32), (1, 1, 2, 2)),
                      np.full((1, 1, 2, 2), -1, dtype=np.int32))
    pass_matrix = np.array([[[True, True], [False, False]]])
    return _replace(
        base,
        models=(ModelInfo("a", 1e-3), ModelInfo("b", 2e-3)),
        sample_solution=sample_solution,
        sample_tokens=stack(base.sample_tokens, base.sample_tokens),
        greedy_solution=stack(base.greedy_solution, base.greedy_solution),
        greedy_tokens=stack(base.greedy_tokens, base.greedy_tokens),
        test_line=test_line,
        test_line_tokens=stack(base.test_line_tokens, base.test_line_tokens),
        greedy_test_line=stack(base.greedy_test_line, base.greedy_test_line),
        greedy_test_line_tokens=stack(base.greedy_test_line_tokens,
                                      base.greedy_test_line_tokens),
        prompt_tokens=stack(base.prompt_tokens, base.prompt_tokens),
        test_prompt_tokens=stack(base.test_prompt_tokens, base.test_prompt_tokens),
        solution_correct=np.array([[True, False]]),
        line_holds_reference=np.array([[True, True]]),
        pass_matrix=pass_matrix,
    )


def test_test_sharing_runs_later_solutions_on_earlier_test_lines():
    profile = _two_model_sharing_profile()
    first = Stage("a", StageOption(k=2, t=1, l=2, theta=0.5))
    alone = CascadePlan((first, Stage("b", StageOption(k=2, t=1, l=2, theta=1.0))))
    shared = CascadePlan((first, Stage("b", StageOption(k=2, t=1, l=2, theta=1.0,
                                                        share_tests=True))))
    est_alone = estimate_plan(profile, alone, replicates=2000, seed=3)
    est_shared = estimate_plan(profile, shared, replicates=2000, seed=3)
    # a always accepts its correct answer (its samples are both pool id 0)
    assert est_alone.accuracy == est_shared.accuracy == 1.0
    # make a never accept (its solution passes only line 1 of lines 0, 1): then b answers,
    # picking the last of its samples without tests (right half the time) but the one that
    # passes a's line 1 with sharing (always right)
    never = Stage("a", StageOption(k=2, t=1, l=2, theta=1.0))
    profile_fail = _replace(profile, pass_matrix=np.array([[[False, True], [False, False]]]))
    p_alone = estimate_plan(profile_fail, CascadePlan((never, alone.stages[1])),
                            replicates=4000, seed=3)
    p_shared = estimate_plan(profile_fail, CascadePlan((never, shared.stages[1])),
                             replicates=4000, seed=3)
    assert p_alone.accuracy == pytest.approx(0.5, abs=0.04)
    assert p_shared.accuracy == 1.0
    assert "simulation" in p_shared.method and p_shared.stage_reach[1] == 1.0


def test_paper_loops_use_each_loops_first_k_samples():
    profile = synthetic_profile(n_models=1, n_problems=5, n_samples=20, n_tests=20,
                                samples_per_loop=10, seed=8)
    opt = StageOption(k=3, t=3, l=2, theta=0.7)
    out = stage_outcomes(profile, 0, [opt], np.arange(5), sampling="paper_loops",
                         keep_replicates=True)
    assert out.replicate_accept.shape == (1, 5, 2)
    for p in range(5):
        for loop in range(2):
            ids = profile.sample_solution[0, p, 10 * loop: 10 * loop + 3]
            lines = profile.test_line[0, p, 10 * loop: 10 * loop + 3, :2].ravel()
            lines = lines[lines >= 0]
            index, score, scale = select_solution(profile.pass_matrix[p][np.ix_(ids, lines)],
                                                  "paper")
            assert out.replicate_accept[0, p, loop] == (score >= 0.7 * scale)
            assert out.replicate_correct[0, p, loop] == profile.solution_correct[p, ids[index]]
            tokens = (profile.sample_tokens[0, p, 10 * loop: 10 * loop + 3].sum()
                      + profile.test_line_tokens[0, p, 10 * loop: 10 * loop + 3, :2].sum())
            assert out.replicate_cost[0, p, loop] == pytest.approx(
                profile.models[0].price_generated * tokens
                + profile.models[0].price_prompt * (profile.prompt_tokens[0, p]
                                                    + profile.test_prompt_tokens[0, p]))
    assert (out.accuracy_se == 0).all()
    assert out.correct[0] == pytest.approx(out.replicate_correct[0].mean(axis=1))


def test_option_tables_cache_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("CODECASCADE_CACHE", str(tmp_path))
    profile = synthetic_profile(n_models=2, n_problems=8, seed=2)
    first = option_tables(profile, paper_grid())
    files = list(tmp_path.glob("tables-*.npz"))
    assert len(files) == 1
    again = option_tables(profile, paper_grid())
    for x, y in zip(first, again, strict=True):
        assert x.options == y.options and x.problems == y.problems
        for name in ("accept", "accept_correct", "correct", "cost", "accuracy_se"):
            np.testing.assert_array_equal(getattr(x, name), getattr(y, name))
    # a different problem subset or seed is a different entry
    option_tables(profile, default_grid(), problems=[0, 2], replicates=4)
    assert len(list(tmp_path.glob("tables-*.npz"))) == 2


def test_draws_do_not_depend_on_which_other_problems_are_estimated():
    profile = synthetic_profile(n_models=1, n_problems=10, seed=3)
    grid = Grid(name="t", ks=(4,), ts=(3,), ls=(2,), thetas=(0.6,), greedy=False,
                greedy_tests=False)
    full = option_tables(profile, grid, replicates=8, cache=False)[0]
    part = option_tables(profile, grid, problems=[7, 2], replicates=8, cache=False)[0]
    np.testing.assert_array_equal(part.accept, full.accept[:, [7, 2]])


def test_errors_are_one_line_estimate_errors():
    profile = synthetic_profile(n_models=1, n_problems=4, n_samples=5, n_tests=5, seed=0)
    with pytest.raises(EstimateError, match="only 5 recorded samples"):
        stage_outcomes(profile, 0, [StageOption(k=6, t=1, l=1)], np.arange(4))
    with pytest.raises(EstimateError, match="problem indices"):
        estimate_plan(profile, CascadePlan((Stage("model-0", StageOption(k=0)),)),
                      problems=[9])
    with pytest.raises(EstimateError, match="replicates"):
        stage_outcomes(profile, 0, [StageOption(k=2, t=1, l=1)], np.arange(4), replicates=0)
    with pytest.raises(EstimateError, match="no complete loop"):
        stage_outcomes(profile, 0, [StageOption(k=3, t=3, l=1)], np.arange(4),
                       sampling="paper_loops")


def test_tables_keep_only_the_options_the_recordings_support():
    profile = synthetic_profile(n_models=2, n_problems=6, n_samples=5, n_tests=3, seed=1)
    no_greedy_tests = profile.greedy_test_line.copy()
    no_greedy_tests[1] = -1
    profile = _replace(profile, greedy_test_line=no_greedy_tests)
    tables = option_tables(profile, default_grid(), replicates=4, cache=False)
    first, second = (set(t.options) for t in tables)
    assert all(o.k <= 5 and o.t <= 3 for o in first)
    assert StageOption(k=5, t=3, l=2, theta=0.5) in first
    assert any(o.k == 1 for o in first) and not any(o.k == 1 for o in second)
    assert StageOption(k=0) in second


def test_models_without_tests_or_greedy_outputs_still_answer_greedy_stages():
    """API-style sources: a few samples, no test generations, no greedy decoding."""
    profile = synthetic_profile(n_models=2, n_problems=8, n_samples=10, n_tests=4, seed=5)
    test_line = profile.test_line.copy()
    test_tokens = profile.test_line_tokens.copy()
    greedy = profile.greedy_solution.copy()
    test_line[1], test_tokens[1], greedy[1] = -1, 0, -1
    profile = _replace(profile, test_line=test_line, test_line_tokens=test_tokens,
                       greedy_solution=greedy)
    alone = estimate_plan(profile, CascadePlan((Stage("model-1", StageOption(k=0)),)))
    samples = profile.sample_solution[1]
    expected = profile.solution_correct[np.arange(8)[:, None], samples].mean()
    assert alone.accuracy == pytest.approx(expected) and alone.accuracy_mc_se == 0.0
    plan = CascadePlan((Stage("model-0", StageOption(k=3, t=2, l=2, theta=0.5)),
                        Stage("model-1", StageOption(k=0))))
    est = estimate_plan(profile, plan, replicates=32)
    sim = simulate_plan(profile, plan, replicates=32)
    assert sim.correct.shape == (8, 32)
    assert abs(sim.correct.mean() - est.accuracy) < 0.1
    with pytest.raises(EstimateError, match="0 recorded test generations"):
        estimate_plan(profile, CascadePlan((Stage("model-1", StageOption(k=2, t=1, l=1)),)))
