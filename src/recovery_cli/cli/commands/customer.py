"""``recover customer``: everything a customer went through, in one view."""

from __future__ import annotations

from typing import Annotated

import typer

from ... import lookups
from ...projections import HISTORY_KEYS
from .. import State
from ..common import open_store, print_json
from ..options import JsonOption
from ..plain import Output
from ..views import notices, orders, tables


def history(
    ctx: typer.Context,
    query: Annotated[
        str,
        typer.Argument(
            metavar="QUERY",
            help="Email, name or order reference (or part of one).",
            show_default=False,
        ),
    ],
    show_all: Annotated[
        bool,
        typer.Option(
            "--all", help=f"Every case found (default: the newest {lookups.HISTORY_LIMIT})."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """A customer's history: every case they had, the remedies given, the outcomes."""
    state: State = ctx.obj
    limit = None if show_all else lookups.HISTORY_LIMIT
    with open_store(state.home) as store:
        found = lookups.customer_history(store, query, limit=limit)
    bought = lookups.customer_orders(state.home, query)
    notices.damaged([*found.damaged, *bought.damaged])
    if as_json:
        cases = [{key: card[key] for key in HISTORY_KEYS} for card in found.cases]
        print_json({"query": query, "total": found.total, "cases": cases, **orders.as_json(bought)})
        return
    out = Output()
    if not found.cases:
        out.line(f"No cases match {query!r}.")
    else:
        tables.history(out, found)
    orders.customer_orders(out, bought, limit)
