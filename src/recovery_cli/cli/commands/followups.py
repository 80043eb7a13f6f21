"""``recover followup``: record what came of a follow-up, or add one. (What is due,
``recover followups``, is :mod:`.due`: it builds no case model.)"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from ... import casework, clock
from ...case import Case, FollowUpRecord
from ...errors import UsageError
from ...followups import when
from ...store import Store, parse_case_id
from ...values import local_time, parse_delay
from .. import State
from ..console import console, heading, open_store
from ..options import CaseId, NoInput
from ..prompter import Interrupted
from ..views import forms
from ..views.mailout import Ways
from .reply import (
    AgainOption,
    DraftOption,
    DryRunOption,
    OpenOption,
    SendOption,
    YesOption,
    ways_of,
)


class DefaultRecordGroup(TyperGroup):
    """``recover followup 4`` means ``recover followup record 4``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Insert ``record`` when the first word is not a subcommand or an option."""
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["record", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=DefaultRecordGroup,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    help="Record what came of a follow-up (recover followup ID), or add one "
    "(recover followup add ID --in 3d).",
)


def _delay(text: str | None, option: str) -> Any:
    try:
        return parse_delay(text) if text is not None else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


@app.command("record")
def record(
    ctx: typer.Context,
    case_id: CaseId,
    number: Annotated[
        int | None,
        typer.Option(
            "--number", "-n", min=1, help="Which follow-up (default: the soonest still to do)."
        ),
    ] = None,
    reached: Annotated[
        bool | None,
        typer.Option("--reached/--not-reached", help="Whether you reached the customer."),
    ] = None,
    happy: Annotated[
        str | None,
        typer.Option(help="Are they happy now: yes, not-yet or no.", show_default=False),
    ] = None,
    note: Annotated[str | None, typer.Option(help="A note.", show_default=False)] = None,
    next_in: Annotated[
        str | None,
        typer.Option(
            "--next",
            metavar="DELAY",
            help="Plan the next follow-up this far ahead: 12h, 3d, 2w.",
            show_default=False,
        ),
    ] = None,
    no_input: NoInput = False,
    draft: DraftOption = None,
    open_: OpenOption = False,
    send: SendOption = False,
    yes: YesOption = False,
    dry_run: DryRunOption = False,
    again: AgainOption = False,
    edit: Annotated[
        bool, typer.Option("--edit", help="Open the message in your editor before it goes.")
    ] = False,
) -> None:
    """Show a follow-up's message, ready to send or read out, then record what came of
    it: reached or not, happy now, a note, and the next follow-up if one is needed.
    The case closes when the customer is happy and nothing else is planned. With
    --draft, --open or --send, the message goes out by email instead (record what
    came of it when they answer)."""
    state: State = ctx.obj
    ways = ways_of(draft, open_, send, yes, dry_run, again)
    try:
        happy_given = forms.parse_happy(happy) if happy is not None else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--happy") from None
    given = forms.FollowUpGiven(reached, happy_given, note, _delay(next_in, "--next"))
    given.next_given = next_in is not None
    if happy_given is not None and reached is False:
        raise UsageError("--happy needs a customer you reached: drop --not-reached")
    out, now = console(), clock.now()
    with open_store(state.home) as store, casework.holding(store, parse_case_id(case_id)) as case:
        item = casework.follow_up_to_record(case, number)
        _show_message(out, case, item, now)
        if _by_email(out, store, case, item, ways, edit=edit, no_input=no_input):
            return
        asker = forms.asker_for(
            out,
            wanted=not no_input and given.leaves_questions(),
            command="followup",
            hint="Give --reached/--not-reached and --happy.",
        )
        try:
            with asker.signals() if asker is not None else contextlib.nullcontext():
                result = forms.follow_up_form(out, asker, given)
        except Interrupted as stop:
            raise forms.stopped(
                f"Stopped; nothing was recorded for case {case.id}.", stop
            ) from None
        planned = casework.record_follow_up(store, case, item, result, now)
        _recorded(out, store, case, item, result, planned, asker)


def _by_email(
    out: Console,
    store: Store,
    case: Case,
    item: FollowUpRecord,
    ways: Ways,
    *,
    edit: bool,
    no_input: bool,
) -> bool:
    """The follow-up's message by email: the way given, or (on a terminal, for a
    customer with an address whose message has not gone yet) the way chosen now.
    True when that is all this command does."""
    from ...config import load_settings
    from ...mail import compose, sending
    from .. import prompter as prompting
    from ..views import mailout

    wanted = ways.chosen() is not None or ways.dry_run
    last = case.mail.latest_out("follow-up", item.id) if case.mail else None
    offered = not no_input and mailout.wants_reply(case) and last is None
    if not wanted and not (offered and prompting.stdin_is_terminal()):
        return False
    asker = None if no_input else prompting.open_prompter(out, command="followup")
    settings = load_settings(store.home)
    body = compose.follow_up_body(case, item, settings)
    if edit and not ways.dry_run:
        name, again = f"follow-up-{item.id}-case-{case.id}.txt", f"recover followup {case.id}"
        written = mailout.edited(out, body, name, again)
        if written is None:
            return True
        body = written
    letter = sending.letter(case, settings, "follow-up", body, clock.now(), follow_up=item.id)
    try:
        done = mailout.deliver(out, asker, store, case, letter, ways, settings)
    except Interrupted as stop:
        raise mailout.stopped(stop, case) from None
    if done is None:
        return wanted
    out.print(f"Record what came of it when they answer: recover followup {case.id}")
    return True


def _show_message(out: Console, case: Case, item: FollowUpRecord, now: datetime) -> None:
    """The follow-up's heading, who it is for, and its message, on one line to copy."""
    label = {"overdue": "overdue", "today": "due today", "upcoming": "not due yet"}
    due_word = label[when(item.due_at, now)]
    title = f"Case {case.id} · follow-up {item.id} · {local_time(item.due_at)} ({due_word})"
    out.print(heading(out, title, style="magenta"))
    customer = case.customer
    contact = [customer.name or "the customer"]
    contact += [customer.email, f"order {customer.order}" if customer.order else ""]
    if customer.channel:
        contact.append(f"via {customer.channel}")
    out.print(Text("To: " + " · ".join(c for c in contact if c), style="bold"))
    out.print()
    out.print(Text(item.message), soft_wrap=True)
    out.print()


def _recorded(
    out: Console,
    store: Store,
    case: Case,
    item: FollowUpRecord,
    result: casework.FollowUpResult,
    planned: FollowUpRecord | None,
    asker: Any,
) -> None:
    """What was recorded, where the case is now, and the outcome offered if it closed."""
    said = "reached" if result.reached else "not reached"
    if result.happy:
        said += f", happy: {forms.happy_label(result.happy)}"
    out.print(Text(f"Recorded follow-up {item.id} of case {case.id}: {said}.", style="green"))
    if planned is not None:
        out.print(f"Next follow-up: {local_time(planned.due_at)}.")
    if case.status == "closed":
        out.print(f"Case {case.id} is closed.")
        outcome = forms.offer_outcome(out, asker, case) if not case.outcome and asker else None
        if outcome is not None:
            casework.close_case(store, case, outcome, keep_follow_ups=True, now=clock.now())
            out.print(Text(forms.outcome_line(case), style="green"))
    elif case.status == "awaiting_follow_up" and planned is None:
        upcoming = case.pending_follow_ups()[0]
        out.print(
            f"Case {case.id} stays open for its next follow-up: {local_time(upcoming.due_at)}."
        )
    elif case.status == "open":
        out.print(
            f"Case {case.id} has no follow-up planned. Plan one with "
            f"`recover followup add {case.id}`, or close it with `recover close {case.id}`."
        )


@app.command("add")
def add(
    ctx: typer.Context,
    case_id: CaseId,
    after: Annotated[
        str, typer.Option("--in", metavar="DELAY", help="How far ahead: 12h, 3d, 2w.")
    ] = "3d",
    note: Annotated[
        str | None,
        typer.Option(
            help="What to say (placeholders like $first_name work); default: a short check-in.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Plan a follow-up on a case (it reopens a closed case until it is done)."""
    state: State = ctx.obj
    delay = _delay(after, "--in")
    text = forms.clean(note) if note is not None else ""
    with open_store(state.home) as store, casework.holding(store, parse_case_id(case_id)) as case:
        added = casework.add_follow_up(store, case, delay, text, clock.now())
    typer.echo(f"Follow-up {added.id} added to case {case.id}, due {local_time(added.due_at)}.")
