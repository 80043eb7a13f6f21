"""``recover new`` and ``recover resume``: the walk on a live call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from . import State, app

if TYPE_CHECKING:
    from ..playbook import Catalog


def _money_option(text: str | None) -> str | None:
    if text is None:
        return None
    from ..values import parse_money

    try:
        return str(parse_money(text))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@app.command("new")
def new_case_command(
    ctx: typer.Context,
    playbook: Annotated[
        str | None,
        typer.Option("--playbook", "-p", help="Playbook id (skips the menu).", show_default=False),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Customer name.", show_default=False)] = None,
    email: Annotated[str | None, typer.Option(help="Customer email.", show_default=False)] = None,
    order: Annotated[str | None, typer.Option(help="Order reference.", show_default=False)] = None,
    value: Annotated[
        str | None,
        typer.Option(help="Order value, like 19.50.", callback=_money_option, show_default=False),
    ] = None,
    channel: Annotated[
        str | None,
        typer.Option(help="Where they got in touch: phone, email, chat...", show_default=False),
    ] = None,
) -> None:
    """Start a case on a live call: pick a playbook, then walk it one step at a time.

    Every answer is saved the moment it is typed. Type :back, :skip or :pause at any
    prompt; Ctrl-C also stops safely, and `recover resume` carries on later.
    """
    from .. import prompter as prompting
    from ..case import PlaybookRef, new_case, utcnow
    from ..config import ensure_home, load_settings
    from ..playbook import load_catalog
    from ..store import Store
    from ..walk import Walk
    from .output import console
    from .screen import WalkScreen, customer_from_options, started_line

    state: State = ctx.obj
    out = console()
    asker = prompting.open_prompter(out)
    home = ensure_home(state.home)
    settings = load_settings(home)
    catalog = load_catalog(home)
    _warn_broken(catalog)
    store = Store(home)
    screen = WalkScreen(out, asker, store)
    chosen = screen.choose_playbook(catalog, playbook)
    customer, given = customer_from_options(
        name=name, email=email, order=order, order_value=value, channel=channel
    )
    ref = PlaybookRef(id=chosen.id, title=chosen.title, hash=chosen.digest)
    case = store.create(
        lambda case_id: new_case(
            case_id, customer=customer, playbook=ref, currency=settings.currency, now=utcnow()
        )
    )
    out.print(started_line(case, chosen))
    missing = [key for key in ("seller", "business") if not settings.as_dict()[key]]
    if missing:
        out.print(
            f"Tip: lines that use ${' and $'.join(missing)} show a gap until you run "
            f"`recover config set {missing[0]} ...`.",
            style="dim",
        )
    walk = Walk(chosen, case, settings.as_dict())
    screen.run(walk, details_given=given)


@app.command("resume")
def resume_command(
    ctx: typer.Context,
    case_id: Annotated[
        str | None,
        typer.Argument(
            metavar="[ID]",
            help="Case id (default: the most recent unfinished case).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Carry on with a paused or interrupted case at its first unanswered step."""
    from .. import prompter as prompting
    from ..case import utcnow
    from ..config import ensure_home, load_settings
    from ..errors import NotFoundError
    from ..playbook import load_catalog
    from ..store import Store
    from ..walk import Walk
    from .output import console
    from .screen import WalkScreen, resume_notes

    state: State = ctx.obj
    out = console()
    home = ensure_home(state.home)
    store = Store(home)
    if case_id is None:
        found = store.latest_unfinished()
        if found is None:
            raise NotFoundError("no unfinished case to resume", hint="`recover list` shows cases.")
        case = found
    else:
        case = store.load(case_id)
    if case.walk_completed_at is not None:
        out.print(f"Case {case.id} was already walked to the end. Details: recover show {case.id}")
        return
    catalog = load_catalog(home)
    playbook = catalog.get(case.playbook.id)
    broken = catalog.error_for(case.playbook.id)
    if playbook is None and broken is not None:
        raise broken
    if playbook is None:
        raise NotFoundError(
            f"case {case.id} was walked with playbook {case.playbook.id!r}, which is not available"
        )
    asker = prompting.open_prompter(out)
    walk = Walk(playbook, case, load_settings(home).as_dict())
    notes = walk.changes_since()
    if notes:
        out.print(resume_notes(notes))
    detail = f"playbook {case.playbook.hash[:19]} -> {playbook.digest[:19]}" if notes else ""
    case.playbook.hash = playbook.digest
    case.playbook.title = playbook.title
    case.add_event(utcnow(), "resumed", detail)
    case.touch(utcnow())
    store.save(case)
    out.print(f"Resuming case {case.id} · {playbook.title}")
    WalkScreen(out, asker, store).run(walk)


def _warn_broken(catalog: Catalog) -> None:
    for error in catalog.broken:
        first = error.problems[0]
        more = len(error.problems) - 1
        extra = f" (and {more} more)" if more else ""
        typer.echo(f"Warning: {first}{extra}. That playbook is not offered.", err=True)
