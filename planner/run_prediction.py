"""What the spec predicts for the problems a run ran, to put next to what the run measured.

A spec's own predictions are for the problems it was planned and checked on (the planning
and held-out parts of a split). Beside a run they compare like with like only when the
run ran those problems; otherwise the run's accuracy sits next to a number about other
problems (83.3 % measured next to "predicted 77.3 %" when the estimator's prediction for
exactly the problems run is 91.6 %). :func:`predict_for_run` loads the spec's profile
(when it is available and unchanged: same fingerprint) and estimates the plan on exactly
the finished problems of the run that the profile holds
(:func:`planner.estimate.estimate_plan` at the spec's prices, sampling and estimator seed,
as :func:`planner.replay.replay_spec` does); :class:`RunPrediction` says which
problems the prediction is about, or why there is none. The command line passes
:func:`predict_for_run` to :func:`planner.runtime.api.run_spec` (the runtime does not import
the estimator).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .errors import CodecascadeError
from .spec import CascadeSpec, Prediction


@dataclass(frozen=True)
class RunPrediction:
    """``prediction`` for ``n_covered`` of the ``n_run`` finished problems of a run (those
    in the spec's profile), or None with ``why`` there is none."""

    prediction: Prediction | None
    n_run: int
    n_covered: int
    why: str = ""

    @property
    def exact(self) -> bool:
        """True when the prediction is about exactly the problems run."""
        return self.prediction is not None and self.n_covered == self.n_run


def predict_for_run(spec: CascadeSpec, task_ids: Sequence[str]) -> RunPrediction:
    """The spec's plan estimated on the run's problems that its profile holds."""
    import numpy as np

    from .estimate import Sampling, estimate_plan
    from .profile import load_profile
    from .units import per_token
    from .vocabulary import SamplingMethod

    run = list(dict.fromkeys(task_ids))
    if not run:
        return RunPrediction(None, 0, 0, "no problem finished")
    prov = spec.provenance
    source = prov.profile
    try:
        loaded = load_profile(source)
    except CodecascadeError:
        return RunPrediction(None, len(run), 0, f"the spec's profile {source!r} is not "
                             "available here")
    # the profile at the prices the spec was planned with (as planner.replay does)
    profile = loaded.with_prices({name: per_token(v) for name, v in prov.prices_per_1m.items()
                                  if name in loaded.model_names})
    if (profile if prov.format_version == 1 else loaded).fingerprint() != prov.profile_sha256:
        return RunPrediction(None, len(run), 0, f"the profile {source!r} differs from the "
                             "one the spec was planned on")
    where = {task: i for i, task in enumerate(profile.problems)}
    index = np.array([where[t] for t in run if t in where], dtype=np.int64)
    if not index.size:
        return RunPrediction(None, len(run), 0, f"none of the problems run is in the spec's "
                             f"profile {source!r}")
    sampling = Sampling.of(SamplingMethod.PAPER_LOOPS if prov.grid == "paper"
                           else SamplingMethod.RANDOM, None, int(prov.seeds.get("estimator", 0)))
    try:
        est = estimate_plan(profile, spec.plan, index, sampling=sampling,
                            confidence=spec.planning.confidence)
    except CodecascadeError as exc:
        return RunPrediction(None, len(run), 0, f"the plan cannot be estimated on the "
                             f"spec's profile ({exc})")
    label = "problems run" if index.size == len(run) else "problems run in the profile"
    prediction = Prediction(
        split=label, n_problems=int(index.size), accuracy=float(est.accuracy),
        accuracy_ci=(float(est.accuracy_ci[0]), float(est.accuracy_ci[1])),
        cost=max(0.0, float(est.cost)),
        cost_ci=(max(0.0, float(est.cost_ci[0])), max(0.0, float(est.cost_ci[1]))),
        confidence=est.confidence)
    return RunPrediction(prediction, len(run), int(index.size))
