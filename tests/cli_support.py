"""The command line as tests call it: ``cli("plan", "--budget", "0.01")`` runs
``codecascade`` in this process and returns its exit code (0, 2 for a usage error, ...)."""

from __future__ import annotations


def cli(*args: str) -> int:
    """Run ``codecascade ARGS...`` as its console script does; the exit code."""
    import typer

    from planner.cli import _register_commands, app, run_command

    _register_commands()
    return run_command(typer.main.get_command(app), list(args), "codecascade")
