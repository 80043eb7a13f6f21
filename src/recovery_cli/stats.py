"""What recoveries cost and return, counted case by case as the store streams past.

Only counters are kept (and one number per closed or answered case, for the median
times), so memory stays flat however many cases there are. Money is summed per
currency and never mixed.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal

from .followups import local_date
from .kinds import OUTCOMES
from .projections import ZERO, Facts

TOP_CAUSES = 10
# One sale of a customer's: when (ISO 8601 UTC, as the order book writes it), what it
# brought in less refunds (a decimal string), its currency.
Sale = tuple[str, str, str]
# "Bought again within 90 days of the case": the window, and the outcomes it is told for.
AGAIN_DAYS = 90
AGAIN_OUTCOMES = ("kept", "refunded", "lost")
# The kinds of remedy a playbook's offer can be (a remedy of no kind counts as
# "other"), and "none" for a case given nothing.
REMEDY_KINDS = ("refund", "exchange", "bonus", "gift", "credit", "discount", "support", "other")
NO_REMEDY = "none"
# How quickly the seller answered, and how quickly the case was closed, both from the
# complaint: each bucket's upper bound in hours (None: no bound), and its words.
REPLY_BUCKETS: tuple[tuple[float | None, str], ...] = (
    (1, "within an hour"),
    (4, "1 to 4 hours"),
    (24, "4 to 24 hours"),
    (72, "1 to 3 days"),
    (None, "over 3 days"),
)
CLOSE_BUCKETS: tuple[tuple[float | None, str], ...] = (
    (24, "within a day"),
    (72, "1 to 3 days"),
    (168, "3 to 7 days"),
    (672, "1 to 4 weeks"),
    (None, "over 4 weeks"),
)
# "Quick" against "slow": answered within a day, closed within a week.
QUICK_REPLY_HOURS = 24
QUICK_CLOSE_HOURS = 168


@dataclass
class Money:
    """What one currency's cases cost, against what their orders were worth."""

    refunds: Decimal = ZERO
    goodwill: Decimal = ZERO
    order_value: Decimal = ZERO

    @property
    def cost(self) -> Decimal:
        """Refunds and goodwill together."""
        return self.refunds + self.goodwill

    @property
    def share(self) -> float | None:
        """The cost as a share of the order value (None without order values)."""
        return float(self.cost / self.order_value) if self.order_value else None


@dataclass
class Again:
    """Of the cases with one outcome: how many customers bought again within
    :data:`AGAIN_DAYS` of the case, and what those later orders brought in."""

    cases: int = 0
    bought: int = 0
    waiting: int = 0  # cases whose window is still open (not a "no" yet)
    revenue: dict[str, Decimal] = field(default_factory=dict)

    @property
    def share(self) -> float | None:
        """Customers who bought again, as a share of the cases that can tell: a case
        whose window is still open, and who has not bought yet, is not a "no" yet."""
        decided = self.cases - self.waiting
        return self.bought / decided if decided else None

    def add(self, created: datetime, now: datetime, sales: Sequence[Sale]) -> None:
        """One case opened at ``created``, with its customer's sales (any dates)."""
        self.cases += 1
        end = created + timedelta(days=AGAIN_DAYS)
        # Compared as text: both in the book's one form of a moment (a string per sale
        # is cheaper to hold and to compare than a datetime, at 100,000 sales).
        later = []
        if sales:
            start_text, end_text = _utc_text(created), _utc_text(end)
            later = [sale for sale in sales if start_text < sale[0] <= end_text]
        if later:
            self.bought += 1
            for _when, value, currency in later:
                self.revenue[currency] = self.revenue.get(currency, ZERO) + Decimal(value)
        elif now < end:
            self.waiting += 1


@dataclass
class Tally:
    """Cases, and of those with an outcome, how many customers were kept."""

    cases: int = 0
    with_outcome: int = 0
    kept: int = 0

    def add(self, result: str | None) -> None:
        """One case, with its outcome (None: not recorded yet)."""
        self.cases += 1
        if result is not None:
            self.with_outcome += 1
            self.kept += result == "kept"

    def merged(self, others: Sequence[Tally]) -> Tally:
        """This tally and ``others`` added up."""
        total = Tally(self.cases, self.with_outcome, self.kept)
        for other in others:
            total.cases += other.cases
            total.with_outcome += other.with_outcome
            total.kept += other.kept
        return total

    @property
    def kept_rate(self) -> float | None:
        """Kept customers as a share of the cases with an outcome."""
        return self.kept / self.with_outcome if self.with_outcome else None

    def as_json(self) -> dict[str, object]:
        """The tally as ``recover stats --json`` writes it."""
        return {
            "cases": self.cases,
            "with_outcome": self.with_outcome,
            "kept": self.kept,
            "kept_rate": _round(self.kept_rate),
        }


@dataclass
class Spread:
    """How long something took, case by case (one number each, for the median), in
    buckets with the kept rate of each, and quick against slow."""

    buckets: tuple[tuple[float | None, str], ...]
    quick_hours: float
    hours: array[float] = field(default_factory=lambda: array("d"))
    tallies: list[Tally] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tallies = [Tally() for _ in self.buckets]

    def add(self, hours: float, result: str | None) -> None:
        """One case that took ``hours``, with its outcome."""
        self.hours.append(hours)
        for (bound, _label), tally in zip(self.buckets, self.tallies, strict=True):
            if bound is None or hours <= bound:
                tally.add(result)
                break

    @property
    def median(self) -> float | None:
        """The median time, in hours (None when no case is counted)."""
        return _median(self.hours)

    def split(self) -> tuple[Tally, Tally]:
        """The buckets up to :attr:`quick_hours` added up, and the rest."""
        quick = [
            t
            for (b, _), t in zip(self.buckets, self.tallies, strict=True)
            if _quick(b, self.quick_hours)
        ]
        slow = [
            t
            for (b, _), t in zip(self.buckets, self.tallies, strict=True)
            if not _quick(b, self.quick_hours)
        ]
        return Tally().merged(quick), Tally().merged(slow)

    def as_json(self) -> dict[str, object]:
        """The spread as ``recover stats --json`` writes it."""
        quick, slow = self.split()
        return {
            "cases": len(self.hours),
            "median_hours": _round(self.median, 2),
            "buckets": [
                {"label": label, "up_to_hours": bound, **tally.as_json()}
                for (bound, label), tally in zip(self.buckets, self.tallies, strict=True)
            ],
            "quick_hours": self.quick_hours,
            "quick": quick.as_json(),
            "slow": slow.as_json(),
        }


def _quick(bound: float | None, quick_hours: float) -> bool:
    return bound is not None and bound <= quick_hours


@dataclass
class Stats:
    """Counters over a run of cases; feed them with :meth:`add`."""

    now: datetime
    since: date | None = None
    until: date | None = None
    zone: tzinfo | None = None
    cases: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    satisfaction: Counter[int] = field(default_factory=Counter)
    playbooks: Counter[str] = field(default_factory=Counter)
    causes: Counter[str] = field(default_factory=Counter)
    money: dict[str, Money] = field(default_factory=dict)
    follow_ups: Counter[str] = field(default_factory=Counter)
    # Times from the complaint (:func:`recovery_cli.projections.complaint_times`).
    first_reply: Spread = field(default_factory=lambda: Spread(REPLY_BUCKETS, QUICK_REPLY_HOURS))
    to_close: Spread = field(default_factory=lambda: Spread(CLOSE_BUCKETS, QUICK_CLOSE_HOURS))
    # Cases by the kinds of remedy they were given (a case of two kinds counts in both).
    remedy_kinds: dict[str, Tally] = field(
        default_factory=lambda: {kind: Tally() for kind in (*REMEDY_KINDS, NO_REMEDY)}
    )
    # None: no orders imported, so nothing to tell.
    again: dict[str, Again] | None = None
    # Only what a month of the report's twelve shows: cases, outcomes, causes, money.
    brief: bool = False

    def __post_init__(self) -> None:
        self._today = local_date(self.now, self.zone)

    def wants(self, facts: Facts) -> bool:
        """Whether the case was opened within the dates asked for."""
        return self.wants_date(self.opened_on(facts))

    def opened_on(self, facts: Facts) -> date:
        """The date a case was opened, where the seller is."""
        return local_date(_moment(facts["created"]), self.zone)

    def wants_date(self, opened: date) -> bool:
        """Whether a case opened on ``opened`` (:meth:`opened_on`) is within the dates."""
        if self.since is not None and opened < self.since:
            return False
        return self.until is None or opened <= self.until

    def add(self, facts: Facts) -> None:
        """Count one case from its facts, whatever its dates (filter with :meth:`wants`)."""
        self.cases += 1
        result = facts["outcome"]
        if result is not None:
            self.outcomes[result] += 1
            if facts["cause_tag"]:
                self.causes[facts["cause_tag"].strip().casefold()] += 1
        money = self.money.setdefault(facts["currency"], Money())
        if facts["order_value"] is not None:
            money.order_value += Decimal(facts["order_value"])
        money.refunds += Decimal(facts["refunds"])
        money.goodwill += Decimal(facts["goodwill"])
        if self.brief:
            return
        self.playbooks[facts["playbook"]] += 1
        if result is not None and facts["satisfaction"] is not None:
            self.satisfaction[facts["satisfaction"]] += 1
        complained = _moment(facts["complained"])
        if facts["closed"] is not None:
            self.to_close.add(_hours(complained, _moment(facts["closed"])), result)
        if facts["first_reply"] is not None:
            self.first_reply.add(_hours(complained, _moment(facts["first_reply"])), result)
        for kind in facts["remedy_kinds"] or [NO_REMEDY]:
            self.remedy_kinds.setdefault(kind, Tally()).add(result)
        today = self._today
        for due_at, done_at in facts["follow_ups"]:
            due = local_date(_moment(due_at), self.zone)
            if done_at is not None:
                on_time = local_date(_moment(done_at), self.zone) <= due
                self.follow_ups["on_time" if on_time else "late"] += 1
            elif due < today:
                self.follow_ups["missed"] += 1
            else:
                self.follow_ups["pending"] += 1

    def wants_orders(self, facts: Facts) -> bool:
        """Whether a case counts for "bought again" (its outcome is one it is told for)."""
        return facts["outcome"] in AGAIN_OUTCOMES

    def add_orders(self, facts: Facts, sales: Sequence[Sale]) -> None:
        """For a case already counted, whether its customer bought again (their
        sales, from the order book; :meth:`with_orders` first)."""
        assert self.again is not None
        result = facts["outcome"]
        if result in self.again:
            self.again[result].add(_moment(facts["created"]), self.now, sales)

    def with_orders(self) -> None:
        """Orders are imported: "bought again" is told (even with no case to tell it for)."""
        if self.again is None:
            self.again = {outcome: Again() for outcome in AGAIN_OUTCOMES}

    # -- results -----------------------------------------------------------------------
    @property
    def with_outcome(self) -> int:
        """Cases whose outcome is recorded."""
        return sum(self.outcomes.values())

    @property
    def kept_rate(self) -> float | None:
        """Kept customers as a share of the cases with an outcome."""
        return self.outcomes["kept"] / self.with_outcome if self.with_outcome else None

    @property
    def hours_to_close(self) -> array[float]:
        """The hours from the complaint to the close, one per closed case."""
        return self.to_close.hours

    @property
    def median_hours_to_close(self) -> float | None:
        """The median time from the complaint to closing the case, in hours."""
        return self.to_close.median

    def playbooks_ranked(self) -> list[tuple[str, int]]:
        """Cases per playbook, most first (ties alphabetical)."""
        return sorted(self.playbooks.items(), key=lambda kv: (-kv[1], kv[0]))

    def top_causes(self) -> list[tuple[str, int]]:
        """The cause tags that repeat most, most first (ties alphabetical)."""
        return sorted(self.causes.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_CAUSES]

    def as_json(self) -> dict[str, object]:
        """The keys of ``recover stats --json`` (documented in the README)."""
        median = self.median_hours_to_close
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "cases": self.cases,
            "with_outcome": self.with_outcome,
            "kept_rate": _round(self.kept_rate),
            "outcomes": {result: self.outcomes[result] for result in OUTCOMES},
            "money": {
                currency: {
                    "refunds": f"{m.refunds:.2f}",
                    "goodwill": f"{m.goodwill:.2f}",
                    "cost": f"{m.cost:.2f}",
                    "order_value": f"{m.order_value:.2f}",
                    "cost_share": _round(m.share),
                }
                for currency, m in sorted(self.money.items())
            },
            "closed": len(self.hours_to_close),
            "median_hours_to_close": _round(median, 2),
            "follow_ups": {
                key: self.follow_ups[key] for key in ("on_time", "late", "missed", "pending")
            },
            "playbooks": dict(self.playbooks_ranked()),
            "cause_tags": dict(self.top_causes()),
            "satisfaction": {str(score): self.satisfaction[score] for score in range(1, 6)},
            "remedy_kinds": {kind: tally.as_json() for kind, tally in self.remedy_kinds.items()},
            "speed": {
                "first_reply": self.first_reply.as_json(),
                "to_close": self.to_close.as_json(),
            },
            "bought_again": (
                {
                    outcome: {
                        "cases": again.cases,
                        "bought_again": again.bought,
                        "share": _round(again.share),
                        "window_open": again.waiting,
                        "revenue": {c: f"{v:.2f}" for c, v in sorted(again.revenue.items())},
                    }
                    for outcome, again in self.again.items()
                }
                if self.again is not None
                else None
            ),
        }


def _median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _hours(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds()) / 3600


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _round(value: float | None, places: int = 4) -> float | None:
    return None if value is None else round(value, places)
