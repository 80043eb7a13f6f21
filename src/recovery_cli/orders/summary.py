"""What a customer's orders add up to: how many, since when, worth how much.

Counted from the order book's lines (:data:`~recovery_cli.orders.book.Order`):
an order whose status says it was never a sale (cancelled, failed...) is not
counted, and what was refunded comes off its total. Money is summed per currency,
never mixed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from ..text import strip_controls
from ..values import CENT, format_money
from . import NOT_SALES, PLATFORM_LABELS

if TYPE_CHECKING:
    from .book import Order


def amount(order: Order, name: str) -> Decimal | None:
    """An amount of an order line (None: not given, or not a number)."""
    text = order.get(name)
    if not isinstance(text, str):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def moment(order: Order) -> datetime | None:
    """An order's date (None: not given, or not a date)."""
    text = order.get("date")
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def is_sale(order: Order) -> bool:
    """Whether the order counts towards what a customer is worth."""
    return str(order.get("status") or "") not in NOT_SALES


def net(order: Order) -> Decimal:
    """What an order brought in: its total less what was refunded (0 if no total)."""
    total = amount(order, "total") or Decimal(0)
    return total - (amount(order, "refunded") or Decimal(0))


def money_line(values: dict[str, Decimal]) -> str:
    """``212.00 USD`` or ``212.00 USD + 40.00 EUR`` (currencies alphabetical)."""
    return " + ".join(format_money(value, currency) for currency, value in sorted(values.items()))


@dataclass
class Lifetime:
    """A customer's orders, summed."""

    orders: int = 0
    first: datetime | None = None
    value: dict[str, Decimal] = field(default_factory=dict)

    def line(self) -> str:
        """``4 orders since Mar 2025, 212.00 USD in all``."""
        noun = "order" if self.orders == 1 else "orders"
        text = f"{self.orders} {noun}"
        if self.first is not None:
            text += f" since {self.first.strftime('%b %Y')}"
        if self.value:
            text += f", {money_line(self.value)} in all"
        return text


def lifetime(orders: Iterable[Order]) -> Lifetime:
    """What ``orders`` (one customer's) add up to."""
    found = Lifetime()
    for order in orders:
        if not is_sale(order):
            continue
        found.orders += 1
        when = moment(order)
        if when is not None and (found.first is None or when < found.first):
            found.first = when
        currency = str(order.get("currency") or "")
        if amount(order, "total") is not None:
            found.value[currency] = found.value.get(currency, Decimal(0)) + net(order)
    return found


def item_names(order: Order) -> list[str]:
    """The names of an order's items, in order."""
    items = order.get("items")
    if not isinstance(items, list):
        return []
    return [str(item["name"]) for item in items if isinstance(item, dict) and item.get("name")]


def platform_label(order: Order) -> str:
    """``Shopify``, ``Etsy``..."""
    platform = str(order.get("platform") or "")
    return PLATFORM_LABELS.get(platform, platform)


def details_of(order: Order) -> tuple[dict[str, object], str | None]:
    """The customer details a case takes from an order, and the order's currency."""
    total = amount(order, "total")
    # Cleaned as typed details are: an export's text may hold terminal escapes.
    details: dict[str, object] = {
        "name": strip_controls(str(order.get("name") or "")).strip(),
        "email": strip_controls(str(order.get("email") or "")).strip(),
        "order": strip_controls(str(order.get("ref") or "")).strip(),
        "order_value": total.quantize(CENT) if total is not None else None,
        "order_date": moment(order),
        "items": [strip_controls(name).strip() for name in item_names(order)],
        "platform": platform_label(order),
    }
    currency = order.get("currency")
    return details, currency if isinstance(currency, str) and currency else None
