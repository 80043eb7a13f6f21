"""After the call: ``followups``, ``followup``, ``close``, ``prevent``, ``customer``."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from . import JsonOption, State, app
from .completion import complete_case_ids

if TYPE_CHECKING:
    from rich.console import Console

    from ..case import Case, Happy, OutcomeResult
    from ..prompter import Prompter
    from ..store import Store

CaseId = Annotated[
    str,
    typer.Argument(
        metavar="ID",
        help="Case id, as shown by list.",
        show_default=False,
        autocompletion=complete_case_ids,
    ),
]
NoInput = Annotated[
    bool, typer.Option("--no-input", help="Never prompt: use the options and what is recorded.")
]


# -- recover followups --------------------------------------------------------------------
@app.command("followups")
def followups_command(
    ctx: typer.Context,
    show_all: Annotated[
        bool, typer.Option("--all", help="Every follow-up still to do, however far ahead.")
    ] = False,
    ics: Annotated[
        Path | None,
        typer.Option(
            "--ics",
            metavar="FILE",
            dir_okay=False,
            show_default=False,
            help="Also write them as an iCalendar file to import into a calendar.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Follow-ups to do: overdue first, then today, then the next 7 days (--all: every
    one), each with the case, the customer and what to say."""
    from rich.table import Table
    from rich.text import Text

    from ..case import utcnow
    from ..fileio import write_atomic
    from ..followups import HORIZON_DAYS, WHEN_LABELS, due_list, to_ics
    from ..store import Store
    from .output import console, local_time, print_json

    state: State = ctx.obj
    now = utcnow()
    briefs = []
    # Made from the index: no case file is read to list what is due.
    for damaged, brief in Store(state.home).index.follow_ups_to_do():
        if damaged is not None:
            typer.echo(f"Warning: {damaged}", err=True)
        else:
            briefs.append(brief)
    items = due_list(briefs, now, horizon_days=None if show_all else HORIZON_DAYS)
    if ics is not None:
        write_atomic(ics, to_ics(items, now))
    if as_json:
        print_json([item.as_json() for item in items])
        return
    out = console()
    if ics is not None:
        plural = "s" if len(items) != 1 else ""
        typer.echo(f"Wrote {len(items)} follow-up{plural} to {ics}", err=True)
    if not items:
        ahead = "" if show_all else f" in the next {HORIZON_DAYS} days"
        out.print(f"No follow-ups due{ahead}.")
        return
    for group in ("overdue", "today", "upcoming"):
        rows = [item for item in items if item.when == group]
        if not rows:
            continue
        table = Table(
            title=f"{WHEN_LABELS[group]} ({len(rows)})",
            title_justify="left",
            title_style="bold red" if group == "overdue" else "bold",
            box=None,
            pad_edge=False,
            header_style="bold",
        )
        for column in ("Due", "Case", "Customer", "Say"):
            table.add_column(column, no_wrap=column != "Say")
        for item in rows:
            table.add_row(
                local_time(item.due_at),
                f"{item.case_id}" + (f" #{item.number}" if item.number > 1 else ""),
                Text(item.name or "—"),
                Text(item.message),
            )
        out.print(table)
        out.print()
    out.print(Text("Record one with: recover followup ID", style="dim"))


def overdue_notice(store: Store) -> None:
    """One line on stderr when follow-ups are overdue (nothing otherwise)."""
    import sqlite3

    from ..case import utcnow
    from ..errors import RecoverError
    from ..followups import count_overdue

    now = utcnow()
    try:  # a hint after the answer: never the reason a command fails
        count = count_overdue(store.index.pending_dues(), now)
    except (RecoverError, sqlite3.Error, OSError, ValueError):
        return
    if count:
        plural = "s are" if count != 1 else " is"
        typer.echo(f"{count} follow-up{plural} overdue: recover followups", err=True)


# -- recover followup [record] ID / recover followup add ID -------------------------------
class DefaultRecordGroup(TyperGroup):
    """``recover followup 4`` means ``recover followup record 4``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Insert ``record`` when the first word is not a subcommand or an option."""
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["record", *args]
        return super().parse_args(ctx, args)


followup_app = typer.Typer(
    cls=DefaultRecordGroup,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Record what came of a follow-up (recover followup ID), or add one "
    "(recover followup add ID --in 3d).",
)
app.add_typer(followup_app, name="followup")


@followup_app.command("record")
def followup_record_command(
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
) -> None:
    """Show a follow-up's message, ready to send or read out, then record what came of
    it: reached or not, happy now, a note, and the next follow-up if one is needed.
    The case closes when the customer is happy and nothing else is planned."""
    from rich.text import Text

    from .. import prompter as prompting
    from ..case import utcnow
    from ..config import load_settings
    from ..errors import NotFoundError, UsageError
    from ..followups import DEFAULT_MESSAGE, when
    from ..render import render
    from ..store import parse_case_id
    from ..values import parse_delay
    from ..walk import placeholder_values
    from . import forms
    from .output import console, heading, local_time, open_store

    state: State = ctx.obj
    try:
        happy_given = forms.parse_happy(happy) if happy is not None else None
        delay_given = parse_delay(next_in) if next_in is not None else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if happy_given is not None and reached is False:
        raise UsageError("--happy needs a customer you reached: drop --not-reached")
    case_id = parse_case_id(case_id)
    out = console()
    store = open_store(state.home)
    with store.session(case_id):
        case = store.load(case_id)
        item = case.follow_up(number)
        if item is None:
            raise NotFoundError(
                f"case {case.id} has no follow-up {number}"
                if number is not None
                else f"case {case.id} has no follow-up to do",
                hint=f"Add one with: recover followup add {case.id} --in 3d",
            )
        if item.done_at is not None:
            raise UsageError(
                f"follow-up {item.id} of case {case.id} was already done "
                f"({local_time(item.done_at)})",
                hint=f"See it with: recover show {case.id}",
            )
        now = utcnow()
        due = when(item.due_at, now)
        label = {"overdue": "overdue", "today": "due today", "upcoming": "not due yet"}[due]
        out.print(
            heading(
                out,
                f"Case {case.id} · follow-up {item.id} · {local_time(item.due_at)} ({label})",
                style="magenta",
            )
        )
        customer = case.customer
        contact = [customer.name or "the customer"]
        contact += [customer.email, f"order {customer.order}" if customer.order else ""]
        if customer.channel:
            contact.append(f"via {customer.channel}")
        out.print(Text("To: " + " · ".join(c for c in contact if c), style="bold"))
        out.print()
        out.print(Text(item.message), soft_wrap=True)  # one line, to copy whole
        out.print()
        asker: Prompter | None = None
        # Open the terminal only when something is left to ask: a script that gives
        # every answer as an option needs none.
        next_asked = next_in is None and happy_given != "yes"
        needs = reached is None or (reached and happy_given is None)
        if not no_input and (needs or note is None or next_asked):
            asker = prompting.open_prompter(
                out, command="followup", hint="Give --reached/--not-reached and --happy."
            )
        try:
            with asker.signals() if asker is not None else contextlib.nullcontext():
                answer = _follow_up_answers(
                    out, asker, reached, happy_given, note, delay_given, next_in is not None
                )
        except prompting.Interrupted as stop:
            from ..errors import WalkInterrupted

            raise WalkInterrupted(
                f"Stopped; nothing was recorded for case {case.id}.", exit_code=stop.exit_code
            ) from None
        got_reached, got_happy, got_note, delay = answer
        case.record_follow_up(item.id, reached=got_reached, happy=got_happy, note=got_note, now=now)
        planned = None
        if delay is not None:
            message = item.message
            if got_reached:
                message = render(
                    DEFAULT_MESSAGE, placeholder_values(case, load_settings(state.home).as_dict())
                )
            planned = case.add_follow_up(now + delay, message, now)
        store.save(case)
        said = "reached" if got_reached else "not reached"
        if got_happy:
            said += f", happy: {forms.happy_label(got_happy)}"
        out.print(Text(f"Recorded follow-up {item.id} of case {case.id}: {said}.", style="green"))
        if planned is not None:
            out.print(f"Next follow-up: {local_time(planned.due_at)}.")
        if case.status == "closed":
            out.print(f"Case {case.id} is closed.")
            if case.outcome is None and asker is not None:
                _offer_outcome(out, asker, store, case, suggest="kept")
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


def _follow_up_answers(
    out: Console,
    asker: Prompter | None,
    reached: bool | None,
    happy: Happy | None,
    note: str | None,
    delay: Any,
    delay_given: bool,
) -> tuple[bool, Happy | None, str, Any]:
    """The follow-up's result: the options given, and the rest asked."""
    from ..errors import UsageError
    from . import forms

    if reached is None:
        if asker is None:
            raise UsageError("--no-input needs --reached or --not-reached")
        reached = forms.ask(out, asker, "Did you reach them? (y/n): ", forms.parse_yes_no)
    if reached and happy is None:
        if asker is None:
            raise UsageError("--no-input needs --happy: yes, not-yet or no")
        happy = forms.ask(
            out, asker, "Are they happy now? (yes / not yet / no): ", forms.parse_happy
        )
    if note is None:
        note = "" if asker is None else asker.ask("Note (Enter skips): ")
    if not delay_given and asker is not None and happy != "yes":
        suggest = "1d" if not reached else "3d"
        prompt = f"Next follow-up in (e.g. {suggest}; Enter for none): "
        delay = forms.ask(out, asker, prompt, forms.parse_next)
    # --happy with a customer who, asked, turned out not to be reached: no happiness.
    return reached, happy if reached else None, forms.clean(note), delay


def _offer_outcome(
    out: Console, asker: Prompter, store: Store, case: Case, *, suggest: OutcomeResult | None
) -> None:
    """Ask whether to record the outcome now and, if so, run the outcome form."""
    from rich.text import Text

    from ..case import utcnow
    from ..prompter import Interrupted
    from . import forms

    try:
        with asker.signals():
            now_please = forms.ask(
                out,
                asker,
                "Record the outcome now (kept / refunded / lost / escalated, root cause, "
                "prevention)? (y/n): ",
                forms.parse_yes_no,
            )
            if not now_please:
                out.print(f"Later: recover close {case.id}")
                return
            outcome = forms.outcome_form(out, asker, case, forms.OutcomeGiven(), suggest=suggest)
    except Interrupted as stop:
        from ..errors import WalkInterrupted

        raise WalkInterrupted(
            f"Stopped; case {case.id} is saved, its outcome not recorded.",
            exit_code=stop.exit_code,
            hint=f"Record it with: recover close {case.id}",
        ) from None
    case.set_outcome(outcome, utcnow())
    store.save(case)
    out.print(Text(forms.outcome_line(case), style="green"))


@followup_app.command("add")
def followup_add_command(
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
    from ..case import utcnow
    from ..config import load_settings
    from ..followups import DEFAULT_MESSAGE
    from ..render import render
    from ..store import parse_case_id
    from ..values import parse_delay
    from ..walk import placeholder_values
    from . import forms
    from .output import local_time, open_store

    state: State = ctx.obj
    try:
        delay = parse_delay(after)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--in") from None
    text = forms.clean(note) if note is not None else ""
    case_id = parse_case_id(case_id)
    store = open_store(state.home)
    with store.session(case_id):
        case = store.load(case_id)
        now = utcnow()
        settings = load_settings(state.home).as_dict()
        message = render(text or DEFAULT_MESSAGE, placeholder_values(case, settings))
        added = case.add_follow_up(now + delay, message, now)
        store.save(case)
    typer.echo(f"Follow-up {added.id} added to case {case.id}, due {local_time(added.due_at)}.")


# -- recover close ------------------------------------------------------------------------
@app.command("close")
def close_command(
    ctx: typer.Context,
    case_id: CaseId,
    outcome: Annotated[
        str | None,
        typer.Option(help="kept, refunded, lost or escalated.", show_default=False),
    ] = None,
    satisfaction: Annotated[
        int | None,
        typer.Option(min=1, max=5, help="How satisfied they were, 1-5.", show_default=False),
    ] = None,
    cause: Annotated[
        str | None, typer.Option(help="The root cause, in words.", show_default=False)
    ] = None,
    tag: Annotated[
        str | None,
        typer.Option(help="A short cause tag to group causes by.", show_default=False),
    ] = None,
    prevention: Annotated[
        str | None,
        typer.Option(help="What you will do so it never happens again.", show_default=False),
    ] = None,
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
    from rich.text import Text

    from .. import prompter as prompting
    from ..case import utcnow
    from ..errors import WalkInterrupted
    from ..store import parse_case_id
    from . import forms
    from .output import console, local_time, open_store

    state: State = ctx.obj
    try:
        result = forms.parse_outcome(outcome) if outcome is not None else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--outcome") from None
    given = forms.OutcomeGiven(
        result=result,
        satisfaction=satisfaction,
        root_cause=cause,
        cause_tag=tag,
        prevention=prevention,
    )
    case_id = parse_case_id(case_id)
    out = console()
    store = open_store(state.home)
    with store.session(case_id):
        case = store.load(case_id)
        asked = None in (result, cause, tag, prevention) or satisfaction is None
        # With every outcome option given, the one question left (keep the follow-ups
        # still planned?) is asked only where a person can answer it.
        keep_asked = (
            keep_follow_ups is None
            and bool(case.pending_follow_ups())
            and prompting.stdin_is_terminal()
        )
        asker = None
        if not no_input and (asked or keep_asked):
            asker = prompting.open_prompter(
                out, command="close", hint="Give the options, with --no-input."
            )
        try:
            with asker.signals() if asker is not None else contextlib.nullcontext():
                if asker is not None:
                    name = case.customer.name or "—"
                    out.print(Text(f"Closing case {case.id} · {name}", style="bold"))
                recorded = forms.outcome_form(out, asker, case, given)
                pending = case.pending_follow_ups()
                keep = keep_follow_ups
                if pending and keep is None:
                    keep = True
                    if asker is not None:
                        due = local_time(pending[0].due_at)
                        keep = forms.ask(
                            out,
                            asker,
                            f"{len(pending)} follow-up(s) still planned (next {due}): "
                            "keep them? (y/n): ",
                            forms.parse_yes_no,
                        )
        except prompting.Interrupted as stop:
            raise WalkInterrupted(
                f"Stopped; the outcome of case {case.id} was not recorded.",
                exit_code=stop.exit_code,
            ) from None
        now = utcnow()
        if pending and not keep:
            case.cancel_follow_ups(now)
        case.set_outcome(recorded, now)
        store.save(case)
    out.print(Text(forms.outcome_line(case), style="green"))


def offer_close_after_walk(out: Console, asker: Prompter, store: Store, case: Case) -> None:
    """At the end of a walk: offer to record the outcome there and then."""
    happy = case.answers().get("happy_now")
    _offer_outcome(out, asker, store, case, suggest="kept" if happy is True else None)


# -- recover prevent ----------------------------------------------------------------------
prevent_app = typer.Typer(
    rich_markup_mode=None,
    invoke_without_command=True,
    help="Prevention actions: what you will change so a problem never happens again.",
)
app.add_typer(prevent_app, name="prevent")


@prevent_app.callback()
def prevent_command(
    ctx: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", help="Include the ones done.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List open prevention actions across cases, grouped by cause tag. Mark one done
    with: recover prevent done ID."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table
    from rich.text import Text

    from ..case import Case
    from ..store import Store
    from .output import age, console, local_time, print_json

    state: State = ctx.obj
    groups: dict[str, list[Case]] = {}
    for item in Store(state.home).with_prevention(done_too=show_all):
        if not isinstance(item, Case):
            typer.echo(f"Warning: {item.reason}", err=True)
            continue
        outcome = item.outcome
        if outcome is None or not outcome.prevention:
            continue
        if outcome.prevention_done_at is not None and not show_all:
            continue
        groups.setdefault(outcome.cause_tag or "", []).append(item)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0] == "", kv[0]))
    if as_json:
        print_json(
            [
                {
                    "case_id": case.id,
                    "customer": case.customer.name,
                    "cause_tag": case.outcome.cause_tag,
                    "root_cause": case.outcome.root_cause,
                    "prevention": case.outcome.prevention,
                    "recorded_at": _iso(case.outcome.recorded_at),
                    "done_at": _iso(case.outcome.prevention_done_at),
                }
                for _, cases in ordered
                for case in cases
                if case.outcome is not None
            ]
        )
        return
    out = console()
    if not groups:
        out.print("No open prevention actions." if not show_all else "No prevention actions.")
        return
    for tag, cases in ordered:
        table = Table(
            title=f"{tag or 'no tag'} ({len(cases)})",
            title_justify="left",
            title_style="bold",
            box=None,
            pad_edge=False,
            header_style="bold",
        )
        for column in ("Case", "Prevention", "Root cause", "Since", "Done"):
            table.add_column(column, no_wrap=column in ("Case", "Since", "Done"))
        for case in cases:
            outcome = case.outcome
            assert outcome is not None
            table.add_row(
                case.id,
                Text(outcome.prevention),
                Text(outcome.root_cause or "—"),
                age(outcome.recorded_at or case.updated_at),
                local_time(outcome.prevention_done_at) if outcome.prevention_done_at else "",
            )
        out.print(table)
        out.print()
    out.print(Text("Mark one done with: recover prevent done ID", style="dim"))


def _iso(moment: Any) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


@prevent_app.command("done")
def prevent_done_command(ctx: typer.Context, case_id: CaseId) -> None:
    """Mark a case's prevention action done."""
    from ..case import utcnow
    from ..errors import NotFoundError
    from ..store import parse_case_id
    from .output import open_store

    state: State = ctx.obj
    case_id = parse_case_id(case_id)
    store = open_store(state.home)
    with store.session(case_id):
        case = store.load(case_id)
        if case.outcome is None or not case.outcome.prevention:
            raise NotFoundError(
                f"case {case.id} has no prevention action",
                hint=f'Record one with: recover close {case.id} --prevention "..."',
            )
        if case.outcome.prevention_done_at is None:
            case.finish_prevention(utcnow())
            store.save(case)
    from rich.text import Text

    from .output import console

    # Through the safe console: the action is typed text and may hold control characters.
    console().print(Text(f"Prevention for case {case.id} is done: {case.outcome.prevention}"))


# -- recover customer ---------------------------------------------------------------------
@app.command("customer")
def customer_command(
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
    from rich.table import Table
    from rich.text import Text

    from ..case import STATUS_LABELS, Case
    from ..customers import matches
    from ..export import summary
    from ..store import Store
    from ..values import format_money
    from .output import console, local_time, print_json

    state: State = ctx.obj
    found: list[Case] = []
    for item in Store(state.home).of_customer(query):
        if not isinstance(item, Case):
            typer.echo(f"Warning: {item.reason}", err=True)
        elif matches(item.customer, query):
            found.append(item)
    if as_json:
        print_json(
            {
                "query": query,
                "cases": [
                    {
                        **summary(case),
                        "remedies": [
                            {
                                "label": r.label,
                                "kind": r.kind,
                                "amount": f"{r.amount:.2f}" if r.amount is not None else None,
                                "currency": r.currency,
                            }
                            for r in case.remedies
                        ],
                        "outcome": case.outcome.result if case.outcome else None,
                        "satisfaction": case.outcome.satisfaction if case.outcome else None,
                    }
                    for case in found
                ],
            }
        )
        return
    out = console()
    if not found:
        out.print(Text(f"No cases match {query!r}."))
        return
    people = sorted(
        {c.customer.name or c.customer.email for c in found if c.customer.name or c.customer.email}
    )
    out.print(
        Text(
            f"{', '.join(people) or query} · {len(found)} case{'s' if len(found) != 1 else ''}",
            style="bold",
        )
    )
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("ID", "Opened", "Playbook", "Status", "Remedies", "Outcome"):
        table.add_column(column, no_wrap=column not in ("Remedies", "Playbook"))
    totals: dict[str, Any] = {}
    for case in found:
        for remedy in case.remedies:
            if remedy.amount is not None:
                totals[remedy.currency] = totals.get(remedy.currency, 0) + remedy.amount
        outcome = case.outcome
        table.add_row(
            case.id,
            local_time(case.created_at),
            Text(case.playbook.title),
            STATUS_LABELS[case.status],
            Text("; ".join(r.label for r in case.remedies) or "—"),
            (f"{outcome.result}" + (f" {outcome.satisfaction}/5" if outcome.satisfaction else ""))
            if outcome
            else "",
        )
    out.print(table)
    if totals:
        given = ", ".join(
            format_money(total, currency) for currency, total in sorted(totals.items())
        )
        out.print(f"Remedies given in all: {given}")
