"""``recover orders``: import the shop's order exports, look at them, forget them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from ...errors import NotFoundError, UsageError
from ...orders.records import MAP_FIELDS, PLATFORMS
from .. import State
from ..common import print_json, warn
from ..options import JsonOption
from ..plain import Output
from ..views import notices
from ..views import orders as views

app = typer.Typer(
    rich_markup_mode=None,
    add_completion=False,
    no_args_is_help=True,
    help="Import order exports (Shopify, Etsy, Gumroad, WooCommerce, Stripe, any CSV), "
    "list them, forget them.",
)

PlatformOption = Annotated[
    str | None,
    typer.Option(
        "--platform",
        metavar="NAME",
        help=f"One of: {', '.join(PLATFORMS)}.",
        show_default=False,
    ),
]
DateOption = Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], show_default=False)]


def _platform(text: str | None) -> str | None:
    if text is None:
        return None
    normal = text.strip().casefold()
    if normal not in PLATFORMS:
        raise typer.BadParameter(f"use one of: {', '.join(PLATFORMS)}", param_hint="--platform")
    return normal


def _mapping(pairs: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in pairs:
        for part in pair.split(","):
            column, sep, name = part.rpartition("=")
            if not sep or not column.strip() or name.strip() not in MAP_FIELDS:
                raise typer.BadParameter(
                    f"write COLUMN=FIELD, FIELD one of: {', '.join(MAP_FIELDS)}",
                    param_hint="--map",
                )
            found[column.strip()] = name.strip()
    return found


def _utc(day: datetime | None) -> datetime | None:
    return None if day is None else day.replace(tzinfo=UTC)


@app.command("import")
def import_orders(
    ctx: typer.Context,
    files: Annotated[
        list[Path],
        typer.Argument(metavar="FILE...", help="Order exports (CSV).", show_default=False),
    ],
    platform: PlatformOption = None,
    maps: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            metavar="COLUMN=FIELD",
            help=f"Read COLUMN as FIELD ({', '.join(MAP_FIELDS)}); repeat, or join with commas.",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be imported; change nothing.")
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Import nothing if any row has a bad value.")
    ] = False,
) -> None:
    """Import order exports: the format is told from the header row. Importing the
    same orders again updates them in place."""
    from ...config import ensure_home
    from ...orders.importing import import_files

    state: State = ctx.obj
    home = ensure_home(state.home)
    with views.progress_bar(files) as tick:
        report = import_files(
            home,
            files,
            platform=_platform(platform),
            mapping=_mapping(maps or []),
            dry_run=dry_run,
            strict=strict,
            progress=tick,
            waiting=lambda: warn("Another import is saving orders; waiting for it to finish."),
        )
    views.import_summary(Output(), report)
    views.import_problems(report)


@app.command("list")
def list_orders(
    ctx: typer.Context,
    customer: Annotated[
        str | None,
        typer.Option(help="Only this customer's: part of a name, an email or a reference."),
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option(help="Orders dated on or after this date.", formats=["%Y-%m-%d"]),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Imported orders, newest first."""
    from ...store.ordercache import OrderCache

    state: State = ctx.obj
    with OrderCache(state.home) as cache:
        found = list(cache.listing(customer=customer, since=_utc(since)))
    notices.damaged(cache.damaged)
    if as_json:
        print_json([views.order_json(order) for order in found])
        return
    views.order_table(Output(), found)


@app.command("show")
def show_order(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="REF", help="Order reference, like #1042.")],
    as_json: JsonOption = False,
) -> None:
    """One order in full (every platform's order with that reference)."""
    from ...store.ordercache import OrderCache

    state: State = ctx.obj
    with OrderCache(state.home) as cache:
        found = cache.by_ref(ref)
    notices.damaged(cache.damaged)
    if not found:
        raise NotFoundError(
            "no imported order has that reference", hint="See them all: recover orders list"
        )
    if as_json:
        print_json([views.order_json(order) for order in found])
        return
    views.order_details(Output(), found)


@app.command("forget")
def forget_orders(
    ctx: typer.Context,
    platform: PlatformOption = None,
    before: Annotated[
        datetime | None,
        typer.Option(help="Only orders dated before this date.", formats=["%Y-%m-%d"]),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")] = False,
) -> None:
    """Delete imported orders for good: the book's files, every row of the look-up
    table (then compacted). All of them, or one platform's, or those before a date."""
    from ...orders import book
    from ...store.ordercache import OrderCache

    state: State = ctx.obj
    wanted = _platform(platform)
    if not yes and not views.confirm_forget(wanted, before):
        raise UsageError("nothing was deleted", hint="Add --yes to delete without asking.")
    gone = book.forget(state.home, platform=wanted, before=_utc(before))
    with OrderCache(state.home) as cache:
        cache.vacuum()
    Output().line(f"Forgot {gone:,} {'order' if gone == 1 else 'orders'}.")
