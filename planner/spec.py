"""The cascade spec: the planner's output and the runtime's input, as validated JSON.

A :class:`CascadeSpec` holds the ordered stages (model + stage option), what was asked
(a budget in $ per problem, or a target accuracy), what the estimator predicts for the plan
on the planning split and on the held-out split (means with bootstrap intervals), how the
search went (method, solver status, optimality gap, time) and where it came from (profile
fingerprint, prices, seeds, split, grid, version). ``spec.schema.json`` beside this module
is the JSON Schema; :func:`load_spec` validates a file against it and against the plan
rules of :mod:`planner.options`, so a consumer (``codecascade run`` / ``replay``) can trust
what it gets. :func:`save_spec` writes atomically.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from .errors import CodecascadeError
from .options import CascadePlan, PlanError, Stage, StageOption
from .output import atomic_write
from .vocabulary import ObjectiveKind, SolverStatus, choices

SPEC_FORMAT_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("spec.schema.json")


class SpecError(CodecascadeError, ValueError):
    """A cascade spec file or object is malformed; the message is one line."""


@dataclass(frozen=True)
class Prediction:
    """Predicted mean accuracy (fraction) and cost ($ per problem) of a plan on one split.

    The intervals are percentile bootstrap intervals over problems at ``confidence``. A
    prediction made by simulating whole replicates (a plan that shares tests) also carries
    the Monte Carlo standard errors of its means (``None`` otherwise).
    """

    split: str
    n_problems: int
    accuracy: float
    accuracy_ci: tuple[float, float]
    cost: float
    cost_ci: tuple[float, float]
    confidence: float = 0.95
    accuracy_mc_se: float | None = None
    cost_mc_se: float | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "split": self.split,
            "n_problems": self.n_problems,
            "accuracy": self.accuracy,
            "accuracy_ci": list(self.accuracy_ci),
            "cost": self.cost,
            "cost_ci": list(self.cost_ci),
            "confidence": self.confidence,
        }
        if self.accuracy_mc_se is not None:
            out["accuracy_mc_se"] = self.accuracy_mc_se
        if self.cost_mc_se is not None:
            out["cost_mc_se"] = self.cost_mc_se
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Prediction:
        def optional(name: str) -> float | None:
            return None if obj.get(name) is None else float(obj[name])

        return cls(
            split=str(obj["split"]),
            n_problems=int(obj["n_problems"]),
            accuracy=float(obj["accuracy"]),
            accuracy_ci=(float(obj["accuracy_ci"][0]), float(obj["accuracy_ci"][1])),
            cost=float(obj["cost"]),
            cost_ci=(float(obj["cost_ci"][0]), float(obj["cost_ci"][1])),
            confidence=float(obj.get("confidence", 0.95)),
            accuracy_mc_se=optional("accuracy_mc_se"),
            cost_mc_se=optional("cost_mc_se"),
        )


@dataclass(frozen=True)
class SolverInfo:
    """How the search went: ``status`` (:class:`~planner.vocabulary.SolverStatus`) is
    "optimal", "feasible" (a plan without an optimality proof), or "heuristic"; ``gap`` is
    the relative optimality gap when the method bounds it (0 for a proven optimum), else
    None; ``seconds`` the search's wall-clock time."""

    method: str
    status: SolverStatus
    gap: float | None
    seconds: float
    solver: str = ""
    plans_evaluated: int = 0

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "status", SolverStatus(self.status))
        except ValueError:
            raise SpecError(f"unknown search status {self.status!r}; known: "
                            f"{choices(SolverStatus)}") from None

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "status": self.status,
            "gap": self.gap,
            "seconds": self.seconds,
            "solver": self.solver,
            "plans_evaluated": self.plans_evaluated,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> SolverInfo:
        gap = obj.get("gap")
        return cls(
            method=str(obj["method"]),
            status=str(obj["status"]),
            gap=None if gap is None else float(gap),
            seconds=float(obj["seconds"]),
            solver=str(obj.get("solver", "")),
            plans_evaluated=int(obj.get("plans_evaluated", 0)),
        )


@dataclass(frozen=True)
class Provenance:
    """Where a plan came from, enough to reproduce it."""

    profile: str
    profile_sha256: str
    prices: dict[str, float]
    grid: str
    split: str
    seeds: dict[str, int]
    version: str
    created: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "profile_sha256": self.profile_sha256,
            "prices": dict(self.prices),
            "grid": self.grid,
            "split": self.split,
            "seeds": dict(self.seeds),
            "version": self.version,
            "created": self.created,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Provenance:
        return cls(
            profile=str(obj["profile"]),
            profile_sha256=str(obj["profile_sha256"]),
            prices={str(k): float(v) for k, v in obj["prices"].items()},
            grid=str(obj["grid"]),
            split=str(obj["split"]),
            seeds={str(k): int(v) for k, v in obj["seeds"].items()},
            version=str(obj["version"]),
            created=str(obj["created"]),
            extra=dict(obj.get("extra", {})),
        )


@dataclass(frozen=True)
class CascadeSpec:
    """A planned cascade with its predictions and provenance (see the module docstring)."""

    stages: tuple[Stage, ...]
    objective: ObjectiveKind
    budget: float | None
    target_accuracy: float | None
    planning: Prediction
    heldout: Prediction | None
    solver: SolverInfo
    provenance: Provenance

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "objective", ObjectiveKind(self.objective))
        except ValueError:
            raise SpecError(f"unknown objective {self.objective!r}; known: "
                            f"{choices(ObjectiveKind)}") from None
        try:
            CascadePlan(self.stages)
        except PlanError as exc:
            raise SpecError(f"invalid cascade: {exc}") from None

    @property
    def plan(self) -> CascadePlan:
        return CascadePlan(self.stages)

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(s.model for s in self.stages)

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": SPEC_FORMAT_VERSION,
            "kind": "codecascade.cascade_spec",
            "stages": [
                {"model": s.model, **s.option.to_json(), "label": s.option.label()}
                for s in self.stages
            ],
            "objective": self.objective,
            "budget": self.budget,
            "target_accuracy": self.target_accuracy,
            "predicted": {
                "planning": self.planning.to_json(),
                "heldout": None if self.heldout is None else self.heldout.to_json(),
            },
            "search": self.solver.to_json(),
            "provenance": self.provenance.to_json(),
        }

    def dumps(self) -> str:
        """The spec as indented JSON text (validated against the schema)."""
        obj = self.to_json()
        validate_spec_json(obj)
        return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, obj: Any) -> CascadeSpec:
        """Build a spec from parsed JSON; SpecError (one line) if it breaks the schema."""
        validate_spec_json(obj)
        try:
            stages = tuple(
                Stage(model=str(s["model"]), option=StageOption.from_json(s))
                for s in obj["stages"]
            )
            heldout = obj["predicted"]["heldout"]
            return cls(
                stages=stages,
                objective=str(obj["objective"]),
                budget=None if obj["budget"] is None else float(obj["budget"]),
                target_accuracy=(
                    None if obj["target_accuracy"] is None else float(obj["target_accuracy"])
                ),
                planning=Prediction.from_json(obj["predicted"]["planning"]),
                heldout=None if heldout is None else Prediction.from_json(heldout),
                solver=SolverInfo.from_json(obj["search"]),
                provenance=Provenance.from_json(obj["provenance"]),
            )
        except PlanError as exc:
            raise SpecError(f"invalid stage: {exc}") from None


@cache
def spec_schema() -> dict[str, Any]:
    """The committed JSON Schema of a cascade spec."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate_spec_json(obj: Any) -> None:
    """Validate parsed JSON against the schema; SpecError naming the first violation."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(spec_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(obj))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
        raise SpecError(f"spec does not match the schema at {where}: {message}")


def load_spec(path: str | os.PathLike[str]) -> CascadeSpec:
    """Read and validate a spec file; SpecError (one line) on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read spec {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SpecError(f"spec {path} is not UTF-8 text") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"spec {path} is not valid JSON: {exc}") from None
    try:
        return CascadeSpec.from_json(obj)
    except SpecError as exc:
        raise SpecError(f"{path}: {exc}") from None


def save_spec(spec: CascadeSpec, path: str | os.PathLike[str]) -> Path:
    """Write ``spec`` to ``path`` atomically (a temporary file in the same folder, then a
    rename), so a reader never sees a half-written spec."""
    path = Path(path)
    text = spec.dumps()
    try:
        with atomic_write(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise SpecError(f"cannot write spec {path}: {exc.strerror or exc}") from None
    return path
