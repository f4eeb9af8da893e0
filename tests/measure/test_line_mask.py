"""The ``line_informative`` mask: computed during a build, and added to a profile built
without it by ``measure --line-mask-of`` (nothing executed, alignment verified)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from cli_support import cli
from measure_fakes import FakeExecutor

from planner.measure import MeasureError, MeasureSources, build_profile
from planner.measure.line_mask import add_line_mask
from planner.output import OutputError
from planner.profile import ARRAY_SPECS, load_profile, save_profile
from planner.testlines import solution_independent

#: Lines put into the fake release's test generations: always true, or never calling f.
INDEPENDENT = ("assert (isinstance(f(), int), lambda x: len(x))", "assert True",
               "assert 1 + 1 == 2", "assert f is not None")


def _with_independent_lines(wizard_dir: Path) -> Path:
    """The fake release with an always-true or f-free line at position 2 of some test
    generations of the first loop of the 7B model."""
    path = wizard_dir / "testcase" / "7B" / "7B_p10_l0.json"
    rows = json.loads(path.read_text())
    for i, row in enumerate(rows[::4]):
        lines = row["answer"].split("\n")
        lines[1] = INDEPENDENT[i % len(INDEPENDENT)]
        row["answer"] = "\n".join(lines)
    path.write_text(json.dumps(rows))
    return wizard_dir


@pytest.fixture()
def built(wizard_dir, price_file, tmp_path):
    """A profile of the release with solution-independent lines, built with its mask."""
    sources = MeasureSources(wizardcoder=_with_independent_lines(wizard_dir),
                             wizardcoder_models=("7B", "13B"))
    result = build_profile(tmp_path / "built.npz", sources, prices=price_file,
                           executor=FakeExecutor())
    return sources, result.profile


def test_a_build_masks_exactly_the_solution_independent_lines(built):
    sources, profile = built
    mask = profile.line_informative
    assert mask is not None
    # the pooled lines in pool order, as the builder pools them
    from planner.measure.build import build_pools
    from planner.problems import load_problems

    pools = build_pools(load_problems(sources.default_problems()), sources.read(
        load_problems(sources.default_problems())))
    masked = 0
    for p, pool in enumerate(pools):
        for q, line in enumerate(pool.lines):
            assert mask[p, q] == (not solution_independent(line, "f")), line
            masked += not mask[p, q]
        assert not mask[p, len(pool.lines):].any()
    assert masked > 0
    record = profile.provenance["line_informative"]
    assert record["solution_independent_pooled_lines"] == masked
    assert record["pooled_lines"] == int(profile.n_lines.sum())


def test_the_mask_is_added_to_an_older_profile_without_changing_anything_else(built,
                                                                           tmp_path):
    sources, profile = built
    old = dataclasses.replace(profile, line_informative=None)
    save_profile(old, tmp_path / "old.npz")
    result = add_line_mask(tmp_path / "old.npz", tmp_path / "new.npz", sources)
    assert (result.had_mask, result.unchanged) == (False, False)
    new = load_profile(tmp_path / "new.npz")
    np.testing.assert_array_equal(new.line_informative, profile.line_informative)
    for name in ARRAY_SPECS:  # no pass bit, label, id or token moved
        np.testing.assert_array_equal(getattr(new, name), getattr(profile, name))
    assert new.models == profile.models and new.problems == profile.problems
    assert "added after the build" in new.provenance["line_informative"]["how"]
    assert "line_mask_added" in new.provenance["run"]
    # in place, with --overwrite; again: the same mask
    with pytest.raises(OutputError, match="overwrite"):
        add_line_mask(tmp_path / "new.npz", tmp_path / "new.npz", sources)
    again = add_line_mask(tmp_path / "new.npz", tmp_path / "new.npz", sources, overwrite=True)
    assert (again.had_mask, again.unchanged) == (True, True)


def test_sources_that_are_not_the_profiles_are_refused(built, tmp_path):
    sources, profile = built
    save_profile(dataclasses.replace(profile, line_informative=None), tmp_path / "old.npz")
    out = tmp_path / "new.npz"
    # one source file changed by one byte
    answer = sources.wizardcoder / "answer" / "13B" / "13B_p10_l1.json"
    answer.write_text(answer.read_text() + " ")
    with pytest.raises(MeasureError, match=r"WizardCoder-Python-13B: the source files are "
                       r"not the ones .*answer/13B/13B_p10_l1.json"):
        add_line_mask(tmp_path / "old.npz", out, sources)
    assert not out.exists()
    # other models
    with pytest.raises(MeasureError, match="same models, same order"):
        add_line_mask(tmp_path / "old.npz", out, dataclasses.replace(
            sources, wizardcoder_models=("7B",)))


def test_a_profile_whose_lines_do_not_align_is_refused(built, tmp_path):
    """Same sources, but the profile's test lines are not the pools' (here: two line
    positions swapped): the mask could not be aligned, nothing is written."""
    sources, profile = built
    test_line = profile.test_line.copy()
    test_line[0, 0, 0, [0, 1]] = test_line[0, 0, 0, [1, 0]]
    save_profile(dataclasses.replace(profile, test_line=test_line, line_informative=None),
                 tmp_path / "old.npz")
    with pytest.raises(MeasureError, match=r"do not match the profile's test_line \(2 "
                       "entries differ\\), so the mask cannot be aligned"):
        add_line_mask(tmp_path / "old.npz", tmp_path / "new.npz", sources)
    assert not (tmp_path / "new.npz").exists()


def test_the_command_line_adds_the_mask_and_profile_reports_it(built, tmp_path, capsys):
    sources, profile = built
    save_profile(dataclasses.replace(profile, line_informative=None), tmp_path / "old.npz")
    assert cli("profile", str(tmp_path / "old.npz")) == 0
    assert "cannot fail: unknown" in capsys.readouterr().out
    args = ["measure", str(tmp_path / "new.npz"), "--line-mask-of", str(tmp_path / "old.npz"),
            "--wizardcoder", str(sources.wizardcoder), "--wizardcoder-models", "7B,13B"]
    assert cli(*args, "--limit", "2") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--limit does not apply" in err
    assert cli(*args) == 0
    out = capsys.readouterr().out
    masked = profile.provenance["line_informative"]["solution_independent_pooled_lines"]
    assert "line mask added" in out and f"{masked:,} of " in out
    assert cli("profile", str(tmp_path / "new.npz"), "--json") == 0
    models = {m["name"]: m for m in json.loads(capsys.readouterr().out)["models"]}
    assert models["WizardCoder-Python-7B"]["solution_independent_lines"] > 0
    assert models["WizardCoder-Python-13B"]["solution_independent_lines"] == 0
