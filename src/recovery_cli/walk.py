"""The walk engine: which step is next, what a typed line means, going back.

Pure logic over a :class:`~recovery_cli.case.Case` and a
:class:`~recovery_cli.playbooks.model.Playbook`: no terminal, no files, no clock
(callers pass ``now``). The screen shows :meth:`Walk.view`, reads a line through the
prompter and hands it to :class:`~recovery_cli.walking.LiveWalk`, which submits it
here and saves the case whenever the reply says it changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

from . import values
from .case import Answer, Case, Remedy, StepRecord, StepStatus
from .kinds import is_written
from .playbooks import placeholders
from .playbooks.model import Playbook, Step
from .playbooks.placeholders import placeholder_values
from .text import strip_controls

COMMANDS = {
    ":back": "go back one step",
    ":skip": "skip this step",
    ":pause": "stop here; the case stays open to resume later",
    ":help": "show these commands",
}
_ALIASES = {
    ":pause": "pause", ":p": "pause", ":q": "pause", ":quit": "pause",
    ":help": "help", ":h": "help", ":?": "help",
    ":back": "back", ":b": "back",
    ":skip": "skip", ":s": "skip",
}  # fmt: skip

_SHOWABLE = re.compile(r"[\w-]{1,24}")


def parse_command(line: str) -> str | None:
    """``pause``, ``help``, ``back``, ``skip``, ``unknown`` for a line starting with
    ``:``, or None for an ordinary answer."""
    text = line.strip().lower()
    if not text.startswith(":"):
        return None
    return _ALIASES.get(text, "unknown")


def command_after(earlier: str, line: str) -> str:
    """A command typed after an earlier answer left on the line (``said sorry:pause``)
    is that command; any other line is itself."""
    rest = line[len(earlier) :].strip() if earlier and line.startswith(earlier) else ""
    return rest if rest.startswith(":") and parse_command(rest) != "unknown" else line


ReplyKind = Literal["moved", "invalid", "pause", "help", "finished"]


@dataclass(frozen=True)
class Reply:
    """What a typed line did. ``changed`` tells the caller the case changed and should
    be saved."""

    kind: ReplyKind
    message: str = ""
    warnings: tuple[str, ...] = ()
    changed: bool = False


@dataclass(frozen=True)
class OfferView:
    """One remedy on the menu, rendered."""

    number: int
    id: str
    label: str
    kind: str | None
    amount: Decimal | None
    chosen: bool


@dataclass(frozen=True)
class StepView:
    """Everything the screen shows for the current step, placeholders filled."""

    step_id: str
    number: int
    total: int
    title: str
    say: str | None
    do: str | None
    capture: str
    prompt: str
    choices: tuple[str, ...] = ()
    offers: tuple[OfferView, ...] = ()
    pick: str = "many"
    follow_up: str | None = None
    follow_up_after: str | None = None
    previous: str | None = None
    required: bool = False
    prefill: str | None = None
    enter: str | None = None
    default: str | None = None
    can_back: bool = False
    written: bool = False  # ``say`` holds the step's written line (an email or chat case)
    mail_text: str | None = None  # the complaint email's words, at the listening step

    @property
    def hint(self) -> str:
        """The line under the step: what Enter does (only where it does something),
        and the commands that apply here."""
        parts = [f"Enter: {self.enter}" if self.enter else "Answer needed"]
        if self.can_back:
            parts.append(":back")
        if not self.required and self.enter != "skip":
            parts.append(":skip")
        parts += [":pause", ":help"]
        return " · ".join(parts)


@dataclass(frozen=True)
class Summary:
    """The end-of-walk recap."""

    remedies: tuple[Remedy, ...]
    total: Decimal
    goodwill_limit: Decimal | None
    follow_ups: tuple[tuple[datetime, str], ...]
    notes: tuple[tuple[str, str], ...]
    skipped: tuple[str, ...]
    declined: tuple[str, ...] = ()


def _condition_holds(expected: object, actual: Answer | None) -> bool:
    if actual is None:
        return False
    if isinstance(expected, bool):
        return actual is expected
    wanted = expected if isinstance(expected, list) else [expected]
    chosen = actual if isinstance(actual, list) else [actual]
    return any(value in chosen for value in wanted)


def complaint_step(playbook: Playbook) -> Step | None:
    """The step that records the complaint: the text question keyed ``complaint``,
    else the first text question."""
    asks = [s for s in playbook.steps if s.ask is not None and s.ask.type == "text"]
    keyed = [s for s in asks if s.ask is not None and s.ask.key == "complaint"]
    found = keyed or asks
    return found[0] if found else None


def _split_choices(text: str) -> list[str]:
    return [part for part in re.split(r"[\s,;]+", text.strip()) if part]


@dataclass
class Walk:
    """A walk through ``playbook`` that records into ``case``."""

    playbook: Playbook
    case: Case
    settings: dict[str, str] = field(default_factory=dict)
    index: int = 0
    _started: dict[str, datetime] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = self._first_pending()

    # -- where we are --------------------------------------------------------------
    @property
    def finished(self) -> bool:
        """True once every applicable step has a record."""
        return self.index >= len(self.playbook.steps)

    @property
    def current(self) -> Step | None:
        """The step on screen, or None when the walk is over."""
        return None if self.finished else self.playbook.steps[self.index]

    def applies(self, step: Step) -> bool:
        """Whether a step's ``when`` holds for the answers so far."""
        if not step.when:
            return True
        answers = self.case.answers()
        return all(_condition_holds(v, answers.get(k)) for k, v in step.when.items())

    def is_done(self, step: Step) -> bool:
        """A step counts as done when it has a record of the same kind of capture it
        asks for now (a step whose capture changed in an edited playbook is asked again)."""
        record = self.case.record(step.id)
        if record is None:
            return False
        return record.status == "skipped" or (
            record.type == step.capture_type and record.key == step.capture_key
        )

    def _first_pending(self) -> int:
        for i, step in enumerate(self.playbook.steps):
            if self.applies(step) and not self.is_done(step):
                return i
        return len(self.playbook.steps)

    def changes_since(self) -> list[str]:
        """How the playbook differs from the version this case was walked with, in the
        terms that matter for resuming. Empty when it is the same file."""
        if self.case.playbook.hash == self.playbook.digest:
            return []
        notes = ["The playbook changed since this case started; answers stay on their own steps."]
        for record in self.case.steps:
            step = self.playbook.step(record.id)
            if step is None:
                notes.append(
                    f"Step '{record.id}' is no longer in the playbook; "
                    "its answer stays in the case."
                )
            elif record.status != "skipped" and (
                record.type != step.capture_type or record.key != step.capture_key
            ):
                notes.append(f"Step '{record.id}' now asks something else; it will be asked again.")
        return notes

    # -- rendering -----------------------------------------------------------------
    def values(self) -> dict[str, str]:
        """Placeholder values: case fields, settings, and answers so far."""
        return placeholder_values(self.case, self.settings)

    def _amount(self, amount: str | None) -> Decimal | None:
        if amount is None:
            return None
        if not amount.startswith("$"):
            return Decimal(amount).quantize(values.CENT)
        name = amount.strip("${}")
        if name == "order_value":
            return self.case.customer.order_value
        answer = self.case.answers().get(name)
        return Decimal(answer) if isinstance(answer, str) else None

    def view(self) -> StepView:
        """The current step as the operator sees it."""
        step = self.current
        if step is None:
            raise RuntimeError("the walk is finished")
        filled = self.values()
        record = self.case.record(step.id)
        previous: str | None = None
        prefill = None
        mail_text = self._mail_text(step) if record is None else None
        if mail_text:
            # Enter records the email's words as the answer; the seller can edit them.
            prefill = " ".join(mail_text.split())
        chosen: set[str] = set()
        if record is not None and self.is_done(step):
            prefill = self._prefill(step, record)
            if record.status in ("skipped", "declined"):
                previous = record.status
            elif isinstance(record.answer, list):
                chosen = set(record.answer)
                previous = self.case.answer_text(record)
            elif record.answer is not None:
                previous = self.case.answer_text(record)
            elif record.note:
                previous = record.note
        offers = tuple(
            OfferView(
                number=n,
                id=o.id,
                label=placeholders.render(o.label, filled),
                kind=o.kind,
                amount=self._amount(o.amount),
                chosen=o.id in chosen,
            )
            for n, o in enumerate(step.offer, start=1)
        )
        if step.ask is not None:
            prompt = placeholders.render(step.ask.prompt, filled)
        elif step.offer:
            prompt = "Pick one (number)" if step.pick == "one" else "Pick (numbers, like 1,3)"
        else:
            prompt = "Note (optional)"
        written = is_written(self.case.customer.channel)
        line = (step.write if step.write is not None else step.say) if written else step.say
        return StepView(
            step_id=step.id,
            number=self.index + 1,
            total=len(self.playbook.steps),
            title=placeholders.render(step.title, filled),
            say=placeholders.render(line, filled) if line else None,
            do=placeholders.render(step.do, filled) if step.do else None,
            capture=step.capture_type,
            prompt=prompt,
            choices=tuple(step.ask.choices) if step.ask is not None else (),
            offers=offers,
            pick=step.pick,
            follow_up=placeholders.render(step.follow_up.say, filled) if step.follow_up else None,
            follow_up_after=step.follow_up.after if step.follow_up else None,
            previous=previous,
            required=bool(step.ask and step.ask.required),
            prefill=prefill,
            enter="keep" if prefill is not None else self._enter(step),
            default=self._default_text(step),
            can_back=any(self.applies(s) for s in self.playbook.steps[: self.index]),
            written=written,
            mail_text=mail_text,
        )

    def _mail_text(self, step: Step) -> str | None:
        """The words of the email the case started from, for the step that records
        the complaint (the ask keyed ``complaint``, else the first text question)."""
        mail = self.case.mail
        if mail is None or not mail.messages or not mail.messages[0].text:
            return None
        return mail.messages[0].text if complaint_step(self.playbook) is step else None

    def record_mail_text(self, now: datetime) -> bool:
        """The email's words recorded as the complaint's answer, with no one to type
        them (a case filed from an email by a script); False if there is nowhere to."""
        step = complaint_step(self.playbook)
        mail = self.case.mail
        if step is None or step.ask is None or mail is None or not mail.messages:
            return False
        words = " ".join(mail.messages[0].text.split())
        if not words:
            return False
        record = StepRecord(
            id=step.id,
            title=placeholders.render(step.title, self.values()),
            status="answered",
            type=step.capture_type,
            key=step.ask.key,
            answer=words,
            started_at=now,
            ended_at=now,
        )
        self.case.put_record(record, [s.id for s in self.playbook.steps])
        self.index = self._first_pending()
        return True

    @staticmethod
    def _default_text(step: Step) -> str | None:
        """The playbook's default answer in words, if the step has one."""
        default = step.ask.default if step.ask is not None else None
        if isinstance(default, bool):
            return "yes" if default else "no"
        return default

    def _enter(self, step: Step) -> str | None:
        """What Enter on an empty line does at a step not yet answered (None: nothing,
        an answer is needed)."""
        if step.ask is not None:
            default = self._default_text(step)
            if default is not None:
                return default
            return None if step.ask.required else "skip"
        return "none of these" if step.offer else "next"

    @staticmethod
    def _prefill(step: Step, record: StepRecord) -> str:
        """An earlier answer as text to edit: what typed again gives the same answer."""
        if record.status in ("skipped", "declined"):
            return ""
        answer = record.answer
        if isinstance(answer, bool):
            return "yes" if answer else "no"
        if isinstance(answer, list):
            return ",".join(str(n) for n, o in enumerate(step.offer, start=1) if o.id in answer)
        return answer if answer is not None else record.note

    # -- input ---------------------------------------------------------------------
    def begin(self, now: datetime) -> None:
        """The current step is on screen from ``now`` (its start time)."""
        step = self.current
        if step is not None:
            self._started.setdefault(step.id, now)

    def submit(self, line: str, now: datetime, *, prefilled: bool = False) -> Reply:
        """Apply one typed line to the current step.

        ``prefilled`` says the line editor started with the step's earlier answer on
        the line (:attr:`StepView.prefill`): that text sent back unchanged keeps the
        answer, and an empty line is a new, empty answer. Without it an empty line
        keeps the earlier answer (there was nothing on the line to erase).
        """
        step = self.current
        if step is None:
            return Reply("finished")
        # Cleaned before anything is judged: a line of control characters alone is
        # empty, not an answer to a required question.
        text = strip_controls(line).strip()
        record = self.case.record(step.id)
        kept = ""
        if record is not None and self.is_done(step) and prefilled:
            kept = strip_controls(self._prefill(step, record)).strip()
            text = command_after(kept, text)
        command = parse_command(text)
        if command in ("pause", "help"):
            return Reply(command)  # type: ignore[arg-type]
        if command == "back":
            return self.back()
        if command == "skip":
            return self.skip(now)
        if command == "unknown":
            return Reply("invalid", f"Unknown command {text.split()[0]!r}. {self.view().hint}")
        if record is not None and self.is_done(step) and text == kept:
            return self._advance(now, changed=False)
        try:
            return self._apply(step, text, now)
        except ValueError as exc:
            return Reply("invalid", str(exc))

    def skip(self, now: datetime, *, force: bool = False) -> Reply:
        """Skip the current step (a required one only with ``force``: an answers
        file that lacks it is being checked and will not be saved)."""
        step = self.current
        if step is None:
            return Reply("finished")
        if step.ask is not None and step.ask.required and not force:
            return Reply("invalid", "This step needs an answer; it cannot be skipped.")
        return self._finish(step, now, status="skipped")

    def _apply(self, step: Step, text: str, now: datetime) -> Reply:
        if step.ask is not None:
            if not text and step.ask.default is not None:
                answer: Answer = step.ask.default
                return self._finish(step, now, status="answered", answer=answer)
            if not text:
                if step.ask.required:
                    raise ValueError("This step needs an answer.")
                return self._finish(step, now, status="skipped")
            return self._finish(step, now, status="answered", answer=self._parse(step, text))
        if step.offer:
            if not text:
                # Every offer turned down: recorded as such, not as a step left out.
                return self._finish(step, now, status="declined", answer=[])
            return self._choose(step, text, now)
        return self._finish(step, now, status="noted" if text else "done", note=text)

    def _parse(self, step: Step, text: str) -> Answer:
        assert step.ask is not None
        kind = step.ask.type
        if kind == "yesno":
            return values.parse_yes_no(text)
        if kind == "money":
            return str(values.parse_money(text))
        if kind == "number":
            return str(values.parse_number(text))
        if kind == "choice":
            choices = step.ask.choices
            if text.isdigit() and 1 <= int(text) <= len(choices):
                return choices[int(text) - 1]
            match = [c for c in choices if c.lower() == text.lower()]
            if not match:
                raise ValueError(f"Type a number from 1 to {len(choices)}.")
            return match[0]
        return strip_controls(text)

    def _choose(self, step: Step, text: str, now: datetime) -> Reply:
        picked: list[str] = []
        for part in _split_choices(text):
            if part.isdigit() and 1 <= int(part) <= len(step.offer):
                offer_id = step.offer[int(part) - 1].id
            elif any(o.id == part.lower() for o in step.offer):
                offer_id = part.lower()
            else:
                ids = ", ".join(o.id for o in step.offer)
                # Quote only what looks like a number or an id: anything else may be a
                # customer's words pasted in the wrong place (and end up in an error).
                shown = f"'{part}'" if _SHOWABLE.fullmatch(part) else "That"
                raise ValueError(
                    f"{shown} is not on the menu: use numbers 1 to {len(step.offer)} (or {ids})."
                )
            if offer_id not in picked:
                picked.append(offer_id)
        if step.pick == "one" and len(picked) != 1:
            raise ValueError("Pick exactly one.")
        remedies = [
            Remedy(
                step=step.id,
                offer=o.id,
                label=placeholders.render(o.label, self.values()),
                kind=o.kind,
                amount=self._amount(o.amount),
                currency=self.case.currency,
            )
            for o in step.offer
            if o.id in picked
        ]
        reply = self._finish(step, now, status="answered", answer=picked, remedies=remedies)
        return Reply(reply.kind, reply.message, self._goodwill_warnings(), reply.changed)

    def _goodwill_warnings(self) -> tuple[str, ...]:
        limit = self.playbook.goodwill_limit
        total = self.case.remedy_total()
        if limit is None or total <= Decimal(limit):
            return ()
        currency = self.case.currency
        return (
            f"Remedies now total {values.format_money(total, currency)}, above this "
            f"playbook's goodwill limit of {values.format_money(Decimal(limit), currency)}.",
        )

    def _finish(
        self,
        step: Step,
        now: datetime,
        *,
        status: StepStatus,
        answer: Answer | None = None,
        note: str = "",
        remedies: list[Remedy] | None = None,
    ) -> Reply:
        previous = self.case.record(step.id)
        started = previous.started_at if previous else self._started.get(step.id, now)
        record = StepRecord(
            id=step.id,
            title=step.title,
            status=status,
            type=step.capture_type,
            key=step.capture_key,
            answer=answer,
            note=strip_controls(note),
            started_at=started,
            ended_at=max(now, started),
        )
        self.case.put_record(record, [s.id for s in self.playbook.steps])
        self.case.set_remedies(step.id, remedies or [])
        if step.follow_up is not None:
            # A promise made with an offer step is about its offers: declined, it goes.
            if status in ("skipped", "declined"):
                self.case.follow_ups = [
                    f for f in self.case.follow_ups if f.step != step.id or f.done_at
                ]
            else:
                due = record.ended_at + values.parse_delay(step.follow_up.after)
                message = placeholders.render(step.follow_up.say, self.values())
                self.case.schedule_follow_up(step.id, due, message)
        self._prune()
        self._refresh()
        self.case.touch(now)
        return self._advance(now, changed=True)

    def _refresh(self) -> None:
        """Keep what was worked out from earlier answers in step with them: remedy
        labels and amounts, and the messages of promised follow-ups not yet done. An
        answer corrected after going back must not leave a remedy or a promise that
        quotes the old one."""
        filled = self.values()
        for remedy in self.case.remedies:
            step = self.playbook.step(remedy.step)
            offer = next((o for o in step.offer if o.id == remedy.offer), None) if step else None
            if offer is None:
                continue
            if "$" in offer.label:
                remedy.label = placeholders.render(offer.label, filled)
            if offer.amount is not None and offer.amount.startswith("$"):
                remedy.amount = self._amount(offer.amount)
        for item in self.case.follow_ups:
            step = self.playbook.step(item.step) if item.step is not None else None
            if item.done_at is None and step is not None and step.follow_up is not None:
                item.message = placeholders.render(step.follow_up.say, filled)

    def _prune(self) -> bool:
        """Forget the records of steps whose condition no longer holds (an earlier
        answer changed): no answer may stay on a step that was never asked. Dropping
        one can switch off another, so repeat until nothing changes."""
        dropped = False
        while True:
            stale = [
                step.id
                for step in self.playbook.steps
                if self.case.record(step.id) is not None and not self.applies(step)
            ]
            if not stale:
                return dropped
            for step_id in stale:
                self.case.drop_step(step_id)
            dropped = True

    def _advance(self, now: datetime, *, changed: bool) -> Reply:
        steps = self.playbook.steps
        i = self.index + 1
        while i < len(steps) and not self.applies(steps[i]):
            i += 1
        self.index = i
        if self.finished:
            self.case.complete_walk(now)
            self.case.touch(now)
            return Reply("finished", changed=True)
        return Reply("moved", changed=changed)

    def settle(self, now: datetime) -> bool:
        """Bring a loaded case in line with the playbook before walking on: drop
        records of steps that no longer apply, and complete a walk with nothing left
        to ask. True when the case changed (and should be saved)."""
        changed = self._prune()
        self.index = self._first_pending()
        if self.finished and self.case.walk_completed_at is None:
            self.case.complete_walk(now)
            changed = True
        if changed:
            self.case.touch(now)
        return changed

    def resume(self, now: datetime) -> list[str]:
        """Record that the walk goes on from here with this version of the playbook.
        Returns what changed in the playbook since the last session (empty if nothing)."""
        notes = self.changes_since()
        ref = self.case.playbook
        detail = ""
        if ref.hash != self.playbook.digest:
            detail = f"playbook {ref.hash} -> {self.playbook.digest}"
            ref.history.append(ref.hash)
            ref.hash = self.playbook.digest
            ref.title = self.playbook.title
        self.case.add_event(now, "resumed", detail)
        self.case.touch(now)
        return notes

    def back(self) -> Reply:
        """Return to the previous step that ran; its answer is offered again."""
        for i in range(self.index - 1, -1, -1):
            if self.applies(self.playbook.steps[i]):
                self.index = i
                return Reply("moved")
        return Reply("invalid", "This is the first step.")

    # -- the end -------------------------------------------------------------------
    def summary(self) -> Summary:
        """Remedies, follow-ups and notes: what was promised on the call."""
        limit = self.playbook.goodwill_limit
        return Summary(
            remedies=tuple(self.case.remedies),
            total=self.case.remedy_total(),
            goodwill_limit=Decimal(limit) if limit is not None else None,
            follow_ups=tuple((f.due_at, f.message) for f in self.case.pending_follow_ups()),
            notes=tuple(
                (r.title, self.case.answer_text(r) or r.note)
                for r in self.case.steps
                if r.status in ("answered", "noted") and r.type not in ("offer",)
            ),
            skipped=tuple(r.title for r in self.case.steps if r.status == "skipped"),
            declined=tuple(r.title for r in self.case.steps if r.status == "declined"),
        )
