"""``evaluate`` with its splits as Ray tasks (a local Ray instance of 2 CPUs): the same rows
and summary as one split after another, from Python and from ``codecascade evaluate --ray``;
an error raised in a split comes back as the same one-line error."""

from __future__ import annotations

import json
import os

import pytest

pytest.importorskip("ray", reason="Ray is not installed (pip install 'codecascade[ray]')")

from planner.errors import CodecascadeError
from planner.evaluation import evaluate
from planner.profile import save_profile
from planner.sandbox.ray_executor import RayExecutor
from planner.synthetic import synthetic_profile

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]  # a Ray test never hangs CI


@pytest.fixture(scope="module")
def on_ray(tmp_path_factory, request):
    """The module's Ray instance, its workers writing option tables to a private cache (set
    before the instance starts: its workers inherit the environment then)."""
    old = os.environ.get("CODECASCADE_CACHE")
    os.environ["CODECASCADE_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    try:
        yield request.getfixturevalue("ray_local")
    finally:
        if old is None:
            os.environ.pop("CODECASCADE_CACHE", None)
        else:
            os.environ["CODECASCADE_CACHE"] = old


@pytest.fixture(scope="module")
def profile():
    return synthetic_profile(n_models=3, n_problems=40, n_samples=20, n_tests=20, seed=2)


def _without_seconds(result) -> dict:
    out = result.to_json()
    out["summary"]["settings"].pop("seconds")
    return out


@pytest.mark.parametrize("protocol", ["paper", "kfold"])
def test_splits_on_ray_give_the_same_evaluation(on_ray, profile, protocol) -> None:
    executor = RayExecutor()
    here = evaluate(profile, grid="paper", budgets=3, protocol=protocol, folds=3, repeats=1)
    there = evaluate(profile, grid="paper", budgets=3, protocol=protocol, folds=3, repeats=1,
                     map_splits=executor.map)
    assert _without_seconds(here) == _without_seconds(there)
    assert len({row.split for row in there.rows}) == (5 if protocol == "paper" else 3)


def _fails(split: str) -> str:
    raise CodecascadeError(f"split {split} is bad")


def test_an_error_in_a_split_is_raised_as_it_was(on_ray) -> None:
    import sys

    import ray

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import it
    with pytest.raises(CodecascadeError, match=r"^split b is bad$"):
        list(RayExecutor().map(_fails, ["b"]))


def test_the_command_with_ray_prints_the_same_rows(on_ray, profile, tmp_path, capsys) -> None:
    from planner.cli import main

    path = tmp_path / "syn.npz"
    save_profile(profile, path)
    argv = ["evaluate", "--profile", str(path), "--grid", "paper", "--budgets", "3", "--json",
            "--no-progress"]
    outputs = []
    for extra in ([], ["--ray"]):
        with pytest.raises(SystemExit) as done:
            main([*argv, *extra])
        assert done.value.code == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0]["rows"] == outputs[1]["rows"]
