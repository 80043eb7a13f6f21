"""``recover close``: how a case ended, its root cause and how to prevent it."""

from __future__ import annotations

import contextlib
from typing import Annotated

import typer
from rich.text import Text

from ... import casework, clock
from ...store import parse_case_id
from .. import State
from ..console import console, open_store
from ..options import CaseId, NoInput
from ..prompter import Interrupted
from ..views import forms


def _text(help_text: str) -> object:
    return typer.Option(help=help_text, show_default=False)


def close_case(
    ctx: typer.Context,
    case_id: CaseId,
    outcome: Annotated[str | None, _text("kept, refunded, lost or escalated.")] = None,
    satisfaction: Annotated[
        int | None,
        typer.Option(min=1, max=5, help="How satisfied they were, 1-5.", show_default=False),
    ] = None,
    cause: Annotated[str | None, _text("The root cause, in words.")] = None,
    tag: Annotated[str | None, _text("A short cause tag to group causes by.")] = None,
    prevention: Annotated[str | None, _text("What you will do so it never happens again.")] = None,
    keep_follow_ups: Annotated[
        bool | None,
        typer.Option(
            "--keep-follow-ups/--cancel-follow-ups",
            help="With follow-ups still to do: keep them (the case closes when they are "
            "done) or cancel them. Asked on a terminal when not given; else kept.",
        ),
    ] = None,
    no_input: NoInput = False,
) -> None:
    """Record how a case ended: outcome, satisfaction, root cause and the prevention
    action. Asks for what the options leave out; run again to change it."""
    state: State = ctx.obj
    try:
        result = forms.parse_outcome(outcome) if outcome is not None else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--outcome") from None
    given = forms.OutcomeGiven(result, satisfaction, cause, tag, prevention)
    out = console()
    with open_store(state.home) as store, casework.holding(store, parse_case_id(case_id)) as case:
        # With every outcome option given, the one question left (keep the follow-ups
        # still planned?) is asked only where a person can answer it.
        asked = None in (result, cause, tag, prevention) or satisfaction is None
        wanted = not no_input and (asked or forms.keep_asked(case, keep_follow_ups))
        asker = forms.asker_for(
            out, wanted=wanted, command="close", hint="Give the options, with --no-input."
        )
        try:
            with asker.signals() if asker is not None else contextlib.nullcontext():
                if asker is not None:
                    out.print(
                        Text(f"Closing case {case.id} · {case.customer.name or '—'}", style="bold")
                    )
                recorded = forms.outcome_form(out, asker, case, given)
                keep = forms.keep_follow_ups(out, asker, case, keep_follow_ups)
        except Interrupted as stop:
            message = f"Stopped; the outcome of case {case.id} was not recorded."
            raise forms.stopped(message, stop) from None
        casework.close_case(store, case, recorded, keep_follow_ups=keep, now=clock.now())
    out.print(Text(forms.outcome_line(case), style="green"))
