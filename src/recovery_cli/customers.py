"""A customer's history: every case they had, and the notice a seller needs before
speaking to someone who has been upset before."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .case import STATUS_LABELS, Case, Customer
from .values import day_words

if TYPE_CHECKING:
    from .orders.summary import Lifetime

# "3rd case in 90 days": the window the repeat notice counts in.
REPEAT_WINDOW_DAYS = 90


def same_customer(a: Customer, b: Customer) -> bool:
    """Whether two cases are for the same person: the same email, else the same
    order reference, else the same full name (ignoring case)."""
    for key in ("email", "order", "name"):
        left: str = getattr(a, key).strip().casefold()
        right: str = getattr(b, key).strip().casefold()
        if left and right:
            return left == right
    return False


def ordinal(number: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``11th``, ``22nd``."""
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


@dataclass(frozen=True)
class Repeat:
    """What a seller should know about a returning customer."""

    total: int  # earlier cases, in all
    recent: int  # earlier cases within the window
    last: Case

    def line(self, now: datetime) -> str:
        """``3rd case in 90 days; last time: Wrong item shipped, refunded (case 12, 3 Nov)``."""
        this = ordinal(self.recent + 1)
        if self.recent:
            count = f"{this} case in {REPEAT_WINDOW_DAYS} days"
            if self.total > self.recent:
                count += f" ({ordinal(self.total + 1)} in all)"
        else:
            count = f"{ordinal(self.total + 1)} case"
        return f"{count}; {self.last_time()}"

    def last_time(self) -> str:
        """``last time: Wrong item shipped, refunded (case 12, 3 Nov 2026)``."""
        last = self.last
        how = last.outcome.result if last.outcome is not None else STATUS_LABELS[last.status]
        when = day_words(last.created_at)
        return f"last time: {last.playbook.title}, {how} (case {last.id}, {when})"


def notice_line(repeat: Repeat | None, bought: Lifetime | None, now: datetime) -> str | None:
    """The returning-customer notice: ``4 orders since Mar 2025, 212.00 USD in all;
    1 earlier case (last time: ...)`` with imported orders, else the repeat line
    alone; None for someone new (no earlier case, at most one order)."""
    if bought is None or (bought.orders < 2 and repeat is None):
        return repeat.line(now) if repeat is not None else None
    if repeat is None:
        return f"{bought.line()}; no earlier case"
    earlier = f"{repeat.total} earlier case{'' if repeat.total == 1 else 's'}"
    return f"{bought.line()}; {earlier} ({repeat.last_time()})"


def repeat_of(customer: Customer, earlier: Iterable[Case], now: datetime) -> Repeat | None:
    """The repeat notice for ``customer``, from the cases before this one (newest
    first), or None for a first-time customer."""
    window_start = now - timedelta(days=REPEAT_WINDOW_DAYS)
    total = recent = 0
    last: Case | None = None
    for case in earlier:
        if not same_customer(customer, case.customer):
            continue
        total += 1
        recent += case.created_at >= window_start
        if last is None or case.created_at > last.created_at:
            last = case
    return Repeat(total, recent, last) if last is not None else None
