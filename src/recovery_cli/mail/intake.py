"""A complaint email into a case: the customer's details it gives, the record the
case keeps of it, and which case a message belongs to.

A message is known by its Message-ID, and also by the digest of its bytes, so the
same message given twice (even one without an id) finds the case it started. A
message whose ``In-Reply-To`` or ``References`` names a message of a case belongs to
that case's thread. No I/O here but the store's index look-up.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ..case import Case, MailAttachment, MailIn, MailThread, parse_customer_field
from ..store import Store
from .reading import Incoming, order_candidates


def digest(data: bytes) -> str:
    """The digest a message is known by, whatever its headers."""
    return hashlib.sha256(data).hexdigest()


def record_of(incoming: Incoming, data: bytes, now: datetime) -> MailIn:
    """What a case keeps of a message: its ids, subject, date, sender, its words and
    the names and sizes of its attachments (never the files)."""
    return MailIn(
        message_id=incoming.message_id,
        digest=digest(data),
        subject=incoming.subject,
        date=incoming.date,
        sender=incoming.address,
        name=incoming.name,
        text=incoming.text,
        attachments=[
            MailAttachment(name=a.name, size=a.size, type=a.content_type)
            for a in incoming.attachments
        ],
        added_at=now,
    )


def details_of(incoming: Incoming, order: str | None) -> dict[str, object]:
    """The customer details a message gives, checked like typed ones: a detail that
    does not pass (an address that is not one) is left for the seller to type."""
    found: dict[str, object] = {"channel": "email"}
    for key, text in (("name", incoming.name), ("email", incoming.address), ("order", order)):
        if not text:
            continue
        try:
            value = parse_customer_field(key, text)
        except ValueError:
            continue
        if value is not None:
            found[key] = value
    return found


def order_in(
    incoming: Incoming, pattern: str | None, known: Callable[[str], bool] | None = None
) -> str | None:
    """The order reference a message names: the first the order book knows (when
    ``known`` can tell), else the first found."""
    candidates = order_candidates(incoming.subject, incoming.text, pattern or None)
    if known is not None:
        for candidate in candidates:
            if known(candidate):
                return candidate
    return candidates[0] if candidates else None


@dataclass(frozen=True)
class Belongs:
    """The case a message belongs to: it ``started`` it (the same message again), or
    it ``replies`` to that case's thread."""

    how: Literal["started", "replies"]
    case_id: str


def belongs_to(store: Store, incoming: Incoming, data: bytes) -> Belongs | None:
    """Which case a message is already part of, or replies to (the newest such case)."""
    own = [f"sha256:{digest(data)}"] + ([incoming.message_id] if incoming.message_id else [])
    found = store.with_message(own)
    if found:
        return Belongs("started", found[0])
    named = list(dict.fromkeys([*incoming.in_reply_to, *incoming.references]))
    found = store.with_message(named)
    return Belongs("replies", found[-1]) if found else None


def start_thread(case: Case, record: MailIn) -> None:
    """The case begins with this message (it is written with it)."""
    case.mail = MailThread(messages=[record])


def holds(case: Case, record: MailIn) -> bool:
    """Whether the case has this message already."""
    if case.mail is None:
        return False
    return any(
        (record.message_id and m.message_id == record.message_id) or m.digest == record.digest
        for m in case.mail.messages
    )


def holds_first(case: Case, record: MailIn) -> bool:
    """Whether this message is the one the case began with."""
    if case.mail is None or not case.mail.messages:
        return False
    first = case.mail.messages[0]
    return bool(record.message_id and first.message_id == record.message_id) or (
        first.digest == record.digest
    )


def attach(case: Case, record: MailIn, now: datetime) -> bool:
    """Add a later message of the thread to the case, as a note; False if the case
    has it already (nothing changes)."""
    if holds(case, record):
        return False
    if case.mail is None:
        case.mail = MailThread()
    case.mail.messages.append(record)
    case.add_event(now, "email added", record.message_id)
    case.touch(now)
    return True
