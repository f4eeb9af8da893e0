"""Selectors: they never read held-out problems, they find a plan that is better by
construction, their options parse, and the naive one is today's plan."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from planner.evaluation import evaluate
from planner.planning import plan, planning_context
from planner.profile import ARRAY_SPECS, Profile
from planner.search.errors import BudgetTooLowError
from planner.search.objective import Objective
from planner.selection import PlanFamily, SelectionError, SelectionTask, get_selector
from planner.selection.candidates import CandidateSource
from planner.selection.honest import plus632_weight
from planner.selection.resampling import bootstrap_counts, inner_folds
from planner.selection.shrinkage import shrunk_space
from planner.splits import kfold_splits
from planner.synthetic import synthetic_profile

SELECTIONS = [
    "naive",
    "naive:budget_confidence=0.9,prediction=nested",
    "one-se",
    "one-se:multiplier=0.5,prediction=corrected",
    "bootstrap:resamples=50",
    "bootstrap:resamples=50,prediction=632plus",
    "shrinkage",
    "shrinkage:keep=0,budget_confidence=0.9,prediction=nested,folds=3",
    "shrinkage:tune=True,folds=3",
    "shrinkage:prediction=632plus,folds=3",
    "shrinkage:keep=0,rank=1,budget_confidence=0.9",
]


pytestmark = pytest.mark.usefixtures("private_cache")


@pytest.fixture(scope="module")
def profile() -> Profile:
    return synthetic_profile(n_models=3, n_problems=40, n_samples=20, n_tests=20, seed=3)


def _garble_heldout(profile: Profile, heldout: np.ndarray, seed: int = 0) -> Profile:
    """The same profile with its held-out problems' data permuted among themselves and
    models 0 and 2 swapped on them: planning problems keep every byte."""
    rng = np.random.default_rng(seed)
    source = np.arange(profile.n_problems)
    source[heldout] = rng.permutation(heldout)
    arrays = {}
    for name, (_, axes) in ARRAY_SPECS.items():
        arr = np.take(getattr(profile, name), source, axis=axes.index("P")).copy()
        if axes[:2] == ("M", "P"):
            arr[:, heldout] = arr[:, heldout][[2, 1, 0]]
        arrays[name] = arr
    return Profile(models=profile.models, problems=profile.problems,
                   provenance=dict(profile.provenance), **arrays)


@pytest.mark.parametrize("selection", SELECTIONS)
def test_a_selector_never_reads_heldout_problems(profile, selection):
    """Garbling the held-out problems of a split changes what they say but not one choice
    or statement made on its planning part."""
    kwargs = dict(selection=selection, grid="paper", budgets=2, protocol="kfold", folds=2,
                  repeats=1)
    first = evaluate(profile, **kwargs)
    name = first.rows[0].split
    heldout = kfold_splits(profile.n_problems, 2, 0)[0].test
    second = evaluate(_garble_heldout(profile, heldout), **kwargs)
    split = [r for r in first.rows if r.split == name]
    split2 = [r for r in second.rows if r.split == name]
    for a, b in zip(split, split2, strict=True):
        for part in ("cascade", "single"):
            x, y = getattr(a, part), getattr(b, part)
            assert (x.plan, x.planning_accuracy, x.planning_cost, x.predicted_accuracy,
                    x.predicted_cost) == (y.plan, y.planning_accuracy, y.planning_cost,
                                          y.predicted_accuracy, y.predicted_cost)
    # the garbling did change what the held-out problems say
    assert any((a.single.heldout_accuracy, a.cascade.heldout_accuracy)
               != (b.single.heldout_accuracy, b.cascade.heldout_accuracy)
               for a, b in zip(split, split2, strict=True))


def test_a_task_from_a_context_has_no_heldout_part(profile):
    context = planning_context(profile, grid="paper", split="paper-seed3")
    task = SelectionTask.from_context(context)
    assert task.planning is context.planning
    assert all(not hasattr(task, name) for name in ("heldout", "heldout_problems"))


def _perfect(profile: Profile, model: int) -> Profile:
    """``profile`` with every sample and greedy solution of ``model`` correct and every one
    of the models before it wrong (so no cascade through them is always right)."""
    sample = profile.sample_solution.copy()
    greedy = profile.greedy_solution.copy()
    sample[model] = np.where(sample[model] >= 0, 0, -1)
    greedy[model] = 0
    sample[:model] = np.where(sample[:model] >= 0, 2, -1)
    greedy[:model] = 2
    arrays = {name: getattr(profile, name) for name in ARRAY_SPECS}
    arrays.update(sample_solution=sample, greedy_solution=greedy)
    assert profile.solution_correct[:, 0].all() and not profile.solution_correct[:, 2].any()
    return Profile(models=profile.models, problems=profile.problems,
                   provenance=dict(profile.provenance), **arrays)


@pytest.mark.parametrize("model", [0, 1])
@pytest.mark.parametrize("selection", SELECTIONS)
def test_selectors_pick_the_plan_that_is_better_by_construction(profile, model, selection):
    """The model's greedy answer is always right and the cheaper models are always wrong:
    no plan is more accurate, and every other plan that is as accurate costs more, so
    every selector must take it."""
    best = _perfect(profile, model)
    context = planning_context(best, grid="paper", split="paper-seed7")
    task = SelectionTask.from_context(context)
    greedy_cost = float(context.planning.tables[model].cost[0].mean())
    objectives = [Objective(budget=greedy_cost * f) for f in (1.5, 3.0, 10.0)]
    for choice in get_selector(selection).select(task, objectives):
        assert choice.stages == ((model, 0),), context.stages_plan(choice.stages).label()
        assert choice.planning_accuracy == pytest.approx(1.0)
        assert choice.fits


def test_naive_is_todays_plan(profile):
    result = evaluate(profile, selection="naive", grid="default", budgets=2)
    for row in result.rows[:4]:
        spec = plan(profile, budget=row.budget, split=row.split, selection="naive")
        assert row.cascade.plan == spec.plan.label()
        assert row.cascade.predicted_accuracy == spec.planning.accuracy
        assert row.cascade.predicted_cost == spec.planning.cost
        assert row.cascade.heldout_accuracy == pytest.approx(spec.heldout.accuracy)
        assert spec.new_problems is None and spec.solver.method == "exact"


def test_plans_default_is_what_evaluate_measures(profile):
    """``plan``'s default selection through the same code path as ``evaluate``'s: the
    same plan, and the spec's statement for new problems is the row's prediction."""
    result = evaluate(profile, grid="paper", budgets=3)
    compared = 0
    for row in result.rows[:6]:
        try:
            spec = plan(profile, budget=row.budget, split=row.split, grid="paper")
        except BudgetTooLowError:
            continue  # evaluate keeps its fallback plan; plan refuses the budget
        compared += 1
        assert row.cascade.plan == spec.plan.label()
        assert spec.new_problems.accuracy == pytest.approx(row.cascade.predicted_accuracy)
        assert spec.new_problems.cost == pytest.approx(row.cascade.predicted_cost)
        low, high = spec.new_problems.accuracy_ci
        assert low <= spec.new_problems.accuracy <= high
        assert spec.new_problems.selection == result.settings["selection"]
    assert compared >= 3


def test_single_family_chooses_one_stage_plans(profile):
    context = planning_context(profile, grid="default", split="paper-seed3")
    task = SelectionTask.from_context(context, PlanFamily.SINGLE)
    cheapest = float(task.candidates.mean_cost.min())
    for name in ("naive", "one-se", "bootstrap:resamples=50", "shrinkage"):
        choices = get_selector(name).select(task, [Objective(budget=cheapest * 4)])
        assert len(choices[0].stages) == 1
        assert choices[0].planning_cost <= cheapest * 4 + 1e-12
    with pytest.raises(BudgetTooLowError, match="cheapest single-model plan"):
        get_selector("one-se").select(task, [Objective(budget=cheapest / 2)])


def test_budget_confidence_keeps_the_cost_bound_within_budget(profile):
    context = planning_context(profile, grid="default", split="paper-seed3")
    task = SelectionTask.from_context(context)
    budgets = np.geomspace(task.candidates.mean_cost.min() * 2,
                           task.candidates.mean_cost.max(), 5)
    objectives = [Objective(budget=float(b)) for b in budgets]
    plain = get_selector("naive").select(task, objectives)
    sure = get_selector("naive:budget_confidence=0.95").select(task, objectives)
    for a, b in zip(plain, sure, strict=True):
        assert b.planning_cost <= a.planning_cost + 1e-12
        assert b.planning_accuracy <= a.planning_accuracy + 1e-12
    assert any(b.planning_cost < a.planning_cost for a, b in zip(plain, sure, strict=True))


def test_nested_prediction_is_out_of_fold(profile):
    """The nested statement is the mean of out-of-fold numbers: below the in-sample one
    on average (the winner's curse), and with an interval around it."""
    context = planning_context(profile, grid="default", split="paper-seed3")
    task = SelectionTask.from_context(context)
    budgets = np.geomspace(task.candidates.mean_cost.min() * 1.2,
                           task.candidates.mean_cost.max(), 6)
    objectives = [Objective(budget=float(b)) for b in budgets]
    inside = get_selector("naive").select(task, objectives)
    nested = get_selector("naive:prediction=nested,folds=4,repeats=2").select(task,
                                                                               objectives)
    assert [c.stages for c in inside] == [c.stages for c in nested]
    gap = [a.predicted.accuracy - b.predicted.accuracy for a, b in zip(inside, nested,
                                                                         strict=True)]
    assert np.mean(gap) > 0
    for c in nested:
        low, high = c.predicted.accuracy_ci
        assert low <= c.predicted.accuracy <= high
        assert c.predicted.method.startswith("nested")


@pytest.mark.parametrize(("text", "message"), [
    ("nope", "unknown selection 'nope'"),
    ("one-se:foo=1", "bad option 'foo=1'"),
    ("one-se:multiplier=abc", "cannot be 'abc'"),
    ("one-se:multiplier=-1", "multiplier must be >= 0"),
    ("naive:budget_confidence=1.5", "budget_confidence must be in"),
    ("naive:prediction=psychic", "unknown prediction 'psychic'"),
    ("naive:tune=true", "no knob to tune"),
    ("shrinkage:keep=2", "keep must be in [0, 1]"),
    ("shrinkage:rank=-1", "rank must be >= 0"),
    ("shrinkage:rank=1.5", "cannot be '1.5'"),
    ("bootstrap:resamples=3", "resamples must be >= 10"),
    ("naive:folds=1", "folds >= 2"),
])
def test_bad_selection_strings_are_one_line_errors(text, message):
    with pytest.raises(SelectionError) as info:
        get_selector(text)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    name = text.partition(":")[0]
    assert str(info.value).count(f"selection {name!r}") <= 1  # said once, not twice


def test_labels_round_trip():
    for text in SELECTIONS:
        selector = get_selector(text)
        assert get_selector(selector.label()) == selector


def test_budget_only_selectors_refuse_a_target_accuracy(profile):
    context = planning_context(profile, grid="paper", split="paper-seed3")
    task = SelectionTask.from_context(context)
    with pytest.raises(SelectionError, match="budget only"):
        get_selector("one-se").select(task, [Objective(target_accuracy=0.5)])
    choice = get_selector("naive").select(task, [Objective(target_accuracy=0.5)])[0]
    assert choice.planning_accuracy >= 0.5


def test_resampling_is_seeded_and_partitions():
    folds = inner_folds(23, 5, 2, seed=4)
    assert len(folds) == 10
    for r in range(2):
        tests = np.concatenate([t for _, t in folds[5 * r: 5 * r + 5]])
        assert sorted(tests) == list(range(23))
    for train, test in folds:
        assert not set(train) & set(test) and len(train) + len(test) == 23
    counts = bootstrap_counts(23, 7, seed=4)
    assert counts.shape == (7, 23) and (counts.sum(axis=1) == 23).all()
    assert np.array_equal(counts, bootstrap_counts(23, 7, seed=4))
    with pytest.raises(SelectionError):
        inner_folds(3, 5, 1, seed=0)


@pytest.mark.parametrize("selection", ["naive:budget_confidence=0.9", "one-se",
                                       "shrinkage", "shrinkage:budget_confidence=0.9"])
def test_search_source_agrees_with_the_front(profile, selection):
    """Spaces too large for a front take candidates from one search per budget: the plans
    fit the budget under the cost rule, and today's rule picks the same plan either way."""
    context = planning_context(profile, grid="default", split="paper-seed3")
    front_task = SelectionTask.from_context(context)
    search_task = dataclasses.replace(front_task, candidate_source=CandidateSource.SEARCH)
    assert search_task.source is CandidateSource.SEARCH
    budgets = np.geomspace(front_task.candidates.mean_cost.min() * 1.5,
                           front_task.candidates.mean_cost.max() / 2, 4)
    objectives = [Objective(budget=float(b)) for b in budgets]
    selector = get_selector(selection)
    searched = selector.select(search_task, objectives)
    for objective, choice in zip(objectives, searched, strict=True):
        assert choice.planning_cost <= objective.budget + 1e-12
    naive_front = get_selector("naive:prediction=nested,folds=3").select(front_task,
                                                                          objectives)
    naive_search = get_selector("naive:prediction=nested,folds=3").select(search_task,
                                                                           objectives)
    assert [c.planning_accuracy for c in naive_front] == pytest.approx(
        [c.planning_accuracy for c in naive_search])
    assert [c.predicted.accuracy for c in naive_front] == pytest.approx(
        [c.predicted.accuracy for c in naive_search])


def test_632plus_weight():
    assert plus632_weight(0.8, 0.8, 0.5) == pytest.approx(0.632)
    assert plus632_weight(0.8, 0.5, 0.5) == pytest.approx(1.0)
    assert plus632_weight(0.8, 0.65, 0.5) == pytest.approx(0.632 / (1 - 0.368 * 0.5))
    assert plus632_weight(0.5, 0.4, 0.6) == pytest.approx(0.632)  # no room: R = 0


def test_shrinking_toward_difficulty_keeps_stages_correlated(profile):
    """Shrunk toward each option's mean (rank 0), a problem every model finds hard looks
    average to every stage; toward a difficulty factor (rank 1) it stays hard for all of
    them. Either way the tables stay probabilities with g <= min(a, h), option means
    are kept and costs never move."""
    context = planning_context(profile, grid="paper", split="paper-seed3")
    space = context.planning
    correct = np.vstack([t.correct for t in space.tables])
    hard = int(np.argmin(correct.mean(axis=0)))
    for rank in (0, 1):
        shrunk = shrunk_space(space, 0.0, rank)
        for t, u in zip(space.tables, shrunk.tables, strict=True):
            for name in ("accept", "accept_correct", "correct"):
                x = getattr(u, name)
                assert ((x >= 0) & (x <= 1)).all()
            assert (u.accept_correct <= np.minimum(u.accept, u.correct) + 1e-12).all()
            assert np.array_equal(u.cost, t.cost)
        new = np.vstack([t.correct for t in shrunk.tables])
        if rank == 0:
            assert np.allclose(new, correct.mean(axis=1, keepdims=True))
        else:
            assert (new[:, hard] <= new.mean(axis=1) + 1e-12).all()
            assert np.corrcoef(new[:, hard] - new.mean(axis=1), correct[:, hard]
                               - correct.mean(axis=1))[0, 1] > 0
