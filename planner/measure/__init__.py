"""Measurement: read recorded generations, execute them in the sandbox, build profiles.

``api`` is the importable form of ``codecascade measure`` (:func:`build_profile`);
``sources`` and ``wizardcoder`` read each data format (the seed paper's WizardCoder release,
CodeT's CodeGen-16B files, the API runs, the project's own run records) into
:class:`~planner.measure.sources.ModelGenerations`; ``build`` pools and deduplicates them,
executes the cross-model solution × assert-line grid through an
:class:`~planner.sandbox.grid.Executor` with a resumable cell store (``store``), and
assembles a :class:`~planner.profile.Profile`; ``line_mask`` adds the ``line_informative``
mask to a profile built without it (nothing executed); ``prices`` reads price tables;
``summary`` describes a profile per model. Problems come from :mod:`planner.problems`.
"""

from __future__ import annotations

from ..problems import Problem, ProblemError, load_problems, read_problems
from ..sandbox.grid import Executor, GridConfig, GridJob, GridResult, SandboxExecutor
from .api import MeasureResult, MeasureSources, build_profile
from .build import MEASURE_CONFIG, MeasureError, build_pools, measure_profile
from .line_mask import LineMaskResult, add_line_mask
from .prices import ModelPrice, load_prices
from .sources import (
    ModelGenerations,
    SourceError,
    read_api_runs,
    read_codet,
    read_run_records,
)
from .wizardcoder import read_wizardcoder

__all__ = [
    "MEASURE_CONFIG",
    "Executor",
    "GridConfig",
    "GridJob",
    "GridResult",
    "LineMaskResult",
    "MeasureError",
    "MeasureResult",
    "MeasureSources",
    "ModelGenerations",
    "ModelPrice",
    "Problem",
    "ProblemError",
    "SandboxExecutor",
    "SourceError",
    "add_line_mask",
    "build_pools",
    "build_profile",
    "load_prices",
    "load_problems",
    "measure_profile",
    "read_api_runs",
    "read_codet",
    "read_problems",
    "read_run_records",
    "read_wizardcoder",
]
