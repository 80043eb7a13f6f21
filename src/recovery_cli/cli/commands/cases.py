"""``recover list`` and ``recover show``: the cases on disk, shown from the index's
cards and checked case files, without building a case model."""

from __future__ import annotations

import io
from typing import Annotated, Any

import typer

from ... import clock, lookups
from ...projections import SUMMARY_KEYS
from .. import State
from ..common import open_store, print_json
from ..options import CaseId, JsonOption, StatusOption
from ..plain import Output
from ..views import notices, tables


def list_cases(
    ctx: typer.Context,
    status: StatusOption = None,
    limit: Annotated[int, typer.Option(min=1, help="How many cases to show.")] = 20,
    show_all: Annotated[bool, typer.Option("--all", help="Show every case.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List cases, newest first: status, customer, playbook, how far the walk got, age."""
    state: State = ctx.obj
    with open_store(state.home) as store:
        cards = lookups.list_cases(
            store, status=status, limit=None if show_all else limit, on_damaged=notices.one_damaged
        )
        if as_json:
            print_json([{key: card[key] for key in SUMMARY_KEYS} for card in cards])
            return
        out = Output()
        table = tables.case_list(cards, clock.now())
        if not table:
            out.line("No cases yet. Start one with: recover new" if status is None else "No cases.")
            return
        out.table(table)
        out.flush()
        notices.overdue(store)


def show_case(ctx: typer.Context, case_id: CaseId, as_json: JsonOption = False) -> None:
    """Show one case in full: customer, every step, remedies, follow-ups, outcome."""
    state: State = ctx.obj
    with open_store(state.home) as store:
        data = store.case_json(case_id, as_stored=as_json)
        if as_json:
            print_json(data)
            return
        out = Output()
        try:
            page = _page(out, data)
        except (ValueError, TypeError, KeyError, AttributeError):
            # Sound to the models but not written as recover writes it (a hand-made
            # file, a time given as a number): shown as the models read it.
            page = _page(out, store.case_json(case_id, checked=True))
    out.write(page)


def _page(out: Output, data: dict[str, Any]) -> str:
    """``recover show``'s page for ``out``, made in full before any of it is shown."""
    buffer = io.StringIO()
    page = Output(stream=buffer)
    page.is_terminal, page.colour, page.width = out.is_terminal, out.colour, out.width
    tables.case_in_full(page, data)
    return buffer.getvalue()
