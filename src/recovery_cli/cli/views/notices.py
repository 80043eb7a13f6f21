"""One-line notices beside a command's answer: damaged files met, overdue follow-ups,
a returning customer. A notice never makes a command fail."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import typer

from ... import clock, lookups
from ...store import Damaged, Store

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

    from ...case import Case
    from ...orders.summary import Lifetime


def damaged(found: Iterable[Damaged | str]) -> None:
    """``Warning: ...`` on stderr for each damaged file a view met (and left alone)."""
    for item in found:
        one_damaged(item)


def one_damaged(item: Damaged | str) -> None:
    """``Warning: ...`` on stderr for a damaged file a view met (and left alone)."""
    typer.echo(f"Warning: {item.reason if isinstance(item, Damaged) else item}", err=True)


def overdue(store: Store) -> None:
    """One line on stderr when follow-ups are overdue (nothing otherwise)."""
    count = lookups.overdue_count(store, clock.now())
    if count:
        plural = "s are" if count != 1 else " is"
        typer.echo(f"{count} follow-up{plural} overdue: recover followups", err=True)


def returning_customer(out: Console, store: Store, case: Case) -> str:
    """Before the first step: tell the seller this customer has been upset before, or
    has bought before (imported orders). Returns what the customer's orders add up to
    (for the offer steps; "" without orders)."""
    from rich.text import Text

    from ... import casework
    from ...customers import notice_line

    now = clock.now()
    repeat = casework.returning_customer(store, case, now)
    bought = _bought(store.home, case)
    line = notice_line(repeat, bought, now)
    if line is not None:
        out.print(Text(f"! Returning customer: {line}", style="bold yellow"))
    return bought.line() if bought is not None else ""


def worth(home: Path, case: Case) -> str:
    """What the customer's imported orders add up to, for the offer steps ("": none)."""
    bought = _bought(home, case)
    return bought.line() if bought is not None else ""


def _bought(home: Path, case: Case) -> Lifetime | None:
    """The customer's imported orders, summed; None without any (with no order book,
    the order modules are not even imported: a walk step pays nothing for them)."""
    from ...orders import has_orders

    if not has_orders(home):
        return None
    from ...orders.customers import lifetime_of

    customer = case.customer
    bought = lifetime_of(home, customer.email, customer.name, customer.order)
    return bought if bought.orders else None
