"""Imported orders: the seller's shop exports, read into a plain order book.

``records`` is the shape of one order; ``reader`` turns an export (Shopify, Etsy,
Gumroad, WooCommerce, Stripe, or any CSV with ``--map``) into records; ``book``
keeps them as JSON Lines per platform in the home; the look-up cache beside the
case index lives in :mod:`recovery_cli.store.ordercache`.
"""

from __future__ import annotations

import os
from pathlib import Path

FOLDER = "orders"
SUFFIX = ".jsonl"

PLATFORMS = ("shopify", "etsy", "gumroad", "woocommerce", "stripe", "csv")
PLATFORM_LABELS = {
    "shopify": "Shopify",
    "etsy": "Etsy",
    "gumroad": "Gumroad",
    "woocommerce": "WooCommerce",
    "stripe": "Stripe",
    "csv": "CSV",
}

# Statuses whose order was never a sale: they count for look-up, not for value.
NOT_SALES = frozenset({"cancelled", "failed", "voided", "declined", "pending"})


def has_orders(home: Path) -> bool:
    """Whether any order was ever imported into ``home``: one listing of a small
    folder (with none, what ``recover new`` pays is one failed look-up). Here, not in
    :mod:`.book`, so that asking costs no import."""
    try:
        names = os.listdir(home / FOLDER)
    except OSError:
        return False
    return any(name.endswith(SUFFIX) and not name.startswith(".") for name in names)
