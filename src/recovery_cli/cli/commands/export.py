"""``recover export``: the cases as CSV, JSON or JSON Lines, filtered, streamed."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import typer

from ... import export as exporting
from ...fileio import atomic_text_writer
from ...store import Damaged, Store
from .. import State
from ..common import open_store
from ..completion import complete_playbook_ids
from ..options import Since, StatusOption, Until
from ..views import notices

# Show a progress bar only when it is worth looking at.
PROGRESS_FROM = 1000


def export(
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
    since: Since = None,
    until: Until = None,
    status: StatusOption = None,
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
    fmt = fmt.lower()
    if fmt not in exporting.FORMATS:
        raise typer.BadParameter("use csv, json or jsonl", param_hint="--format")
    state: State = ctx.obj
    filters = exporting.Filters(
        since=since.date() if since else None,
        until=until.date() if until else None,
        status=status,
        playbook=playbook,
        remedy=remedy,
        customer=customer,
    )
    with open_store(state.home) as store, _progress(store) as tick:
        if output is None:
            count = exporting.export_cases(
                store, sys.stdout, fmt, filters, on_damaged=_damaged, on_case=tick
            )
        else:
            with atomic_text_writer(output) as handle:
                count = exporting.export_cases(
                    store, handle, fmt, filters, on_damaged=_damaged, on_case=tick
                )
    if output is not None and sys.stderr.isatty():
        typer.echo(f"Exported {count} case{'s' if count != 1 else ''} to {output}", err=True)


def _damaged(item: Damaged) -> None:
    notices.damaged([item])


@contextlib.contextmanager
def _progress(store: Store) -> Iterator[Callable[[], None]]:
    """A Rich progress bar on stderr for a long export to a terminal; else nothing.
    The bar appears at the first case written: anything said before it (the index
    catching up) is said on a plain line, not under a live bar."""
    total = store.count() if sys.stderr.isatty() else 0
    if total < PROGRESS_FROM:
        yield lambda: None
        return
    # The imports only a long export to a terminal pays for.
    from rich.progress import Progress

    from ..console import console

    with contextlib.ExitStack() as stack:
        shown: list[Callable[[], None]] = []

        def tick() -> None:
            if not shown:
                bar = stack.enter_context(Progress(console=console(stderr=True), transient=True))
                task = bar.add_task("Exporting", total=total)
                shown.append(lambda: bar.advance(task))
            shown[0]()

        yield tick
