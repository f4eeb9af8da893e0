"""``codecascade profile``: describe a profile per model (or as JSON)."""

from __future__ import annotations

import json

import typer

from . import app


@app.command("profile")
def profile_command(
    path: str | None = typer.Argument(
        None, metavar="PROFILE", help="A profile file or a bundled profile's name "
        "(default: the default profile)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Per model: price ($ per million generated tokens), problems, samples, greedy and
    sampled pass@1, assert lines per problem, share of lines that hold for the reference
    solution, mean tokens, and how many kept assert lines cannot fail or never call the
    function under test (left out by pass_fraction and consensus); plus provenance."""
    from ..measure.summary import format_summary, profile_summary
    from ..profile import load_profile

    summary = profile_summary(load_profile(path))
    if as_json:
        typer.echo(json.dumps(summary, indent=1, sort_keys=True))
    else:
        typer.echo(format_summary(summary))
