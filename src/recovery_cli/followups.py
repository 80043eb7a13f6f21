"""Follow-ups across the store: what is due, in what order, and as a calendar.

"Today" is the seller's local date: a follow-up due at 09:00 is due today all day,
and overdue from the next morning. Made from the follow-up briefs the index keeps
(:func:`recovery_cli.projections.brief_of`); no I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Literal

from .projections import Brief
from .sync.ids import key_of
from .values import local_time

When = Literal["overdue", "today", "upcoming"]
WHEN_LABELS: dict[When, str] = {"overdue": "Overdue", "today": "Today", "upcoming": "Upcoming"}

# Without --all, follow-ups further ahead than this are left out of the list, and so
# are those overdue for longer than the window behind (a store of years keeps
# thousands of follow-ups nobody did; the list is for the ones still worth doing).
HORIZON_DAYS = 7
OVERDUE_DAYS = 28

# A follow-up message added by hand without a note of its own.
DEFAULT_MESSAGE = (
    "Hi $first_name, it's $seller at $business. I wanted to check in about your order "
    "$order: is everything all right now?"
)


@dataclass(frozen=True)
class Due:
    """One follow-up still to do, with what is needed to do it."""

    case_id: str
    number: int
    due_at: datetime
    when: When
    message: str
    name: str
    email: str
    order: str
    channel: str
    playbook: str
    sent: tuple[str, str, str] | None = None  # how its message went out: status, via, when

    @property
    def sent_words(self) -> str:
        """ "sent by email Tue 1 Dec 10:00", "draft saved"..., or "" (still to send)."""
        if self.sent is None:
            return ""
        status, _, moment = self.sent
        when_text = local_time(datetime.fromisoformat(moment)) if moment else ""
        words = {
            "sent": f"sent by email {when_text}",
            "sending": "sending was cut short: it may have gone",
            "not_sent": "NOT SENT: the mail server refused it",
            "drafted": f"draft saved {when_text}",
            "opened": f"opened in the mail client {when_text}",
        }
        return words.get(status, status).strip()

    def as_json(self) -> dict[str, object]:
        """The keys of ``recover followups --json`` (documented in the README)."""
        return {
            "case_id": self.case_id,
            "follow_up": self.number,
            "due_at": self.due_at.isoformat().replace("+00:00", "Z"),
            "when": self.when,
            "customer": {
                "name": self.name,
                "email": self.email,
                "order": self.order,
                "channel": self.channel,
            },
            "playbook": self.playbook,
            "message": self.message,
            "sent": (
                None
                if self.sent is None
                else {"status": self.sent[0], "via": self.sent[1], "at": self.sent[2] or None}
            ),
        }


def local_date(moment: datetime, zone: tzinfo | None = None) -> date:
    """The date of ``moment`` where the seller is (``zone``, else the local zone)."""
    return moment.astimezone(zone).date()


def when(due_at: datetime, now: datetime, zone: tzinfo | None = None) -> When:
    """Whether a follow-up is overdue, due today, or still to come."""
    due, today = local_date(due_at, zone), local_date(now, zone)
    if due < today:
        return "overdue"
    return "today" if due == today else "upcoming"


@dataclass
class DueList:
    """The follow-ups to do, and how many were left out: overdue for longer than the
    window (``older``), and further ahead than the horizon (``later``)."""

    items: list[Due]
    older: int = 0
    later: int = 0

    @property
    def hidden(self) -> int:
        """How many follow-ups still to do are not in the list."""
        return self.older + self.later


def due_list(
    briefs: Iterable[Brief],
    now: datetime,
    *,
    horizon_days: int | None = HORIZON_DAYS,
    overdue_days: int | None = OVERDUE_DAYS,
    zone: tzinfo | None = None,
) -> DueList:
    """Every follow-up still to do, from ``overdue_days`` back to ``horizon_days``
    ahead (None: however far): overdue first (the oldest first), then today's, then
    upcoming, soonest first; with how many were left out either side."""
    today = local_date(now, zone)
    last_day = None if horizon_days is None else today + timedelta(days=horizon_days)
    first_day = None if overdue_days is None else today - timedelta(days=overdue_days)
    found = DueList([])
    for brief in briefs:
        for number, due_text, message, *rest in brief["items"]:
            due_at = datetime.fromisoformat(due_text)
            day = local_date(due_at, zone)
            if last_day is not None and day > last_day:
                found.later += 1
                continue
            if first_day is not None and day < first_day:
                found.older += 1
                continue
            found.items.append(
                Due(
                    case_id=brief["case_id"],
                    number=number,
                    due_at=due_at,
                    when=when(due_at, now, zone),
                    message=message,
                    name=brief["name"],
                    email=brief["email"],
                    order=brief["order"],
                    channel=brief["channel"],
                    playbook=brief["playbook"],
                    sent=tuple(rest[0]) if rest and rest[0] else None,
                )
            )
    found.items.sort(key=lambda d: (d.due_at, key_of(d.case_id), d.number))
    return found


def count_overdue(dues: Iterable[datetime], now: datetime, zone: tzinfo | None = None) -> int:
    """How many of these due times (of follow-ups still to do) are overdue."""
    return sum(when(due, now, zone) == "overdue" for due in dues)


def to_ics(items: Iterable[Due], now: datetime) -> bytes:
    """The follow-ups as an iCalendar file: one 15-minute event each, at the time it
    falls due, naming the case and customer and carrying the message to send."""
    from icalendar import Calendar, Event

    calendar = Calendar()
    calendar.add("prodid", "-//recover//follow-ups//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    for item in items:
        event = Event()
        event.add("uid", f"recover-case-{item.case_id}-follow-up-{item.number}")
        event.add("dtstamp", now)
        event.add("dtstart", item.due_at)
        event.add("duration", timedelta(minutes=15))
        who = item.name or "customer"
        event.add("summary", f"Follow up with {who} (case {item.case_id})")
        contact = [
            f"{label}: {value}"
            for label, value in (
                ("Email", item.email),
                ("Order", item.order),
                ("Channel", item.channel),
            )
            if value
        ]
        event.add(
            "description",
            "\n".join(
                [
                    item.message,
                    "",
                    f"Case {item.case_id} · {item.playbook}",
                    *contact,
                    f"Record the result: recover followup {item.case_id}",
                ]
            ),
        )
        calendar.add_component(event)
    ical: bytes = calendar.to_ical()
    return ical
