"""The cascade spec: the planner's output and the runtime's input, as validated JSON.

A :class:`CascadeSpec` holds the ordered stages (model + stage option), what was asked
(a budget in $ per problem, or a target accuracy), what the estimator predicts for the plan
on the planning split and on the held-out split (means with bootstrap intervals, and the
digest of the stages they are for), how the search went (method, solver status,
optimality gap, time) and where it came from (profile fingerprint, prices in $ per million
tokens, seeds, split, grid, version). ``spec.schema.json`` beside this module is the JSON
Schema of format 2 (every cost and price field named with its unit, planner.units);
format 1 specs are still read (``spec-v1.schema.json``) and converted. :func:`load_spec`
validates a file against its schema and against the plan rules of :mod:`planner.options`,
so a consumer (``codecascade run`` / ``replay``) can trust what it gets, and both agree on
what a valid spec is. :func:`save_spec` writes atomically (format 2).
``predicted.new_problems`` (when the plan was chosen by a selector with an honest
statement) is what the plan is expected to do on problems it was not chosen on: corrected
for selection, with intervals.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from .errors import CodecascadeError
from .options import CascadePlan, PlanError, Stage, StageOption
from .output import atomic_write
from .units import per_million
from .vocabulary import ObjectiveKind, SolverStatus, choices

SPEC_FORMAT_VERSION = 2
#: The JSON Schema of each format this version reads (it writes the newest).
SCHEMA_PATHS = {1: Path(__file__).with_name("spec-v1.schema.json"),
                2: Path(__file__).with_name("spec.schema.json")}
SCHEMA_PATH = SCHEMA_PATHS[SPEC_FORMAT_VERSION]


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
        """Format 2: costs named with their unit (``cost_per_problem``)."""
        out: dict[str, Any] = {
            "split": self.split,
            "n_problems": self.n_problems,
            "accuracy": self.accuracy,
            "accuracy_ci": list(self.accuracy_ci),
            "cost_per_problem": self.cost,
            "cost_per_problem_ci": list(self.cost_ci),
            "confidence": self.confidence,
        }
        if self.accuracy_mc_se is not None:
            out["accuracy_mc_se"] = self.accuracy_mc_se
        if self.cost_mc_se is not None:
            out["cost_per_problem_mc_se"] = self.cost_mc_se
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Prediction:
        """From format 2 JSON (:func:`upgrade_spec_json` converts format 1)."""
        def optional(name: str) -> float | None:
            return None if obj.get(name) is None else float(obj[name])

        return cls(
            split=str(obj["split"]),
            n_problems=int(obj["n_problems"]),
            accuracy=float(obj["accuracy"]),
            accuracy_ci=(float(obj["accuracy_ci"][0]), float(obj["accuracy_ci"][1])),
            cost=float(obj["cost_per_problem"]),
            cost_ci=(float(obj["cost_per_problem_ci"][0]),
                     float(obj["cost_per_problem_ci"][1])),
            confidence=float(obj.get("confidence", 0.95)),
            accuracy_mc_se=optional("accuracy_mc_se"),
            cost_mc_se=optional("cost_per_problem_mc_se"),
        )


@dataclass(frozen=True)
class NewProblemEstimate:
    """What a plan is stated to do on *new* problems: mean accuracy (fraction) and cost
    ($ per problem) corrected for selection, with intervals at ``confidence``. ``method``
    says how it was made (in-sample mean, nested cross-validation, .632 weighting ...;
    planner.selection.honest); ``selection`` is the selector that chose the plan, as
    ``--selection`` spells it."""

    accuracy: float
    accuracy_ci: tuple[float, float]
    cost: float
    cost_ci: tuple[float, float]
    method: str
    confidence: float = 0.95
    selection: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Format 2: costs named with their unit (``cost_per_problem``)."""
        out: dict[str, Any] = {
            "accuracy": self.accuracy, "accuracy_ci": list(self.accuracy_ci),
            "cost_per_problem": self.cost, "cost_per_problem_ci": list(self.cost_ci),
            "method": self.method, "confidence": self.confidence}
        if self.selection is not None:
            out["selection"] = self.selection
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> NewProblemEstimate:
        return cls(accuracy=float(obj["accuracy"]),
                   accuracy_ci=(float(obj["accuracy_ci"][0]), float(obj["accuracy_ci"][1])),
                   cost=float(obj["cost_per_problem"]),
                   cost_ci=(float(obj["cost_per_problem_ci"][0]),
                            float(obj["cost_per_problem_ci"][1])),
                   method=str(obj["method"]), confidence=float(obj["confidence"]),
                   selection=None if obj.get("selection") is None else str(obj["selection"]))


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
    """Where a plan came from, enough to reproduce it.

    ``profile_sha256`` is the fingerprint of the profile as loaded (format 1: after the
    price overrides); ``prices_per_1m`` the generated-token price of every profile model
    the plan was made with, overrides included, and ``prompt_prices_per_1m`` the
    prompt-token prices, both in $ per million tokens (planner.units).
    """

    profile: str
    profile_sha256: str
    prices_per_1m: dict[str, float]
    grid: str
    split: str
    seeds: dict[str, int]
    version: str
    created: str
    extra: dict[str, Any] = field(default_factory=dict)
    prompt_prices_per_1m: dict[str, float] = field(default_factory=dict)
    #: the format the spec was read from (1: its fingerprint includes price overrides)
    format_version: int = SPEC_FORMAT_VERSION

    def to_json(self) -> dict[str, Any]:
        out = {
            "profile": self.profile,
            "profile_sha256": self.profile_sha256,
            "prices_per_1m_generated": dict(self.prices_per_1m),
            "grid": self.grid,
            "split": self.split,
            "seeds": dict(self.seeds),
            "version": self.version,
            "created": self.created,
            "extra": dict(self.extra),
        }
        if self.prompt_prices_per_1m:
            out["prices_per_1m_prompt"] = dict(self.prompt_prices_per_1m)
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any], format_version: int = SPEC_FORMAT_VERSION
                  ) -> Provenance:
        """From format 2 JSON (:func:`upgrade_spec_json` converts format 1)."""
        def prices(name: str) -> dict[str, float]:
            return {str(k): float(v) for k, v in obj.get(name, {}).items()}

        return cls(
            profile=str(obj["profile"]),
            profile_sha256=str(obj["profile_sha256"]),
            prices_per_1m=prices("prices_per_1m_generated"),
            grid=str(obj["grid"]),
            split=str(obj["split"]),
            seeds={str(k): int(v) for k, v in obj["seeds"].items()},
            version=str(obj["version"]),
            created=str(obj["created"]),
            extra=dict(obj.get("extra", {})),
            prompt_prices_per_1m=prices("prices_per_1m_prompt"),
            format_version=format_version,
        )


def plan_digest(stages: Sequence[Stage]) -> str:
    """sha256 of the stages (model and every option field, in order): what a spec's
    predictions are for, so an edited spec can be told from the planned one."""
    canonical = [{"model": s.model, **s.option.to_json()} for s in stages]
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class CascadeSpec:
    """A planned cascade with its predictions and provenance (see the module docstring).

    ``budget`` is in $ per problem. ``plan_sha256`` is the :func:`plan_digest` of the
    stages the predictions were made for: by default the stages' own; "" when unknown (a
    format 1 spec does not record it). :attr:`edited` says whether the stages still match.
    """

    stages: tuple[Stage, ...]
    objective: ObjectiveKind
    budget: float | None
    target_accuracy: float | None
    planning: Prediction
    heldout: Prediction | None
    solver: SolverInfo
    provenance: Provenance
    plan_sha256: str | None = None
    new_problems: NewProblemEstimate | None = None

    def __post_init__(self) -> None:
        if self.plan_sha256 is None:
            object.__setattr__(self, "plan_sha256", plan_digest(self.stages))
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

    @property
    def edited(self) -> bool:
        """True when the stages are no longer the ones the predictions were made for (k,
        t, l, θ, a rule, a model or the order changed after planning); False when they
        are, or when the spec does not record it (format 1)."""
        return bool(self.plan_sha256) and self.plan_sha256 != plan_digest(self.stages)

    def to_json(self) -> dict[str, Any]:
        """Format 2 JSON (costs in $ per problem, prices in $ per million tokens, each
        field named with its unit)."""
        return {
            "format_version": SPEC_FORMAT_VERSION,
            "kind": "codecascade.cascade_spec",
            "stages": [
                {"model": s.model, **s.option.to_json(), "label": s.option.label()}
                for s in self.stages
            ],
            "objective": self.objective,
            "budget_per_problem": self.budget,
            "target_accuracy": self.target_accuracy,
            "predicted": {
                "plan_sha256": self.plan_sha256 or plan_digest(self.stages),
                "planning": self.planning.to_json(),
                "heldout": None if self.heldout is None else self.heldout.to_json(),
                **({} if self.new_problems is None
                   else {"new_problems": self.new_problems.to_json()}),
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
        """Build a spec from parsed JSON of any readable format; SpecError (one line) if it
        breaks its format's schema."""
        validate_spec_json(obj)
        version = int(obj["format_version"])
        if version < SPEC_FORMAT_VERSION:
            obj = upgrade_spec_json(obj)
        try:
            stages = tuple(
                Stage(model=str(s["model"]), option=StageOption.from_json(s))
                for s in obj["stages"]
            )
            heldout = obj["predicted"]["heldout"]
            budget = obj["budget_per_problem"]
            new = obj["predicted"].get("new_problems")
            return cls(
                stages=stages,
                objective=str(obj["objective"]),
                budget=None if budget is None else float(budget),
                target_accuracy=(
                    None if obj["target_accuracy"] is None else float(obj["target_accuracy"])
                ),
                planning=Prediction.from_json(obj["predicted"]["planning"]),
                heldout=None if heldout is None else Prediction.from_json(heldout),
                solver=SolverInfo.from_json(obj["search"]),
                provenance=Provenance.from_json(obj["provenance"], version),
                plan_sha256=obj["predicted"].get("plan_sha256", ""),
                new_problems=None if new is None else NewProblemEstimate.from_json(new),
            )
        except PlanError as exc:
            raise SpecError(f"invalid stage: {exc}") from None


def upgrade_spec_json(obj: dict[str, Any]) -> dict[str, Any]:
    """A valid format 1 spec as format 2 JSON: cost fields renamed with their unit, prices
    from $ per token to $ per million tokens (``provenance.extra.prompt_prices`` becomes
    ``provenance.prices_per_1m_prompt``). Format 1 records no plan digest."""
    def prediction(p: dict[str, Any] | None) -> dict[str, Any] | None:
        if p is None:
            return None
        out = {k: v for k, v in p.items() if k not in ("cost", "cost_ci", "cost_mc_se")}
        out["cost_per_problem"] = p["cost"]
        out["cost_per_problem_ci"] = p["cost_ci"]
        if "cost_mc_se" in p:
            out["cost_per_problem_mc_se"] = p["cost_mc_se"]
        return out

    prov = dict(obj["provenance"])
    extra = dict(prov.get("extra", {}))
    prov["prices_per_1m_generated"] = {k: per_million(v)
                                       for k, v in prov.pop("prices").items()}
    prompt = extra.pop("prompt_prices", None)
    if isinstance(prompt, dict):
        prov["prices_per_1m_prompt"] = {k: per_million(float(v)) for k, v in prompt.items()}
    prov["extra"] = extra
    out = {k: v for k, v in obj.items() if k != "budget"}
    out.update(format_version=SPEC_FORMAT_VERSION, budget_per_problem=obj["budget"],
               provenance=prov,
               predicted={"planning": prediction(obj["predicted"]["planning"]),
                          "heldout": prediction(obj["predicted"]["heldout"])})
    return out


@cache
def spec_schema(version: int = SPEC_FORMAT_VERSION) -> dict[str, Any]:
    """The committed JSON Schema of a cascade spec of format ``version``."""
    return json.loads(SCHEMA_PATHS[version].read_text(encoding="utf-8"))


def validate_spec_json(obj: Any) -> None:
    """Validate parsed JSON against its format's schema; SpecError naming the first
    violation (or the format, when it is not one this version reads)."""
    import jsonschema

    version = obj.get("format_version") if isinstance(obj, dict) else None
    if version not in SCHEMA_PATHS or isinstance(version, bool):
        known = ", ".join(str(v) for v in SCHEMA_PATHS)
        raise SpecError(f"spec format_version must be one of {known}, got {version!r}")
    validator = jsonschema.Draft202012Validator(spec_schema(version))
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
