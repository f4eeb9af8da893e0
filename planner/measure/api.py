"""``build_profile``: the importable form of ``codecascade measure``.

Checks everything before the first execution (the output path, the sources, the problems,
a price for every model, the cell cache), reads every source's generations, measures the
cross-model grid through the executor it is given (by default the sandbox with
:data:`~planner.measure.build.MEASURE_CONFIG`), and writes the profile atomically. The
command line only parses options into these arguments and prints the result.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import fields
from ..output import OutputError, check_output
from ..problems import Problem, load_problems, without_ground_truth
from ..profile import RUN_KEY, Profile, data_dir, file_sha256, save_profile
from ..sandbox import SandboxBrokenError
from ..sandbox.grid import Executor, GridConfig, SandboxExecutor
from .build import MEASURE_CONFIG, measure_profile, model_infos
from .collected import is_generations_file, read_generations
from .prices import load_prices
from .sources import ModelGenerations, SourceError, read_api_runs, read_codet, read_run_records
from .wizardcoder import SIZES, read_wizardcoder

#: The models of the API runs file, in the order a profile lists them.
API_MODELS = ("gpt-3.5-turbo", "gpt-4", "codellama-34b-instruct")

#: The cell cache's folder name, beside the output: profiles built in one folder share cells.
CACHE_NAME = ".codecascade-cells"


@dataclass(frozen=True)
class MeasureSources:
    """Where the generations come from; models are read in this order: the WizardCoder
    release (``wizardcoder_models`` sizes), CodeT's CodeGen-16B files, the API runs
    (``api_models``), then the ``records`` files: ``codecascade collect`` generations
    files (their models in the collection's order, or ``endpoints``' order) and
    ``codecascade run`` records (their models in file order), told apart by their format.

    ``endpoints`` (an endpoints file) prices the collected models and must describe each as
    it was collected; ``allow_mixed`` accepts generations of one model from different
    endpoints or samplings, or for other prompts, with a warning instead of refusing them
    (:mod:`planner.measure.collected`).
    """

    wizardcoder: Path | None = None
    wizardcoder_models: tuple[str, ...] = SIZES
    codet: Path | None = None
    api_runs: Path | None = None
    api_models: tuple[str, ...] = API_MODELS
    records: tuple[Path, ...] = ()
    endpoints: Path | None = None
    allow_mixed: bool = False

    def __post_init__(self) -> None:
        for name in ("wizardcoder", "codet", "api_runs", "endpoints"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, Path(value))
        object.__setattr__(self, "records", tuple(Path(p) for p in self.records))
        if not (self.wizardcoder or self.codet or self.api_runs or self.records):
            raise SourceError("nothing to measure: give --wizardcoder, --codet, --api-runs or "
                              "--records")
        for name in ("wizardcoder_models", "api_models"):
            names = tuple(x.strip() for x in getattr(self, name) if x.strip())
            if not names:
                raise SourceError(f"--{name.replace('_', '-')} names no models")
            object.__setattr__(self, name, names)

    def default_problems(self) -> str:
        """The release's own ``HumanEval.json`` with ``wizardcoder``, else ``humaneval``."""
        return str(self.wizardcoder / "HumanEval.json") if self.wizardcoder else "humaneval"

    def read(self, problems: Sequence[Problem],
             warn: Callable[[str], None] | None = None) -> list[ModelGenerations]:
        """Every model's generations on ``problems`` (not executed); ``warn`` receives
        one-line warnings of the readers."""
        warn = warn or _warn
        models = []
        if self.wizardcoder:
            models += [read_wizardcoder(self.wizardcoder, size, problems)
                       for size in self.wizardcoder_models]
        if self.codet:
            models.append(read_codet(self.codet, problems))
        if self.api_runs:
            models += [read_api_runs(self.api_runs, name, problems) for name in self.api_models]
        for path in self.records:
            if path.is_dir():
                raise SourceError(f"records file {path} is a directory")
            if not path.is_file():
                raise SourceError(f"records file not found: {path}")
        generations = [p for p in self.records if is_generations_file(p)]
        runs = [p for p in self.records if p not in generations]
        if generations:
            collected = read_generations(generations, problems, endpoints=self.endpoints,
                                         allow_mixed=self.allow_mixed, warn=warn)
            if collected.incomplete:
                pairs = collected.incomplete
                warn(f"{len(pairs)} (model, problem) pairs hold fewer generations than the "
                     f"model's others (failed requests), e.g. {pairs[0][0]} on {pairs[0][1]}: "
                     "a model's k and t are capped at its smallest count; collect --resume "
                     "fills them")
            models += collected.models
        elif self.endpoints is not None:
            raise SourceError("--endpoints prices collected generations, and no --records "
                              "file holds any")
        if runs:
            models += read_run_records(runs, problems, warn)
        return models


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


@dataclass(frozen=True)
class MeasureResult:
    """What a measurement did: the profile and where it was written, the (solution, test)
    cells executed now and those reused from the cell cache, and the problems skipped for
    lack of ground truth."""

    profile: Profile
    path: Path
    pairs_run: int
    pairs_reused: int
    seconds: float
    cache: Path
    without_ground_truth: tuple[str, ...]


def build_profile(
    output: str | os.PathLike[str],
    sources: MeasureSources,
    *,
    problems: str | os.PathLike[str] | None = None,
    prices: str | os.PathLike[str] | None = None,
    limit: int | None = None,
    execution: GridConfig = MEASURE_CONFIG,
    executor: Executor | None = None,
    cache: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    warn: Callable[[str], None] | None = None,
) -> MeasureResult:
    """Measure ``sources`` on ``problems`` into the profile file ``output`` (``.npz``).

    ``problems`` is any :func:`planner.problems.load_problems` source (default:
    :meth:`MeasureSources.default_problems`), of which ``limit`` keeps the first N;
    problems without ground truth are skipped and named in the result. ``prices`` is a price
    table (default: the bundled ``prices.json``) that must price every model that does not
    carry its own price (collected generations carry the endpoints file's).
    ``execution`` decides the verdicts (limits, mode, clock) when ``executor`` is not given;
    ``cache`` is the cell cache (default: ``.codecascade-cells`` beside the output), so an
    interrupted build resumes and a build with more models or problems runs only new
    cells (the result says how many cells ran and how many were reused). An existing
    ``output`` is replaced only with ``overwrite``. ``warn`` receives one-line warnings
    (default: printed to stderr).

    Raises a :class:`~planner.errors.CodecascadeError` (one line) for any bad input before
    anything is executed.
    """
    check_output(output, overwrite=overwrite, suffixes=(".npz",), what="profile")
    output = Path(output)
    executor = executor or SandboxExecutor(execution)
    problems_source = str(problems) if problems is not None else sources.default_problems()
    all_problems = load_problems(problems_source)
    if limit is not None:
        limit = fields.whole(limit, "limit", least=1)
    price_path = Path(prices) if prices is not None else data_dir() / "prices.json"
    price_table = load_prices(price_path)
    models = sources.read(all_problems, warn)
    price_table.update({m.name: m.price for m in models if m.price is not None})
    model_infos(models, price_table)
    cache_dir = Path(cache) if cache is not None else output.parent / CACHE_NAME
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        (cache_dir / ".gitignore").write_text("*\n")
    except OSError as exc:
        raise OutputError(f"cannot use the cell cache {cache_dir}: {exc.strerror or exc}"
                          ) from None
    source_file = Path(problems_source)
    extra: dict[str, Any] = {
        "problems_file": {"path": source_file.name,
                          "sha256": file_sha256(source_file) if source_file.is_file() else "",
                          "limit": limit},
        "prices_file": {"path": price_path.name, "sha256": file_sha256(price_path)},
    }
    chosen = all_problems[:limit]
    try:
        profile = measure_profile(chosen, models, price_table, executor, cache_dir,
                                  provenance=extra)
    except SandboxBrokenError as exc:
        raise SandboxBrokenError(
            f"{exc}; measuring stopped, the cells measured before are kept in {cache_dir}: "
            "fix the sandbox (codecascade sandbox check) and run the same command again"
        ) from None
    try:
        save_profile(profile, output)
    except OSError as exc:
        raise OutputError(f"cannot write profile {output}: {exc.strerror or exc}") from None
    run = profile.provenance[RUN_KEY]
    return MeasureResult(profile=profile, path=output, pairs_run=int(run["pairs_executed"]),
                         pairs_reused=int(run["pairs_reused"]), seconds=float(run["seconds"]),
                         cache=cache_dir,
                         without_ground_truth=tuple(without_ground_truth(chosen)))
