"""``recover list`` and ``recover show``: the cases on disk."""

from __future__ import annotations

from typing import Annotated

import typer

from ... import casework, clock
from ...projections import summary
from .. import State
from ..console import console, open_store, print_json
from ..options import CaseId, JsonOption, StatusOption
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
        cases = casework.list_cases(
            store, status=status, limit=None if show_all else limit, on_damaged=notices.one_damaged
        )
        if as_json:
            print_json([summary(case) for case in cases])
            return
        out = console()
        table, shown = tables.case_list(cases, clock.now())
        if not shown:
            out.print(
                "No cases yet. Start one with: recover new" if status is None else "No cases."
            )
            return
        out.print(table)
        notices.overdue(store)


def show_case(ctx: typer.Context, case_id: CaseId, as_json: JsonOption = False) -> None:
    """Show one case in full: customer, every step, remedies, follow-ups, outcome."""
    state: State = ctx.obj
    with open_store(state.home) as store:
        stored = store.load_stored(case_id)
    if as_json:
        print_json(stored.data)
        return
    out = console()
    out.print(tables.case_in_full(out, stored.case))
