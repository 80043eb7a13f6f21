"""The tables of the everyday views: the case list, one case in full, a customer's
history, prevention actions and the follow-ups due. Each takes what the core returned
and gives back something to print; customer text always goes in as plain Text."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from ...case import HAPPY_LABELS, STATUS_LABELS, Case, FollowUpRecord, StepRecord
from ...casework import History, Prevention
from ...followups import WHEN_LABELS, Due
from ...values import format_money, local_time
from ..console import age, heading


def _table() -> Table:
    return Table(box=None, pad_edge=False, header_style="bold")


def _titled(title: str, *, style: str = "bold", pad_edge: bool = False) -> Table:
    return Table(
        title=title,
        title_justify="left",
        title_style=style,
        box=None,
        pad_edge=pad_edge,
        header_style="bold",
    )


def case_list(cases: Iterable[Case], now: datetime) -> tuple[Table, int]:
    """``recover list``: one row a case (only the cells are kept, never the cases), and
    how many rows there are."""
    table = _table()
    for column in ("ID", "Status", "Customer", "Playbook", "Walk", "Remedies", "Age"):
        table.add_column(column, no_wrap=column != "Customer")
    for case in cases:
        table.add_row(
            case.id,
            STATUS_LABELS[case.status],
            Text(case.customer.name or "—"),
            Text(case.playbook.id),
            "done" if case.walk_completed_at else f"step {len(case.steps) + 1}",
            format_money(case.remedy_total(), case.currency) if case.remedies else "",
            age(case.created_at, now),
        )
    return table, table.row_count


def case_in_full(out: Console, case: Case) -> Group:
    """``recover show``: customer, steps, remedies, follow-ups and outcome."""
    parts: list[RenderableType] = [heading(out, f"Case {case.id} · {STATUS_LABELS[case.status]}")]
    parts.append(_facts(case))
    if case.steps:
        parts.append(_steps(case))
    if case.remedies:
        remedies = _titled("Remedies", pad_edge=True)
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
        follow = _titled("Follow-ups", pad_edge=True)
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
        parts += [Text(""), _outcome(case)]
    if case.closed_at is not None:
        parts.append(Text(f"Closed {local_time(case.closed_at)}"))
    return Group(*parts)


def _grid() -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    return grid


def _facts(case: Case) -> Table:
    facts = _grid()
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
    ref = case.playbook
    facts.add_row("Playbook", Text(f"{ref.title} ({ref.id}, {ref.hash[:15]})"))
    facts.add_row("Opened", local_time(case.created_at))
    if case.walk_completed_at:
        facts.add_row("Walk done", local_time(case.walk_completed_at))
    else:
        facts.add_row("Walk", f"unfinished: recover resume {case.id}")
    return facts


def _steps(case: Case) -> Table:
    steps = _titled("Steps", pad_edge=True)
    for column in ("Step", "", "Answer or note", "Time"):
        steps.add_column(column, no_wrap=column != "Answer or note")
    for record in case.steps:
        steps.add_row(
            Text(record.title),
            record.status,
            Text("—" if record.status == "skipped" else case.answer_text(record)),
            f"{local_time(record.ended_at)} ({_duration(record)})",
        )
    return steps


def _outcome(case: Case) -> Table:
    outcome = case.outcome
    assert outcome is not None
    lines = _grid()
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
    return lines


def _follow_up_result(item: FollowUpRecord) -> str:
    """``reached, happy: not yet · a note`` (empty while still to do)."""
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


def history(found: History) -> list[RenderableType]:
    """``recover customer``: who, each case, and what they were given in all."""
    count = len(found.cases)
    people = ", ".join(found.people) or found.query
    parts: list[RenderableType] = [
        Text(f"{people} · {count} case{'s' if count != 1 else ''}", style="bold")
    ]
    table = _table()
    for column in ("ID", "Opened", "Playbook", "Status", "Remedies", "Outcome"):
        table.add_column(column, no_wrap=column not in ("Remedies", "Playbook"))
    for case in found.cases:
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
    parts.append(table)
    totals = found.totals()
    if totals:
        given = ", ".join(format_money(total, currency) for currency, total in totals.items())
        parts.append(Text(f"Remedies given in all: {given}"))
    return parts


def prevention(found: Prevention, now: datetime) -> list[RenderableType]:
    """``recover prevent``: a table per cause tag, the biggest group first."""
    parts: list[RenderableType] = []
    for tag, cases in found.groups:
        table = _titled(f"{tag or 'no tag'} ({len(cases)})")
        for column in ("Case", "Prevention", "Root cause", "Since", "Done"):
            table.add_column(column, no_wrap=column in ("Case", "Since", "Done"))
        for case in cases:
            outcome = case.outcome
            assert outcome is not None
            table.add_row(
                case.id,
                Text(outcome.prevention),
                Text(outcome.root_cause or "—"),
                age(outcome.recorded_at or case.updated_at, now),
                local_time(outcome.prevention_done_at) if outcome.prevention_done_at else "",
            )
        parts += [table, Text("")]
    parts.append(Text("Mark one done with: recover prevent done ID", style="dim"))
    return parts


def due(items: list[Due]) -> list[RenderableType]:
    """``recover followups``: a table for overdue, today and upcoming, each as due."""
    parts: list[RenderableType] = []
    for group in ("overdue", "today", "upcoming"):
        rows = [item for item in items if item.when == group]
        if not rows:
            continue
        table = _titled(
            f"{WHEN_LABELS[group]} ({len(rows)})",
            style="bold red" if group == "overdue" else "bold",
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
        parts += [table, Text("")]
    parts.append(Text("Record one with: recover followup ID", style="dim"))
    return parts
