"""What the everyday views read back (``list``, ``followups``, ``customer``,
``prevent``, ``stats``), as plain functions over a :class:`~recovery_cli.store.Store`
and ``now``.

Everything here comes from the summary index as plain JSON records (cards, briefs,
facts: see :mod:`recovery_cli.projections`), each checked against its case file
before it is shown, so no case model is built and Pydantic is never imported: these
commands start in about the time Python takes to import Typer. Changing a case is
:mod:`recovery_cli.casework`; walking one, :mod:`recovery_cli.walking`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .errors import RecoverError
from .followups import HORIZON_DAYS, OVERDUE_DAYS, DueList, count_overdue, due_list
from .projections import Card, Facts
from .store import Store

# A JSON parser: json.loads, or orjson's where its import pays for itself.
Loads = Callable[[str], Any]

if TYPE_CHECKING:
    from pathlib import Path

    from .orders.book import Order
    from .report import Period, Report
    from .stats import Stats


def list_cases(
    store: Store,
    *,
    status: str | None,
    limit: int | None,
    on_damaged: Callable[[str], None],
) -> Iterator[Card]:
    """Cards of the cases newest first (at most ``limit``; only one status if given),
    one at a time; why each damaged file met on the way could not be read goes to
    ``on_damaged``."""
    for row in store.list_cards(status=status, limit=limit):
        if row.damaged is not None:
            on_damaged(row.damaged)
        else:
            yield row.card


def overdue_count(store: Store, now: datetime) -> int:
    """How many follow-ups are overdue. A hint beside another answer: whatever goes
    wrong reading it counts as none, never as the reason a command fails."""
    try:
        return count_overdue(store.pending_dues(), now)
    except (RecoverError, OSError, ValueError):
        return 0


@dataclass
class Dues:
    """The follow-ups to do (and how many were left out), and why some cases could
    not be read."""

    found: DueList
    damaged: list[str]


def due_follow_ups(store: Store, now: datetime, *, every_one: bool = False) -> Dues:
    """Follow-ups to do: overdue (of the last weeks) first, then today, then the next
    days (``every_one``: however long overdue or far ahead)."""
    briefs, damaged = [], []
    for row in store.follow_up_briefs():
        if row.damaged is not None:
            damaged.append(row.damaged)
        else:
            briefs.append(row.brief)
    if every_one:
        return Dues(due_list(briefs, now, horizon_days=None, overdue_days=None), damaged)
    return Dues(
        due_list(briefs, now, horizon_days=HORIZON_DAYS, overdue_days=OVERDUE_DAYS), damaged
    )


# Without --all, a customer's history shows this many of their cases, newest first (a
# query that matches thousands, like a mail domain, still answers at once).
HISTORY_LIMIT = 100


@dataclass
class History:
    """A customer's cases (cards), newest first (at most the limit asked), with how
    many there are in all, who they were opened for, and what they were given in all
    (both over every case found)."""

    query: str
    cases: list[Card] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)
    total: int = 0
    names: set[str] = field(default_factory=set)
    given: dict[str, Decimal] = field(default_factory=dict)

    def add(self, card: Card, *, keep: bool) -> None:
        """Count a case in (and keep its card, if ``keep``)."""
        self.total += 1
        if keep:
            self.cases.append(card)
        customer = card["customer"]
        name = customer["name"] or customer["email"]
        if name:
            self.names.add(name)
        for remedy in card["remedies"]:
            if remedy["amount"] is not None:
                currency = remedy["currency"]
                self.given[currency] = self.given.get(currency, Decimal(0)) + Decimal(
                    remedy["amount"]
                )

    @property
    def people(self) -> list[str]:
        """The names (else emails) the cases were opened for."""
        return sorted(self.names)

    def totals(self) -> dict[str, Decimal]:
        """What the remedies cost, per currency (never mixed)."""
        return dict(sorted(self.given.items()))


def matches(card: Card, query: str) -> bool:
    """Whether a case's customer is the one asked about: the query found in their
    name, email or order reference, ignoring case."""
    needle = query.strip().casefold()
    customer = card["customer"]
    return bool(needle) and any(
        needle in str(customer[key]).casefold() for key in ("name", "email", "order")
    )


def customer_history(store: Store, query: str, *, limit: int | None = HISTORY_LIMIT) -> History:
    """Every case whose customer's name, email or order holds ``query``: the newest
    ``limit`` of them kept (None: every one), all of them counted."""
    found = History(query)
    for row in store.customer_cards(query):
        if row.damaged is not None:
            found.damaged.append(row.damaged)
        elif matches(row.card, query):
            found.add(row.card, keep=limit is None or len(found.cases) < limit)
    return found


@dataclass
class Bought:
    """The orders of the customers a query finds (see
    :meth:`~recovery_cli.orders.customers.Orders.of_matching`)."""

    orders: list[Order]
    customers: int
    damaged: list[str]


def customer_orders(home: Path, query: str) -> Bought:
    """The imported orders of the customers ``query`` finds, newest first (none
    without an order book), and the order-book files that could not be read."""
    from .orders import has_orders

    if not has_orders(home):  # one listing: the order modules are not even imported
        return Bought([], 0, [])
    from .orders.customers import Orders

    with Orders(home) as book:
        orders, customers = book.of_matching(query)
        return Bought(orders, customers, list(book.damaged))


@dataclass
class Prevention:
    """Cases (cards) with a prevention action, grouped by cause tag (the biggest group
    first)."""

    groups: list[tuple[str, list[Card]]]
    damaged: list[str]


def prevention_actions(
    store: Store, *, done_too: bool = False, thorough: bool = True
) -> Prevention:
    """The prevention actions still open (or done too), grouped by cause tag
    (``thorough``: as :meth:`Store.prevention_cards`)."""
    damaged: list[str] = []
    groups: dict[str, list[Card]] = {}
    for kept in _actions(store, damaged, done_too=done_too, thorough=thorough):
        groups.setdefault(kept["prevention"]["cause_tag"] or "", []).append(kept)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0] == "", kv[0]))
    return Prevention(ordered, damaged)


def _actions(
    store: Store, damaged: list[str], *, done_too: bool = False, thorough: bool = True
) -> Iterator[Card]:
    """The cases with a prevention action still open (or done too), one at a time, as
    much of each as the views show; why a file could not be read goes to ``damaged``."""
    for row in store.prevention_cards(done_too=done_too, thorough=thorough):
        if row.damaged is not None:
            damaged.append(row.damaged)
            continue
        card = row.card
        action = card.get("prevention")
        if not action or (action["done_at"] is not None and not done_too):
            continue
        # Only what the view shows is kept: a store of years holds thousands of these.
        yield {
            "id": card["id"],
            "customer": {"name": card["customer"]["name"]},
            "updated_at": card["updated_at"],
            "prevention": action,
        }


def count_stats(
    store: Store, now: datetime, *, since: date | None = None, until: date | None = None
) -> tuple[Stats, list[str]]:
    """Stats over the cases opened within the dates, and why some files could not be
    read. Counted from the index: no case file is parsed."""
    from .stats import Stats

    found = Stats(now=now, since=since, until=until)

    def add(facts: Facts) -> Sequence[Stats]:
        if not found.wants(facts):
            return ()
        found.add(facts)
        return (found,)

    return found, _count(store, (found,), add)


def build_report(store: Store, now: datetime, period: Period) -> tuple[Report, list[str]]:
    """The counts behind the monthly review of ``period`` (:mod:`recovery_cli.report`),
    and why some files could not be read: one pass over the index's facts, then the
    open prevention actions."""
    from .report import Report, customer_key

    report = Report(period=period, now=now)

    def add(facts: Facts) -> Sequence[Stats]:
        email, name, _order = facts["customer"]
        return report.add(facts, customer_key(email, name))

    damaged = _count(store, (report.stats, report.year), add, loads=_fast_loads())
    unread: list[str] = []
    for card in _actions(store, unread, thorough=False):  # every file was just compared
        report.add_action(card)
    return report, damaged + [d for d in unread if d not in damaged]


def _fast_loads() -> Callable[[str], Any]:
    """orjson's parser, for the one pass of the report over 100,000 cases' facts (the
    everyday views keep json, whose import is free: orjson is not)."""
    import orjson

    return orjson.loads


def _count(
    store: Store,
    counters: Sequence[Stats],
    add: Callable[[Facts], Sequence[Stats]],
    *,
    loads: Loads | None = None,
) -> list[str]:
    """Feed every case's facts, oldest first, to ``add``, which counts the case and
    says in which of ``counters`` it counts; with imported orders, those then learn
    whether its customer bought again. Return why some files could not be read."""
    from .orders import has_orders

    damaged: list[str] = []
    with contextlib.ExitStack() as stack:
        sales = None
        if has_orders(store.home):  # else the order modules are not even imported
            from .orders.customers import Orders

            orders = stack.enter_context(Orders(store.home))
            sales = orders.sales()
            damaged += orders.damaged
            for stats in counters:
                stats.with_orders()
        for row in store.stats_rows(loads=loads):
            if row.damaged is not None:
                damaged.append(row.damaged)
                continue
            counted = add(row.facts)
            if sales is None or not counted or not counted[0].wants_orders(row.facts):
                continue
            bought = sales.of(*row.facts["customer"])
            for stats in counted:
                stats.add_orders(row.facts, bought)
    return damaged
