"""A customer's imported orders, for the views that show what a customer is worth:
the returning-customer notice, the offer steps, ``recover customer``, and the stats
of who bought again after a case.

A customer is found by email; without one (Etsy gives none), by the name on orders
that have no email; a case with only an order reference is the customer of that
order. With no order book, there are no orders, and nothing is opened.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from . import has_orders
from .book import Order
from .summary import Lifetime, lifetime

if TYPE_CHECKING:
    from ..stats import Sale


class Orders:
    """The order book of a home, asked about customers (a context manager; with no
    order book every answer is empty)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.present = has_orders(home)
        self._cache = None
        if self.present:
            from ..store.ordercache import OrderCache

            # One command, one look at the book: checked once, then trusted.
            self._cache = OrderCache(home, snapshot=True)

    def sales(self) -> Sales:
        """Every sale of the book, by customer (for ``stats``)."""
        cache = self._cache
        assert cache is not None

        def buyer(ref: str) -> tuple[str, str] | None:
            for found in cache.by_ref(ref):
                return str(found.get("email") or ""), str(found.get("name") or "")
            return None

        return Sales(cache.sales(), buyer)

    @property
    def damaged(self) -> list[str]:
        """Platform files met that are not an order book (their orders are left out)."""
        return self._cache.damaged if self._cache is not None else []

    def __enter__(self) -> Orders:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._cache is not None:
            self._cache.close()

    def of(self, email: str, name: str, order: str) -> list[Order]:
        """Every order of the customer with this email, name or order, newest first."""
        if self._cache is None or not (email or name or order):
            return []
        if not email.strip() and order.strip():
            for found in self._cache.by_ref(order):
                email = str(found.get("email") or "")
                name = name or str(found.get("name") or "")
                break
        return self._cache.of_customer(email, name)

    def of_matching(self, query: str) -> tuple[list[Order], int]:
        """Every order of the customers whose name, email or order reference holds
        ``query`` (an order of theirs matching is enough: ``#1042`` finds all of its
        buyer's orders), newest first; and how many customers that is."""
        if self._cache is None:
            return [], 0
        people: dict[str, tuple[str, str]] = {}
        for order in self._cache.listing(customer=query):
            email, name = str(order.get("email") or ""), str(order.get("name") or "")
            who = (
                f"email:{email.strip().casefold()}"
                if email
                else f"name:{' '.join(name.split()).casefold()}"
            )
            people.setdefault(who, (email, name))
        found: dict[tuple[str, str], Order] = {}
        for email, name in people.values():
            for order in self._cache.of_customer(email, name):
                found.setdefault((str(order["platform"]), str(order["key"])), order)
        ordered = sorted(found.values(), key=lambda o: str(o.get("date") or ""), reverse=True)
        return ordered, len(people)


class Sales:
    """Every sale of the book, by customer, held for a command that asks about every
    case (``stats``): one pass over the look-up table, then dictionary look-ups. A
    case with an order reference and no email asks the table who bought that order."""

    def __init__(
        self,
        rows: Iterable[tuple[str | None, str | None, str, str, str]],
        buyer: Callable[[str], tuple[str, str] | None],
    ) -> None:
        self._by_email: dict[str, list[Sale]] = {}
        self._by_name: dict[str, list[Sale]] = {}  # orders without an email
        self._buyer = buyer
        for email, name, date, value, currency in rows:
            sale = (date, value, currency)
            if email:
                self._by_email.setdefault(email, []).append(sale)
            elif name:
                self._by_name.setdefault(name, []).append(sale)

    def of(self, email: str, name: str, order: str) -> list[Sale]:
        """The sales of the customer with this email, name or order (as Orders.of)."""
        from ..store.ordercache import email_key, name_key

        email_norm, name_norm = email_key(email), name_key(name)
        if not email_norm and order.strip():
            found = self._buyer(order)
            if found is not None:
                email_norm, name_norm = email_key(found[0]), name_norm or name_key(found[1])
        sales = list(self._by_email.get(email_norm, ())) if email_norm else []
        if name_norm:
            sales += self._by_name.get(name_norm, ())
        return sales


def orders_of(home: Path, email: str, name: str, order: str) -> list[Order]:
    """A customer's orders, for a hint beside something else (the walk's notice):
    whatever goes wrong reading them counts as none."""
    from ..errors import RecoverError

    with contextlib.suppress(RecoverError, OSError, ValueError), Orders(home) as book:
        return book.of(email, name, order)
    return []


def lifetime_of(home: Path, email: str, name: str, order: str) -> Lifetime:
    """What a customer's orders add up to (none, when anything goes wrong reading)."""
    return lifetime(orders_of(home, email, name, order))
