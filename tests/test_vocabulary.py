"""Each closed vocabulary (planner.vocabulary) is exactly the set of words its consumers
accept: the spec schema, the grid and split functions, the integer program, the registry."""

from __future__ import annotations

import json

import numpy as np
import pytest

from planner.options import grid_by_name
from planner.spec import spec_schema
from planner.splits import Split
from planner.vocabulary import (
    GridName,
    IlpSolver,
    MethodName,
    ObjectiveKind,
    SolverStatus,
    SplitPart,
    choices,
)


def test_spec_schema_words():
    schema = spec_schema()["properties"]
    assert list(ObjectiveKind) == schema["objective"]["enum"]
    assert list(SolverStatus) == schema["search"]["properties"]["status"]["enum"]


def test_members_are_their_strings():
    assert ObjectiveKind.MAX_ACCURACY == "max_accuracy"
    assert json.dumps({"s": SolverStatus.OPTIMAL}) == '{"s": "optimal"}'
    assert f"{MethodName.ILP}" == "ilp"
    assert choices(SplitPart) == "validation, test, all"


def test_grid_names_are_the_named_grids():
    for name in GridName:
        assert grid_by_name(name).name == name
    with pytest.raises(ValueError):
        grid_by_name("huge")


def test_split_parts_are_the_parts_of_a_split():
    split = Split("s", 0, np.array([0, 2]), np.array([1]))
    assert [list(split.part(p)) for p in SplitPart] == [[0, 2], [1], [0, 1, 2]]


def test_ilp_solvers_and_methods_are_the_registered_ones():
    from planner.search import METHODS
    from planner.search.ilp import SOLVERS

    assert tuple(IlpSolver) == SOLVERS
    assert tuple(METHODS) == tuple(MethodName)
