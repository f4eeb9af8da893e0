"""Random option tables and a brute-force reference for the search tests."""

from __future__ import annotations

import itertools

import numpy as np

from planner.cascade import OptionTable, cascade_mean
from planner.options import StageOption


def random_options(rng: np.random.Generator, thetas=(0.5, 0.9, 1.0)) -> tuple[StageOption, ...]:
    options = [StageOption(k=0)]
    for theta in thetas:
        options.append(StageOption(k=1, t=1, l=2, theta=theta))
        for k in (3, 5):
            for lines in (2, 4):
                options.append(StageOption(k=k, t=k, l=lines, theta=theta))
    keep = rng.random(len(options)) < 0.8
    keep[0] = True
    return tuple(o for o, kept in zip(options, keep, strict=True) if kept)


def random_table(rng: np.random.Generator, model: str, n_problems: int, skill: float,
                 price: float, thetas=(0.5, 0.9, 1.0)) -> OptionTable:
    options = random_options(rng, thetas)
    n = len(options)
    correct = np.clip(rng.beta(1 + 3 * skill, 2, size=(n, n_problems)), 0, 1)
    accept = rng.random((n, n_problems))
    for i, o in enumerate(options):
        if o.k == 0:
            accept[i] = 1.0
    accept_correct = accept * correct * rng.uniform(0.7, 1.0, size=(n, n_problems))
    accept_correct = np.minimum(accept_correct, np.minimum(accept, correct))
    size = np.array([max(o.k, 1) + o.t * o.l * 0.2 for o in options])
    cost = price * size[:, None] * rng.uniform(0.5, 1.5, size=(n, n_problems))
    # a duplicate row (same numbers, another θ) exercises the exact collapsing
    return OptionTable(model=model, options=options, accept=accept,
                       accept_correct=accept_correct, correct=correct, cost=cost)


def random_tables(seed: int, n_models: int = 3, n_problems: int = 12,
                  thetas=(0.5, 0.9, 1.0)) -> list[OptionTable]:
    rng = np.random.default_rng(seed)
    return [random_table(rng, f"m{i}", n_problems, skill=i / max(1, n_models - 1),
                         price=1e-3 * 3.0**i, thetas=thetas) for i in range(n_models)]


def all_plans(tables, shared_theta: bool):
    """Every valid plan as (model, row) stages, with its exact accuracy and cost."""
    n_models = len(tables)
    for size in range(1, n_models + 1):
        for models in itertools.combinations(range(n_models), size):
            row_choices = []
            for pos, i in enumerate(models):
                last = pos == size - 1
                rows = [r for r, o in enumerate(tables[i].options)
                        if (o.can_be_last if last else o.can_have_successor)]
                row_choices.append(rows)
            for rows in itertools.product(*row_choices):
                if shared_theta:
                    thetas = {tables[i].options[r].theta for i, r in zip(models[:-1], rows[:-1],
                                                                          strict=True)}
                    if len(thetas) > 1:
                        continue
                stages = tuple(zip(models, rows, strict=True))
                acc, cost = cascade_mean([(tables[i], r) for i, r in stages])
                yield stages, acc, cost


def brute_force_best(tables, budget: float, shared_theta: bool):
    best = None
    for stages, acc, cost in all_plans(tables, shared_theta):
        if cost <= budget + 1e-9 and (best is None or acc > best[1] + 1e-12):
            best = (stages, acc, cost)
    return best


def brute_force_front(tables, shared_theta: bool):
    points = sorted(((c, -a) for _, a, c in all_plans(tables, shared_theta)))
    front, best = [], -np.inf
    for c, neg_a in points:
        if -neg_a > best + 1e-12:
            front.append((-neg_a, c))
            best = -neg_a
    return front
