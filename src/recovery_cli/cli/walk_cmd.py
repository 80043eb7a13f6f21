"""``recover new`` and ``recover resume``: the walk on a live call."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from . import State, app
from .completion import complete_case_ids, complete_playbook_ids

if TYPE_CHECKING:
    from rich.console import Console

    from ..case import Case, Customer
    from ..playbook import Catalog, Playbook
    from ..prompter import Prompter
    from ..store import Store


def _customer(given: dict[str, str | None]) -> tuple[Customer, set[str]]:
    """The customer from command-line options, checked like typed answers."""
    from ..case import Customer, parse_customer_field

    filled: dict[str, object] = {}
    for key, text in given.items():
        if text is None:
            continue
        try:
            value = parse_customer_field(key, text)
        except ValueError as exc:
            option = "--value" if key == "order_value" else f"--{key}"
            raise typer.BadParameter(str(exc), param_hint=option) from None
        if value is not None:
            filled[key] = value
    return Customer.model_validate(filled), set(filled)


@app.command("new")
def new_case_command(
    ctx: typer.Context,
    playbook: Annotated[
        str | None,
        typer.Option(
            "--playbook",
            "-p",
            help="Playbook id (skips the menu).",
            show_default=False,
            autocompletion=complete_playbook_ids,
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Customer name.", show_default=False)] = None,
    email: Annotated[str | None, typer.Option(help="Customer email.", show_default=False)] = None,
    order: Annotated[str | None, typer.Option(help="Order reference.", show_default=False)] = None,
    value: Annotated[
        str | None,
        typer.Option(help="Order value, like 19.50.", show_default=False),
    ] = None,
    channel: Annotated[
        str | None,
        typer.Option(help="Where they got in touch: phone, email, chat...", show_default=False),
    ] = None,
    answers_file: Annotated[
        Path | None,
        typer.Option(
            "--answers",
            metavar="FILE",
            dir_okay=False,
            show_default=False,
            help="Answers file (TOML or JSON) that pre-fills the walk.",
        ),
    ] = None,
    no_input: Annotated[
        bool,
        typer.Option("--no-input", help="Create the case from --answers alone; never prompt."),
    ] = False,
    save_answers: Annotated[
        Path | None,
        typer.Option(
            "--save-answers",
            metavar="FILE",
            dir_okay=False,
            show_default=False,
            help="When the walk ends, write its answers to FILE (TOML or .json).",
        ),
    ] = None,
) -> None:
    """Start a case on a live call: pick a playbook, then walk it one step at a time.

    Every answer is saved the moment it is typed. Type :back, :skip or :pause at any
    prompt; Ctrl-C also stops safely, and `recover resume` carries on later. With
    --answers FILE --no-input, the case is created from the file with no prompts and
    its id is printed.
    """
    from .. import answers as answering
    from .. import prompter as prompting
    from ..case import PlaybookRef, new_case, utcnow
    from ..config import ensure_home, load_settings
    from ..errors import NotFoundError, UsageError
    from ..playbook import load_catalog
    from ..walk import Walk
    from .output import console, open_store
    from .screen import WalkScreen, started_line

    state: State = ctx.obj
    customer, given = _customer(
        {"name": name, "email": email, "order": order, "order_value": value, "channel": channel}
    )
    if no_input and answers_file is None:
        raise UsageError("--no-input needs --answers FILE: there is nothing else to go on")
    prefill = answering.load(answers_file) if answers_file is not None else None
    problems: list[str] = []
    if prefill is not None:
        from_file, in_file, problems = answering.customer_of(prefill)
        problems = prefill.problems + problems
        merged = {**from_file.model_dump(include=in_file), **customer.model_dump(include=given)}
        customer, given = type(customer).model_validate(merged), in_file | given
        playbook = playbook or prefill.playbook
    out = console()
    asker = None if no_input else prompting.open_prompter(out)
    home = ensure_home(state.home)
    settings = load_settings(home)
    catalog = load_catalog(home)
    _warn_broken(catalog, skip=playbook)
    store = open_store(home)

    def build(case_id: str, chosen: Playbook) -> Case:
        ref = PlaybookRef(id=chosen.id, title=chosen.title, hash=chosen.digest)
        return new_case(
            case_id, customer=customer, playbook=ref, currency=settings.currency, now=utcnow()
        )

    if asker is None:
        assert prefill is not None
        if playbook is None:
            raise UsageError('no playbook: set playbook = "ID" in the answers file, or -p ID')
        found = catalog.get(playbook)
        if found is None:
            raise catalog.error_for(playbook) or NotFoundError(f"no playbook {playbook!r}")
        picked: Playbook = found
        # A dry run on a scratch case finds every problem before anything is written.
        scratch = Walk(picked, build("0", picked), settings.as_dict())
        problems += answering.fill(scratch, prefill, utcnow())
        if problems:
            raise answering.AnswersError(prefill.source, problems)

        def filled(case_id: str) -> Case:
            # Filled before it is written: the one write holds the whole case, so a
            # failed save leaves no empty case behind for a retry to duplicate.
            new = build(case_id, picked)
            answering.fill(Walk(picked, new, settings.as_dict()), prefill, utcnow())
            return new

        case = store.create(filled)
        store.release(case.id)
        _save_answers(save_answers, case, picked)
        typer.echo(case.id)
        return
    if problems:
        raise answering.AnswersError(prefill.source if prefill else "", problems)
    screen = WalkScreen(out, asker, store, prefill=prefill)
    with asker.signals():  # SIGTERM or a closed terminal at the menu: a clean stop
        chosen = screen.choose_playbook(catalog, playbook)
    case = store.create(lambda case_id: build(case_id, chosen))
    out.print(started_line(case, chosen))
    missing = [key for key in ("seller", "business") if not settings.as_dict()[key]]
    if missing:
        out.print(
            f"Tip: lines that use ${' and $'.join(missing)} show a gap until you run "
            f"`recover config set {missing[0]} ...`.",
            style="dim",
        )
    walk = Walk(chosen, case, settings.as_dict())
    with store.session(case.id):
        try:
            screen.run(
                walk, details_given=given, before_steps=lambda: _repeat_notice(out, store, case)
            )
        finally:
            _save_answers(save_answers, case, chosen)
        _offer_close(out, screen.prompter, store, case)


def _repeat_notice(out: Console, store: Store, case: Case) -> None:
    """Before the first step: tell the seller this customer has been upset before."""
    import sqlite3

    from rich.text import Text

    from ..case import utcnow
    from ..customers import repeat_of
    from ..errors import RecoverError

    if not any((case.customer.email, case.customer.order, case.customer.name)):
        return
    # A notice, on a live call: if the index cannot answer, the call goes on without it.
    try:
        earlier = [item for item in store.same_customer(case.customer) if item.id != case.id]
    except (RecoverError, sqlite3.Error, OSError, ValueError):
        return
    repeat = repeat_of(case.customer, earlier, utcnow())
    if repeat is not None:
        out.print(Text(f"! Returning customer: {repeat.line(utcnow())}", style="bold yellow"))


def _offer_close(out: Console, asker: Prompter, store: Store, case: Case) -> None:
    """When the walk reached its end, offer to record the outcome there and then."""
    if case.walk_completed_at is not None:
        from .after_cmd import offer_close_after_walk

        offer_close_after_walk(out, asker, store, case)


def _save_answers(path: Path | None, case: Case, playbook: Playbook) -> None:
    """Write the walk's answers (also after a pause: a partial walk is a template too)."""
    if path is not None:
        from .. import answers as answering

        answering.save(path, answering.from_case(case, playbook))


@app.command("resume")
def resume_command(
    ctx: typer.Context,
    case_id: Annotated[
        str | None,
        typer.Argument(
            metavar="ID",
            help="Case id (default: the most recent unfinished case).",
            show_default=False,
            autocompletion=complete_case_ids,
        ),
    ] = None,
) -> None:
    """Carry on with a paused or interrupted case at its first unanswered step."""
    from .. import prompter as prompting
    from ..case import utcnow
    from ..config import ensure_home, load_settings
    from ..errors import NotFoundError
    from ..playbook import load_catalog
    from ..store import parse_case_id
    from ..walk import Walk
    from .output import console, open_store
    from .screen import WalkScreen, resume_notes

    state: State = ctx.obj
    out = console()
    home = ensure_home(state.home)
    store = open_store(home)
    if case_id is None:
        latest = store.latest_unfinished()
        if latest is None:
            raise NotFoundError("no unfinished case to resume", hint="`recover list` shows cases.")
        case_id = latest.id
    with store.session(parse_case_id(case_id)):
        # Read the case only once it is ours: another terminal may just have saved it.
        case = store.load(case_id)
        if case.walk_completed_at is not None:
            out.print(
                f"Case {case.id} was already walked to the end. Details: recover show {case.id}"
            )
            return
        catalog = load_catalog(home)
        playbook = catalog.get(case.playbook.id)
        broken = catalog.error_for(case.playbook.id)
        if playbook is None and broken is not None:
            raise broken
        if playbook is None:
            raise NotFoundError(
                f"case {case.id} was walked with playbook {case.playbook.id!r}, "
                "which is not available"
            )
        asker = prompting.open_prompter(out)
        walk = Walk(playbook, case, load_settings(home).as_dict())
        notes = walk.resume(utcnow())
        if notes:
            out.print(resume_notes(notes))
        store.save(case)
        out.print(f"Resuming case {case.id} · {playbook.title}")
        WalkScreen(out, asker, store).run(walk)
        _offer_close(out, asker, store, case)


def _warn_broken(catalog: Catalog, *, skip: str | None = None) -> None:
    """One line per playbook that failed to load (not the one about to be reported)."""
    for error in catalog.broken:
        if skip is not None and error is catalog.error_for(skip):
            continue
        first = error.problems[0]
        more = len(error.problems) - 1
        extra = f" (and {more} more)" if more else ""
        typer.echo(f"Warning: {first}{extra}. That playbook is not offered.", err=True)
