"""``codecascade measure``: build a profile from recorded generations by executing them."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..sandbox.modes import Clock
from . import app
from .options import NoProgressOpt, OverwriteOpt, option_names
from .running import long_work

if TYPE_CHECKING:
    from ..measure.api import MeasureSources

DEFAULT_API_MODELS = "gpt-3.5-turbo,gpt-4,codellama-34b-instruct"
#: How ``measure`` spells the fields of its options' domain objects.
MEASURE_NAMES = {"test_timeout": "--test-timeout", "check_timeout": "--check-timeout",
                 "limit": "--limit"}


@app.command()
def measure(
    output_path: Annotated[str, typer.Argument(
        metavar="OUTPUT", help="Profile file to write (.npz).")],
    wizardcoder: Annotated[Path | None, typer.Option(
        metavar="DIR", help="Folder of the seed paper's WizardCoder-Python release.")] = None,
    wizardcoder_models: Annotated[str, typer.Option(
        metavar="A,B,...", help="Sizes to read from --wizardcoder.")] = "7B,13B,34B",
    codet: Annotated[Path | None, typer.Option(
        metavar="DIR", help="Folder of CodeT's CodeGen-Mono-16B HumanEval files.")] = None,
    api_runs: Annotated[Path | None, typer.Option(
        metavar="FILE", help="runs.jsonl of the GPT-3.5 / GPT-4 / CodeLlama API runs.")
    ] = None,
    api_models: Annotated[str, typer.Option(
        metavar="A,B,...", help="Models to read from --api-runs.")] = DEFAULT_API_MODELS,
    records: Annotated[list[Path] | None, typer.Option(
        metavar="FILE", help="A generations file of `codecascade collect` or a records "
        "file of `codecascade run` (repeatable).")] = None,
    endpoints: Annotated[Path | None, typer.Option(
        "--endpoints", "-e", metavar="FILE", help="Endpoints file: prices the collected "
        "models (default: the prices recorded in the generations file) and must describe "
        "each model as it was collected.")] = None,
    allow_mixed: Annotated[bool, typer.Option(
        "--allow-mixed", help="Use generations of one model from different endpoints or "
        "sampling settings, or for other prompts, instead of refusing them.")] = False,
    problems: Annotated[str | None, typer.Option(
        metavar="PROBLEMS", help="Problems with ground truth: humaneval, mbpp or a "
        "JSON/JSONL file. Default: HumanEval.json of --wizardcoder, else humaneval.")] = None,
    prices: Annotated[Path | None, typer.Option(
        metavar="FILE", help="Price table ($ per million tokens) of the models that carry "
        "no price of their own. Default: the bundled prices.json.")] = None,
    limit: Annotated[int | None, typer.Option(
        metavar="N", help="Measure only the first N problems (>= 1).")] = None,
    test_timeout: Annotated[float, typer.Option(
        metavar="SECONDS", help="Seconds (> 0) per model-written assert line (CodeT's "
        "default is 0.1 s).")] = 0.25,
    check_timeout: Annotated[float, typer.Option(
        metavar="SECONDS", help="Seconds (> 0) for a solution's ground-truth check "
        "(HumanEval's check function).")] = 1.0,
    clock: Annotated[Clock, typer.Option(
        help="What the limits count: CPU time (independent of the machine's load) or wall "
        "time.")] = Clock.CPU,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Fork per (solution, test) pair instead of per solution.")] = False,
    cache: Annotated[Path | None, typer.Option(
        metavar="DIR", help="Folder of measured cells (resume and reuse). Default: "
        ".codecascade-cells beside the output.")] = None,
    ray: Annotated[str | None, typer.Option(
        metavar="[ADDRESS]", help="Run the sandbox batches as Ray tasks: alone, on a Ray "
        "instance started on this machine; 'auto', 'ray://HOST:10001' or 'HOST:PORT' to join "
        "a cluster (pip install 'codecascade[ray]'). Every node must offer sandbox level A.")
    ] = None,
    unsafe_no_sandbox: Annotated[bool, typer.Option(
        "--unsafe-no-sandbox", help="Run model code below sandbox level A (even with no "
        "isolation at all), here or on Ray nodes.")] = False,
    line_mask_of: Annotated[str | None, typer.Option(
        metavar="PROFILE", help="Execute nothing: add to PROFILE (a file or a bundled "
        "profile's name) the mask of its assert lines that cannot fail, recomputed from the "
        "same sources (verified by sha256 and line by line), and write it to OUTPUT. "
        "Profiles built before the mask existed need it for the pass_fraction and "
        "consensus rules.")] = None,
    no_progress: NoProgressOpt = False,
    overwrite: OverwriteOpt = False,
) -> None:
    """Measure models into a profile: execute every solution on the ground truth and on
    every model's assert lines in the sandbox. Resumable: re-run the same command after an
    interruption (Ctrl-C) and it continues where it stopped."""
    from ..measure.api import CACHE_NAME, MeasureSources, build_profile
    from ..measure.summary import format_summary, profile_summary
    from ..sandbox.grid import GridConfig, SandboxExecutor
    from ..sandbox.modes import SandboxMode
    from ..sandbox.ray_executor import RayExecutor

    with option_names(MEASURE_NAMES):
        sources = MeasureSources(
            wizardcoder=wizardcoder, wizardcoder_models=tuple(wizardcoder_models.split(",")),
            codet=codet, api_runs=api_runs, api_models=tuple(api_models.split(",")),
            records=tuple(records or ()), endpoints=endpoints,
            allow_mixed=allow_mixed)
        execution = GridConfig(test_timeout=test_timeout, check_timeout=check_timeout,
                               mode=SandboxMode.STRICT if strict else SandboxMode.FAST,
                               clock=clock)
        if line_mask_of is not None:
            _add_line_mask(line_mask_of, output_path, sources, problems, limit, ray,
                           overwrite)
            return
        executor: RayExecutor | SandboxExecutor | None = None  # None: build_profile's
        if ray is not None:
            executor = RayExecutor(execution, address=ray, allow_unsafe=unsafe_no_sandbox)
            executor.check_reachable()  # before reading the sources
        elif unsafe_no_sandbox:
            executor = SandboxExecutor(execution, allow_unsafe=True)
        try:
            with long_work(no_progress), (contextlib.closing(executor)
                                          if isinstance(executor, RayExecutor)
                                          else contextlib.nullcontext()):
                result = build_profile(output_path, sources, problems=problems, prices=prices,
                                       limit=limit, execution=execution, executor=executor,
                                       cache=cache, overwrite=overwrite)
        except KeyboardInterrupt:
            kept = cache if cache is not None else Path(output_path).parent / CACHE_NAME
            typer.echo(f"\ninterrupted: {output_path} was not written; the cells measured so "
                       f"far are kept in {kept}, and the same command continues from them",
                       err=True)
            raise SystemExit(130) from None
    if result.without_ground_truth:
        lacking = result.without_ground_truth
        typer.echo(f"skipped {len(lacking)} problems without ground truth: "
                   f"{', '.join(lacking[:10])}{' ...' if len(lacking) > 10 else ''}", err=True)
    typer.echo(format_summary(profile_summary(result.profile)))
    where = ""
    transport = result.profile.provenance["run"]["transport"]
    if transport.get("executor") == "ray" and "cpus" in transport:
        nodes = [n for n in transport["nodes"] if n["accepted"]]
        where = (f" on Ray: {len(nodes)} nodes, {transport['cpus']} CPUs, "
                 f"{transport['shards']} tasks,")
    typer.echo(f"wrote {result.path} ({result.pairs_run} pairs executed now{where} in "
               f"{result.seconds:.1f} s, {result.pairs_reused} reused from {result.cache})")


def _add_line_mask(profile: str, output_path: str, sources: MeasureSources,
                   problems: str | None,
                   limit: int | None, ray: str | None, overwrite: bool) -> None:
    """``measure --line-mask-of``: the mask added, nothing executed."""
    from ..measure.build import MeasureError
    from ..measure.line_mask import add_line_mask

    if limit is not None or ray is not None:
        raise MeasureError(f"--line-mask-of executes nothing and takes the problems of the "
                           f"profile's provenance: {'--limit' if limit is not None else '--ray'}"
                           " does not apply")
    result = add_line_mask(profile, output_path, sources, problems=problems,
                           overwrite=overwrite)
    record = result.profile.provenance["line_informative"]
    state = ("the same as the mask it had" if result.unchanged else
             "replacing a different mask" if result.had_mask else "added")
    typer.echo(f"wrote {result.path}: line mask {state}; "
               f"{record['solution_independent_pooled_lines']:,} of "
               f"{record['pooled_lines']:,} pooled assert lines cannot fail or never call the "
               f"function under test; nothing executed, no verdict changed; fingerprint "
               f"{result.profile.fingerprint()[:12]}")
