"""``recover prevent``: the prevention actions across cases, and marking one done."""

from __future__ import annotations

from typing import Annotated

import typer

from ... import clock, lookups
from ...store import parse_case_id
from .. import State
from ..common import open_store, print_json
from ..options import CaseId, JsonOption
from ..plain import Output
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
        found = lookups.prevention_actions(store, done_too=show_all)
    notices.damaged(found.damaged)
    if as_json:
        print_json(
            [
                {
                    "case_id": card["id"],
                    "customer": card["customer"]["name"],
                    "cause_tag": card["prevention"]["cause_tag"],
                    "root_cause": card["prevention"]["root_cause"],
                    "prevention": card["prevention"]["action"],
                    "recorded_at": card["prevention"]["recorded_at"],
                    "done_at": card["prevention"]["done_at"],
                }
                for _, cards in found.groups
                for card in cards
            ]
        )
        return
    out = Output()
    if not found.groups:
        out.line("No open prevention actions." if not show_all else "No prevention actions.")
        return
    tables.prevention(out, found, clock.now())


@app.command("done")
def done(ctx: typer.Context, case_id: CaseId) -> None:
    """Mark a case's prevention action done."""
    from ... import casework  # a change: the case models are needed only here

    state: State = ctx.obj
    with open_store(state.home) as store:
        case = casework.finish_prevention(store, parse_case_id(case_id), clock.now())
    assert case.outcome is not None
    # Cleaned on the way out: the action is typed text and may hold control characters.
    Output().line(f"Prevention for case {case.id} is done: {case.outcome.prevention}")
