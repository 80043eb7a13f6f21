"""The monthly review: what one period's recoveries cost and returned, against the
twelve months before it, and which causes keep coming back.

Everything is counted by :class:`~recovery_cli.stats.Stats` (the rules of
``recover stats``, not a second copy of them): one for the period, one for each of the
twelve months ending with the period's last, fed from one pass over the index's facts.
On top of those, this module only adds what needs more than one case to tell: which
customers had an earlier case, and which causes come up month after month. The page
itself is made by :mod:`recovery_cli.reportpage`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from .errors import UsageError
from .followups import local_date
from .stats import TOP_CAUSES, Stats

MONTHS = 12
FIRST_YEAR, LAST_YEAR = 1000, 9998
# A cause is flagged as repeating when it came up in this many of the last months.
REPEAT_MONTHS, REPEAT_SEEN = 6, 3
_MONTH = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True)
class Period:
    """The dates a report covers (both included), as the seller's calendar has them."""

    since: date
    until: date

    @property
    def whole_month(self) -> bool:
        """Whether the period is exactly one calendar month."""
        return self.since.day == 1 and _next_month(self.since) - timedelta(days=1) == self.until

    @property
    def label(self) -> str:
        """The period in words: "November 2026", or "3 Oct 2026 to 15 Nov 2026"."""
        if self.whole_month:
            return self.since.strftime("%B %Y")
        return f"{_day(self.since)} to {_day(self.until)}"

    @property
    def file_name(self) -> str:
        """The default file: ``report-2026-11.html``, or
        ``report-2026-10-03-to-2026-11-15.html``."""
        if self.whole_month:
            return f"report-{self.since.year:04d}-{self.since.month:02d}.html"
        return f"report-{self.since.isoformat()}-to-{self.until.isoformat()}.html"

    def months(self, count: int = MONTHS) -> list[date]:
        """The first days of the ``count`` months ending with the period's last, oldest first."""
        first = self.until.replace(day=1)
        found = [first]
        for _ in range(count - 1):
            found.append((found[-1] - timedelta(days=1)).replace(day=1))
        return found[::-1]


def month_period(text: str) -> Period:
    """The calendar month ``YYYY-MM``."""
    match = _MONTH.fullmatch(text.strip())
    if match is None or not 1 <= int(match[2]) <= 12:
        raise UsageError("a month is written YYYY-MM, e.g. 2026-11")
    first = date(_year(int(match[1])), int(match[2]), 1)
    return Period(first, _next_month(first) - timedelta(days=1))


def last_full_month(today: date) -> Period:
    """The month before ``today``'s: the default, for the review at the start of a month."""
    end = today.replace(day=1) - timedelta(days=1)
    return Period(end.replace(day=1), end)


def between(since: date | None, until: date | None, today: date) -> Period:
    """The dates given by ``--since``/``--until`` (a missing end: the month's first day
    of ``since``'s month, or today)."""
    start = since if since is not None else (until or today).replace(day=1)
    end = until if until is not None else today
    _year(start.year)
    _year(end.year)
    if start > end:
        later = f"--until ({end.isoformat()})" if until is not None else "today"
        raise UsageError(f"--since ({start.isoformat()}) is after {later}")
    return Period(start, end)


def _year(year: int) -> int:
    # The twelve months before a period, and the month after it, must be dates too.
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise UsageError(f"a report covers the years {FIRST_YEAR} to {LAST_YEAR}")
    return year


@dataclass
class Returning:
    """Of the period's cases with a known customer, those whose customer had a case
    before (at any time, in this store)."""

    cases: int = 0
    returning: int = 0
    customers: set[str] = field(default_factory=set)
    returning_customers: set[str] = field(default_factory=set)

    @property
    def share(self) -> float | None:
        """Returning customers' cases as a share of the cases with a known customer."""
        return self.returning / self.cases if self.cases else None


@dataclass
class OpenActions:
    """The prevention actions not done yet, for one cause tag: how many, and the
    oldest of them."""

    tag: str
    count: int
    oldest_days: int
    action: str
    root_cause: str
    case_id: str
    customer: str


@dataclass
class Report:
    """The counts behind one monthly review; feed it with :meth:`add`."""

    period: Period
    now: datetime
    zone: tzinfo | None = None
    stats: Stats = field(init=False)
    months: dict[date, Stats] = field(init=False)
    year: Stats = field(init=False)
    returning: Returning = field(default_factory=Returning)
    prevention_open: int = 0
    _actions: dict[str, OpenActions] = field(default_factory=dict)
    _seen: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.months = {
            first: Stats(
                now=self.now,
                since=first,
                until=_next_month(first) - timedelta(days=1),
                zone=self.zone,
                brief=True,
            )
            for first in self.period.months()
        }
        self.stats = Stats(
            now=self.now, since=self.period.since, until=self.period.until, zone=self.zone
        )
        if self.period.whole_month:  # the same counts: counted once, in full
            self.months[self.period.since] = self.stats
        # The twelve months together, for "bought again": last month's customers are
        # mostly still within their 90 days, the year's have mostly had them.
        self.year = Stats(
            now=self.now, since=self.period.months()[0], until=self.period.until, zone=self.zone,
            brief=True,
        )  # fmt: skip

    def add(self, facts: dict[str, Any], customer: str | None) -> list[Stats]:
        """Count one case (the facts of the index, oldest first) whoever its customer
        (``customer``: their key, None when unknown); return the counters that tell
        "bought again" it counts in (the period's, and the twelve months')."""
        opened = self.stats.opened_on(facts)
        month = self.months.get(opened.replace(day=1))
        if month is not None and month is not self.stats and month.wants_date(opened):
            month.add(facts)
        counted = []
        # Counted only with imported orders: "bought again" is all it is for.
        if self.year.again is not None and self.year.wants_date(opened):
            self.year.add(facts)
            counted.append(self.year)
        within = self.stats.wants_date(opened)
        if within:
            counted.insert(0, self.stats)
            self.stats.add(facts)
            if customer is not None:
                self.returning.cases += 1
                self.returning.customers.add(customer)
                if customer in self._seen:
                    self.returning.returning += 1
                    self.returning.returning_customers.add(customer)
        if customer is not None:
            self._seen.add(customer)
        return counted

    def repeating(self) -> dict[str, int]:
        """Each cause tag seen in :data:`REPEAT_SEEN` or more of the last
        :data:`REPEAT_MONTHS` months, with the number of months it was seen in."""
        seen: Counter[str] = Counter()
        for stats in list(self.months.values())[-REPEAT_MONTHS:]:
            seen.update(tag for tag, count in stats.causes.items() if count)
        return {tag: months for tag, months in seen.items() if months >= REPEAT_SEEN}

    def causes(self) -> list[tuple[str, int, int, bool]]:
        """The period's top cause tags, then (as many again at most) the others that
        repeat: (tag, cases this period, months seen of the last six, repeating)."""
        repeating = self.repeating()
        months = list(self.months.values())[-REPEAT_MONTHS:]

        def seen_in(tag: str) -> int:
            return sum(1 for stats in months if stats.causes[tag])

        listed = [(tag, count) for tag, count in self.stats.top_causes()]
        named = {tag for tag, _ in listed}
        listed += sorted(
            ((tag, self.stats.causes[tag]) for tag in repeating if tag not in named),
            key=lambda kv: (-repeating[kv[0]], kv[0]),
        )[:TOP_CAUSES]
        return [(tag, count, seen_in(tag), tag in repeating) for tag, count in listed]

    def add_action(self, card: dict[str, Any]) -> None:
        """One open prevention action (a card as the prevention views read it):
        counted under its cause tag, and kept if it is that tag's oldest."""
        action = card["prevention"]
        shown = (action["cause_tag"] or "").strip()
        tag = shown.casefold()  # as stats count causes: "Courier" is "courier"
        since = action.get("recorded_at") or card["updated_at"]
        recorded = datetime.fromisoformat(since.replace("Z", "+00:00"))
        days = max(0, (local_date(self.now, self.zone) - local_date(recorded, self.zone)).days)
        self.prevention_open += 1
        group = self._actions.get(tag)
        if group is None:
            group = self._actions[tag] = OpenActions(shown, 0, -1, "", "", "", "")
        group.count += 1
        if (days, str(card["id"])) > (group.oldest_days, group.case_id):
            group.oldest_days, group.case_id, group.tag = days, str(card["id"]), shown
            group.action, group.root_cause = action["action"], action.get("root_cause") or ""
            group.customer = card["customer"].get("name") or ""

    @property
    def prevention(self) -> list[OpenActions]:
        """The open prevention actions by cause tag, the oldest first."""
        return sorted(self._actions.values(), key=lambda g: (-g.oldest_days, -g.count, g.tag))


def customer_key(email: str, name: str) -> str | None:
    """Who a case is from, for "an earlier case of theirs": their email, else their
    name (case and spacing aside); None when neither was taken."""
    email = email.strip().casefold()
    if email:
        return f"email:{email}"
    name = " ".join(name.split()).casefold()
    return f"name:{name}" if name else None


def _next_month(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1)


def _day(day: date) -> str:
    return f"{day.day} {day:%b %Y}"
