"""``codecascade sandbox``: inspect the sandbox that executes all model-written code."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from . import app

sandbox_app = typer.Typer(help="Inspect and check the sandbox that runs model-written code.",
                          no_args_is_help=True, rich_markup_mode=None)
app.add_typer(sandbox_app, name="sandbox")

_PYTHON_HELP = ("Interpreter the sandbox runs (default: $CODECASCADE_SANDBOX_PYTHON, else "
                "/usr/bin/python3).")


@sandbox_app.command("probe")
def probe(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    python: Annotated[str | None, typer.Option(metavar="PATH", help=_PYTHON_HELP)] = None,
) -> None:
    """Print the isolation level this machine gives (A, B or C), its layers, what is missing
    and which of the caller's hard resource limits (ulimit -H) lower the sandbox's own.
    Exit status 0 when level A, 3 when a lower level would be used or the hard limits leave
    too little to run a solution."""
    from ..sandbox import IsolationLevel, Limits, probe_isolation

    report = probe_isolation(python)
    host = report.host_limits_json()
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        typer.echo(report.summary())
        typer.echo(f"interpreter: {report.interpreter} (Python {report.python_version})")
        for item in report.missing:
            typer.echo(f"missing: {item}")
        if report.host is not None:
            for line in report.host.describe(Limits(), report.uid_base is not None):
                typer.echo(f"host limit: {line}")
        if host.get("refusal"):
            typer.echo(f"refused: {host['refusal']}")
    if report.level is not IsolationLevel.A or host.get("refusal"):
        raise typer.Exit(3)


@sandbox_app.command("check")
def check(
    python: Annotated[str | None, typer.Option(metavar="PATH", help=_PYTHON_HELP)] = None,
    unsafe_no_sandbox: Annotated[bool, typer.Option(
        "--unsafe-no-sandbox", help="Allow level C (no filesystem or network isolation).")
    ] = False,
    strict: Annotated[bool, typer.Option("--strict", help="One process per pair.")] = False,
) -> None:
    """Run a small known batch (correct, wrong, looping, crashing, networking solutions) and
    print its verdicts: a quick end-to-end check of an installation."""
    from ..sandbox import BatchJob, Limits, SandboxError, probe_isolation, run_batch

    solutions = {
        "correct": "def add(a, b):\n    return a + b\n",
        "wrong": "def add(a, b):\n    return a - b\n",
        "loops": "def add(a, b):\n    while True:\n        pass\n",
        "exits": "import os\nos._exit(0)\n",
        "network": "import socket\n\ndef add(a, b):\n"
                   "    socket.create_connection(('127.0.0.1', 9), timeout=1)\n    return a + b\n",
    }
    tests = ("assert add(1, 2) == 3", "assert add(2, 2) == 4", "assert add(0, 5) == 5")
    expected = {"correct": "pass", "wrong": "fail", "loops": "timeout", "exits": "crash",
                "network": "error:"}
    job = BatchJob(solutions=tuple(solutions.values()), tests=tests,
                   limits=Limits(test_timeout=0.5, load_timeout=1.0, max_timeouts=1),
                   mode="strict" if strict else "fast")
    result = run_batch(job, isolation=probe_isolation(python), allow_unsafe=unsafe_no_sandbox)
    typer.echo(f"sandbox level {result.level}, {result.meta['mode']} mode, "
               f"{result.meta['elapsed_s']:.2f} s")
    if result.meta["limits_clamped"]:
        effective = result.meta["limits_effective"]
        typer.echo("limits lowered to the host's hard limits: " + ", ".join(
            f"{name} {effective[name]}" for name in result.meta["limits_clamped"]))
    bad = []
    for name, row in zip(solutions, result.verdicts.tolist(), strict=True):
        typer.echo(f"  {name:8s} {' '.join(row)}")
        if not row[0].startswith(expected[name]):
            bad.append(name)
    if bad:
        cause = f" ({result.broken_cause})" if result.broken else ""
        raise SandboxError(f"unexpected verdicts for: {', '.join(bad)}{cause}")
