"""``recover log [ID]``: the history of the home, or of one case, from git."""

from __future__ import annotations

from typing import Annotated

import typer

from .. import State
from ..common import print_json


def log(
    ctx: typer.Context,
    case_id: Annotated[
        str | None,
        typer.Argument(metavar="[ID]", help="Only the changes to this case.", show_default=False),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="At most this many changes.")
    ] = 50,
    json: Annotated[bool, typer.Option("--json", help="Print the history as JSON.")] = False,
) -> None:
    """Show what changed, when, and on which machine (newest first)."""
    from ...store import parse_case_id
    from ...sync import engine

    state: State = ctx.obj
    wanted = parse_case_id(case_id) if case_id is not None else None
    entries = engine.history(state.home, wanted, limit=limit)
    if json:
        print_json([e.__dict__ | {"files": list(e.files)} for e in entries])
        return
    if not entries:
        typer.echo("No history yet." if wanted is None else f"No history for case {wanted}.")
        return
    for entry in entries:
        when = entry.at[:16].replace("T", " ")
        who = _printable(entry.author + (f", machine {entry.machine}" if entry.machine else ""))
        typer.echo(f"{when}  {entry.commit}  {_printable(entry.message)}  ({who})")
        if wanted is None and len(entry.files) > 1:
            typer.echo(f"{'':18}{len(entry.files)} files")


def _printable(text: str) -> str:
    """A commit message or author as text: git keeps whatever was typed."""
    from ...text import strip_controls

    return strip_controls(text)
