"""``codecascade measure``: build a profile from recorded generations by executing them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import app

DEFAULT_API_MODELS = "gpt-3.5-turbo,gpt-4,codellama-34b-instruct"

#: Default cell cache, beside the output: profiles built in one folder share their cells.
CACHE_NAME = ".codecascade-cells"


def _names(value: str, option: str) -> list[str]:
    from ..measure.sources import SourceError

    names = [x.strip() for x in value.split(",") if x.strip()]
    if not names:
        raise SourceError(f"{option} names no models")
    return names


@app.command()
def measure(
    output_path: Annotated[str, typer.Argument(
        metavar="OUTPUT", help="Profile file to write (.npz).")],
    wizardcoder: Annotated[Path | None, typer.Option(
        help="Folder of the seed paper's WizardCoder-Python release.")] = None,
    wizardcoder_models: Annotated[str, typer.Option(
        help="Sizes to read from --wizardcoder.")] = "7B,13B,34B",
    codet: Annotated[Path | None, typer.Option(
        help="Folder of CodeT's CodeGen-Mono-16B HumanEval files.")] = None,
    api_runs: Annotated[Path | None, typer.Option(
        help="runs.jsonl of the GPT-3.5 / GPT-4 / CodeLlama API runs.")] = None,
    api_models: Annotated[str, typer.Option(
        help="Models to read from --api-runs.")] = DEFAULT_API_MODELS,
    records: Annotated[list[Path] | None, typer.Option(
        help="A records file of `codecascade run` (repeatable).")] = None,
    problems: Annotated[str | None, typer.Option(
        help="Problems with ground truth: humaneval, mbpp or a JSON/JSONL file. Default: "
        "HumanEval.json of --wizardcoder, else humaneval.")] = None,
    prices: Annotated[Path | None, typer.Option(
        help="Price table ($ per 1k tokens). Default: the bundled prices.json.")] = None,
    limit: Annotated[int | None, typer.Option(
        min=1, help="Measure only the first N problems.")] = None,
    test_timeout: Annotated[float, typer.Option(
        help="Seconds per model-written assert line (CodeT's default is 0.1 s).")] = 0.25,
    check_timeout: Annotated[float, typer.Option(
        help="Seconds for a solution's ground-truth check (HumanEval's check function).")
    ] = 1.0,
    clock: Annotated[str, typer.Option(
        help="What the limits count: 'cpu' (CPU time, independent of the machine's load) "
        "or 'wall'.")] = "cpu",
    strict: Annotated[bool, typer.Option(
        help="Fork per (solution, test) pair instead of per solution.")] = False,
    cache: Annotated[Path | None, typer.Option(
        help=f"Folder of measured cells (resume and reuse). Default: {CACHE_NAME} beside "
        "the output.")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Replace an existing profile file.")] = False,
) -> None:
    """Measure models into a profile: execute every solution on the ground truth and on
    every model's assert lines in the sandbox. Resumable: re-run the same command after an
    interruption and it continues where it stopped."""
    from ..measure import build, sources
    from ..measure import prices as price_mod
    from ..measure.sources import SourceError
    from ..measure.summary import format_summary, profile_summary
    from ..measure.wizardcoder import read_wizardcoder
    from ..output import OutputError, check_output
    from ..problems import load_problems
    from ..profile import data_dir, file_sha256, save_profile
    from ..sandbox.grid import GridConfig, SandboxExecutor

    check_output(output_path, overwrite=overwrite, suffixes=(".npz",), what="profile")
    output = Path(output_path)
    executor = SandboxExecutor(GridConfig(test_timeout=test_timeout,
                                          check_timeout=check_timeout,
                                          mode="strict" if strict else "fast", clock=clock))
    records = records or []
    if not (wizardcoder or codet or api_runs or records):
        raise SourceError(
            "nothing to measure: give --wizardcoder, --codet, --api-runs or --records")
    if problems is None:
        problems = (str(wizardcoder / "HumanEval.json") if wizardcoder
                    else "humaneval")
    all_problems = load_problems(problems)
    price_path = prices or data_dir() / "prices.json"
    price_table = price_mod.load_prices(price_path)

    models = []
    if wizardcoder:
        models += [read_wizardcoder(wizardcoder, size, all_problems)
                   for size in _names(wizardcoder_models, "--wizardcoder-models")]
    if codet:
        models.append(sources.read_codet(codet, all_problems))
    if api_runs:
        models += [sources.read_api_runs(api_runs, name, all_problems)
                   for name in _names(api_models, "--api-models")]
    if records:
        models += sources.read_run_records(records, all_problems)
    build.model_infos(models, price_table)

    cache_dir = cache or output.parent / CACHE_NAME
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        (cache_dir / ".gitignore").write_text("*\n")
    except OSError as exc:
        raise OutputError(f"cannot use the cell cache {cache_dir}: {exc.strerror or exc}"
                          ) from None
    extra = {
        "problems_file": {"path": Path(problems).name,
                          "sha256": file_sha256(problems) if Path(problems).is_file() else "",
                          "limit": limit},
        "prices_file": {"path": price_path.name, "sha256": file_sha256(price_path)},
    }
    profile = build.measure_profile(all_problems[:limit], models, price_table, executor, cache_dir,
                                    progress=progress,
                                    provenance=extra)
    try:
        save_profile(profile, output)
    except OSError as exc:
        raise OutputError(f"cannot write profile {output}: {exc.strerror or exc}") from None
    typer.echo(format_summary(profile_summary(profile)))
    typer.echo(f"wrote {output}")
