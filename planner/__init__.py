"""codecascade: plan, check and run model cascades for LLM code generation under a budget.

The public API is re-exported here and loaded lazily, so ``import planner`` stays light:
numpy-heavy and solver modules load only when one of their names is first used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "Profile": "planner.profile",
    "ModelInfo": "planner.profile",
    "ProfileError": "planner.profile",
    "load_profile": "planner.profile",
    "save_profile": "planner.profile",
    "synthetic_profile": "planner.synthetic",
    # estimator and replay
    "Grid": "planner.options",
    "paper_grid": "planner.options",
    "default_grid": "planner.options",
    "generalised_grid": "planner.options",
    "select_solution": "planner.scoring",
    "option_tables": "planner.estimate",
    "estimate_plan": "planner.estimate",
    "simulate_plan": "planner.estimate",
    "PlanEstimate": "planner.estimate",
    "bootstrap_ci": "planner.intervals",
    "Split": "planner.splits",
    "paper_splits": "planner.splits",
    "kfold_splits": "planner.splits",
    "paper_replay": "planner.replay",
    "replay_spec": "planner.replay",
    "BatchJob": "planner.sandbox",
    "BatchResult": "planner.sandbox",
    "Limits": "planner.sandbox",
    "SandboxError": "planner.sandbox",
    "run_batch": "planner.sandbox",
    "run_batches": "planner.sandbox",
    "probe_isolation": "planner.sandbox",
    "GridConfig": "planner.sandbox",
    "GridJob": "planner.sandbox",
    "SandboxExecutor": "planner.sandbox",
    # planning
    "plan": "planner.planning",
    "pareto_front": "planner.planning",
    "planning_context": "planner.planning",
    "compare_methods": "planner.planning",
    "frontier": "planner.planning",
    "PlanRequest": "planner.planning",
    "evaluate": "planner.evaluation",
    "CascadeSpec": "planner.spec",
    "load_spec": "planner.spec",
    "save_spec": "planner.spec",
    # problems and run records
    "Problem": "planner.problems",
    "load_problems": "planner.problems",
    "read_problems": "planner.problems",
    "read_records": "planner.records",
    "validate_record": "planner.records",
    "ProblemRecord": "planner.records",
    "read_collected": "planner.records",
    "CollectedRecord": "planner.records",
    # collecting generations (the function itself: planner.collect.collect)
    "CollectOptions": "planner.collect",
    "Want": "planner.collect",
    # runtime
    "run_spec": "planner.runtime.api",
    "load_endpoints": "planner.runtime.endpoints",
    "ReplayServer": "planner.runtime.replay_server",
    # measurement
    "build_profile": "planner.measure",
    "MeasureSources": "planner.measure",
    "measure_profile": "planner.measure",
    "read_wizardcoder": "planner.measure",
    "read_codet": "planner.measure",
    "read_api_runs": "planner.measure",
    "read_run_records": "planner.measure",
    "load_prices": "planner.measure",
    "profile_summary": "planner.measure.summary",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'planner' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
