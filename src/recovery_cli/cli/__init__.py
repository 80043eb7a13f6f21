"""The Typer layer: parse options, call the core, render. Nothing else lives here.

Start-up matters (the seller runs this while the customer talks), so this module
imports only Typer; each command imports what it needs when it runs.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from .. import __version__
from ..errors import EXIT_ERROR, EXIT_HANGUP, EXIT_INTERRUPTED, RecoverError


@dataclass
class State:
    """Options of the root command, shared with every subcommand."""

    home_option: Path | None = None
    debug: bool = False

    @property
    def home(self) -> Path:
        """The home directory in force."""
        from ..config import resolve_home

        return resolve_home(self.home_option)


JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON (keys documented in the README).")
]


def report(error: RecoverError) -> None:
    """Print an error the one way errors are printed: ``Error: ...`` on stderr."""
    from ..render import clean_text

    # Messages may quote a file's text (an answers file, a playbook): no escape
    # sequence in it may reach the terminal. Newlines (lists of problems) stay.
    # After the terminal closed there is nobody to tell; the exit code still says it.
    with contextlib.suppress(OSError):
        typer.echo(f"{error.prefix}{clean_text(error.message)}", err=True)
        if error.hint:
            typer.echo(clean_text(error.hint), err=True)


class RecoverGroup(TyperGroup):
    """The one exit point: turns errors into a message and a documented exit code."""

    def invoke(self, ctx: Any) -> Any:
        """Run the command; map RecoverError and Ctrl-C to messages and exit codes."""
        try:
            return super().invoke(ctx)
        except RecoverError as error:
            state = ctx.obj if isinstance(ctx.obj, State) else State()
            if state.debug:
                raise
            report(error)
            raise typer.Exit(error.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("Interrupted.", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:
            # `recover export | head`: the reader has what it wanted. Caught here, as
            # Typer would otherwise make it exit 1 and fail a `pipefail` script.
            _silence()
            raise typer.Exit(0) from None
        finally:
            index = sys.modules.get("recovery_cli.index")
            if index is not None:
                index.close_all()


app = typer.Typer(
    cls=RecoverGroup,
    name="recover",
    help="Turn an upset customer into a loyal one: walk a recovery playbook on a live "
    "call and keep every case on disk.",
    pretty_exceptions_show_locals=False,
    # Plain help and usage errors: the same "Error: ..." shape as every other error,
    # no boxes to break in a narrow terminal, and no Rich import for --help.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"recover {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            help="Folder for cases, settings and your playbooks (default: $RECOVER_HOME, "
            "else your user data folder).",
            show_default=False,
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show a traceback for errors.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Turn an upset customer into a loyal one."""
    ctx.obj = State(home_option=home, debug=debug)
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        from ..store import Store
        from .after_cmd import overdue_notice

        with contextlib.suppress(RecoverError):  # help comes first, whatever the store holds
            overdue_notice(Store(ctx.obj.home))


# Registration order is the order of --help.
from . import walk_cmd, cases_cmd, after_cmd, stats_cmd, export_cmd  # noqa: E402, I001
from . import playbook_cmd, config_cmd, doctor_cmd  # noqa: E402

__all__ = [
    "after_cmd",
    "app",
    "cases_cmd",
    "config_cmd",
    "doctor_cmd",
    "export_cmd",
    "main",
    "playbook_cmd",
    "stats_cmd",
    "walk_cmd",
]


def main() -> None:
    """Console-script entry point; the last resort for errors nobody expected."""
    debug = "--debug" in sys.argv[1:]
    try:
        app(prog_name="recover")
    except BrokenPipeError:
        # `recover list | head`: the reader has what it wanted; leave quietly.
        _silence()
        sys.exit(0)
    except SystemExit as done:
        if done.code == EXIT_HANGUP:
            _silence()  # the terminal is gone: flushing output to it at exit would fail
        raise
    except Exception as error:
        if debug:
            raise
        # Deliberately not str(error): it could carry customer data.
        with contextlib.suppress(OSError):
            typer.echo(
                f"Error: something unexpected went wrong ({type(error).__name__}). "
                "Nothing already saved was lost; run again with --debug for details.",
                err=True,
            )
        sys.exit(EXIT_ERROR)


def _silence() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.dup2(devnull, sys.stderr.fileno())
