"""What goes out to the customer, in words: the reply composed from the steps a walk
ran, a follow-up's message, and the headers that keep both in the customer's thread.

The reply reads, in order: a greeting, each step's written line (``write``, else its
``say``; ``write = ""`` leaves the step out), the remedies chosen under the step that
offered them, the follow-up promised, and a sign-off with the seller's name and
business. Pure: the case, the playbook and the settings in, text out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..case import Case, FollowUpRecord
from ..config import Settings
from ..playbooks.model import Playbook, Step
from ..playbooks.placeholders import first_name, placeholder_values, render
from ..values import format_money

_RAN = ("answered", "noted", "done")


def written_line(step: Step) -> str | None:
    """The step's line as written: ``write``, else ``say`` (None or "": nothing)."""
    return step.write if step.write is not None else step.say


@dataclass(frozen=True)
class Greeting:
    """How a message opens and ends."""

    opening: str
    closing: str


def greeting(case: Case, settings: Settings) -> Greeting:
    """ "Hi Dana," and "Best wishes," with the seller's name and business under it."""
    first = first_name(case.customer.name)
    signature = [line for line in (settings.seller, settings.business) if line]
    return Greeting(
        opening=f"Hi {first}," if first else "Hello,",
        closing="\n".join(["Best wishes,", *signature]),
    )


def reply_body(case: Case, playbook: Playbook | None, settings: Settings) -> str:
    """The reply to the customer, from the steps that ran, in playbook order."""
    values = placeholder_values(case, settings.as_dict())
    hello = greeting(case, settings)
    parts = [hello.opening]
    listed: set[str] = set()
    steps = playbook.steps if playbook is not None else []
    for step in steps:
        record = case.record(step.id)
        if record is None or record.status not in _RAN:
            continue
        line = written_line(step)
        if line:
            parts.append(render(line, values))
        remedies = _remedies(case, step.id)
        if remedies:
            parts.append(remedies)
            listed.add(step.id)
    rest = _remedies(case, None, leave_out=listed)
    if rest:
        parts.append("What I've done to put it right:\n" + rest)
    promise = follow_up_promise(case)
    if promise:
        parts.append(promise)
    parts.append(hello.closing)
    return "\n\n".join(parts) + "\n"


def _remedies(case: Case, step_id: str | None, *, leave_out: set[str] | None = None) -> str:
    """The remedies of one step (or, ``step_id`` None, of every step not in
    ``leave_out``), one "- label: amount" line each."""
    lines = []
    for remedy in case.remedies:
        if step_id is not None and remedy.step != step_id:
            continue
        if step_id is None and leave_out is not None and remedy.step in leave_out:
            continue
        amount = f": {format_money(remedy.amount, remedy.currency)}" if remedy.amount else ""
        lines.append(f"- {remedy.label}{amount}")
    return "\n".join(lines)


def follow_up_promise(case: Case) -> str:
    """ "I'll check in with you on Fri 4 Dec." for the soonest follow-up still to do."""
    pending = case.pending_follow_ups()
    if not pending:
        return ""
    when = pending[0].due_at.astimezone().strftime("%a %d %b").replace(" 0", " ")
    return f"I'll check in with you again on {when}, to make sure everything is right."


def follow_up_body(case: Case, item: FollowUpRecord, settings: Settings) -> str:
    """A follow-up's message as an email: the message, and the seller's signature
    under it when the message does not already sign off with the seller's name."""
    text = item.message.strip()
    signature = [line for line in (settings.seller, settings.business) if line]
    if signature and not text.endswith(signature[0]):
        text += "\n\n" + "\n".join(signature)
    return text + "\n"


def subject(case: Case, what: str, settings: Settings) -> str:
    """The subject of a message to the customer, before "Re:": the customer's own
    subject when they wrote one, else one made from the order and business."""
    if case.mail is not None:
        for message in case.mail.messages:
            if message.subject:
                return message.subject
    about = f"your order {case.customer.order}" if case.customer.order else "your message"
    head = "Following up on" if what == "follow-up" else "About"
    tail = f" ({settings.business})" if settings.business else ""
    return f"{head} {about}{tail}"


def thread(case: Case) -> tuple[str, tuple[str, ...]]:
    """``In-Reply-To`` (the customer's latest message) and ``References`` (every
    message of the thread, oldest first)."""
    if case.mail is None:
        return "", ()
    moments: list[tuple[datetime, str]] = []
    for message in case.mail.messages:
        if message.message_id:
            moments.append((message.date or message.added_at, message.message_id))
    for sent in case.mail.sent:
        if sent.message_id and sent.status in ("sent", "sending"):
            moments.append((sent.sent_at or sent.at, sent.message_id))
    moments.sort(key=lambda pair: pair[0])
    ordered = tuple(dict.fromkeys(i for _, i in moments))
    received = [m for m in case.mail.messages if m.message_id]
    latest = max(received, key=lambda m: m.date or m.added_at).message_id if received else ""
    return latest, ordered
