"""``recover customer``: everything a customer went through, in one view."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from ... import casework
from ...projections import history_entry
from .. import State
from ..console import console, open_store, print_json
from ..options import JsonOption
from ..views import notices, tables


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
    as_json: JsonOption = False,
) -> None:
    """A customer's history: every case they had, the remedies given, the outcomes."""
    state: State = ctx.obj
    with open_store(state.home) as store:
        found = casework.customer_history(store, query)
    notices.damaged(found.damaged)
    if as_json:
        print_json({"query": query, "cases": [history_entry(case) for case in found.cases]})
        return
    out = console()
    if not found.cases:
        out.print(Text(f"No cases match {query!r}."))
        return
    for part in tables.history(found):
        out.print(part)
