"""The Typer layer: parse options, call the core, render. Nothing else lives here.

Start-up matters (the seller runs this while the customer talks), so this module
imports only Typer. Every command lives in a module of :mod:`.commands`, named in
:data:`.commands.COMMANDS` and imported only when that command runs; a command module
imports what it needs at its top, like any other module.

This is also the one exit point: :class:`RecoverGroup` turns every error into
``Error: ...`` on stderr and its documented exit code.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from .. import __version__
from ..errors import ExitStatus, RecoverError, Reported
from ..text import strip_controls
from .commands import COMMANDS


@dataclass
class State:
    """Options of the root command, shared with every subcommand."""

    home_option: Path | None = None
    debug: bool = False
    # In a home synced with git: when the command began, and the times of what it may
    # change besides its cases (see _commit_command).
    started: Any = None
    before: tuple[int, ...] | None = None

    @property
    def home(self) -> Path:
        """The home directory in force."""
        from ..config import resolve_home  # settings (and tomllib) only once one is needed

        return resolve_home(self.home_option)


def report(error: RecoverError) -> None:
    """Print an error the one way errors are printed: ``Error: ...`` on stderr."""
    # Messages may quote a file's text (an answers file, a playbook): no escape
    # sequence in it may reach the terminal. Newlines (lists of problems) stay.
    # After the terminal closed there is nobody to tell; the exit code still says it.
    with contextlib.suppress(OSError):
        typer.echo(f"{error.prefix}{strip_controls(error.message)}", err=True)
        if error.hint:
            typer.echo(strip_controls(error.hint), err=True)


def load_command(name: str) -> Any:
    """The Click command registered as ``name``, importing its module now."""
    target, summary = COMMANDS[name]
    module_name, attribute = target.split(":")
    found = getattr(importlib.import_module(f"{__name__}.commands.{module_name}"), attribute)
    if not isinstance(found, typer.Typer):
        # A plain function: one command, made the way Typer makes any command.
        single = typer.Typer(add_completion=False, rich_markup_mode=None)
        single.command(name)(found)
        found = single
    command = typer.main.get_command(found)
    command.short_help = summary
    return command


class RecoverGroup(TyperGroup):
    """The root command: lazy subcommands, and the one place errors become messages
    and exit codes."""

    def list_commands(self, ctx: Any) -> list[str]:
        """The commands in the order of ``--help``."""
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """A command by name, imported only now."""
        return load_command(cmd_name) if cmd_name in COMMANDS else None

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The command list of ``--help``, from the registry: no command is imported."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, summary) for name, (_, summary) in COMMANDS.items()])

    def invoke(self, ctx: Any) -> Any:
        """Run the command; map RecoverError and Ctrl-C to messages and exit codes;
        then, in a home synced with git, commit what it changed."""
        try:
            return self._invoke(ctx)
        finally:
            _commit_command(ctx)

    def _invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Reported as done:
            # Told on screen already (a list of problems): the exit status, even under
            # --debug, where there is no traceback worth showing.
            raise typer.Exit(done.exit_code) from None
        except RecoverError as error:
            state = ctx.obj if isinstance(ctx.obj, State) else State()
            if state.debug:
                raise
            report(error)
            raise typer.Exit(error.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("Interrupted.", err=True)
            raise typer.Exit(ExitStatus.INTERRUPTED) from None
        except BrokenPipeError:
            # `recover export | head`: the reader has what it wanted. Caught here, as
            # Typer would otherwise make it exit 1 and fail a `pipefail` script.
            _silence()
            raise typer.Exit(ExitStatus.SUCCESS) from None


# What a command may change in a home besides the cases it saves (settings, playbooks,
# a machine's letter, and the cases folder itself for doctor --fix): each is written
# atomically, so a change shows in its folder's (or file's) time.
_SMALL = ("config.toml", "playbooks", "machines", "cases")


def _small_folders(home: Path) -> tuple[int, ...]:
    """The times of what a command may change besides its cases."""
    times = []
    for name in _SMALL:
        try:
            times.append(os.stat(os.path.join(home, name)).st_mtime_ns)
        except OSError:
            times.append(0)
    return tuple(times)


def _note_start(state: State, command: str | None) -> None:
    """Before a command runs in a home synced with git: when, and what it may change."""
    if command in (None, "sync", "log"):
        return
    try:
        home = state.home
    except RecoverError:
        return
    if os.path.isdir(os.path.join(home, ".git")):
        from .. import clock

        state.started, state.before = clock.now(), _small_folders(home)


def _commit_command(ctx: Any) -> None:
    """One commit for a command that changed something, in a home synced with git,
    after its output is on screen (never inside a walk step). Never fails the command."""
    state = ctx.obj
    if not isinstance(state, State) or state.before is None:
        return
    before, home = state.before, state.home
    from ..store.store import written

    cases = written(home)
    after = _small_folders(home)
    if not cases and after == before:
        return  # a view, or a command that changed nothing: no git at all
    from ..sync.engine import describe, record

    message = describe(ctx.invoked_subcommand or "", cases, state.started)
    ids, everything = [case.id for case, _ in cases], after[3] != before[3]
    _in_background(lambda: record(home, message, ids, everything=everything))


def _in_background(work: Any) -> None:
    """Run ``work`` in a process of its own, detached from the terminal and its
    output, so that the command is done now: a commit is a few git processes, which
    the seller should not wait for. The process holds the sync lock while it works, so
    the next sync or ``recover log`` waits for it. Where there is no fork, now."""
    try:
        pid = os.fork()
    except (AttributeError, OSError):
        with contextlib.suppress(Exception):
            work()
        return
    if pid:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)  # it forks once more and is gone at once: no zombie
        return
    try:  # pragma: no cover - runs in the child processes
        if os.fork():
            os._exit(0)
        os.setsid()
        quiet = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(quiet, fd)
        work()
    finally:
        os._exit(0)


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
    _note_start(ctx.obj, ctx.invoked_subcommand)
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        # Imported here, as a command module would be: plain --help stays light.
        from .common import open_store
        from .views.notices import overdue

        with open_store(ctx.obj.home) as store:
            overdue(store)


def main() -> None:
    """Console-script entry point; the last resort for errors nobody expected."""
    debug = "--debug" in sys.argv[1:]
    try:
        app(prog_name="recover")
    except BrokenPipeError:
        # `recover list | head`: the reader has what it wanted; leave quietly.
        _silence()
        sys.exit(ExitStatus.SUCCESS)
    except SystemExit as done:
        if done.code == ExitStatus.HANGUP:
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
        sys.exit(ExitStatus.ERROR)


def _silence() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.dup2(devnull, sys.stderr.fileno())
