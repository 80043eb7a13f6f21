"""The walk on screen: one step at a time, read through the prompter. The decisions
live in :mod:`recovery_cli.walk`, and every answer is saved by the
:class:`~recovery_cli.walking.LiveWalk` it is handed to; this module only draws and
reads."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NoReturn, TypeVar

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ... import clock, values
from ...answers import Answers
from ...case import CUSTOMER_FIELDS, STATUS_LABELS, Case, parse_customer_field
from ...errors import NotFoundError, WalkInterrupted
from ...playbooks.catalog import Catalog
from ...playbooks.model import Playbook
from ...values import local_time
from ...walk import COMMANDS, StepView, Walk, command_after, parse_command
from ...walking import LiveWalk, find_playbook
from ..console import heading, heading_beside, stopwatch
from ..prompter import Interrupted, Prompter
from .forms import yes_no_hint

T = TypeVar("T")

_TYPE_HINTS = {"money": " (amount)", "number": " (number)"}
_DETAIL_HINT = "Enter: skip · :back · :pause · :help"


def _label(name: str, style: str) -> Text:
    return Text(f"{name:<5}", style=style)


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

    # -- before the case exists ------------------------------------------------------
    def choose_playbook(self, catalog: Catalog, wanted: str | None) -> Playbook:
        """The playbook named by ``--playbook``, or one picked from a numbered menu."""
        if wanted is not None:
            return find_playbook(catalog, wanted)
        menu = catalog.ordered()
        if not menu:
            raise NotFoundError("no playbook could be loaded, so there is nothing to walk")
        grid = Table.grid(padding=(0, 2))
        for number, playbook in enumerate(menu, start=1):
            grid.add_row(
                Text(f"{number:>2}", style="bold"),
                Text(playbook.title, style="bold"),
                Text(playbook.summary, style="dim"),
            )
        self.console.print(Text("Which playbook fits this call?", style="bold"))
        self.console.print(grid)

        def parse(line: str) -> Playbook:
            text = line.strip()
            if text.isdigit() and 1 <= int(text) <= len(menu):
                return menu[int(text) - 1]
            found = catalog.get(text)
            if found is None:
                raise ValueError(f"Type a number from 1 to {len(menu)}.")
            return found

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
    def ask_customer(self, live: LiveWalk, given: set[str]) -> None:
        """Ask each detail not given on the command line. Enter or :skip leaves one
        as it is (blank, the first time), :back returns to the previous one with its
        value on the line to edit (erased, the detail is blank again); each is saved
        as soon as it is typed."""
        case = live.case
        keys = [key for key in CUSTOMER_FIELDS if key not in given]
        if keys:
            self.console.print(Text("Customer details (Enter skips any of them)", style="bold"))
        i = 0
        while i < len(keys):
            key = keys[i]
            current = getattr(case.customer, key)
            earlier = "" if current is None else str(current)
            suffix = f" ({case.currency})" if key == "order_value" else ""
            line = command_after(
                earlier,
                self.prompter.ask(f"{CUSTOMER_FIELDS[key]}{suffix}: ", prefill=earlier).strip(),
            )
            command = parse_command(line)
            if command == "pause":
                self._pause(live)
            if command == "help":
                self._help()
                continue
            if command == "back":
                i = max(0, i - 1)
                continue
            if command == "unknown":
                self.console.print(Text(f"Unknown command. {_DETAIL_HINT}", style="yellow"))
                continue
            if command is None and line.strip() != earlier:
                try:
                    value = parse_customer_field(key, line)
                except ValueError as exc:
                    self.console.print(Text(f"{exc} (Enter skips)", style="yellow"))
                    continue
                if value is not None or earlier:
                    live.set_detail(key, value, clock.now())
            i += 1

    # -- the walk --------------------------------------------------------------------
    def run(
        self,
        live: LiveWalk,
        *,
        details_given: set[str] | None = None,
        before_steps: Callable[[], None] | None = None,
    ) -> None:
        """Walk to the end, or until paused or interrupted (then raise WalkInterrupted).

        With ``details_given`` (a new case), first ask the customer details not given;
        ``before_steps`` runs once they are known, before the first step.
        """
        case, walk = live.case, live.walk
        live.settle(clock.now())
        with self.prompter.signals():
            try:
                if details_given is not None:
                    self.ask_customer(live, details_given)
                if before_steps is not None:
                    before_steps()
                while not walk.finished:
                    self._step(live)
            except Interrupted as stop:
                live.stop(f"interrupted ({stop.reason})", clock.now())
                raise WalkInterrupted(
                    f"Stopped. Case {case.id} is saved with every answered step.",
                    exit_code=stop.exit_code,
                    hint=f"Resume with: recover resume {case.id}",
                ) from None
        self.show_summary(walk)

    def _step(self, live: LiveWalk) -> None:
        walk = live.walk
        view = walk.view()
        walk.begin(clock.now())
        self._draw(view, walk.case.currency)
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
        default = view.default
        if view.choices:
            hint = f" (1-{len(view.choices)})" + (f" [{default}]" if default else "")
        elif view.capture == "yesno":
            hint = yes_no_hint({"yes": True, "no": False}.get(default or ""))
        else:
            hint = _TYPE_HINTS.get(view.capture, "")
        return f"{view.prompt}{hint}: "

    def _draw(self, view: StepView, currency: str) -> None:
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
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True)
        grid.add_column()
        if view.say:
            grid.add_row(_label("SAY", "bold green"), Text(view.say, style="bold"))
        if view.do:
            grid.add_row(_label("DO", "bold blue"), Text(view.do))
        if view.follow_up:
            grid.add_row(
                _label("LATER", "bold magenta"),
                Text(f"Follow up after {view.follow_up_after}: {view.follow_up}"),
            )
        parts: list[Table | Text] = [grid]
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
        if view.previous in ("skipped", "declined"):
            parts.append(Text(f"Before: {view.previous}", style="dim"))
        parts.append(Text(view.hint, style="dim"))
        self.console.print(Group(*parts))

    # -- the end ---------------------------------------------------------------------
    def show_summary(self, walk: Walk) -> None:
        """What was given and promised, and where the case is."""
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


def _bullet(text: str) -> Table:
    """A bullet whose wrapped lines hang under its first word."""
    grid = Table.grid(padding=(0, 1))
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
