"""``recover new`` and ``recover resume``: the walk on a live call.

``recover new`` is on screen at once, with the customer talking: its playbook menu
comes from the playbook cache (plain JSON), and its first prompt needs neither
Pydantic nor the case and walk models. Those, and the chosen playbook rebuilt from
the cache, are made ready by :class:`_Loader` on a thread of its own, started as the
first prompt goes up, while the seller reads the menu and types the customer's
details. So this module imports at its top only what comes before that; the walk's
own modules are imported in the functions that use them, after the loader is done
(the import system's locks keep the two threads apart; the main thread waits for the
loader before it touches any of them).

The case is written as soon as it can be without keeping the seller waiting
(:class:`_NewCase`): right after a pick from the menu, the loader having had the time
the menu was read; with ``-p``, whose first prompt is up before the models can be,
with the first detail entered (or a stop). "Case N started" is shown once the details
are in, before the first step.
"""

from __future__ import annotations

import contextlib
import importlib
import signal
import threading
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from ... import clock
from ...config import Settings, ensure_home, load_settings
from ...errors import UsageError
from ...kinds import parse_customer_field
from ...playbooks.cache import Entry, Listing, load_listing, rebuild
from .. import State
from .. import prompter as prompting
from ..console import console, open_store
from ..options import PlaybookOption, ResumeId
from ..prompter import Prompter
from ..views.screen import WalkScreen, resume_notes, started_line

if TYPE_CHECKING:
    from ...case import Case, Customer, MailIn
    from ...orders.book import Order
    from ...playbooks.model import Playbook
    from ...store import Store
    from ...store.ordercache import OrderCache
    from ...walking import LiveWalk

Detail = str | Decimal | None

AnswersFile = Annotated[
    Path | None,
    typer.Option(
        "--answers",
        metavar="FILE",
        dir_okay=False,
        show_default=False,
        help="Answers file (TOML or JSON) that pre-fills the walk.",
    ),
]
SaveAnswers = Annotated[
    Path | None,
    typer.Option(
        "--save-answers",
        metavar="FILE",
        dir_okay=False,
        show_default=False,
        help="When the walk ends, write its answers to FILE (TOML or .json).",
    ),
]


def _detail(help_text: str) -> object:
    return typer.Option(help=help_text, show_default=False)


def new_case(
    ctx: typer.Context,
    playbook: PlaybookOption = None,
    name: Annotated[str | None, _detail("Customer name.")] = None,
    email: Annotated[str | None, _detail("Customer email.")] = None,
    order: Annotated[str | None, _detail("Order reference.")] = None,
    value: Annotated[str | None, _detail("Order value, like 19.50.")] = None,
    channel: Annotated[
        str | None, _detail("Where they got in touch: phone, email, chat...")
    ] = None,
    answers_file: AnswersFile = None,
    no_input: Annotated[
        bool,
        typer.Option("--no-input", help="Create the case from --answers alone; never prompt."),
    ] = False,
    save_answers: SaveAnswers = None,
    from_mail: Annotated[
        str | None,
        typer.Option(
            "--from-mail",
            metavar="FILE",
            help="Start from the customer's email: an .eml file, an mbox with "
            "--message-id, or - to read it from standard input (a mail client's pipe).",
            show_default=False,
        ),
    ] = None,
    message_id: Annotated[
        str | None,
        typer.Option(
            "--message-id",
            metavar="ID",
            help="The message to take from an mbox file.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Start a case on a live call: pick a playbook, then walk it one step at a time.

    Every answer is saved the moment it is typed. Type :back, :skip or :pause at any
    prompt; Ctrl-C also stops safely, and `recover resume` carries on later. With
    --answers FILE --no-input, the case is created from the file with no prompts and
    its id is printed. With --from-mail, the email gives the customer's details and
    the complaint, and the same email again finds its case.
    """
    state: State = ctx.obj
    options = {"name": name, "email": email, "order": order, "order_value": value}
    given = _given({**options, "channel": channel})
    if from_mail is not None or message_id is not None:
        from .email import new_from_mail

        if from_mail is None or answers_file is not None:
            raise UsageError(
                "--message-id goes with --from-mail"
                if from_mail is None
                else "--from-mail and --answers cannot be used together"
            )
        new_from_mail(state, from_mail, message_id, playbook, given, no_input, save_answers)
        return
    if no_input and answers_file is None:
        raise UsageError("--no-input needs --answers FILE: there is nothing else to go on")
    if answers_file is not None:
        _from_answers(state, answers_file, playbook, given, no_input, save_answers)
        return
    out = console()
    asker = prompting.open_prompter(out)
    home = ensure_home(state.home)
    settings, listing = load_settings(home), load_listing(home)
    _warn_broken(listing, skip=playbook)
    screen = WalkScreen(out, asker)
    _start(screen, home, settings, listing, playbook, given, save_answers)


def _given(options: dict[str, str | None]) -> dict[str, Detail]:
    """The customer details given as options, checked like typed answers: a bad one
    is a usage error before anything is asked."""
    texts = {key: text for key, text in options.items() if text is not None}
    if not texts:
        return {}

    filled: dict[str, Detail] = {}
    for key, text in texts.items():
        try:
            value = parse_customer_field(key, text)
        except ValueError as exc:
            option = "--value" if key == "order_value" else f"--{key}"
            raise typer.BadParameter(str(exc), param_hint=option) from None
        if value is not None:
            filled[key] = value
    return filled


def _from_answers(
    state: State,
    path: Path,
    playbook: str | None,
    given: dict[str, Detail],
    no_input: bool,
    save_answers: Path | None,
) -> None:
    """A case pre-filled from an answers file: walked on screen, or, with --no-input,
    created from the file alone (its id printed)."""
    from ... import answers as answering
    from ... import walking
    from ...case import Customer

    prefill = answering.load(path)
    customer, keys, problems = answering.merged_customer(
        prefill, Customer.model_validate(given), set(given)
    )
    playbook = playbook or prefill.playbook
    out = console()
    asker = None if no_input else prompting.open_prompter(out)
    home = ensure_home(state.home)
    settings, listing = load_settings(home), load_listing(home)
    _warn_broken(listing, skip=playbook)
    if asker is None:
        if playbook is None:
            raise UsageError('no playbook: set playbook = "ID" in the answers file, or -p ID')
        picked = rebuild(listing.find(playbook))
        currency = _from_order(home, customer, set(keys))
        with open_store(home) as store:
            case = walking.case_from_answers(
                store,
                picked,
                customer,
                prefill,
                settings,
                clock.now(),
                problems=problems,
                currency=currency,
            )
        _save_answers(save_answers, case, picked)
        typer.echo(case.id)
        return
    if problems:
        raise answering.AnswersError(prefill.source, problems)
    filled = {key: getattr(customer, key) for key in keys}
    screen = WalkScreen(out, asker, prefill=prefill)
    _start(screen, home, settings, listing, playbook, filled, save_answers)


def _from_order(home: Path, customer: Customer, given: set[str]) -> str | None:
    """With --no-input, the order that the customer's order reference or email (as
    options or in the answers file) names fills the other details (those ``given``
    stay); the order's currency. Several orders is a usage error: there is no one to
    ask which. An order book that cannot be read is a warning: the case is made
    without it."""
    from ...orders import has_orders

    query = customer.order or customer.email
    if not query or not has_orders(home):
        return None
    from ...errors import RecoverError
    from ...orders.summary import details_of
    from ...store.ordercache import OrderCache
    from ..common import warn

    try:
        with OrderCache(home) as cache:
            found = matching_orders(cache, query, customer.email)
    except RecoverError as exc:
        warn(f"{exc.message}; the case is made without the order book")
        return None
    if len(found) > 1:
        what = "the order reference" if customer.order else "the email"
        raise UsageError(
            f"{what} matches {len(found)} orders, and there is no one to ask which",
            hint="Name one with --order REF (and --email, for a reference used twice).",
        )
    if found:
        details, currency = details_of(found[0])
        for key, value in details.items():
            if key not in given or key == "order":  # the order's own spelling of its ref
                setattr(customer, key, value)
        return currency
    return None


def matching_orders(cache: OrderCache, text: str, email: str) -> list[Order]:
    """The orders ``text`` names; an email already known narrows an order
    reference's matches to that customer's (when any of them is theirs)."""
    from ...store.ordercache import email_key

    found = cache.find(text)
    if found and email and "@" not in text:
        wanted = email_key(email)
        narrowed = [o for o in found if email_key(str(o.get("email") or "")) == wanted]
        found = narrowed or found
    return found


def _start(
    screen: WalkScreen,
    home: Path,
    settings: Settings,
    listing: Listing[Entry],
    wanted: str | None,
    given: dict[str, Detail],
    save_answers: Path | None,
    mail: MailIn | None = None,
) -> None:
    """Pick the playbook, ask the details not given, and walk it. A playbook picked
    from the menu has its case written at once, before anything is typed for it (the
    loader had the time the menu was read); with ``-p``, the first prompt is up before
    the case can be, and the case is written with the first detail typed."""
    with contextlib.ExitStack() as stack:
        new = _NewCase(home, settings, given, stack)
        new.mail = mail
        with screen.prompter.signals():  # SIGTERM or a closed terminal at the menu: a clean stop
            new.choose(screen.choose_playbook(listing, wanted, on_screen=new.prepare))
            if wanted is None:
                new.live()
        live = screen.start(new, set(given))
        _walk(screen, live, save_answers)


def _walk(screen: WalkScreen, live: LiveWalk, save_answers: Path | None) -> None:
    """A new case on screen: its id, a tip, the walk, and the outcome offered at its end."""
    from ..views import notices

    out, case, store, playbook = screen.console, live.case, live.store, live.walk.playbook
    out.print(started_line(case, playbook))
    missing = [key for key in ("seller", "business") if not live.walk.settings[key]]
    if missing:
        out.print(
            f"Tip: lines that use ${' and $'.join(missing)} show a gap until you run "
            f"`recover config set {missing[0]} ...`.",
            style="dim",
        )

    def notice() -> None:
        screen.worth = notices.returning_customer(out, store, case)

    with store.session(case.id):
        try:
            screen.run(live, before_steps=notice)
        finally:
            _save_answers(save_answers, case, playbook)
        _reply(out, screen.prompter, store, case, playbook)
        _offer_close(out, screen.prompter, store, case)


def _reply(out: Console, asker: Prompter, store: Store, case: Case, playbook: Playbook) -> None:
    """At the end of a walk on an email case, the reply: composed, edited, sent."""
    if case.walk_completed_at is None:
        return
    from ..views import mailout

    if mailout.wants_reply(case):
        settings = load_settings(store.home)
        mailout.reply_flow(
            out, asker, store, case, settings, mailout.Ways(), edit=True, playbook=playbook
        )


class _Loader:
    """What the walk needs, made ready on a thread of its own while the seller reads
    the menu and types the customer's details: the walk's modules imported (Pydantic,
    the case and walk models, the store, the screens after the details), then the
    chosen playbook rebuilt from the cache.

    The thread takes no signals (Ctrl-C and the rest wake the prompt, on the main
    thread), and whatever it raises is raised again on the main thread where the
    result is needed, never printed from the thread. The main thread waits for it
    before it uses any of those modules, and before the command ends.
    """

    MODULES = (
        "recovery_cli.walking",
        "recovery_cli.casework",
        "recovery_cli.cli.views.forms",
        "recovery_cli.cli.views.notices",
        "rich.table",
    )

    def __init__(self, orders_of: Path | None = None) -> None:
        """``orders_of``: a home with an order book, whose look-up table is brought up
        to date here too (so the first look-up on the call finds it ready)."""
        self._orders_of = orders_of
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._wanted: Entry | None = None
        self._built: tuple[Entry, Playbook] | None = None
        self._error: BaseException | None = None

    def start(self) -> None:
        """Start, unless started already."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="recover-loader", daemon=True)
            self._thread.start()

    def want(self, entry: Entry) -> None:
        """The playbook chosen (built on the thread if it has not finished yet)."""
        with self._lock:
            self._wanted = entry

    def _run(self) -> None:
        with contextlib.suppress(AttributeError, OSError, ValueError):
            signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        try:
            for name in self.MODULES:
                importlib.import_module(name)
            # Rich reads its table of wide characters when it first measures one (the
            # step heading's timer): now, rather than on the way to step 1.
            cell_len("⏱")
            if self._orders_of is not None:
                self._warm_orders(self._orders_of)
            with self._lock:
                wanted = self._wanted
            if wanted is not None:
                self._built = (wanted, rebuild(wanted))
        except BaseException as error:  # raised again on the main thread, where it is needed
            self._error = error

    @staticmethod
    def _warm_orders(home: Path) -> None:
        """The order modules the walk's notice needs, and the look-up table brought
        up to date (only for a home with an order book)."""
        from ...errors import RecoverError
        from ...orders import customers  # noqa: F401 (for the notice before step 1)
        from ...store.ordercache import OrderCache

        with contextlib.suppress(RecoverError, OSError), OrderCache(home) as cache:
            cache.fresh()

    def wait(self) -> None:
        """Wait until it is done (starting it if it was not); raise what it raised."""
        self.start()
        assert self._thread is not None
        self._thread.join()
        if self._error is not None:
            raise self._error

    def playbook(self, entry: Entry) -> Playbook:
        """The model of the chosen playbook."""
        self.wait()
        built = self._built
        return built[1] if built is not None and built[0] is entry else rebuild(entry)

    def finish(self) -> None:
        """Let the thread end before the command does (an interpreter shutting down
        under a thread that is still importing is never safe)."""
        if self._thread is not None:
            self._thread.join()


class _NewCase:
    """The case about to start, as the detail prompts fill it in (see
    :class:`~recovery_cli.cli.views.screen.Details`): the playbook chosen, the details
    so far. It is written when :meth:`live` is first called: after a pick from the
    menu, else with the first detail typed, a stop, or the end of the details; each
    detail after that is saved as soon as it is typed. The store it is written to is
    opened then, and closed with ``stack``."""

    def __init__(
        self, home: Path, settings: Settings, given: dict[str, Detail], stack: contextlib.ExitStack
    ) -> None:
        from ...orders import has_orders

        self.home = home
        self.settings = settings
        self.values: dict[str, object] = dict(given)
        self._given = set(given)  # as options: an order fills the others
        self._orders = has_orders(home)
        self.loader = _Loader(home if self._orders else None)
        self.entry: Entry | None = None
        self._stack = stack
        self._live: LiveWalk | None = None
        self._currency: str | None = None
        self._cache: OrderCache | None = None
        self._order_ref: str | None = None  # the reference of the order used, if one was
        self.mail: MailIn | None = None  # the email the case starts from, if one
        stack.callback(self.loader.finish)

    @property
    def currency(self) -> str:
        """The currency the case will have: its order's, else the settings'."""
        return self._currency or self.settings.currency

    @property
    def has_orders(self) -> bool:
        """Whether orders were imported into the home."""
        return self._orders

    def orders_for(self, text: str) -> list[Order]:
        """The orders ``text`` names; an email already known narrows an order
        reference's matches to that customer's. A look-up that fails finds nothing:
        the call goes on as without orders."""
        if not self._orders:
            return []
        from ...errors import RecoverError
        from ...store.ordercache import OrderCache

        if self._cache is None:
            self._cache = self._stack.enter_context(OrderCache(self.home))
        try:
            return matching_orders(self._cache, text, str(self.values.get("email") or ""))
        except (RecoverError, OSError):
            return []

    def use_order(self, order: Order) -> None:
        """The details (and the currency) an imported order gives, saved."""
        from ...orders.summary import details_of

        details, self._currency = details_of(order)
        # What was given as an option stays; the order's own spelling of its
        # reference replaces the one typed.
        details = {k: v for k, v in details.items() if k not in self._given or k == "order"}
        self.values.update(details)
        self._order_ref = str(details["order"])
        if self._live is None:
            self.live()
        else:
            self._live.set_details(details, self._currency, clock.now())

    def prepare(self) -> None:
        """A prompt is going up: the loader starts (once)."""
        self.loader.start()

    def choose(self, entry: Entry) -> None:
        """The playbook the case will walk."""
        self.entry = entry
        self.loader.want(entry)

    def ready(self) -> None:
        """Wait for the loader."""
        self.loader.wait()

    def shown(self, key: str) -> str:
        """A detail as it stands, as text."""
        value = self.values.get(key)
        return "" if value is None else str(value)

    def set(self, key: str, value: Detail) -> None:
        """One detail, as typed and checked (None: blank again), saved: with the case
        written now if it was not yet."""
        if value is None:
            value = None if key == "order_value" else ""
        self.values[key] = value
        if key == "order" and self._order_ref is not None and value != self._order_ref:
            # Another order typed by hand: what the imported one brought goes.
            self._order_ref = None
            blank: dict[str, object] = {"order_date": None, "items": [], "platform": ""}
            self.values.update(blank)
            if self._live is not None:
                self._live.set_details({**blank, key: value}, None, clock.now())
                return
        if self._live is None:
            self.live()
        else:
            self._live.set_detail(key, value, clock.now())

    def live(self) -> LiveWalk:
        """The case's walk, the case written now if it was not yet."""
        if self._live is None:
            assert self.entry is not None
            playbook = self.loader.playbook(self.entry)
            from ...walking import start_walk

            store = self._stack.enter_context(open_store(self.home))
            self._live = start_walk(
                store,
                playbook,
                self.values,
                self.settings,
                clock.now(),
                self._currency,
                self.mail,
            )
        return self._live


def _offer_close(out: Console, asker: Prompter, store: Store, case: Case) -> None:
    """When the walk reached its end, offer to record the outcome there and then."""
    from ... import casework
    from ..views import forms

    if case.walk_completed_at is None:
        return
    outcome = forms.offer_outcome(out, asker, case)
    if outcome is not None:
        casework.close_case(store, case, outcome, keep_follow_ups=True, now=clock.now())
        out.print(Text(forms.outcome_line(case), style="green"))


def _save_answers(path: Path | None, case: Case, playbook: Playbook) -> None:
    """Write the walk's answers (also after a pause: a partial walk is a template too)."""
    if path is not None:
        from ... import answers as answering

        answering.save(path, answering.from_case(case, playbook))


def resume(ctx: typer.Context, case_id: ResumeId = None) -> None:
    """Carry on with a paused or interrupted case at its first unanswered step."""
    from ... import casework, walking
    from ...store import parse_case_id

    state: State = ctx.obj
    out = console()
    home = ensure_home(state.home)
    with open_store(home) as store:
        wanted = (
            parse_case_id(case_id) if case_id is not None else walking.latest_unfinished_id(store)
        )
        with casework.holding(store, wanted) as case:
            _resume(out, store, case, home)


def _resume(out: Console, store: Store, case: Case, home: Path) -> None:
    """A held case on screen again, from its first unanswered step."""
    from ... import walking
    from ...playbooks.catalog import load_catalog
    from ...walk import Walk

    if case.walk_completed_at is not None:
        out.print(f"Case {case.id} was already walked to the end. Details: recover show {case.id}")
        return
    playbook = walking.playbook_of(case, load_catalog(home))
    asker = prompting.open_prompter(out, command="resume")
    walk = Walk(playbook, case, load_settings(home).as_dict())
    notes = walking.record_resume(store, walk, clock.now())
    if notes:
        out.print(resume_notes(notes))
    out.print(f"Resuming case {case.id} · {walk.playbook.title}")
    screen = WalkScreen(out, asker)
    from ..views import notices

    screen.worth = notices.worth(home, case)
    screen.run(walking.LiveWalk(store, walk))
    _reply(out, asker, store, case, walk.playbook)
    _offer_close(out, asker, store, case)


def _warn_broken(catalog: Listing[Entry], *, skip: str | None = None) -> None:
    """One line per playbook that failed to load (not the one about to be reported)."""
    for error in catalog.broken:
        if skip is not None and error is catalog.error_for(skip):
            continue
        first = error.problems[0]
        more = len(error.problems) - 1
        extra = f" (and {more} more)" if more else ""
        typer.echo(f"Warning: {first}{extra}. That playbook is not offered.", err=True)
