"""``recover stats``: what recoveries cost and return, with bar charts."""

from __future__ import annotations

import typer

from ... import clock, lookups
from .. import State
from ..common import open_store, print_json
from ..options import JsonOption, Since, Until
from ..plain import Output
from ..views import charts, notices


def stats(
    ctx: typer.Context, since: Since = None, until: Until = None, as_json: JsonOption = False
) -> None:
    """Cases, kept rate, what refunds and goodwill cost against order value, time to
    close, follow-ups on time, and which playbooks, causes and scores come up most."""
    state: State = ctx.obj
    with open_store(state.home) as store:
        found, damaged = lookups.count_stats(
            store,
            clock.now(),
            since=since.date() if since else None,
            until=until.date() if until else None,
        )
    notices.damaged(damaged)
    if as_json:
        print_json(found.as_json())
        return
    charts.render(Output(), found)
