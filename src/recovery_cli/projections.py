"""Pure views of one case: what each kind of output needs of it, as plain data.

* :func:`summary`: a case in brief, the rows of ``recover list --json``;
* :func:`csv_row`: one CSV row, in :data:`CSV_COLUMNS` order, formula-proof;
* :func:`facts_of`: what stats count;
* :func:`brief_of`: the follow-ups still to do, with who they are for;
* :func:`card_of`: what the everyday views show of a case (``list``, ``customer``,
  ``prevent``): the summary, the remedies, the outcome and the prevention action.

The summary index keeps the last four for every case, so that stats, CSV exports, the
follow-up list and the everyday views are made without reading a case file (or
building a case model: this module imports none). Nothing here reads a file,
a clock or a setting: a case in, plain data out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .case import Case

ZERO = Decimal("0.00")

CSV_COLUMNS: tuple[str, ...] = (
    "id",
    "created_at",
    "updated_at",
    "status",
    "walk_completed_at",
    "customer_name",
    "customer_email",
    "order",
    "order_value",
    "channel",
    "currency",
    "playbook_id",
    "playbook_title",
    "remedies",
    "remedy_total",
    "follow_ups_pending",
    "follow_ups_done",
    "next_follow_up_due",
    "outcome",
    "satisfaction",
    "root_cause",
    "cause_tag",
    "prevention",
    "steps_answered",
    "steps_skipped",
    "closed_at",
    "prevention_done_at",
    "order_date",
    "items",
    "platform",
)

# OWASP CSV injection: a cell starting with one of these may run as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_QUOTE = "'"

# What stats need of one case, and what the follow-up views need of a case with
# follow-ups to do: plain JSON, as the index keeps them.
Facts = dict[str, Any]
Brief = dict[str, Any]
Card = dict[str, Any]
# The keys of a card that make the summary (``recover list --json``), in their order.
SUMMARY_KEYS: tuple[str, ...] = (
    "id",
    "status",
    "created_at",
    "updated_at",
    "walk_completed_at",
    "customer",
    "playbook",
    "steps_recorded",
    "remedy_total",
    "currency",
    "follow_ups_pending",
    "next_follow_up_due",
)
# The keys of a card that make one case of ``recover customer --json``.
HISTORY_KEYS: tuple[str, ...] = (*SUMMARY_KEYS, "remedies", "outcome", "satisfaction")


def iso(moment: datetime | None) -> str | None:
    """A moment as the JSON outputs write it (UTC with ``Z``), or None."""
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def _time(moment: datetime | None) -> str:
    return iso(moment) or ""


def _money(amount: Decimal | None) -> str:
    return "" if amount is None else f"{amount:.2f}"


def neutralise(text: str) -> str:
    """Make a text cell inert in a spreadsheet by prefixing a quote when it starts like
    a formula. A cell that already starts with a quote gets one more, so the original
    is always the cell less its first quote."""
    if text.startswith(_FORMULA_START) or text.startswith(_QUOTE):
        return _QUOTE + text
    return text


def csv_row(case: Case) -> list[str]:
    """A case as one CSV row, in :data:`CSV_COLUMNS` order (numbers stay numbers)."""
    pending = case.pending_follow_ups()
    outcome = case.outcome
    remedies = "; ".join(
        r.label + (f" ({r.kind})" if r.kind else "") + (f" {r.amount:.2f}" if r.amount else "")
        for r in case.remedies
    )
    text = {
        "status": case.status,
        "customer_name": case.customer.name,
        "customer_email": case.customer.email,
        "order": case.customer.order,
        "channel": case.customer.channel,
        "currency": case.currency,
        "playbook_id": case.playbook.id,
        "playbook_title": case.playbook.title,
        "remedies": remedies,
        "outcome": outcome.result if outcome else "",
        "root_cause": outcome.root_cause if outcome else "",
        "cause_tag": outcome.cause_tag if outcome else "",
        "prevention": outcome.prevention if outcome else "",
        "items": "; ".join(case.customer.items),
        "platform": case.customer.platform,
    }
    plain = {
        "id": case.id,
        "created_at": _time(case.created_at),
        "updated_at": _time(case.updated_at),
        "walk_completed_at": _time(case.walk_completed_at),
        "order_value": _money(case.customer.order_value),
        "remedy_total": _money(case.remedy_total()),
        "follow_ups_pending": str(len(pending)),
        "follow_ups_done": str(sum(f.done_at is not None for f in case.follow_ups)),
        "next_follow_up_due": _time(pending[0].due_at) if pending else "",
        "satisfaction": str(outcome.satisfaction) if outcome and outcome.satisfaction else "",
        "steps_answered": str(sum(r.status != "skipped" for r in case.steps)),
        "steps_skipped": str(sum(r.status == "skipped" for r in case.steps)),
        "closed_at": _time(case.closed_at),
        "prevention_done_at": _time(outcome.prevention_done_at if outcome else None),
        "order_date": _time(case.customer.order_date),
    }
    return [neutralise(text[c]) if c in text else plain[c] for c in CSV_COLUMNS]


def summary(case: Case) -> dict[str, object]:
    """The case in brief, for ``recover list --json`` (keys documented in the README)."""
    pending = case.pending_follow_ups()
    return {
        "id": case.id,
        "status": case.status,
        "created_at": _time(case.created_at),
        "updated_at": _time(case.updated_at),
        "walk_completed_at": iso(case.walk_completed_at),
        "customer": {
            "name": case.customer.name,
            "email": case.customer.email,
            "order": case.customer.order,
        },
        "playbook": {"id": case.playbook.id, "title": case.playbook.title},
        "steps_recorded": len(case.steps),
        "remedy_total": _money(case.remedy_total()),
        "currency": case.currency,
        "follow_ups_pending": len(pending),
        "next_follow_up_due": iso(pending[0].due_at) if pending else None,
    }


def history_entry(case: Case) -> dict[str, object]:
    """One case of ``recover customer --json``: the summary, remedies and outcome."""
    return {
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


def facts_of(case: Case) -> Facts:
    """The facts of a case that stats count: dates (with the complaint's and the first
    reply's, :func:`complaint_times`), playbook, outcome, money (refunds and goodwill,
    per the case's currency), the kinds of remedy given (a remedy of no kind counts as
    "other") and follow-ups (cancelled ones left out)."""
    refunds = goodwill = ZERO
    kinds: set[str] = set()
    for remedy in case.remedies:
        kinds.add(remedy.kind or "other")
        if remedy.amount is None:
            continue
        if remedy.kind == "refund":
            refunds += remedy.amount
        else:
            goodwill += remedy.amount
    outcome = case.outcome
    closed = case.closed_at if case.status == "closed" else None
    value = case.customer.order_value
    complained, first_reply = complaint_times(case)
    return {
        "created": case.created_at.isoformat(),
        "closed": closed.isoformat() if closed is not None else None,
        "playbook": case.playbook.id,
        "outcome": outcome.result if outcome else None,
        "satisfaction": outcome.satisfaction if outcome else None,
        "cause_tag": outcome.cause_tag if outcome else "",
        "currency": case.currency,
        "order_value": str(value) if value is not None else None,
        "customer": [case.customer.email, case.customer.name, case.customer.order],
        "refunds": str(refunds),
        "goodwill": str(goodwill),
        "follow_ups": [
            [f.due_at.isoformat(), f.done_at.isoformat() if f.done_at is not None else None]
            for f in case.follow_ups
            if f.result != "cancelled"
        ],
        "remedy_kinds": sorted(kinds),
        "complained": complained.isoformat(),
        "first_reply": first_reply.isoformat() if first_reply is not None else None,
    }


def complaint_times(case: Case) -> tuple[datetime, datetime | None]:
    """When the customer complained, and when the seller first answered them.

    The complaint is the email's date for a case started from one (its first message
    added as the case was made; the date is not taken when it is after the opening: a
    sender's clock can be wrong), else the case's opening.
    The first answer is the first reply that went out through recover (sent, or
    handed to the mail client) for an email case, and the start of the walk for a
    call or chat, where the seller answers as they walk; None when neither is known.
    """
    complained = case.created_at
    answered: datetime | None
    thread = case.mail
    first = thread.messages[0] if thread is not None and thread.messages else None
    # A case began with an email when its first message was added as it was made; a
    # customer's email added to a call's case later leaves it a call.
    if first is not None and first.added_at > complained + timedelta(minutes=1):
        first = None
    if thread is not None and first is not None:
        if first.date is not None and first.date < complained:
            complained = first.date
        replies = [
            out.sent_at or out.at
            for out in thread.sent
            if out.status in ("sent", "drafted", "opened")
        ]
        answered = min(replies, default=None)
    else:
        answered = min((step.started_at for step in case.steps), default=None)
    if answered is not None and answered < complained:
        answered = complained
    return complained, answered


def brief_of(case: Case) -> Brief | None:
    """A case's follow-ups still to do, with who and what they are for (None if none)."""
    pending = case.pending_follow_ups()
    if not pending:
        return None
    customer = case.customer
    return {
        "case_id": case.id,
        "name": customer.name,
        "email": customer.email,
        "order": customer.order,
        "channel": customer.channel,
        "playbook": case.playbook.title,
        "items": [[f.id, f.due_at.isoformat(), f.message, _sent(case, f.id)] for f in pending],
    }


def _sent(case: Case, number: int) -> list[str] | None:
    """How the follow-up's message last went out: [status, via, time], or None."""
    last = case.mail.latest_out("follow-up", number) if case.mail else None
    if last is None:
        return None
    return [last.status, last.via, iso(last.sent_at or last.at) or ""]


def card_of(case: Case) -> Card:
    """What the everyday views show of a case: its history entry (the summary, the
    remedies and the outcome), and its prevention action with the cause it answers."""
    outcome = case.outcome
    prevention = None
    if outcome is not None and outcome.prevention:
        prevention = {
            "action": outcome.prevention,
            "root_cause": outcome.root_cause,
            "cause_tag": outcome.cause_tag,
            "recorded_at": iso(outcome.recorded_at),
            "done_at": iso(outcome.prevention_done_at),
        }
    return {**history_entry(case), "prevention": prevention}
