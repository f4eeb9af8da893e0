"""Drift detection: the predicted acceptance rate of each stage from the spec's profile,
the live rate against it (gauge, one warning per change), and the whole path through the
server."""

from __future__ import annotations

import logging

import pytest

from planner.records import ProblemRecord, StageRecord
from planner.replay import StageAcceptance, stage_acceptance
from planner.serve.drift import DriftMonitor
from planner.serve.metrics import Metrics

from .conftest import MODELS, PLAN, Always, write_spec
from .test_app import raw


def _stage(model: str, decision: str) -> StageRecord:
    return StageRecord(model=model, k=1, t=1, l=2, theta=1.0, rule="paper",
                       share_tests=False, solutions=(), tests=(), test_columns=(),
                       verdicts=(), chosen=0, score=0.0, scale=0.0,
                       accepted=decision == "accept", decision=decision, cost=0.0,
                       billed_cost=0.0, latency_s=0.0, generation_s=0.0, sandbox_s=0.0)


def _record(*decisions: str) -> ProblemRecord:
    return ProblemRecord(task_id="t", prompt="", entry_point="f", spec_hash="h",
                         stages=tuple(_stage(MODELS[i], d) for i, d in enumerate(decisions)),
                         answer=None, correct=None, cost=0.0, latency_s=0.0)


def _gauge(metrics: Metrics, name: str, **labels) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_the_live_rate_leaves_and_reenters_the_predicted_interval(caplog):
    metrics = Metrics(MODELS, 4)
    prediction = StageAcceptance(0, MODELS[0], 0.5, 0.4, 0.6, 115)
    monitor = DriftMonitor(MODELS, [prediction], metrics, min_requests=20)
    assert _gauge(metrics, "codecascade_stage_acceptance_predicted", stage="0",
                  model=MODELS[0], bound="low") == 0.4
    caplog.set_level(logging.INFO, logger="codecascade.serve")
    for _ in range(19):
        monitor.observe(_record("escalate", "answer"))
    assert not monitor.drifting[0]  # too few requests to judge
    monitor.observe(_record("escalate", "error", "answer"))
    assert monitor.drifting[0]  # 0 of 20: the 99 % interval ends near 25 %
    assert _gauge(metrics, "codecascade_stage_drift", stage="0", model=MODELS[0]) == 1
    assert _gauge(metrics, "codecascade_stage_acceptance_rate", stage="0",
                  model=MODELS[0]) == 0
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "stage 0 (WizardCoder-Python-7B) accepts 0.0% of 20" in \
        warnings[0].getMessage() and "re-plan" in warnings[0].getMessage()
    for _ in range(5):
        monitor.observe(_record("escalate", "answer"))
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    # infrastructure errors are not decisions
    monitor.observe(_record("error", "answer"))
    assert monitor.decided[0] == 25
    for _ in range(30):
        monitor.observe(_record("accept"))
    assert not monitor.drifting[0]  # 30 of 55 is inside again
    assert _gauge(metrics, "codecascade_stage_drift", stage="0", model=MODELS[0]) == 0
    assert any("back inside" in r.getMessage() for r in caplog.records)
    # the second stage has no prediction here: counted, never judged
    assert monitor.decided[1] == 0 and monitor.to_json()[1]["predicted"] is None


def test_predictions_are_the_estimators_stage_reach(tmp_path, default_profile_path):
    from planner.estimate import estimate_plan
    from planner.profile import load_profile
    from planner.splits import split_by_name

    predictions = stage_acceptance(write_spec(tmp_path / "cascade.json"))
    assert [p.stage for p in predictions] == [0, 1]
    reach = estimate_plan(load_profile(), PLAN, split_by_name("paper-seed3", 164).part("test"),
                          seed=0).stage_reach
    assert predictions[0].rate == pytest.approx(1 - reach[1])
    assert predictions[1].rate == pytest.approx(1 - reach[2] / reach[1])
    for p in predictions:
        assert 0 <= p.low <= p.rate <= p.high <= 1 and p.n_problems == 115


def test_without_a_prediction_drift_is_off_and_health_says_why(replay, serving, tmp_path):
    from planner.profile import ProfileError

    with pytest.raises(ProfileError):
        stage_acceptance(write_spec(tmp_path / "cascade.json"), str(tmp_path / "none.npz"))
    server, _ = serving(replay().base_url, Always(True), predict=False)
    assert server.prepared.drift is None
    import json

    health = json.loads(raw(server, "GET", "/health")[2])
    assert health["drift"].startswith("drift detection is off")


def test_drift_through_the_server(replay, serving, humaneval, caplog):
    """Every line fails: the greedy first stage, predicted to accept 59 % of the
    held-out problems, accepts none; after 8 requests the gauge says drift."""
    caplog.set_level(logging.WARNING, logger="codecascade.serve")
    server, client = serving(replay().base_url, Always(False), drift_min_requests=8)
    for p in humaneval[90:98]:
        client.completions.create(model="cascade", prompt=p.prompt)
    _, _, body = raw(server, "GET", "/metrics")
    text = body.decode()
    assert 'codecascade_stage_drift{model="WizardCoder-Python-7B",stage="0"} 1.0' in text
    assert 'codecascade_stage_drift{model="WizardCoder-Python-13B",stage="1"} 0.0' in text
    assert 'codecascade_stage_acceptance_rate{model="WizardCoder-Python-7B",stage="0"} 0.0' \
        in text
    assert any("drift: stage 0" in r.getMessage() for r in caplog.records)
