"""One imported order, as the order book keeps it.

Only what the views use is carried: who (name, email, phone), which order
(reference, date, status, platform), what it was worth (total, refunded, currency)
and what was in it (item names, quantities, prices). Never an address. A field of
``None`` means "this export does not carry it", so that a later import of another
file (Etsy's items beside its orders) can fill it without erasing what is known.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from . import NOT_SALES, PLATFORM_LABELS, PLATFORMS

__all__ = ["MAP_FIELDS", "NOT_SALES", "PLATFORMS", "PLATFORM_LABELS", "Item", "OrderRecord"]

# The fields a --map can name, in the order --help lists them.
MAP_FIELDS = (
    "ref",
    "date",
    "name",
    "first_name",
    "last_name",
    "email",
    "phone",
    "total",
    "currency",
    "refunded",
    "status",
    "item",
    "quantity",
    "price",
    "sku",
)


@dataclass(slots=True)
class Item:
    """One line of an order."""

    name: str
    quantity: int = 1
    price: Decimal | None = None  # the line's unit price, when the export gives it
    sku: str | None = None
    id: str | None = None  # the platform's line id (Etsy's Transaction ID), for de-duplication


@dataclass(slots=True)
class OrderRecord:
    """One order as read from an export (possibly partial: see the module's note)."""

    platform: str  # one of PLATFORMS
    key: str  # unique within the platform (Shopify's Id, else its Name; Etsy's Order ID...)
    ref: str  # what the seller and the customer call it: "#1042", "2871234567"
    date: datetime | None = None  # aware, UTC
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    total: Decimal | None = None
    refunded: Decimal | None = None
    currency: str | None = None  # ISO 4217, upper case
    status: str | None = None  # lower case words: "paid", "refunded", "cancelled"...
    items: list[Item] | None = field(default=None)
