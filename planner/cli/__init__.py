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
import time
from collections.abc import Sequence
from typing import Annotated, Any

import typer

from .. import __version__
from ..errors import CodecascadeError
from .usage import usage_line

app = typer.Typer(
    name="codecascade",
    help="Plan, check and run model cascades for LLM code generation under a budget.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # plain help: at 80 columns the boxed layout truncated option names
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"codecascade {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True,
        help="Print the version and exit.")] = False,
) -> None:
    """Plan, check and run model cascades for LLM code generation under a budget."""

# Command modules: each defines its commands on `app` (import order = help order).
COMMAND_MODULES = ("profile_cmd", "plan_cmd", "evaluate_cmd", "replay_cmd", "collect_cmd",
                   "measure_cmd", "run_cmd", "serve_cmd", "sandbox_cmd")


def _register_commands() -> None:
    from importlib import import_module
    from importlib.util import find_spec

    for name in COMMAND_MODULES:
        if find_spec(f"{__name__}.{name}") is not None:
            import_module(f"{__name__}.{name}")


def _command_path(command: Any, argv: Sequence[str] | None, prog_name: str) -> str:
    """``codecascade plan`` when the arguments name a subcommand, else ``codecascade``
    (where a usage error without its command's context sends the user for --help)."""
    args = list(sys.argv[1:] if argv is None else argv)
    names = getattr(command, "commands", {})
    first = next((a for a in args if not a.startswith("-")), None)
    return f"{prog_name} {first}" if first in names else prog_name


def _help_asked_for(exc: Any) -> str | None:
    """The command's help when ``exc`` is a group called without its command
    (``codecascade``, ``codecascade sandbox``: the library raises its help as the error), so
    that it is shown as ``--help`` shows it, not folded into one line."""
    ctx = getattr(exc, "ctx", None)
    if ctx is None:
        return None
    help_text = ctx.get_help()
    return help_text if str(exc.format_message()) == help_text else None


def run_command(command: Any, argv: Sequence[str] | None, prog_name: str) -> int:
    """Run a Typer command and turn every failure into one line and an exit status.

    Usage errors and project errors (:class:`~planner.errors.CodecascadeError`) exit with 2,
    Ctrl-C with 130, anything unexpected with 1 (``CODECASCADE_DEBUG=1`` re-raises it).
    Outputs are written atomically at the end, so an interrupted command has written
    nothing; a command that keeps partial work (``run``, ``measure``) says so itself.
    """
    from .running import noting_interrupts

    start = time.monotonic()
    try:
        # Without standalone mode a `typer.Exit` returns its code instead of raising (and
        # Ctrl-C becomes such an exit, 130: noted, to say what was kept).
        with noting_interrupts() as interrupts:
            status = command.main(args=list(argv) if argv is not None else None,
                                  prog_name=prog_name, standalone_mode=False)
        if interrupts.seen:
            raise KeyboardInterrupt
    except typer.Exit as exc:
        return int(getattr(exc, "exit_code", 0))
    except typer.Abort:
        print("aborted", file=sys.stderr)
        return 130
    except typer.TyperException as exc:
        help_text = _help_asked_for(exc)
        if help_text is not None:
            print(help_text, file=sys.stderr)
            return 2
        print(usage_line(exc, _command_path(command, argv, prog_name)), file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    except KeyboardInterrupt:
        print(f"\ninterrupted after {time.monotonic() - start:.0f} s: nothing written",
              file=sys.stderr)
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
    argv = _bare_ray(list(sys.argv[1:] if argv is None else argv))
    sys.exit(run_command(typer.main.get_command(app), argv, "codecascade"))


def _bare_ray(argv: list[str]) -> list[str]:
    """``measure --ray`` without an address means ``--ray=local``: a bare ``--ray`` is
    followed by nothing, by another option or by a word that is no Ray address."""
    from ..sandbox.ray_executor import is_address

    return ["--ray=local" if arg == "--ray" and (i + 1 == len(argv) or not is_address(argv[i + 1]))
            else arg for i, arg in enumerate(argv)]


def plan_main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``plan`` (the same as ``codecascade plan``)."""
    _register_commands()
    group = typer.main.get_command(app)
    command = getattr(group, "commands", {}).get("plan")
    if command is None:
        print("error: the plan command is not available", file=sys.stderr)
        sys.exit(2)
    sys.exit(run_command(command, argv, "plan"))
