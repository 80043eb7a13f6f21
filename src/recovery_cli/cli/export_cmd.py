"""``recover export``: the cases as CSV, JSON or JSON Lines, filtered, streamed."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from . import State, app
from .cases_cmd import status_option
from .completion import complete_playbook_ids

# Show a progress bar only when it is worth looking at.
PROGRESS_FROM = 1000


@app.command("export")
def export_command(
    ctx: typer.Context,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", "-f", help="csv, json or jsonl.", case_sensitive=False, metavar="FORMAT"
        ),
    ] = "csv",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write to this file (atomically) instead of stdout.",
            show_default=False,
            dir_okay=False,
        ),
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option(
            help="Cases opened on or after this date.", formats=["%Y-%m-%d"], show_default=False
        ),
    ] = None,
    until: Annotated[
        datetime | None,
        typer.Option(
            help="Cases opened on or before this date.", formats=["%Y-%m-%d"], show_default=False
        ),
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(
            help="open, awaiting-follow-up or closed.", callback=status_option, show_default=False
        ),
    ] = None,
    playbook: Annotated[
        str | None,
        typer.Option(
            help="Only cases walked with this playbook id.",
            show_default=False,
            autocompletion=complete_playbook_ids,
        ),
    ] = None,
    remedy: Annotated[
        str | None,
        typer.Option(
            help="Only cases with a remedy of this kind (refund, credit...).", show_default=False
        ),
    ] = None,
    customer: Annotated[
        str | None,
        typer.Option(
            help="Only cases whose customer name, email or order contains this.", show_default=False
        ),
    ] = None,
) -> None:
    """Export cases, oldest first: CSV for a spreadsheet (columns in the README), or
    JSON / JSON Lines with each case exactly as stored."""
    from .. import export
    from ..fileio import atomic_text_writer
    from ..store import Damaged, Store

    fmt = fmt.lower()
    if fmt not in export.FORMATS:
        raise typer.BadParameter("use csv, json or jsonl", param_hint="--format")
    state: State = ctx.obj
    store = Store(state.home)
    filters = export.Filters(
        since=since.date() if since else None,
        until=until.date() if until else None,
        status=status,
        playbook=playbook,
        remedy=remedy,
        customer=customer,
    )
    items = export.pick(store, filters, thorough=fmt == "csv")

    def damaged(item: Damaged) -> None:
        typer.echo(f"Warning: {item.reason}", err=True)

    with _progress(store.count) as tick:
        if output is None:
            count = export.write(sys.stdout, items, fmt, on_damaged=damaged, on_case=tick)
        else:
            with atomic_text_writer(output) as handle:
                count = export.write(handle, items, fmt, on_damaged=damaged, on_case=tick)
    if output is not None and sys.stderr.isatty():
        typer.echo(f"Exported {count} case{'s' if count != 1 else ''} to {output}", err=True)


@contextlib.contextmanager
def _progress(total: Callable[[], int]) -> Iterator[Callable[[], None]]:
    """A Rich progress bar on stderr for a long export to a terminal; else nothing."""
    if not sys.stderr.isatty() or total() < PROGRESS_FROM:
        yield lambda: None
        return
    from rich.progress import Progress

    from .output import console

    with Progress(console=console(stderr=True), transient=True) as progress:
        task = progress.add_task("Exporting", total=total())
        yield lambda: progress.advance(task)
