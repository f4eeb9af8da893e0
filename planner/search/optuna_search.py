"""Optuna: a seeded black-box baseline over the same plan space (TPE with constraints).

Each model gets a categorical "what it does" parameter: skip, or an option *shape*
(k, t, l, rule, test sharing); θ is one categorical shared by all stages on a shared-θ grid,
else one per model. A trial decodes to a plan (invalid orders are rejected with a large
penalty), is scored with the exact formula, and the budget (or target accuracy) is an Optuna
constraint, so TPE learns the feasible region. Same seed, same trials, same plan (a time
limit, checked between trials, may end it after fewer).
"""

from __future__ import annotations

import time

from .. import progress
from ..vocabulary import SolverStatus
from .deadline import Clock, Deadline
from .exact import unreachable
from .method import SearchMethod
from .objective import Objective
from .result import SearchOutcome
from .space import SearchSpace
from .stages import score_stages

#: Trials per search; enough to find good plans on the paper grid in a few seconds.
N_TRIALS = 300
SKIP = "skip"


def _shape(option) -> str:
    share = "-share" if option.share_tests else ""
    return f"k{option.k}-t{option.t}-l{option.l}-{option.rule}{share}"


class _Decoder:
    """Maps (shape, θ, role) of a model to a candidate row."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        self.rows: list[dict[tuple[str, float, str], int]] = []
        self.shapes: list[list[str]] = []
        self.by_shape: list[dict[tuple[str, str], list[tuple[float, int]]]] = []
        for i, table in enumerate(space.tables):
            by_shape: dict[tuple[str, str], list[tuple[float, int]]] = {}
            for role, cand in (("mid", space.mid[i]), ("last", space.last[i])):
                for row in cand.rows:
                    option = table.options[row]
                    by_shape.setdefault((_shape(option), role), []).append(
                        (option.theta, int(row)))
            self.by_shape.append(by_shape)
            self.shapes.append(sorted({shape for shape, _ in by_shape}))
        self.thetas = sorted({float(o.theta) for t in space.tables for o in t.options})

    def row(self, i: int, shape: str, theta: float, role: str) -> int | None:
        choices = self.by_shape[i].get((shape, role))
        if not choices:
            return None
        # the θ asked for, else the nearest one this shape has (last stages: any θ)
        return min(choices, key=lambda c: abs(c[0] - theta))[1]


class OptunaSearch(SearchMethod):
    """Optuna TPE over the plan space; seeded and reproducible, no optimality proof.
    The first trials are each model's greedy answer alone.

    ``trials``: trials per search (>= 1). ``seed``: the sampler's seed; None uses the seed
    :meth:`search` is given (the planning seed). ``time_limit`` (seconds, None for none) or
    ``deadline`` (:meth:`until`) ends the study between trials with its best plan so far;
    ``clock`` is the seconds clock both are measured on.
    """

    name = "optuna"

    def __init__(self, *, trials: int = N_TRIALS, seed: int | None = None,
                 time_limit: float | None = None, deadline: Deadline | None = None,
                 clock: Clock = time.perf_counter) -> None:
        self.trials = trials
        self.seed = seed
        self.time_limit = time_limit
        self.deadline = deadline
        self.clock = clock

    def until(self, deadline: Deadline) -> OptunaSearch:
        """This search, stopping at ``deadline`` at the latest (:class:`Anytime`)."""
        return OptunaSearch(trials=self.trials, seed=self.seed, time_limit=self.time_limit,
                            deadline=deadline, clock=self.clock)

    def _search(self, space: SearchSpace, objective: Objective, seed: int) -> SearchOutcome:
        # the limit counts from here: importing optuna and building the decoder take time too
        deadline = Deadline.after(self.time_limit, self.clock)
        if self.deadline is not None and self.deadline.at < deadline.at:
            deadline = self.deadline
        import optuna

        if self.seed is not None:
            seed = self.seed

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        decoder = _Decoder(space)
        penalty = 1e6

        def decode(trial) -> tuple[tuple[int, int], ...] | None:
            shared = trial.suggest_categorical("theta", decoder.thetas) \
                if space.shared_theta else None
            picks = []
            for i in range(space.n_models):
                shape = trial.suggest_categorical(f"m{i}", [SKIP, *decoder.shapes[i]])
                theta = shared if shared is not None else trial.suggest_categorical(
                    f"theta{i}", decoder.thetas)
                if shape != SKIP:
                    picks.append((i, shape, theta))
            if not picks:
                return None
            stages = []
            for pos, (i, shape, theta) in enumerate(picks):
                role = "last" if pos == len(picks) - 1 else "mid"
                row = decoder.row(i, shape, theta, role)
                if row is None:
                    return None
                stages.append((i, row))
            return tuple(stages)

        modern = hasattr(optuna.trial.Trial, "set_constraint")  # optuna >= 5

        def constrain(trial, violation: float) -> None:
            if modern:
                trial.set_constraint("limit", violation)
            else:
                trial.set_user_attr("violation", violation)

        def evaluate(trial):
            stages = decode(trial)
            if stages is None:
                constrain(trial, penalty)
                return -penalty if objective.is_budget else penalty
            acc, cost = score_stages(space, stages)
            trial.set_user_attr("stages", [list(s) for s in stages])
            if objective.is_budget:
                constrain(trial, cost - objective.budget)
                return acc
            constrain(trial, objective.target_accuracy - acc)
            return cost

        if modern:
            sampler = optuna.samplers.TPESampler(seed=seed)
        else:
            sampler = optuna.samplers.TPESampler(
                seed=seed, constraints_func=lambda t: (t.user_attrs["violation"],))
        study = optuna.create_study(
            direction="maximize" if objective.is_budget else "minimize", sampler=sampler)
        # start from each model's greedy answer alone: cheap, valid plans to learn from
        # (run even past a deadline, so that a plan exists)
        enqueued = 0
        for i in range(space.n_models):
            greedy = [shape for shape in decoder.shapes[i] if shape.startswith("k0-")]
            if greedy:
                enqueued += 1
                study.enqueue_trial({f"m{j}": greedy[0] if j == i else SKIP
                                     for j in range(space.n_models)})
        finished = [0]
        with progress.task("optuna trials", total=self.trials, unit="trial") as step:
            def after_trial(study, trial) -> None:
                # counted here: study.trials deep-copies every trial (quadratic in trials)
                finished[0] += 1
                step.advance()
                if finished[0] >= enqueued and deadline.expired():
                    study.stop()

            study.optimize(evaluate, n_trials=self.trials, show_progress_bar=False,
                           callbacks=[after_trial])
        best = None
        for trial in study.get_trials(deepcopy=False):
            if "stages" not in trial.user_attrs:
                continue
            stages = tuple((int(i), int(r)) for i, r in trial.user_attrs["stages"])
            acc, cost = score_stages(space, stages)
            if not objective.feasible(acc, cost):
                continue
            if best is None or objective.better(acc, cost, best[1], best[2]):
                best = (stages, acc, cost)
        if best is None:
            raise unreachable(space, objective, self.name)
        return SearchOutcome(best[0], SolverStatus.HEURISTIC, None,
                             f"optuna {optuna.__version__} TPE", finished[0])

