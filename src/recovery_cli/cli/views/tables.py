"""The tables of the everyday views: the case list, one case in full, a customer's
history, prevention actions and the follow-ups due.

Each writes what the core returned (cards and briefs from the index, a case's JSON)
through the plain writer (:mod:`..plain`), never through Rich, and never from a case
model: these views start in about the time Python takes to import Typer. Customer text
is always a cell or a line of its own, shown literally.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from ...followups import OVERDUE_DAYS, WHEN_LABELS, DueList
from ...kinds import STATUS_LABELS, answer_words, follow_up_result_words
from ...lookups import History, Prevention
from ...projections import Card
from ...values import format_money, local_time
from ..common import age
from ..plain import Column, Output, Table, grid

# The names a customer's history heading lists before "and N more".
HISTORY_NAMES = 10


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _when(text: str | None) -> str:
    return local_time(_moment(text)) if text else ""


def _money(amount: str | None, currency: str = "") -> str:
    return format_money(Decimal(amount), currency) if amount is not None else ""


def case_list(cards: Iterable[Card], now: datetime) -> Table:
    """``recover list``: one row a case (only the cells are kept, never the cards)."""
    table = Table(
        [
            Column("ID"),
            Column("Status"),
            Column("Customer", wrap=True),
            Column("Playbook"),
            Column("Walk"),
            Column("Remedies"),
            Column("Age"),
        ]
    )
    for card in cards:
        table.add(
            card["id"],
            str(STATUS_LABELS.get(card["status"], card["status"])),
            card["customer"]["name"] or "—",
            card["playbook"]["id"],
            "done" if card["walk_completed_at"] else f"step {card['steps_recorded'] + 1}",
            _money(card["remedy_total"], card["currency"]) if card["remedies"] else "",
            age(_moment(card["created_at"]), now),
        )
    return table


def case_in_full(out: Output, case: Mapping[str, Any]) -> None:
    """``recover show``: customer, steps, remedies, follow-ups and outcome, from the
    case's JSON (a case file's keys; those a hand-made file leaves out are blank)."""
    status = case.get("status", "open")
    out.rule(f"Case {case['id']} · {STATUS_LABELS.get(status, status)}")
    out.table(_facts(case))
    currency = case.get("currency", "USD")
    remedies = case.get("remedies") or []
    steps = case.get("steps") or []
    if steps:
        out.table(_steps(steps, remedies))
    if remedies:
        table = Table([Column("Remedy", wrap=True), Column("Kind"), Column("Amount")])
        table.title, table.indent = "Remedies", 1
        total = Decimal(0)
        for remedy in remedies:
            amount = remedy.get("amount")
            total += Decimal(amount) if amount is not None else 0
            table.add(remedy["label"], remedy.get("kind") or "", _money(amount, remedy["currency"]))
        table.add("Total", "", format_money(total, currency))
        out.table(table)
    follow_ups = case.get("follow_ups") or []
    if follow_ups:
        table = Table(
            [
                Column("#"),
                Column("Due"),
                Column("Message", wrap=True),
                Column("Done"),
                Column("Result", wrap=True),
            ]
        )
        table.title, table.indent = "Follow-ups", 1
        for item in follow_ups:
            table.add(
                str(item["id"]),
                _when(item["due_at"]),
                item["message"],
                _when(item.get("done_at")),
                follow_up_result_words(item.get("result"), item.get("happy"), item.get("note", "")),
            )
        out.table(table)
    mail = case.get("mail")
    if isinstance(mail, dict) and (mail.get("messages") or mail.get("sent")):
        out.table(_thread(mail))
    outcome = case.get("outcome")
    if outcome is not None:
        out.line()
        out.table(_outcome(outcome))
    if case.get("closed_at"):
        out.line(f"Closed {_when(case['closed_at'])}")


_SENT_WORDS = {
    "sending": "sending (not confirmed)",
    "sent": "sent",
    "not_sent": "NOT SENT",
    "drafted": "draft saved",
    "opened": "opened in the mail client",
}


def _thread(mail: Mapping[str, Any]) -> Table:
    """The case's mail, oldest first: each message from the customer (with what came
    with it) and each message to them, with how it went."""
    table = Table([Column("When"), Column(""), Column("Message", wrap=True)])
    table.title, table.indent = "Email thread", 1
    rows: list[tuple[str, str, str]] = []
    for message in mail.get("messages") or []:
        words = [message.get("subject") or "(no subject)"]
        who = message.get("name") or message.get("sender")
        if who:
            words.append(f"from {who}")
        for attached in message.get("attachments") or []:
            size = int(attached.get("size") or 0)
            words.append(f"attachment {attached.get('name') or '(unnamed)'} ({_bytes(size)})")
        text = " ".join(str(message.get("text") or "").split())
        if text:
            words.append(text if len(text) <= 300 else text[:299] + "…")
        moment = message.get("date") or message.get("added_at")
        rows.append((str(moment or ""), "in", "\n".join(words)))
    for sent in mail.get("sent") or []:
        what = "reply" if sent.get("what") == "reply" else f"follow-up {sent.get('follow_up')}"
        status = _SENT_WORDS.get(sent.get("status", ""), str(sent.get("status")))
        said = [f"{what} to {sent.get('to', '')}: {status}", str(sent.get("subject") or "")]
        if sent.get("error"):
            said.append(str(sent["error"]))
        if sent.get("draft"):
            said.append(f"draft: {sent['draft']}")
        rows.append((str(sent.get("sent_at") or sent.get("at") or ""), "out", "\n".join(said)))
    for moment, way, lines in sorted(rows, key=lambda row: row[0]):
        table.add(_when(moment or None), way, lines)
    return table


def _bytes(size: int) -> str:
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    return f"{size / 1000:.0f} KB" if size >= 1000 else f"{size} bytes"


def _facts(case: Mapping[str, Any]) -> Table:
    customer = case.get("customer") or {}
    rows = [("Customer", customer.get("name") or "—")]
    for label, key in (("Email", "email"), ("Order", "order"), ("Channel", "channel")):
        if customer.get(key):
            rows.append((label, customer[key]))
    if customer.get("order_value") is not None:
        rows.append(("Order value", _money(customer["order_value"], case.get("currency", "USD"))))
    if customer.get("order_date"):
        rows.append(("Order date", _when(customer["order_date"])))
    if customer.get("items"):
        rows.append(("Items", ", ".join(str(item) for item in customer["items"])))
    if customer.get("platform"):
        rows.append(("Platform", customer["platform"]))
    ref = case["playbook"]
    rows.append(("Playbook", f"{ref['title']} ({ref['id']}, {ref['hash'][:15]})"))
    rows.append(("Opened", _when(case["created_at"])))
    if case.get("walk_completed_at"):
        rows.append(("Walk done", _when(case["walk_completed_at"])))
    else:
        rows.append(("Walk", f"unfinished: recover resume {case['id']}"))
    return grid(rows)


def _steps(steps: list[dict[str, Any]], remedies: list[dict[str, Any]]) -> Table:
    table = Table(
        [Column("Step", wrap=True), Column(""), Column("Answer or note", wrap=True), Column("Time")]
    )
    table.title, table.indent = "Steps", 1
    for record in steps:
        status = record["status"]
        labels = {r["offer"]: r["label"] for r in remedies if r.get("step") == record["id"]}
        answer = answer_words(status, record.get("answer"), record.get("note", ""), labels)
        table.add(
            record["title"],
            status,
            "—" if status == "skipped" else answer,
            f"{_when(record['ended_at'])} ({_duration(record)})",
        )
    return table


def _outcome(outcome: Mapping[str, Any]) -> Table:
    result: str = outcome["result"]
    if outcome.get("satisfaction"):
        result += f" · satisfaction {outcome['satisfaction']}/5"
    rows = [("Outcome", result)]
    cause, tag = outcome.get("root_cause", ""), outcome.get("cause_tag", "")
    if cause or tag:
        rows.append(("Root cause", f"{cause or '—'}{f' [{tag}]' if tag else ''}"))
    if outcome.get("prevention"):
        done = outcome.get("prevention_done_at")
        progress = f" (done {_when(done)})" if done else " (open)"
        rows.append(("Prevention", outcome["prevention"] + progress))
    return grid(rows)


def _duration(record: Mapping[str, Any]) -> str:
    seconds = int((_moment(record["ended_at"]) - _moment(record["started_at"])).total_seconds())
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def history(out: Output, found: History) -> None:
    """``recover customer``: who, each case, and what they were given in all."""
    count = found.total
    people = ", ".join(found.people[:HISTORY_NAMES]) or found.query
    if len(found.people) > HISTORY_NAMES:
        people += f" and {len(found.people) - HISTORY_NAMES:,} more"
    out.line(f"{people} · {count:,} case{'s' if count != 1 else ''}", "bold")
    table = Table(
        [
            Column("ID"),
            Column("Opened"),
            Column("Playbook", wrap=True),
            Column("Status"),
            Column("Remedies", wrap=True),
            Column("Outcome"),
        ]
    )
    for card in found.cases:
        outcome = card["outcome"]
        satisfaction = card["satisfaction"]
        table.add(
            card["id"],
            _when(card["created_at"]),
            card["playbook"]["title"],
            str(STATUS_LABELS.get(card["status"], card["status"])),
            "; ".join(r["label"] for r in card["remedies"]) or "—",
            (outcome + (f" {satisfaction}/5" if satisfaction else "")) if outcome else "",
        )
    out.table(table)
    if len(found.cases) < found.total:
        out.line(
            f"Showing the newest {len(found.cases)} of {found.total:,} cases "
            f"(recover customer {found.query!r} --all).",
            "dim",
        )
    totals = found.totals()
    if totals:
        given = ", ".join(format_money(total, currency) for currency, total in totals.items())
        out.line(f"Remedies given in all: {given}")


def prevention(out: Output, found: Prevention, now: datetime) -> None:
    """``recover prevent``: a table per cause tag, the biggest group first."""
    for tag, cards in found.groups:
        table = Table(
            [
                Column("Case"),
                Column("Prevention", wrap=True),
                Column("Root cause", wrap=True),
                Column("Since"),
                Column("Done"),
            ],
            title=f"{tag or 'no tag'} ({len(cards)})",
        )
        for card in cards:
            action = card["prevention"]
            table.add(
                card["id"],
                action["action"],
                action["root_cause"] or "—",
                age(_moment(action["recorded_at"] or card["updated_at"]), now),
                _when(action["done_at"]),
            )
        out.table(table)
        out.line()
    out.line("Mark one done with: recover prevent done ID", "dim")


def due(out: Output, found: DueList) -> None:
    """``recover followups``: a table for overdue, today and upcoming, each as due; and
    how many were left out."""
    for group in ("overdue", "today", "upcoming"):
        rows = [item for item in found.items if item.when == group]
        if not rows:
            continue
        table = Table(
            [
                Column("Due"),
                Column("Case"),
                Column("Customer", wrap=True),
                Column("Say", wrap=True),
            ],
            title=f"{WHEN_LABELS[group]} ({len(rows)})",
            title_style="bold red" if group == "overdue" else "bold",
        )
        for item in rows:
            table.add(
                local_time(item.due_at),
                f"{item.case_id}" + (f" #{item.number}" if item.number > 1 else ""),
                item.name or "—",
                item.message + (f"\n[{item.sent_words}]" if item.sent_words else ""),
            )
        out.table(table)
        out.line()
    hidden = hidden_line(found)
    if hidden:
        out.line(hidden, "dim")
    out.line("Record one with: recover followup ID", "dim")


def hidden_line(found: DueList) -> str:
    """``Not shown: 3 overdue for over 4 weeks, 12 due later (recover followups --all).``"""
    parts = []
    if found.older:
        parts.append(f"{found.older} overdue for over {OVERDUE_DAYS // 7} weeks")
    if found.later:
        parts.append(f"{found.later} due later")
    return f"Not shown: {', '.join(parts)} (recover followups --all)." if parts else ""
