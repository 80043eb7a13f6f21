"""``recover prevent``: the prevention actions across cases, and marking one done."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from ... import casework, clock
from ...projections import iso
from ...store import parse_case_id
from .. import State
from ..console import console, open_store, print_json
from ..options import CaseId, JsonOption
from ..views import notices, tables

app = typer.Typer(
    rich_markup_mode=None,
    add_completion=False,
    invoke_without_command=True,
    help="Prevention actions: what you will change so a problem never happens again.",
)


@app.callback()
def actions(
    ctx: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", help="Include the ones done.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List open prevention actions across cases, grouped by cause tag. Mark one done
    with: recover prevent done ID."""
    if ctx.invoked_subcommand is not None:
        return
    state: State = ctx.obj
    with open_store(state.home) as store:
        found = casework.prevention_actions(store, done_too=show_all)
    notices.damaged(found.damaged)
    if as_json:
        print_json(
            [
                {
                    "case_id": case.id,
                    "customer": case.customer.name,
                    "cause_tag": case.outcome.cause_tag,
                    "root_cause": case.outcome.root_cause,
                    "prevention": case.outcome.prevention,
                    "recorded_at": iso(case.outcome.recorded_at),
                    "done_at": iso(case.outcome.prevention_done_at),
                }
                for _, cases in found.groups
                for case in cases
                if case.outcome is not None
            ]
        )
        return
    out = console()
    if not found.groups:
        out.print("No open prevention actions." if not show_all else "No prevention actions.")
        return
    for part in tables.prevention(found, clock.now()):
        out.print(part)


@app.command("done")
def done(ctx: typer.Context, case_id: CaseId) -> None:
    """Mark a case's prevention action done."""
    state: State = ctx.obj
    with open_store(state.home) as store:
        case = casework.finish_prevention(store, parse_case_id(case_id), clock.now())
    assert case.outcome is not None
    # Through the safe console: the action is typed text and may hold control characters.
    console().print(Text(f"Prevention for case {case.id} is done: {case.outcome.prevention}"))
