"""The walk on screen: one step at a time, read through the prompter. The decisions
live in :mod:`recovery_cli.walk`, and every answer is saved by the
:class:`~recovery_cli.walking.LiveWalk` it is handed to; this module only draws and
reads.

A new case's playbook menu and its first customer prompt come up before the case and
walk models (Pydantic) are imported: ``recover new`` has them loaded on a thread of
its own meanwhile (see :mod:`recovery_cli.cli.commands.walk`). So this module imports
at its top only what the menu and the detail prompts need; what reading an answer
and drawing a step need is imported where it is used, once :meth:`Details.ready`
says it is loaded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, NoReturn, Protocol, TypeVar

from rich.console import Console, Group
from rich.text import Text

from ... import clock, values
from ...errors import NotFoundError, WalkInterrupted
from ...kinds import CUSTOMER_FIELDS, parse_customer_field
from ...values import local_time
from ..console import heading, heading_beside, stopwatch
from ..plain import Column, Output, Table
from ..prompter import Interrupted, Prompter

if TYPE_CHECKING:
    from rich.table import Table as Grid

    from ...answers import Answers
    from ...case import Case
    from ...orders.book import Order
    from ...playbooks.cache import Entry, Listing
    from ...playbooks.model import Playbook
    from ...walk import StepView, Walk
    from ...walking import LiveWalk

T = TypeVar("T")

_TYPE_HINTS = {"money": " (amount)", "number": " (number)"}
_DETAIL_HINT = "Enter: skip · :back · :pause · :help"
# The customer details a new case asks for, in order, with their prompts (from
# ``kinds``: the first is on screen before the case models are imported).
DETAILS = CUSTOMER_FIELDS
# The details an imported order fills (the prompts it saves), and those at whose
# prompt an order reference or an email is looked up.
FROM_ORDER = ("name", "email", "order", "order_value")
LOOKED_UP = ("name", "email", "order")


def _label(name: str, style: str) -> Text:
    return Text(f"{name:<5}", style=style)


def _shortened(text: str, lines: int = 12) -> str:
    """The first lines of a long email: a step stays on one screen."""
    kept = text.splitlines()
    if len(kept) <= lines:
        return text
    return "\n".join([*kept[:lines], f"[… {len(kept) - lines} more lines]"])


class Details(Protocol):
    """The customer details of a case about to start, as the detail prompts fill them
    in: the case is written the first time there is something to keep."""

    @property
    def currency(self) -> str:
        """The currency of the order value."""
        ...

    def prepare(self) -> None:
        """A prompt is about to go up: start loading what the walk needs."""
        ...

    def ready(self) -> None:
        """Wait until what reading an answer needs is loaded."""
        ...

    def shown(self, key: str) -> str:
        """A detail as it stands, as text (blank: ``""``)."""
        ...

    def set(self, key: str, value: str | Decimal | None) -> None:
        """A detail as typed and checked (None: blank again), saved."""
        ...

    def live(self) -> LiveWalk:
        """The case's walk: the case written now, if it was not yet."""
        ...

    @property
    def has_orders(self) -> bool:
        """Whether there is an order book to look the customer up in."""
        ...

    def orders_for(self, text: str) -> list[Order]:
        """The imported orders ``text`` names (an order reference, or an email's
        orders), newest first; none without an order book."""
        ...

    def use_order(self, order: Order) -> None:
        """Fill the details from an imported order (and the case's currency), saved."""
        ...


class WalkScreen:
    """Draws steps on ``console`` and reads answers through ``prompter``."""

    def __init__(
        self, console: Console, prompter: Prompter, prefill: Answers | None = None
    ) -> None:
        self.console = console
        self.prompter = prompter
        self.prefill = prefill
        self._prefilled: set[str] = set()
        self.started = time.monotonic()
        # What the customer's imported orders add up to, shown beside the goodwill
        # limit on offer steps ("": no orders).
        self.worth = ""

    # -- before the case exists ------------------------------------------------------
    def choose_playbook(
        self,
        listing: Listing[Entry],
        wanted: str | None,
        *,
        on_screen: Callable[[], None] | None = None,
    ) -> Entry:
        """The playbook named by ``--playbook``, or one picked from a numbered menu
        (``on_screen`` is called as its prompt goes up)."""
        if wanted is not None:
            return listing.find(wanted)
        menu = listing.ordered()
        if not menu:
            raise NotFoundError("no playbook could be loaded, so there is nothing to walk")
        out = Output()
        out.line("Which playbook fits this call?", "bold")
        table = Table(
            [Column(right=True, style="bold"), Column(wrap=True, style="bold"), Column(wrap=True)],
            headers=False,
        )
        for number, entry in enumerate(menu, start=1):
            table.add(f"{number:>2}", entry.title, (entry.summary, "dim"))
        out.table(table)
        out.flush()

        def parse(line: str) -> Entry:
            text = line.strip()
            if text.isdigit() and 1 <= int(text) <= len(menu):
                return menu[int(text) - 1]
            found = listing.get(text)
            if found is None:
                raise ValueError(f"Type a number from 1 to {len(menu)}.")
            return found

        if on_screen is not None:
            on_screen()
        return self._ask_until_valid(f"Playbook number (1-{len(menu)}): ", parse, before_case=True)

    def _ask_until_valid(
        self, prompt: str, parse: Callable[[str], T], *, before_case: bool = False
    ) -> T:
        while True:
            try:
                line = self.prompter.ask(prompt)
            except Interrupted as stop:
                if before_case:
                    raise WalkInterrupted(
                        "Stopped before a case was started; nothing needed saving.",
                        exit_code=stop.exit_code,
                    ) from None
                raise
            try:
                return parse(line)
            except ValueError as exc:
                self.console.print(Text(str(exc), style="yellow"))

    # -- customer details ------------------------------------------------------------
    def start(self, details: Details, given: set[str]) -> LiveWalk:
        """A new case: ask the customer details not ``given`` (the case is written the
        first time there is something to keep; a stop here leaves it saved, to
        resume), and return its walk."""
        with self.prompter.signals():
            try:
                self.ask_customer(details, given)
                return details.live()
            except Interrupted as stop:
                self._interrupted(details.live(), stop)

    def ask_customer(self, details: Details, given: set[str]) -> None:
        """Ask each detail not given on the command line. Enter or :skip leaves one
        as it is (blank, the first time), :back returns to the previous one with its
        value on the line to edit (erased, the detail is blank again); each is saved
        as soon as it is typed. With an order book, an order reference or an email
        (typed, or given as --order / --email) fills the card from the order, once the
        seller confirms it."""
        if details.has_orders and given & {"order", "email"}:
            query = details.shown("order") or details.shown("email")
            if self.order_card(details, query) == "filled":
                given = given | set(FROM_ORDER)
        keys = [key for key in DETAILS if key not in given]
        if keys:
            self.console.print(Text("Customer details (Enter skips any of them)", style="bold"))
        i = 0
        while i < len(keys):
            key = keys[i]
            earlier = details.shown(key)
            suffix = f" ({details.currency})" if key == "order_value" else ""
            label = DETAILS[key]
            if key == "name" and details.has_orders:
                label = "Name, email or order"
            details.prepare()
            line = self.prompter.ask(f"{label}{suffix}: ", prefill=earlier).strip()
            details.ready()
            moved = self._detail(details, key, earlier, line)
            if moved is None:  # filled from an order: on to what it does not fill
                later = [n for n, k in enumerate(keys) if n > i and k not in FROM_ORDER]
                i = later[0] if later else len(keys)
            else:
                i = max(0, i + moved)

    def _detail(self, details: Details, key: str, earlier: str, typed: str) -> int | None:
        """What a line typed at a detail prompt does; how many details to move on
        (-1: back, 0: ask this one again, 1: the next; None: the card was filled
        from an order)."""
        from ...walk import command_after, parse_command

        line = command_after(earlier, typed)
        command = parse_command(line)
        if command == "pause":
            self._pause(details.live())
        if command == "help":
            self._help()
            return 0
        if command == "back":
            return -1
        if command == "unknown":
            self.console.print(Text(f"Unknown command. {_DETAIL_HINT}", style="yellow"))
            return 0
        if command is None and line.strip() != earlier:
            return self._typed_detail(details, key, earlier, line)
        return 1

    def _typed_detail(self, details: Details, key: str, earlier: str, line: str) -> int | None:
        """A detail typed: saved at once (nothing typed is lost), then, with an order
        book, looked up: an order reference or an email that matches fills the card."""
        field = _field_of(line) if key == "name" and details.has_orders else key
        problem: ValueError | None = None
        try:
            value = parse_customer_field(field, line)
        except ValueError as exc:
            problem = exc
        else:
            if value is not None or earlier:
                details.set(field, value)
        if details.has_orders and key in LOOKED_UP:
            done = self.order_card(details, line)
            if done == "filled":
                return None
            if done == "back":
                return 0
        if problem is not None:
            self.console.print(Text(f"{problem} (Enter skips)", style="yellow"))
            return 0
        # An email or an order reference typed where the name is asked: ask the name still.
        return 0 if field != key else 1

    def order_card(self, details: Details, text: str) -> str:
        """Look ``text`` up in the order book; on a match (picked from a short list,
        newest first, when there are several), show the card and fill the details
        once the seller confirms: ``filled``, ``declined`` (also: no match) or
        ``back`` (``:back`` typed at the list or the card). ``:pause`` and ``:help``
        work there as at every prompt."""
        from .orders import order_card, order_choice

        text = text.strip()
        found = details.orders_for(text) if text else []
        if not found:
            return "declined"
        order = found[0]
        if len(found) > 1:
            self.console.print(order_choice(found))
            picked = self._ask_at_card(
                details,
                f"Which order? (1-{len(found)}, Enter: none of these): ",
                lambda line: _pick(line, len(found)),
            )
            if picked in ("back", None):
                return "back" if picked == "back" else "declined"
            assert isinstance(picked, int)
            order = found[picked]
        self.console.print(order_card(order))
        answer = self._ask_at_card(
            details, "Use these details? (Enter: yes · n: type them): ", _yes_or_no
        )
        if answer == "back":
            return "back"
        if answer is not True:
            return "declined"
        details.use_order(order)
        return "filled"

    def _ask_at_card(self, details: Details, prompt: str, parse: Callable[[str], object]) -> object:
        """Ask until ``parse`` takes the line; ``back`` for :back, :pause pauses."""
        from ...walk import parse_command

        while True:
            line = self.prompter.ask(prompt)
            command = parse_command(line)
            if command == "pause":
                self._pause(details.live())
            if command == "back":
                return "back"
            if command == "help":
                self._help()
                continue
            try:
                return parse(line)
            except ValueError as exc:
                self.console.print(Text(str(exc), style="yellow"))

    # -- the walk --------------------------------------------------------------------
    def run(self, live: LiveWalk, *, before_steps: Callable[[], None] | None = None) -> None:
        """Walk to the end, or until paused or interrupted (then raise WalkInterrupted);
        ``before_steps`` runs once, before the first step."""
        walk = live.walk
        live.settle(clock.now())
        with self.prompter.signals():
            try:
                if before_steps is not None:
                    before_steps()
                while not walk.finished:
                    self._step(live)
            except Interrupted as stop:
                self._interrupted(live, stop)
        self.show_summary(walk)

    def _interrupted(self, live: LiveWalk, stop: Interrupted) -> NoReturn:
        live.stop(f"interrupted ({stop.reason})", clock.now())
        raise WalkInterrupted(
            f"Stopped. Case {live.case.id} is saved with every answered step.",
            exit_code=stop.exit_code,
            hint=f"Resume with: recover resume {live.case.id}",
        ) from None

    def _step(self, live: LiveWalk) -> None:
        walk = live.walk
        view = walk.view()
        walk.begin(clock.now())
        self._draw(view, walk.case.currency, walk.playbook.goodwill_limit)
        auto = self._from_file(walk)
        while True:
            if auto is not None:
                line, auto = auto, None
                self.console.print(Text(f"{self._prompt(view)}{line}  (answers file)", style="dim"))
                reply = live.submit(line, clock.now())
            else:
                line = self.prompter.ask(self._prompt(view), prefill=view.prefill or "")
                reply = live.submit(line, clock.now(), prefilled=view.prefill is not None)
            for warning in reply.warnings:
                self.console.print(Text(f"! {warning}", style="bold yellow"))
            if reply.kind == "invalid":
                self.console.print(Text(reply.message, style="yellow"))
                continue
            if reply.kind == "help":
                self._help()
                continue
            if reply.kind == "pause":
                self._pause(live)
            return

    def _from_file(self, walk: Walk) -> str | None:
        """The answers file's line for this step, once (going back prompts instead)."""
        step = walk.current
        if self.prefill is None or step is None or step.id in self._prefilled:
            return None
        self._prefilled.add(step.id)
        try:
            return self.prefill.line_for(step)
        except ValueError as exc:
            self.console.print(Text(f"Answers file: {exc}", style="yellow"))
            return None

    def _help(self) -> None:
        from ...walk import COMMANDS

        for command, meaning in COMMANDS.items():
            self.console.print(Text(f"  {command:<8} {meaning}"))

    def _pause(self, live: LiveWalk) -> NoReturn:
        live.stop("paused", clock.now())
        raise WalkInterrupted(
            f"Paused. Case {live.case.id} is saved.",
            exit_code=0,
            hint=f"Resume with: recover resume {live.case.id}",
        )

    def _prompt(self, view: StepView) -> str:
        """The question, with the answers it takes and its default: what an empty
        line answers (with an earlier answer on the line, Enter sends that; erased,
        the line is empty and the default stands)."""
        from .forms import yes_no_hint

        default = view.default
        if view.choices:
            hint = f" (1-{len(view.choices)})" + (f" [{default}]" if default else "")
        elif view.capture == "yesno":
            hint = yes_no_hint({"yes": True, "no": False}.get(default or ""))
        else:
            hint = _TYPE_HINTS.get(view.capture, "")
        return f"{view.prompt}{hint}: "

    def _draw(self, view: StepView, currency: str, limit: str | None = None) -> None:
        from rich.table import Table as Grid

        elapsed = stopwatch(time.monotonic() - self.started)
        self.console.print()
        self.console.print(
            heading_beside(
                self.console,
                f"Step {view.number} of {view.total} · {view.title}",
                f"⏱ {elapsed} on call",
                style="cyan",
            )
        )
        grid = Grid.grid(padding=(0, 1))
        grid.add_column(no_wrap=True)
        grid.add_column()
        if view.mail_text:
            grid.add_row(_label("EMAIL", "bold yellow"), Text(_shortened(view.mail_text)))
        if view.say:
            label = "WRITE" if view.written else "SAY"
            grid.add_row(_label(label, "bold green"), Text(view.say, style="bold"))
        if view.do:
            grid.add_row(_label("DO", "bold blue"), Text(view.do))
        if view.follow_up:
            grid.add_row(
                _label("LATER", "bold magenta"),
                Text(f"Follow up after {view.follow_up_after}: {view.follow_up}"),
            )
        parts: list[Grid | Text] = [grid]
        if view.choices:
            for number, choice in enumerate(view.choices, start=1):
                parts.append(Text(f"  {number}. {choice}"))
        for offer in view.offers:
            line = Text(f"  {offer.number}. ")
            line.append(offer.label, style="bold" if offer.chosen else "")
            if offer.amount is not None:
                line.append(f"  {values.format_money(offer.amount, currency)}")
            if offer.kind:
                line.append(f"  ({offer.kind})", style="dim")
            if offer.chosen:
                line.append("  ✓ chosen", style="green")
            parts.append(line)
        if view.offers and (limit or self.worth):
            beside = (
                [f"Goodwill limit {values.format_money(Decimal(limit), currency)}"] if limit else []
            )
            if self.worth:
                beside.append(f"this customer: {self.worth}")
            parts.append(Text(" · ".join(beside), style="dim"))
        if view.previous in ("skipped", "declined"):
            parts.append(Text(f"Before: {view.previous}", style="dim"))
        parts.append(Text(view.hint, style="dim"))
        self.console.print(Group(*parts))

    # -- the end ---------------------------------------------------------------------
    def show_summary(self, walk: Walk) -> None:
        """What was given and promised, and where the case is."""
        from ...case import STATUS_LABELS

        case = walk.case
        summary = walk.summary()
        out = self.console
        out.print()
        out.print(heading(out, f"Case {case.id} · walk complete", style="green"))
        if summary.remedies:
            out.print(Text("Remedies", style="bold"))
            for remedy in summary.remedies:
                cost = (
                    values.format_money(remedy.amount, remedy.currency)
                    if remedy.amount is not None
                    else "no set cost"
                )
                out.print(_bullet(f"{remedy.label} — {cost}"))
            total = Text(f"  Total: {values.format_money(summary.total, case.currency)}")
            if summary.goodwill_limit is not None:
                limit = values.format_money(summary.goodwill_limit, case.currency)
                total.append(f" (goodwill limit {limit})")
                if summary.total > summary.goodwill_limit:
                    total.append("  above the limit", style="bold yellow")
            out.print(total)
        else:
            out.print(Text("No remedies recorded."))
        if summary.follow_ups:
            out.print(Text("Promised follow-ups", style="bold"))
            for due, message in summary.follow_ups:
                out.print(_bullet(f"{local_time(due)}: {message}"))
        if summary.notes:
            out.print(Text("Noted on the call", style="bold"))
            for title, note in summary.notes:
                out.print(_bullet(f"{title}: {note}"))
        if summary.declined:
            out.print(Text(f"Declined: {', '.join(summary.declined)}", style="dim"))
        if summary.skipped:
            out.print(Text(f"Skipped: {', '.join(summary.skipped)}", style="dim"))
        out.print(Text(f"Status: {STATUS_LABELS[case.status]}. Details: recover show {case.id}"))


def _field_of(line: str) -> str:
    """Where a line typed at the first prompt goes when no order matched it: an email
    to the email, an order reference (``#1042``) to the order, anything else is a name."""
    text = line.strip()
    if "@" in text and " " not in text:
        return "email"
    if text.startswith("#"):
        return "order"
    return "name"


def _yes_or_no(line: str) -> bool:
    text = line.strip().casefold()
    if text in ("", "y", "yes"):
        return True
    if text in ("n", "no"):
        return False
    raise ValueError("Enter uses these details; n types them by hand.")


def _pick(line: str, count: int) -> int | None:
    text = line.strip()
    if not text:
        return None
    if text.isdigit() and 1 <= int(text) <= count:
        return int(text) - 1
    raise ValueError(f"Type a number from 1 to {count}, or Enter for none of these.")


def _bullet(text: str) -> Grid:
    """A bullet whose wrapped lines hang under its first word."""
    from rich.table import Table as Grid

    grid = Grid.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    grid.add_row("  •", Text(text))
    return grid


def started_line(case: Case, playbook: Playbook) -> Text:
    """The line that tells the operator the case exists (and its id, to read out)."""
    return Text(f"Case {case.id} started · {playbook.title}", style="bold green")


def resume_notes(notes: list[str]) -> Group:
    """Warnings shown when resuming a case whose playbook changed."""
    return Group(*(Text(f"! {note}", style="yellow") for note in notes))
