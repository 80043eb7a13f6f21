"""``recover email add`` and ``recover new --from-mail``: the customer's email into
its case.

A message is read from a file, from an mbox (``--message-id``), or from standard
input (``-``: a mail client's pipe, after which the questions are asked on the
terminal). The same message again finds the case it started; a message that replies
to a case's thread is added to that case as a note.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from ... import clock
from ...config import Settings, ensure_home, load_settings
from ...errors import NotFoundError, UsageError
from .. import State
from ..console import console, open_store

if TYPE_CHECKING:
    from ...case import Case, MailIn
    from ...mail.intake import Belongs
    from ...mail.reading import Incoming
    from ...store import Store
    from .walk import Detail

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    help="Add a customer's email to its case (a new complaint: recover new --from-mail FILE).",
)


@app.callback()
def email() -> None:
    """Add a customer's email to its case (a new complaint: recover new --from-mail FILE)."""


Source = Annotated[
    str,
    typer.Argument(
        metavar="FILE",
        help="The message: an .eml file, an mbox (with --message-id), or - for standard input.",
    ),
]
MessageId = Annotated[
    str | None,
    typer.Option(
        "--message-id",
        metavar="ID",
        help="The message to take from an mbox file.",
        show_default=False,
    ),
]


def _read(source: str, message_id: str | None) -> tuple[bytes, Incoming]:
    from ...mail import reading

    data = reading.read_message(source, message_id=message_id)
    return data, reading.parse_message(data)


@app.command("add")
def add(
    ctx: typer.Context,
    source: Source,
    message_id: MessageId = None,
    case_id: Annotated[
        str | None,
        typer.Option(
            "--case",
            metavar="ID",
            help="The case to add it to (default: the case whose messages it replies to).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Add a later message from the customer to its case, as a note: the case whose
    messages it replies to (In-Reply-To, References), or the one given with --case.
    Attachments are noted by name and size, never copied."""
    from ... import casework
    from ...mail import intake
    from ...store import parse_case_id

    state: State = ctx.obj
    data, incoming = _read(source, message_id)
    now = clock.now()
    with open_store(ensure_home(state.home)) as store:
        wanted = (
            parse_case_id(case_id) if case_id is not None else _thread_case(store, incoming, data)
        )
        with casework.holding(store, wanted) as case:
            record = intake.record_of(incoming, data, now)
            added = intake.attach(case, record, now)
            if added:
                store.save(case)
                _other_sender(case, record)
    _added(wanted, added, incoming)


def _thread_case(store: Store, incoming: Incoming, data: bytes) -> str:
    from ...mail import intake

    belongs = intake.belongs_to(store, incoming, data)
    if belongs is None:
        raise NotFoundError(
            "no case has a message this one replies to",
            hint="Name the case with --case ID, or start one: recover new --from-mail FILE",
        )
    return belongs.case_id


def _added(case_id: str, added: bool, incoming: Incoming) -> None:
    if not added:
        typer.echo(f"Case {case_id} has this message already; nothing changed.")
        return
    noun = "attachment" if len(incoming.attachments) == 1 else "attachments"
    extra = f", with {len(incoming.attachments)} {noun} noted" if incoming.attachments else ""
    typer.echo(f"Added the message to case {case_id}{extra}. See it with: recover show {case_id}")


def new_from_mail(
    state: State,
    source: str,
    message_id: str | None,
    playbook: str | None,
    given: dict[str, Detail],
    no_input: bool,
    save_answers: Path | None,
) -> None:
    """``recover new --from-mail``: a case begun by the customer's email, walked now
    (or, with --no-input, written with the complaint and left to resume); the same
    message again resumes its case, and a reply to a case is added to it."""
    from ...mail import intake

    data, incoming = _read(source, message_id)
    home = ensure_home(state.home)
    settings = load_settings(home)
    record = intake.record_of(incoming, data, clock.now())
    details: dict[str, Detail] = {**_details(home, incoming, settings), **given}  # type: ignore[dict-item]
    with open_store(home) as store, store.mail_turn():
        belongs = intake.belongs_to(store, incoming, data)
        if belongs is None and no_input:
            _file_it(store, settings, playbook, details, record)
            return
    if belongs is not None:
        with open_store(home) as store:
            _known(store, belongs, record, no_input, home, source)
        return
    _terminal(source)
    from ...playbooks.cache import load_listing
    from .. import prompter as prompting
    from ..views.screen import WalkScreen
    from .walk import _start, _warn_broken

    out = console()
    asker = prompting.open_prompter(out)
    listing = load_listing(home)
    _warn_broken(listing, skip=playbook)
    _subject_line(incoming)
    _start(WalkScreen(out, asker), home, settings, listing, playbook, details, save_answers, record)


def _subject_line(incoming: Incoming) -> None:
    who = incoming.name or incoming.address or "the customer"
    line = Text(f"Email from {who}", style="bold")
    if incoming.subject:
        line.append(f" · {incoming.subject}", style="")
    console().print(line, soft_wrap=True)


def _details(home: Path, incoming: Incoming, settings: Settings) -> dict[str, object]:
    """The customer details the email gives: its sender, and the order it names (one
    the order book knows, when orders were imported)."""
    from ...mail import intake
    from ...orders import has_orders

    known = None
    if has_orders(home):
        from ...errors import RecoverError
        from ...store.ordercache import OrderCache

        def known(ref: str) -> bool:
            try:
                with OrderCache(home) as cache:
                    return bool(cache.find(ref))
            except (RecoverError, OSError):
                return False

    order = intake.order_in(incoming, settings.mail_order_pattern, known)
    return intake.details_of(incoming, order)


def _file_it(
    store: Store,
    settings: Settings,
    playbook: str | None,
    details: dict[str, Detail],
    record: MailIn,
) -> None:
    """--no-input: the case written whole with the email's words as the complaint;
    its id printed."""
    from ... import walking
    from ...case import Customer
    from ...playbooks.cache import load_listing, rebuild
    from .walk import _from_order, _warn_broken

    listing = load_listing(store.home)
    wanted = playbook or "general"
    _warn_broken(listing, skip=wanted)
    picked = rebuild(listing.find(wanted))
    customer = Customer.model_validate(details)
    currency = _from_order(store.home, customer, {k for k in details if k != "order"})
    case = walking.case_from_mail(store, picked, customer, record, settings, clock.now(), currency)
    typer.echo(case.id)


def _terminal(source: str) -> None:
    """A message read from standard input: the questions go to the terminal."""
    if source != "-":
        return
    from ..prompter import reattach_terminal

    if not reattach_terminal():
        raise UsageError(
            "the message came on standard input, and there is no terminal to walk it on",
            hint="Add --no-input to file it as a case to walk later (recover resume).",
        )


def _known(
    store: Store, belongs: Belongs, record: MailIn, no_input: bool, home: Path, source: str
) -> None:
    """The message is part of a case already: its own (resumed, if its walk is not
    done) or the one it replies to (added to it)."""
    from ... import casework
    from ...mail import intake

    with casework.holding(store, belongs.case_id) as case:
        if belongs.how == "replies":
            if intake.attach(case, record, clock.now()):
                store.save(case)
            _other_sender(case, record)
            typer.echo(
                f"This message replies to case {case.id}: added to it "
                f"(recover show {case.id}). No new case was started."
            )
            return
        first = case.mail is not None and intake.holds_first(case, record)
        began = f"Case {case.id} " + ("began with this message" if first else "has this message")
        if no_input or case.walk_completed_at is not None:
            typer.echo(case.id if no_input else f"{began}.")
            if not no_input:
                typer.echo(f"Its walk is done. Details: recover show {case.id}")
            return
        from .walk import _resume

        _terminal(source)
        typer.echo(f"{began}; carrying on with it.")
        _resume(console(), store, case, home)


def _other_sender(case: Case, record: MailIn) -> None:
    """A word when a message in a case's thread comes from another address than the
    customer's: anyone can reply to a thread."""
    if (
        record.sender
        and case.customer.email
        and record.sender.lower() != (case.customer.email.lower())
    ):
        typer.echo(
            f"Note: it comes from another address than the customer's on case {case.id}; "
            "check that it belongs there.",
            err=True,
        )
