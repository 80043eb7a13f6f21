"""What ``recover orders`` shows: an import's detection and summary, the order list,
one order in full, a customer's orders. Plain output (:mod:`..plain`): order views
are everyday views; Rich is imported only for an import's progress bar."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...orders import summary
from ...values import day_words, format_money
from ..plain import Column, Output, Table, grid

if TYPE_CHECKING:
    from ...lookups import Bought
    from ...orders.book import Order
    from ...orders.importing import ImportReport

# Files smaller than this import in a blink: no bar for them.
BAR_FROM_BYTES = 4 * 1024 * 1024


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


@contextlib.contextmanager
def progress_bar(files: Sequence[Path]) -> Iterator[Callable[[Path, int], None] | None]:
    """A progress bar on stderr for a long import, when stderr is a terminal; the
    callback to feed it (None: no bar)."""
    sizes = {}
    for path in files:
        with contextlib.suppress(OSError):
            sizes[path] = os.path.getsize(path)
    total = sum(sizes.values())
    if total < BAR_FROM_BYTES or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    bar = Progress(
        "Importing",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task("import", total=total)
    done_before: dict[Path, int] = {}

    def tick(path: Path, done: int) -> None:
        done_before[path] = done
        bar.update(task, completed=sum(done_before.values()))

    with bar:
        yield tick


def import_summary(out: Output, report: ImportReport) -> None:
    """Each file's detection, then what changed (or would)."""
    for file in report.files:
        line = (
            f"{file.path.name}: {file.label}, {_count(file.rows, 'row')} → "
            f"{_count(file.orders, 'order')}"
        )
        out.line(line)
        if file.missing:
            what = " and ".join(file.missing)
            how = (
                ": the walk finds its orders by order reference" if "email" in file.missing else ""
            )
            out.line(f"  It has no {what}{how}.", "dim")
    for path in report.same_files:
        out.line(f"{path.name}: the same file as above, read once.", "dim")
    merged = report.merged
    counts = (
        f"{_count(merged.new, 'new order')}, {merged.updated:,} updated, "
        f"{merged.unchanged:,} unchanged"
    )
    if report.dry_run:
        out.line(f"Would import: {counts}. Nothing was changed (--dry-run).", "bold")
    else:
        out.line(f"Imported: {counts}.", "bold")
    skipped = report.skipped
    if skipped:
        reasons = ", ".join(f"{n:,} {reason}" for reason, n in skipped.most_common())
        out.line(f"Skipped {_count(sum(skipped.values()), 'row')}: {reasons}.")


def import_problems(report: ImportReport) -> None:
    """The rows skipped for a bad value, on stderr: exit 1, something needs attention."""
    if not report.problems:
        return
    from ...errors import ExitStatus, Reported
    from ...orders.importing import problems_text

    err = Output(stderr=True)
    noun = "row was" if len(report.problems) == 1 else "rows were"
    err.line(f"! {len(report.problems):,} {noun} skipped for a bad value:", "bold yellow")
    err.line(problems_text(report.problems))
    err.line("  Fix them in the export and import it again (the rest stays as imported).")
    raise Reported(ExitStatus.ERROR)


# -- orders -----------------------------------------------------------------------------
def _day(order: Order) -> str:
    when = summary.moment(order)
    return when.astimezone().strftime("%Y-%m-%d") if when is not None else ""


def _total(order: Order) -> str:
    total = summary.amount(order, "total")
    return format_money(total, str(order.get("currency") or "")) if total is not None else ""


def items_line(order: Order) -> str:
    """``2 × Blue Mug, Red Cup``."""
    items = order.get("items")
    if not isinstance(items, list):
        return ""
    parts = []
    for item in items:
        if isinstance(item, dict) and item.get("name"):
            quantity = item.get("quantity", 1)
            parts.append(
                f"{quantity} × {item['name']}" if quantity not in (1, None) else str(item["name"])
            )
    return ", ".join(parts)


def order_json(order: Order) -> dict[str, Any]:
    """One order of ``orders list --json`` / ``orders show --json`` (keys in the README)."""
    return {
        "platform": order.get("platform"),
        "ref": order.get("ref"),
        "key": order.get("key"),
        "date": order.get("date"),
        "name": order.get("name"),
        "email": order.get("email"),
        "phone": order.get("phone"),
        "total": order.get("total"),
        "refunded": order.get("refunded"),
        "currency": order.get("currency"),
        "status": order.get("status"),
        "items": [
            {key: item.get(key) for key in ("name", "quantity", "price", "sku")}
            for item in order.get("items") or []
            if isinstance(item, dict)
        ],
    }


def order_table(out: Output, orders: Sequence[Order]) -> None:
    """The order list, newest first."""
    if not orders:
        out.line("No orders. Import an export with: recover orders import FILE")
        return
    table = Table(
        [
            Column("Date"),
            Column("Order", style="bold"),
            Column("Platform"),
            Column("Customer", wrap=True),
            Column("Email", wrap=True),
            Column("Total", right=True),
            Column("Status"),
            Column("Items", wrap=True),
        ]
    )
    for order in orders:
        table.add(
            _day(order),
            str(order.get("ref") or ""),
            summary.platform_label(order),
            str(order.get("name") or ""),
            str(order.get("email") or ""),
            _total(order),
            str(order.get("status") or ""),
            items_line(order),
        )
    out.table(table)
    out.line(_count(len(orders), "order"), "dim")


def order_details(out: Output, orders: Sequence[Order]) -> None:
    """Each order in full."""
    for number, order in enumerate(orders):
        if number:
            out.line()
        out.line(f"Order {order.get('ref')} · {summary.platform_label(order)}", "bold")
        refunded = summary.amount(order, "refunded")
        rows = [
            ("Date", _day(order)),
            ("Customer", str(order.get("name") or "")),
            ("Email", str(order.get("email") or "")),
            ("Phone", str(order.get("phone") or "")),
            ("Total", _total(order)),
            (
                "Refunded",
                format_money(refunded, str(order.get("currency") or "")) if refunded else "",
            ),
            ("Status", str(order.get("status") or "")),
        ]
        out.table(grid([(label, value) for label, value in rows if value]))
        items = order.get("items")
        if isinstance(items, list) and items:
            table = Table([Column("Qty", right=True), Column("Item", wrap=True), Column("Price")])
            for item in items:
                price = item.get("price")
                table.add(str(item.get("quantity", 1)), str(item.get("name", "")), price or "")
            out.table(table)


def customer_orders(out: Output, bought: Bought, limit: int | None) -> None:
    """A customer's orders under their history: lifetime value, then the newest."""
    orders = bought.orders
    if not orders:
        return
    out.line()
    whose = f" (of {bought.customers} customers)" if bought.customers > 1 else ""
    out.line(f"Orders{whose}: {summary.lifetime(orders).line()}", "bold")
    order_table(out, orders[:limit] if limit is not None else orders)


def as_json(bought: Bought) -> dict[str, Any]:
    """The order keys of ``recover customer --json``: the orders, and their lifetime
    value (null without imported orders)."""
    orders = bought.orders
    total = summary.lifetime(orders)
    return {
        "orders": [order_json(order) for order in orders],
        "lifetime": {
            "customers": bought.customers,
            "orders": total.orders,
            "since": total.first.strftime("%Y-%m-%dT%H:%M:%SZ") if total.first else None,
            "value": {c: f"{v:.2f}" for c, v in sorted(total.value.items())},
        }
        if orders
        else None,
    }


def confirm_forget(platform: str | None, before: datetime | None) -> bool:
    """Ask before deleting orders (False: no terminal to ask on, or not confirmed)."""
    if not sys.stdin.isatty():
        return False
    what = "every imported order"
    if platform is not None:
        what = f"every {platform} order"
    if before is not None:
        what += f" dated before {before:%Y-%m-%d}"
    try:
        answer = input(f"Delete {what}? The exports can be imported again. [y/N] ")
    except EOFError:
        return False
    return answer.strip().casefold() in ("y", "yes")


# -- in the walk (Rich: the walk's screen) ----------------------------------------------
def _brief(order: Order) -> str:
    """``#1042 · Shopify · 5 Mar 2025 · Dana Reyes · 48.00 USD · 2 × Blue Mug``."""
    when = summary.moment(order)
    parts = [
        str(order.get("ref") or ""),
        summary.platform_label(order),
        day_words(when) if when is not None else "",
        str(order.get("name") or order.get("email") or ""),
        _total(order),
        items_line(order),
    ]
    return " · ".join(part for part in parts if part)


def order_choice(orders: Sequence[Order]) -> Any:
    """The numbered list of the orders that matched, newest first."""
    from rich.console import Group
    from rich.text import Text

    lines = [Text(f"{len(orders)} orders match:", style="bold")]
    lines += [Text(f"  {n}. {_brief(order)}") for n, order in enumerate(orders, start=1)]
    return Group(*lines)


def order_card(order: Order) -> Any:
    """The customer card an order fills, for the seller to confirm."""
    from rich.console import Group
    from rich.table import Table as Grid
    from rich.text import Text

    when = summary.moment(order)
    rows = [
        ("Customer", str(order.get("name") or "")),
        ("Email", str(order.get("email") or "")),
        ("Value", _total(order)),
        ("Date", day_words(when) if when is not None else ""),
        ("Items", items_line(order)),
        ("Status", str(order.get("status") or "")),
    ]
    grid = Grid.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for label, value in rows:
        if value:
            grid.add_row(Text(f"  {label}"), Text(value))
    title = Text(f"Order {order.get('ref')} · {summary.platform_label(order)}", style="bold cyan")
    return Group(title, grid)
