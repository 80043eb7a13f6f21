"""A customer's imported orders, for the views that show what a customer is worth:
the returning-customer notice, the offer steps, ``recover customer``, and the stats
of who bought again after a case.

A customer is found by email; without one (Etsy gives none), by the name on orders
that have no email; a case with only an order reference is the customer of that
order. With no order book, there are no orders, and nothing is opened.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from types import TracebackType

from . import has_orders
from .book import Order
from .summary import Lifetime, lifetime


class Orders:
    """The order book of a home, asked about customers (a context manager; with no
    order book every answer is empty)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.present = has_orders(home)
        self._cache = None
        if self.present:
            from ..store.ordercache import OrderCache

            self._cache = OrderCache(home)

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

    def matching(self, query: str) -> list[Order]:
        """Orders whose name, email or reference holds ``query``, newest first."""
        if self._cache is None:
            return []
        return list(self._cache.listing(customer=query))


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
