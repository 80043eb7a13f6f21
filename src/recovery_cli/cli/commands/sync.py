"""``recover sync``: the home shared between machines through git.

``recover sync init [REMOTE]`` makes the home a repository and joins a remote (a bare
repository on a USB stick or a NAS, an ssh remote, a private hosted one);
``recover sync remote URL`` changes it; ``recover sync`` commits, fetches, merges,
pushes and says what came in and went out. ``recover log [ID]`` is in
:mod:`.history`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ...errors import ExitStatus, StorageError
from .. import State
from ..common import open_store, print_json

if TYPE_CHECKING:
    from ...sync.engine import Joined, Synced

app = typer.Typer(
    add_completion=False,
    rich_markup_mode=None,
    invoke_without_command=True,
    help="Share the home with your other machines through git: commit, fetch, merge, push.",
)

Json = Annotated[bool, typer.Option("--json", help="Print what happened as JSON.")]


@app.callback(invoke_without_command=True)
def sync(
    ctx: typer.Context,
    keep: Annotated[
        list[str] | None,
        typer.Option(
            "--keep",
            metavar="PATH",
            help="After a conflict in a playbook or config.toml: this machine's version "
            "of PATH (as it is now, edited or not) wins over the other's.",
            show_default=False,
        ),
    ] = None,
    json: Json = False,
) -> None:
    """Commit this machine's changes, bring in the other machines', and send ours out."""
    if ctx.invoked_subcommand is not None:
        return
    from ...sync import engine

    state: State = ctx.obj
    home = state.home
    with open_store(home) as store:
        report = engine.sync(home, store, keep=keep or ())
    if json:
        print_json(_synced_json(report))
    else:
        _say_synced(report)
    if report.pending is not None and (report.remote is not None or report.deferred):
        raise typer.Exit(ExitStatus.SYNC)


@app.command("init")
def init(
    ctx: typer.Context,
    remote: Annotated[
        str | None,
        typer.Argument(
            metavar="[REMOTE]",
            help="The shared repository: a path (/mnt/usb/shop.git), or an ssh or https URL.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Make the home a git repository, and join REMOTE if given."""
    import socket

    from ...config import ensure_home
    from ...machine import machine_id
    from ...sync import engine

    state: State = ctx.obj
    home = ensure_home(state.home)
    try:
        machine = machine_id(home)
    except OSError as exc:
        raise StorageError(f"cannot keep this machine's id: {exc.strerror or exc}") from None
    assert machine is not None
    joined = engine.init(home, remote, machine=machine, name=socket.gethostname())
    _say_joined(joined)
    if joined.pending is not None:
        raise typer.Exit(ExitStatus.SYNC)


@app.command("remote")
def remote(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(metavar="URL", help="The shared repository's path or URL.")],
) -> None:
    """Sync with another remote from now on."""
    from ...sync import engine

    state: State = ctx.obj
    from ...sync.git import shown_url

    before = engine.set_remote(state.home, url)
    was = f" (was {shown_url(before)})" if before and before != url else ""
    typer.echo(f"Remote: {shown_url(url)}{was}")
    typer.echo("Run `recover sync` to send and fetch.")


def _say_joined(joined: Joined) -> None:
    from ...sync.git import shown_url

    what = "Made" if joined.made else "Checked"
    typer.echo(f"{what} {joined.home} as a git repository (.gitignore, .gitattributes).")
    prefix = "" if joined.letter == "A" else joined.letter
    example = f"{prefix}1, {prefix}2, …" if prefix else "1, 2, … (no letter)"
    typer.echo(f"This machine's letter: {joined.letter}; its new cases are {example}")
    if joined.remote is None:
        typer.echo("No remote yet: `recover sync remote URL` sets one.")
        return
    if joined.came_in:
        typer.echo(f"From the remote: {joined.came_in} case{'s' * (joined.came_in != 1)}.")
    if joined.pushed:
        typer.echo(f"Joined {shown_url(joined.remote)}.")
    else:
        typer.echo(f"Remote {shown_url(joined.remote)}: {joined.pending}", err=True)
        typer.echo("Everything is committed here; `recover sync` sends it later.", err=True)


def _say_synced(report: Synced) -> None:
    for note in report.notes:
        typer.echo(note, err=True)
    incoming = report.came_in
    cases = sorted({c.case_id for c in incoming if c.case_id is not None}, key=_order)
    other = [c.path for c in incoming if c.case_id is None]
    if incoming:
        parts = []
        if cases:
            parts.append(f"{len(cases)} case{'s' * (len(cases) != 1)} ({_few(cases)})")
        if other:
            parts.append(f"{len(other)} other file{'s' * (len(other) != 1)} ({_few(other)})")
        typer.echo("In:  " + ", ".join(parts))
    else:
        typer.echo("In:  nothing new")
    if report.merged:
        typer.echo(f"     changed on both machines and merged: {_few(report.merged)}")
    out = f"{report.went_out} commit{'s' * (report.went_out != 1)}"
    if report.pushed or (report.pending is None and not report.went_out):
        typer.echo(f"Out: {out} sent" if report.went_out else "Out: nothing new")
    elif report.remote is None:
        typer.echo(f"Out: {out} kept here: {report.pending}")
    else:
        typer.echo(f"Out: {out} pending: {report.pending}", err=True)
    if report.deferred:
        typer.echo(
            f"Deferred: {_few(report.deferred)} open in a walk on this machine; "
            "run recover sync again once paused or done.",
            err=True,
        )


def _few(items: list[str]) -> str:
    return ", ".join(items[:8]) + (f", … {len(items) - 8} more" if len(items) > 8 else "")


def _order(case_id: str) -> tuple[int, str]:
    return (len(case_id), case_id)


def _synced_json(report: Synced) -> dict[str, object]:
    from ...sync.git import shown_url

    return {
        "committed": report.committed,
        "in": [{"path": c.path, "status": c.status, "case": c.case_id} for c in report.came_in],
        "merged": report.merged,
        "out": report.went_out,
        "pushed": report.pushed,
        "pending": report.pending,
        "deferred": report.deferred,
        "remote": shown_url(report.remote) if report.remote else None,
        "notes": report.notes,
    }
