"""Paper replay: the seed paper's own offline evaluation, re-run on a profile.

The paper (BoyuanJackChen/code_cascading_shared, ``select.py`` and
``check_combinations.py``) scores every cascade of its three models over the grid
k ∈ {skip, 0, 1, 3, 5, 10}, l ∈ {0, 2, 4} with one θ shared by all stages:

* k >= 2 uses "loop L's first k solutions and first k test generations" (files
  ``*_p10_l{L}``), and a cascade's accuracy and cost are averaged over the 10 loops, the
  *same* loop index L for every model of the cascade; k ∈ {0, 1} use the greedy files in
  every loop. This module does exactly that (per-loop cascade, then the mean), which is not
  quite the independent-stage formula on loop-averaged tables.
* Validity (``is_valid_combination`` / ``is_bad_combo``): l = 0 exactly when k <= 0; a
  k = 0 stage ends the cascade; k = 1 is never the last stage. The paper's check lets one
  odd case through — (k=1, k=1, skip), whose second k = 1 stage is then forced to answer —
  which docs/method.md §1.5 forbids; it is left out here (4 configurations).
* The last stage always answers; cost counts generated tokens only (solutions + the kept
  test generations' first l lines), reported in $ per 1,000 questions.

Every configuration carries percentile-bootstrap intervals over problems.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from . import fields, progress
from .errors import CodecascadeError
from .estimate import cascade_arrays, estimate_plan, problem_index, stage_outcomes
from .intervals import INTERVAL_KIND, bootstrap_ci
from .options import CascadePlan, PlanError, Stage, StageOption
from .profile import Profile, ProfileError, load_profile
from .units import PRICE_UNIT, TABLE_COST_UNIT, per_1k_problems, per_million, per_token
from .vocabulary import SamplingMethod, SplitPart, parse

#: The paper's per-model choices: (k, l), k = -1 meaning skip.
PAPER_CHOICES: tuple[tuple[int, int], ...] = (
    (-1, 0), (0, 0), (1, 2), (1, 4), (3, 2), (3, 4), (5, 2), (5, 4), (10, 2), (10, 4),
)

#: Published single-model results the replay must reproduce (issue 4), as
#: (model size, k, l, accuracy %, $ per 1,000 questions). Single stages always answer, so
#: these do not depend on θ.
PUBLISHED_SELF_CHECK: tuple[tuple[str, int, int, float, float], ...] = (
    ("7B", 0, 0, 56.7, 0.44),
    ("13B", 0, 0, 64.6, 1.50),
    ("34B", 0, 0, 72.6, 4.62),
    ("7B", 3, 2, 64.3, 1.48),
    ("34B", 10, 4, 82.3, 63.9),
)

#: Cascades at θ = 1.0 from the paper's released table ``code/cascade_results/
#: full_threshold1.0.csv`` (commit f13952b), as ((k, l) per 7B, 13B, 34B; k = -1 skip),
#: accuracy %, $ per 1,000 questions.
PUBLISHED_CASCADES_THETA_1: tuple[tuple[tuple[tuple[int, int], ...], float, float], ...] = (
    (((1, 2), (0, 0), (-1, 0)), 67.68, 1.156),
    (((1, 2), (-1, 0), (0, 0)), 70.73, 2.457),
    (((3, 2), (-1, 0), (0, 0)), 72.07, 4.076),
    (((10, 4), (-1, 0), (-1, 0)), 73.78, 5.839),
    (((-1, 0), (10, 4), (-1, 0)), 78.79, 19.744),
    (((-1, 0), (1, 4), (3, 4)), 77.01, 13.001),
    (((1, 4), (3, 4), (0, 0)), 74.09, 6.500),
    (((5, 4), (5, 4), (5, 4)), 80.61, 33.474),
    (((3, 4), (10, 4), (10, 4)), 82.26, 61.753),
)


class ReplayError(CodecascadeError, ValueError):
    """A replay cannot be run as asked; one line."""


@dataclass(frozen=True)
class ReplayRow:
    """One configuration: (k, l) per profile model (k = -1 skip), its plan, accuracy
    (fraction) and cost ($ per problem) with intervals."""

    choices: tuple[tuple[int, int], ...]
    plan: CascadePlan
    accuracy: float
    accuracy_ci: tuple[float, float]
    cost: float
    cost_ci: tuple[float, float]

    def to_json(self) -> dict[str, object]:
        return {
            "k": [k for k, _ in self.choices],
            "l": [line for _, line in self.choices],
            "plan": self.plan.label(),
            "accuracy_pct": 100.0 * self.accuracy,
            "accuracy_ci_pct": [100.0 * x for x in self.accuracy_ci],
            "cost_per_1k_problems": per_1k_problems(self.cost),
            "cost_per_1k_problems_ci": [per_1k_problems(x) for x in self.cost_ci],
        }


@dataclass(frozen=True)
class SelfCheck:
    """A published number next to ours."""

    label: str
    published_accuracy_pct: float
    published_cost_per_1k_problems: float
    accuracy_pct: float
    cost_per_1k_problems: float

    def to_json(self) -> dict[str, object]:
        return {
            "label": self.label,
            "published_accuracy_pct": self.published_accuracy_pct,
            "published_cost_per_1k_problems": self.published_cost_per_1k_problems,
            "accuracy_pct": self.accuracy_pct,
            "cost_per_1k_problems": self.cost_per_1k_problems,
            "accuracy_diff_pp": self.accuracy_pct - self.published_accuracy_pct,
            "cost_diff_pct": 100.0 * (self.cost_per_1k_problems
                                      / self.published_cost_per_1k_problems - 1.0),
        }


@dataclass(frozen=True)
class PaperReplay:
    """Every valid paper configuration at one θ, plus the self-checks that apply."""

    theta: float
    models: tuple[str, ...]
    n_problems: int
    rows: tuple[ReplayRow, ...]
    self_checks: tuple[SelfCheck, ...]
    confidence: float

    def row(self, choices: Sequence[tuple[int, int]]) -> ReplayRow:
        want = tuple((int(k), int(line) if k >= 1 else 0) for k, line in choices)
        for r in self.rows:
            if r.choices == want:
                return r
        raise ReplayError(f"configuration {want} is not a valid paper configuration")

    def to_json(self) -> dict[str, object]:
        return {
            "theta": self.theta,
            "models": list(self.models),
            "n_problems": self.n_problems,
            "interval": INTERVAL_KIND,
            "confidence": self.confidence,
            "units": {"accuracy": "% of problems", "cost": TABLE_COST_UNIT},
            "configurations": [r.to_json() for r in self.rows],
            "self_check": [c.to_json() for c in self.self_checks],
        }


def _option(k: int, line: int, theta: float) -> StageOption:
    if k == 0:
        return StageOption(k=0)
    return StageOption(k=k, t=1 if k == 1 else k, l=line, theta=theta)


def paper_configurations(models: Sequence[str], theta: float = 1.0
                         ) -> list[tuple[tuple[tuple[int, int], ...], CascadePlan]]:
    """Every valid combination of PAPER_CHOICES over ``models`` (see the module doc)."""
    out = []
    for combo in itertools.product(PAPER_CHOICES, repeat=len(models)):
        stages = tuple(Stage(name, _option(k, line, theta))
                       for name, (k, line) in zip(models, combo, strict=True) if k >= 0)
        if not stages:
            continue
        try:
            plan = CascadePlan(stages)
        except PlanError:
            continue
        out.append((combo, plan))
    return out


def paper_replay(
    profile: Profile,
    theta: float = 1.0,
    problems: Sequence[int] | np.ndarray | None = None,
    *,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> PaperReplay:
    """Re-run the paper's evaluation on ``profile`` (models in profile order)."""
    theta = fields.fraction(theta, "theta")
    confidence = fields.fraction(confidence, "confidence", open_interval=True)
    idx = problem_index(profile, problems)
    models = profile.model_names
    choice_opts = [(k, line) for k, line in PAPER_CHOICES if k >= 0]
    per_model = []
    with progress.task("paper replay", total=profile.n_models, unit="model") as step:
        for m in range(profile.n_models):
            opts = [_option(k, line, theta) for k, line in choice_opts]
            per_model.append(stage_outcomes(profile, m, opts, idx, sampling="paper_loops",
                                            keep_replicates=True))
            step.advance()
    n_loops = {o.replicate_accept.shape[2] for o in per_model}
    if len(n_loops) != 1:
        raise ReplayError(f"the models have different numbers of loops: {sorted(n_loops)}")
    configs = paper_configurations(models, theta)
    acc_cols, cost_cols = [], []
    for combo, _ in configs:
        stages = []
        for m, (k, line) in enumerate(combo):
            if k < 0:
                continue
            row = choice_opts.index((k, line))
            out = per_model[m]
            a = out.replicate_accept[row]
            c = out.replicate_correct[row]
            stages.append((a, a & c, c, out.replicate_cost[row]))
        accuracy, cost, _ = cascade_arrays(stages)
        acc_cols.append(accuracy.mean(axis=1))
        cost_cols.append(cost.mean(axis=1))
    acc = np.stack(acc_cols, axis=1)
    cost = np.stack(cost_cols, axis=1)
    lo, hi = bootstrap_ci(np.concatenate([acc, cost], axis=1), confidence=confidence,
                          n_boot=n_boot, seed=seed)
    n_c = len(configs)
    rows = tuple(
        ReplayRow(choices=tuple(combo), plan=plan, accuracy=float(acc[:, i].mean()),
                  accuracy_ci=(float(lo[i]), float(hi[i])), cost=float(cost[:, i].mean()),
                  cost_ci=(float(lo[n_c + i]), float(hi[n_c + i])))
        for i, (combo, plan) in enumerate(configs)
    )
    replay = PaperReplay(theta=theta, models=models, n_problems=len(idx), rows=rows,
                         self_checks=(), confidence=confidence)
    checks = _self_checks(replay) if len(idx) == profile.n_problems else ()
    return PaperReplay(theta=theta, models=models, n_problems=len(idx), rows=rows,
                       self_checks=checks, confidence=confidence)


def _size_index(models: Sequence[str]) -> dict[str, int] | None:
    """Model index of each paper size (7B, 13B, 34B) when the names say so, else None."""
    found = {}
    for size in ("7B", "13B", "34B"):
        hits = [i for i, name in enumerate(models)
                if re.search(rf"(?<![0-9.]){size}(?![a-z0-9])", name, re.IGNORECASE)]
        if len(hits) != 1:
            return None
        found[size] = hits[0]
    return found if len(models) == 3 else None


def _self_checks(replay: PaperReplay) -> tuple[SelfCheck, ...]:
    sizes = _size_index(replay.models)
    if sizes is None:
        return ()
    checks = []
    for size, k, line, acc, cost in PUBLISHED_SELF_CHECK:
        choices = [(-1, 0)] * 3
        choices[sizes[size]] = (k, line)
        row = replay.row(choices)
        label = f"{size} " + ("greedy" if k == 0 else f"k={k} l={line} alone")
        checks.append(SelfCheck(label, acc, cost, 100 * row.accuracy, per_1k_problems(row.cost)))
    order = [sizes["7B"], sizes["13B"], sizes["34B"]]
    if replay.theta == 1.0 and order == sorted(order):
        for published, acc, cost in PUBLISHED_CASCADES_THETA_1:
            choices = [(-1, 0)] * 3
            for size_pos, choice in enumerate(published):
                choices[order[size_pos]] = choice
            row = replay.row(choices)
            label = " -> ".join(f"{s}[k={k} l={line}]" if k > 0 else f"{s}[greedy]"
                                for s, (k, line) in zip(("7B", "13B", "34B"), published,
                                                        strict=True) if k >= 0)
            checks.append(SelfCheck(label, acc, cost, 100 * row.accuracy,
                                    per_1k_problems(row.cost)))
    return tuple(checks)


def replay_spec(spec_path: str | os.PathLike[str], profile_name: str | None = None,
                part: str = "test", replicates: int = 64, seed: int | None = None,
                confidence: float = 0.95, prices: Mapping[str, float] | None = None
                ) -> dict[str, object]:
    """Score a cascade spec on recorded generations: predicted vs replayed, as JSON-ready dict.

    The profile is the spec's own unless ``profile_name`` names another; ``part`` is the
    spec split's ``validation`` or ``test`` problems, or ``all``. Prices are the ones the
    spec was planned with (its ``provenance``, overrides included) unless ``prices``
    ($ per million generated tokens by model) override them. The Monte Carlo seed
    defaults to the spec's estimator seed, so replaying the planning part reproduces the
    prediction; another seed gives independent draws. A spec with a statement for new
    problems (``predicted.new_problems``) gets it checked against the replay
    (``new_problems``: stated minus replayed, and whether the replay falls within its
    intervals); the check means something on problems the plan was not chosen on (the
    held-out part, or another profile's problems).

    Notes say when the profile is not the one the spec was planned on, when the spec's
    stages were edited after planning (its predictions are then for another plan), and
    what prices were used. Raises a one-line error for a bad value (FieldError naming it),
    a spec the profile cannot serve (a model it lacks, k, t or l beyond its recordings),
    an unreadable spec or profile.
    """
    from .estimate import Sampling, unsupported
    from .spec import load_spec
    from .splits import split_by_name

    the_part = parse(SplitPart, part, "part", ReplayError)
    confidence = fields.fraction(confidence, "confidence", open_interval=True)
    cascade = load_spec(spec_path)
    prov = cascade.provenance
    sampling = Sampling(SamplingMethod.PAPER_LOOPS if prov.grid == "paper"
                        else SamplingMethod.RANDOM, replicates,
                        int(prov.seeds.get("estimator", 0)) if seed is None else seed)
    prices = {str(k): fields.number(v, "prices") for k, v in (prices or {}).items()}
    if profile_name is None:
        try:
            loaded = load_profile(prov.profile)
        except ProfileError:
            raise ReplayError(f"the spec's profile {prov.profile!r} is not found; "
                              "name one with --profile") from None
    else:
        loaded = load_profile(profile_name)
    for i, stage in enumerate(cascade.stages):
        m = loaded.model_index(stage.model)
        reason = unsupported(loaded, m, stage.option, sampling.method)
        if reason is not None:
            raise ReplayError(f"the profile cannot replay stage {i + 1} ({stage.model}): "
                              f"{reason}")
    for name in prices:
        loaded.model_index(name)
    sampling.check_memory(loaded)
    notes = []
    planned = {name: per_token(v) for name, v in prov.prices_per_1m.items()
               if name in loaded.model_names}
    repriced = loaded.with_prices(planned)
    sha = (repriced if prov.format_version == 1 else loaded).fingerprint()
    if sha != prov.profile_sha256:
        notes.append("the profile differs from the one the spec was planned on")
    if cascade.edited:
        notes.append("the spec's stages were edited after planning (k, t, l, θ, a model or "
                     "the order changed): its predictions are for the plan as planned, not "
                     "for these stages")
    elif not cascade.plan_sha256:
        notes.append("a format 1 spec records no digest of its stages, so an edit cannot be "
                     "detected")
    profile = repriced.with_prices({name: per_token(v) for name, v in prices.items()})
    used = {m.name: per_million(m.price_generated) for m in profile.models
            if m.name in cascade.models}
    if prices:
        notes.append("prices overridden (--price): " + ", ".join(
            f"{name} ${v:g}" for name, v in prices.items()) + f" ({PRICE_UNIT})")
    split = split_by_name(prov.split, profile.n_problems) if the_part != "all" else None
    problems = split.part(the_part) if split is not None else None
    est = estimate_plan(profile, cascade.plan, problems, sampling=sampling,
                        confidence=confidence)
    same_profile = sha == prov.profile_sha256
    predicted = {"validation": cascade.planning, "test": cascade.heldout}.get(the_part)
    if cascade.planning.split == "all":
        predicted = cascade.planning if same_profile else None
        if same_profile:
            notes.append("the spec was planned on every problem of this profile: there is "
                         "no held-out part, so this replay is in sample (replay on new "
                         "problems with --profile)")
    unseen = not same_profile or (the_part == "test" and cascade.planning.split != "all")
    return {
        "spec": str(spec_path),
        "plan": cascade.plan.label(),
        "split": prov.split,
        "part": str(the_part),
        "prices_per_1m_generated": used,
        "predicted": None if predicted is None else predicted.to_json(),
        "prediction_matches_stages": not cascade.edited,
        "replayed": est.to_json(),
        "new_problems": _new_problem_check(cascade.new_problems, est, unseen),
        "notes": notes,
    }


def _new_problem_check(stated, est, unseen: bool) -> dict[str, object] | None:
    """The spec's statement for new problems beside the replay: its errors (stated minus
    replayed; accuracy in percentage points, cost relative) and whether the replayed
    means fall inside its intervals. ``unseen`` says whether the replayed problems are
    ones the plan was not chosen on (held-out, or another profile), the only replay
    that checks the statement."""
    if stated is None:
        return None
    return {
        "stated": stated.to_json(),
        "unseen_problems": unseen,
        "accuracy_error_pp": 100.0 * (stated.accuracy - est.accuracy),
        "cost_error": (stated.cost - est.cost) / est.cost if est.cost else None,
        "accuracy_within_interval": stated.accuracy_ci[0] <= est.accuracy
        <= stated.accuracy_ci[1],
        "cost_within_interval": stated.cost_ci[0] <= est.cost <= stated.cost_ci[1],
    }


@dataclass(frozen=True)
class StageAcceptance:
    """Predicted acceptance rate of one stage among the problems that reach it (a
    fraction), with its percentile-bootstrap interval over ``n_problems`` problems."""

    stage: int
    model: str
    rate: float
    low: float
    high: float
    n_problems: int


def stage_acceptance(spec_path: str | os.PathLike[str], profile_name: str | None = None, *,
                     replicates: int = 64, n_boot: int = 2000, confidence: float = 0.95
                     ) -> tuple[StageAcceptance, ...]:
    """How often each stage but the last accepts the problems that reach it, on the
    problems of the spec's prediction (the held-out part of its split, else the planning
    part; every problem when the profile cannot make the split).

    A whole-replicate simulation of the plan (:func:`planner.estimate.simulate_plan`, the
    spec's estimator seed; paper loops for the paper grid) gives per problem and replicate
    the stage that answered; the rate is ``sum(accepted) / sum(reached)`` over problems,
    the interval a percentile bootstrap over problems (the spec's bootstrap seed). Raises
    ProfileError when the profile is not found, and a one-line error when a stage's model
    is not in it. Used by ``serve`` to watch the live traffic for drift.
    """
    from .estimate import simulate_plan
    from .spec import load_spec
    from .splits import SplitError, split_by_name

    spec = load_spec(spec_path)
    prov = spec.provenance
    profile = load_profile(profile_name or prov.profile)
    for stage in spec.stages:
        profile.model_index(stage.model)
    try:
        split = split_by_name(prov.split, profile.n_problems)
        problems = split.part("test" if spec.heldout is not None else "validation")
    except SplitError:
        problems = None
    sampling = "paper_loops" if prov.grid == "paper" else "random"
    answered = simulate_plan(profile, spec.plan, problems, replicates=replicates,
                             seed=int(prov.seeds.get("estimator", 0)),
                             sampling=sampling).answered_by  # [P, R]
    n = answered.shape[0]
    rng = np.random.default_rng(int(prov.seeds.get("bootstrap", 0)))
    resamples = rng.integers(0, n, size=(n_boot, n))
    alpha = (1 - confidence) / 2
    out = []
    for i, stage in enumerate(spec.stages[:-1]):
        reached = (answered >= i).mean(axis=1)
        accepted = (answered == i).mean(axis=1)
        if reached.sum() == 0:
            continue
        num, den = accepted[resamples].sum(axis=1), reached[resamples].sum(axis=1)
        low, high = np.quantile(num[den > 0] / den[den > 0], [alpha, 1 - alpha])
        out.append(StageAcceptance(i, stage.model, float(accepted.sum() / reached.sum()),
                                   float(low), float(high), n))
    return tuple(out)
