"""``recover report``: the monthly review as one HTML page to read, print or send."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from ... import clock, lookups, report
from ...config import load_settings
from ...errors import RecoverError
from ...fileio import write_atomic
from ...followups import local_date
from .. import State
from ..common import open_store, warn
from ..options import Since, Until
from ..views import notices


def report_page(
    ctx: typer.Context,
    month: Annotated[
        str | None,
        typer.Option(
            help="The month to review, as YYYY-MM (default: last month).", show_default=False
        ),
    ] = None,
    since: Since = None,
    until: Until = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write here (atomically, mode 0600; - for stdout). Default: report-YYYY-MM.html.",
            show_default=False,
            dir_okay=False,
            allow_dash=True,
        ),
    ] = None,
    open_page: Annotated[
        bool, typer.Option("--open", help="Open the page in the default browser.")
    ] = False,
) -> None:
    """The monthly review as one self-contained HTML page: cases and the kept rate over
    twelve months, what recoveries cost against order value, which remedies keep
    customers, speed, follow-ups, repeating causes, returning customers, bought again."""
    state: State = ctx.obj
    now = clock.now()
    period = _period(month, since, until, local_date(now))
    to_stdout = output is not None and str(output) == "-"
    if output is not None and not output.name and not to_stdout:
        raise typer.BadParameter("give a file name, or - for standard output", param_hint="-o")
    if to_stdout and open_page:
        raise typer.BadParameter(
            "a page sent to standard output cannot be opened", param_hint="--open"
        )
    with open_store(state.home) as store:
        found, damaged = lookups.build_report(store, now, period)
    notices.damaged(damaged)
    from ... import reportpage  # Jinja2: only this command pays for it

    page = reportpage.render(found, business=load_settings(state.home).business, made_at=now)
    if to_stdout:
        sys.stdout.buffer.write(page)
        sys.stdout.flush()
        return
    path = output or Path(period.file_name)
    write_atomic(path, page)
    typer.echo(path)
    if open_page:
        import webbrowser

        if not webbrowser.open(path.resolve().as_uri()):
            warn(f"no browser could be started; open {path} yourself")


def _period(
    month: str | None, since: datetime | None, until: datetime | None, today: date
) -> report.Period:
    """The period asked for: --month, or --since/--until, or last month."""
    if month is not None:
        if since is not None or until is not None:
            raise typer.BadParameter(
                "give --month, or --since/--until, not both", param_hint="--month"
            )
        try:
            return report.month_period(month)
        except RecoverError as exc:
            raise typer.BadParameter(exc.message, param_hint="--month") from None
    if since is None and until is None:
        return report.last_full_month(today)
    return report.between(since.date() if since else None, until.date() if until else None, today)
