"""Parsing and formatting of the small values people type: money, numbers,
yes/no, delays. Money is always :class:`~decimal.Decimal`, never a float."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

CENT = Decimal("0.01")
_MONEY = re.compile(r"^\d{1,12}(\.\d{1,2})?$")
_GROUPED = re.compile(r"^\d{1,3}(,\d{3})+(\.\d{1,2})?$")
_CURRENCY_SIGNS = "$€£¥₹"
_DELAY = re.compile(r"^\s*(\d{1,4})\s*(h|d|w)\s*$")
_DELAY_UNITS = {"h": "hours", "d": "days", "w": "weeks"}
_YES = {"y", "yes", "true", "1"}
_NO = {"n", "no", "false", "0"}


def parse_money(text: str) -> Decimal:
    """``"19"``, ``"19.5"``, ``"$1,250.00"`` -> Decimal with two places.

    Raises ValueError with a message fit for the operator.
    """
    cleaned = text.strip().lstrip(_CURRENCY_SIGNS).strip()
    if _GROUPED.fullmatch(cleaned):
        cleaned = cleaned.replace(",", "")
    if not _MONEY.fullmatch(cleaned):
        raise ValueError("not an amount: use digits with up to two decimals, like 19.50")
    return Decimal(cleaned).quantize(CENT)


def is_money(text: str) -> bool:
    """Whether ``text`` is a plain amount as written in a playbook (``"19.50"``)."""
    return bool(_MONEY.fullmatch(text))


def format_money(amount: Decimal, currency: str = "") -> str:
    """``Decimal("19.5"), "USD"`` -> ``"19.50 USD"``."""
    text = f"{amount.quantize(CENT):,.2f}"
    return f"{text} {currency}".strip()


def parse_number(text: str) -> Decimal:
    """A plain number (integer or decimal), kept exact."""
    try:
        value = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not value.is_finite():
        raise ValueError("not a number")
    return value


def parse_yes_no(text: str) -> bool:
    """``y``/``yes``/``n``/``no`` (any case) -> bool."""
    word = text.strip().lower()
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise ValueError("answer y or n")


def parse_delay(text: str) -> timedelta:
    """``"3d"``, ``"12h"``, ``"2w"`` -> timedelta."""
    match = _DELAY.fullmatch(text)
    if not match:
        raise ValueError("not a delay: use a number and h, d or w, like 3d")
    amount, unit = int(match.group(1)), match.group(2)
    return timedelta(**{_DELAY_UNITS[unit]: amount})


def day_words(moment: datetime) -> str:
    """The local date as people write it: ``5 Mar 2025``."""
    return moment.astimezone().strftime("%d %b %Y").lstrip("0")


def local_time(moment: datetime) -> str:
    """A moment in the local time zone, as people read it: ``Tue 25 Nov 14:05``."""
    return moment.astimezone().strftime("%a %d %b %H:%M")
