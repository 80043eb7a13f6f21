"""``recover list`` and ``recover show``: the cases on disk."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from . import JsonOption, State, app
from .completion import complete_case_ids

if TYPE_CHECKING:
    from ..case import FollowUpRecord, StepRecord


def status_option(text: str | None) -> str | None:
    """Accept a status as people write it (awaiting-follow-up) and normalise it."""
    if text is None:
        return None
    from typing import get_args

    from ..case import Status

    normal = text.strip().lower().replace("-", "_").replace(" ", "_")
    if normal not in get_args(Status):
        raise typer.BadParameter("use open, awaiting-follow-up or closed")
    return normal


@app.command("list")
def list_command(
    ctx: typer.Context,
    status: Annotated[
        str | None,
        typer.Option(
            help="Only cases with this status: open, awaiting-follow-up or closed.",
            callback=status_option,
            show_default=False,
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many cases to show.")] = 20,
    show_all: Annotated[bool, typer.Option("--all", help="Show every case.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List cases, newest first: status, customer, playbook, how far the walk got, age."""
    from rich.table import Table
    from rich.text import Text

    from ..case import STATUS_LABELS, Case
    from ..export import summary
    from ..store import Store
    from ..values import format_money
    from .output import age, console, print_json

    state: State = ctx.obj
    store = Store(state.home)
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("ID", "Status", "Customer", "Playbook", "Walk", "Remedies", "Age"):
        table.add_column(column, no_wrap=column != "Customer")
    shown = 0
    found: list[dict[str, object]] = []
    for item in store.list_cases(status=status, limit=None if show_all else limit):
        if not isinstance(item, Case):
            typer.echo(f"Warning: {item.reason}", err=True)
            continue
        if as_json:
            found.append(summary(item))
            continue
        total = item.remedy_total()
        table.add_row(
            item.id,
            STATUS_LABELS[item.status],
            Text(item.customer.name or "—"),
            Text(item.playbook.id),
            "done" if item.walk_completed_at else f"step {len(item.steps) + 1}",
            format_money(total, item.currency) if item.remedies else "",
            age(item.created_at),
        )
        shown += 1
    if as_json:
        print_json(found)
        return
    out = console()
    if shown == 0:
        out.print("No cases yet. Start one with: recover new" if status is None else "No cases.")
        return
    out.print(table)
    from .after_cmd import overdue_notice

    overdue_notice(store)


@app.command("show")
def show_command(
    ctx: typer.Context,
    case_id: Annotated[
        str,
        typer.Argument(
            metavar="ID",
            help="Case id, as shown by list.",
            show_default=False,
            autocompletion=complete_case_ids,
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """Show one case in full: customer, every step, remedies, follow-ups, outcome."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from ..case import STATUS_LABELS
    from ..store import Store
    from ..values import format_money
    from .output import console, heading, local_time, print_json

    state: State = ctx.obj
    stored = Store(state.home).load_stored(case_id)
    if as_json:
        print_json(stored.data)
        return
    case = stored.case
    out = console()
    parts: list[object] = [heading(out, f"Case {case.id} · {STATUS_LABELS[case.status]}")]
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold", no_wrap=True)
    facts.add_column()
    customer = case.customer
    facts.add_row("Customer", Text(customer.name or "—"))
    for label, value in (
        ("Email", customer.email),
        ("Order", customer.order),
        ("Channel", customer.channel),
    ):
        if value:
            facts.add_row(label, Text(value))
    if customer.order_value is not None:
        facts.add_row("Order value", format_money(customer.order_value, case.currency))
    facts.add_row(
        "Playbook", Text(f"{case.playbook.title} ({case.playbook.id}, {case.playbook.hash[:15]})")
    )
    facts.add_row("Opened", local_time(case.created_at))
    if case.walk_completed_at:
        facts.add_row("Walk done", local_time(case.walk_completed_at))
    else:
        facts.add_row("Walk", f"unfinished: recover resume {case.id}")
    parts.append(facts)

    if case.steps:
        steps = Table(title="Steps", title_justify="left", box=None, header_style="bold")
        for column in ("Step", "", "Answer or note", "Time"):
            steps.add_column(column, no_wrap=column != "Answer or note")
        for record in case.steps:
            steps.add_row(
                Text(record.title),
                record.status,
                Text("—" if record.status == "skipped" else case.answer_text(record)),
                f"{local_time(record.ended_at)} ({_duration(record)})",
            )
        parts.append(steps)
    if case.remedies:
        remedies = Table(title="Remedies", title_justify="left", box=None, header_style="bold")
        for column in ("Remedy", "Kind", "Amount"):
            remedies.add_column(column)
        for remedy in case.remedies:
            remedies.add_row(
                Text(remedy.label),
                remedy.kind or "",
                format_money(remedy.amount, remedy.currency) if remedy.amount is not None else "",
            )
        remedies.add_row("Total", "", format_money(case.remedy_total(), case.currency))
        parts.append(remedies)
    if case.follow_ups:
        follow = Table(title="Follow-ups", title_justify="left", box=None, header_style="bold")
        for column in ("#", "Due", "Message", "Done", "Result"):
            follow.add_column(column, no_wrap=column not in ("Message", "Result"))
        for item in case.follow_ups:
            follow.add_row(
                str(item.id),
                local_time(item.due_at),
                Text(item.message),
                local_time(item.done_at) if item.done_at else "",
                Text(_follow_up_result(item)),
            )
        parts.append(follow)
    if case.outcome is not None:
        outcome = case.outcome
        lines = Table.grid(padding=(0, 2))
        lines.add_column(style="bold", no_wrap=True)
        lines.add_column()
        result: str = outcome.result
        if outcome.satisfaction:
            result += f" · satisfaction {outcome.satisfaction}/5"
        lines.add_row("Outcome", result)
        if outcome.root_cause or outcome.cause_tag:
            tag = f" [{outcome.cause_tag}]" if outcome.cause_tag else ""
            lines.add_row("Root cause", Text(f"{outcome.root_cause or '—'}{tag}"))
        if outcome.prevention:
            done = outcome.prevention_done_at
            progress = f" (done {local_time(done)})" if done else " (open)"
            lines.add_row("Prevention", Text(outcome.prevention + progress))
        parts.append(Text(""))
        parts.append(lines)
    if case.closed_at is not None:
        parts.append(Text(f"Closed {local_time(case.closed_at)}"))
    out.print(Group(*parts))  # type: ignore[arg-type]


def _follow_up_result(item: FollowUpRecord) -> str:
    """``reached, happy: not yet · a note`` (empty while still to do)."""
    from ..case import HAPPY_LABELS

    if item.result is None:
        return ""
    said = {"reached": "reached", "not_reached": "not reached", "cancelled": "cancelled"}
    text = said[item.result]
    if item.happy:
        text += f", happy: {HAPPY_LABELS[item.happy]}"
    return f"{text} · {item.note}" if item.note else text


def _duration(record: StepRecord) -> str:
    seconds = int((record.ended_at - record.started_at).total_seconds())
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
