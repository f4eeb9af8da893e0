"""The command line: ``codecascade <command>`` and the ``plan`` shortcut.

The CLI is thin: each command module parses options, calls the importable API and prints.
Every project error (:class:`planner.errors.CodecascadeError`) becomes one line on stderr
and exit status 2; an unexpected exception is one line and status 1 (set
``CODECASCADE_DEBUG=1`` to see the traceback). Command modules register themselves on
:data:`app` when imported below.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click
import typer

from ..errors import CodecascadeError

# typer >= 0.26 vendors its own click: its Exit/Abort/usage errors are not click's classes.
# Catch both families so usage errors keep click's exit status (2) whichever typer is installed.
_EXIT_ERRORS: tuple[type[BaseException], ...] = tuple({click.exceptions.Exit, typer.Exit})
_ABORT_ERRORS: tuple[type[BaseException], ...] = tuple({click.exceptions.Abort, typer.Abort})
_USAGE_ERRORS: tuple[type[BaseException], ...] = tuple(
    {click.ClickException, getattr(typer.exceptions, "TyperException", click.ClickException)}
)

app = typer.Typer(
    name="codecascade",
    help="Plan, check and run model cascades for LLM code generation under a budget.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command modules: each defines its commands on `app` (import order = help order).
COMMAND_MODULES = ("profile_cmd", "plan_cmd", "replay_cmd", "measure_cmd", "run_cmd",
                   "sandbox_cmd")


def _register_commands() -> None:
    from importlib import import_module
    from importlib.util import find_spec

    for name in COMMAND_MODULES:
        if find_spec(f"{__name__}.{name}") is not None:
            import_module(f"{__name__}.{name}")


def run_command(command: click.Command, argv: Sequence[str] | None, prog_name: str) -> int:
    """Run a click command and turn every failure into one line and an exit status."""
    try:
        # Without standalone mode click returns the code of a `typer.Exit` instead of raising.
        status = command.main(args=list(argv) if argv is not None else None,
                              prog_name=prog_name, standalone_mode=False)
    except _EXIT_ERRORS as exc:
        return int(getattr(exc, "exit_code", 0))
    except _USAGE_ERRORS as exc:
        exc.show()  # type: ignore[attr-defined]
        return int(getattr(exc, "exit_code", 2))
    except _ABORT_ERRORS:
        print("aborted", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except CodecascadeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 1
    except Exception as exc:
        if os.environ.get("CODECASCADE_DEBUG"):
            raise
        print(f"error: internal {type(exc).__name__}: {exc} (CODECASCADE_DEBUG=1 shows more)",
              file=sys.stderr)
        return 1
    return status if isinstance(status, int) else 0


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``codecascade``."""
    _register_commands()
    sys.exit(run_command(typer.main.get_command(app), argv, "codecascade"))


def plan_main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``plan`` (the same as ``codecascade plan``)."""
    _register_commands()
    group = typer.main.get_command(app)
    # typer >= 0.26 vendors click: its group is not a click.Group, but has .commands
    command = getattr(group, "commands", {}).get("plan")
    if command is None:
        print("error: the plan command is not available", file=sys.stderr)
        sys.exit(2)
    sys.exit(run_command(command, argv, "plan"))
