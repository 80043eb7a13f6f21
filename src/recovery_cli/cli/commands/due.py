"""``recover followups``: what is due, from the index's briefs alone (no case model is
built, no Rich console imported), so the list is there as soon as it is asked for."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ... import clock, lookups
from ...fileio import write_atomic
from ...followups import HORIZON_DAYS, to_ics
from .. import State
from ..common import open_store, print_json
from ..options import JsonOption
from ..plain import Output
from ..views import notices, tables


def due(
    ctx: typer.Context,
    show_all: Annotated[
        bool,
        typer.Option(
            "--all", help="Every follow-up still to do, however long overdue or far ahead."
        ),
    ] = False,
    ics: Annotated[
        Path | None,
        typer.Option(
            "--ics",
            metavar="FILE",
            dir_okay=False,
            show_default=False,
            help="Also write them as an iCalendar file to import into a calendar.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Follow-ups to do: overdue (for up to 4 weeks) first, then today, then the next 7
    days (--all: every one), each with the case, the customer and what to say."""
    state: State = ctx.obj
    now = clock.now()
    with open_store(state.home) as store:
        dues = lookups.due_follow_ups(store, now, every_one=show_all)
    notices.damaged(dues.damaged)
    found = dues.found
    if ics is not None:
        write_atomic(ics, to_ics(found.items, now))
    if as_json:
        print_json([item.as_json() for item in found.items])
        if found.hidden:
            typer.echo(tables.hidden_line(found), err=True)
        return
    if ics is not None:
        plural = "s" if len(found.items) != 1 else ""
        typer.echo(f"Wrote {len(found.items)} follow-up{plural} to {ics}", err=True)
    out = Output()
    if not found.items:
        ahead = "" if show_all else f" in the next {HORIZON_DAYS} days"
        out.line(f"No follow-ups due{ahead}.")
        hidden = tables.hidden_line(found)
        if hidden:
            out.line(hidden, "dim")
        return
    tables.due(out, found)
