"""Case models and their state changes. No I/O: the store reads and writes them.

A case file is plain JSON (readable with ``jq``); money is a decimal string, times are
ISO 8601 in UTC. Fields this version does not know are kept on load and written back
unchanged, so a newer tool's additions survive an older tool's save.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from .kinds import (
    CUSTOMER_FIELDS,
    HAPPY_LABELS,
    OUTCOMES,
    SCHEMA_VERSION,
    STATUS_LABELS,
    Answer,
    FollowUpResult,
    Happy,
    OutcomeResult,
    Status,
    StepStatus,
    answer_words,
    parse_customer_field,
)

# Re-exported: the words of a case live in .kinds, importable without Pydantic.
__all__ = [
    "CUSTOMER_FIELDS",
    "HAPPY_LABELS",
    "OUTCOMES",
    "SCHEMA_VERSION",
    "STATUS_LABELS",
    "Answer",
    "Case",
    "Customer",
    "Event",
    "FollowUpRecord",
    "FollowUpResult",
    "Happy",
    "MailAttachment",
    "MailIn",
    "MailOut",
    "MailThread",
    "Outcome",
    "OutcomeResult",
    "PlaybookRef",
    "Remedy",
    "Status",
    "StepRecord",
    "StepStatus",
    "case_to_json",
    "new_case",
    "parse_customer_field",
]

# What a case file may hold for a time and an amount: case files always carry UTC times
# and cents, so a time without a zone or an amount of absurd size means the file was
# damaged or made by hand, and it is reported as such rather than crashing a view.
Moment = AwareDatetime
Money = Annotated[Decimal, Field(max_digits=15, decimal_places=2)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow")


# What a customer takes from an imported order beyond the details typed on a call.
ORDER_FACTS = ("order_date", "items", "platform")


class Customer(_Record):
    """Who is upset; every field may be left blank on the call. The order's date, its
    items and its platform come from an imported order (``recover orders import``)."""

    name: str = ""
    email: str = ""
    order: str = ""
    order_value: Money | None = None
    channel: str = ""
    order_date: Moment | None = None
    items: list[str] = Field(default_factory=list)
    platform: str = ""

    @model_serializer(mode="wrap")
    def _without_blank_order_facts(self, handler: SerializerFunctionWrapHandler) -> Any:
        # A case whose customer came from no imported order is written as before.
        data = handler(self)
        if isinstance(data, dict):
            for key in ORDER_FACTS:
                if data.get(key) in (None, [], ""):
                    data.pop(key, None)
        return data


class PlaybookRef(_Record):
    """The playbook and the exact version (content hash) the case was walked with.

    ``hash`` is the version in use now; when a case is resumed with an edited
    playbook, the versions walked before are kept, oldest first, in ``history``.
    """

    id: str
    title: str
    hash: str
    history: list[str] = Field(default_factory=list)


class StepRecord(_Record):
    """What happened at one step: an answer, a note, done, skipped, or (an offer
    step) declined: every offer was turned down, so ``answer`` is an empty list."""

    id: str
    title: str
    status: StepStatus
    type: str = "note"
    key: str | None = None
    answer: Answer | None = None
    note: str = ""
    started_at: Moment
    ended_at: Moment


class Remedy(_Record):
    """Something given to the customer; ``amount`` is None when it costs nothing set."""

    step: str
    offer: str
    label: str
    kind: str | None = None
    amount: Money | None = None
    currency: str


class FollowUpRecord(_Record):
    """A follow-up promised on the call (``step`` set) or added later (``step`` None),
    and once done, what came of it."""

    id: int
    step: str | None = None
    due_at: Moment
    message: str
    done_at: Moment | None = None
    result: FollowUpResult | None = None
    happy: Happy | None = None
    note: str = ""


class Outcome(_Record):
    """How the case ended."""

    result: OutcomeResult
    satisfaction: int | None = Field(default=None, ge=1, le=5)
    root_cause: str = ""
    cause_tag: str = ""
    prevention: str = ""
    prevention_done_at: Moment | None = None
    recorded_at: Moment | None = None


class Event(_Record):
    """An entry in the case's log: created, paused, resumed, completed..."""

    at: Moment
    event: str
    detail: str = ""


class MailAttachment(_Record):
    """A file that came with a message: noted, never copied into the case."""

    name: str = ""
    size: int = 0
    type: str = ""


class MailIn(_Record):
    """A message from the customer: the one the case started from, or a later one
    in the thread (``text`` kept as a note)."""

    message_id: str = ""
    digest: str = ""  # sha256 of the message as given: the same message, even without an id
    subject: str = ""
    date: Moment | None = None
    sender: str = ""
    name: str = ""
    text: str = ""
    attachments: list[MailAttachment] = Field(default_factory=list)
    added_at: Moment


MailVia = Literal["smtp", "draft", "mail client"]
MailStatus = Literal["sending", "sent", "not_sent", "drafted", "opened"]


class MailOut(_Record):
    """A message to the customer (the reply, or a follow-up's message) and how it
    went: recorded as ``sending`` before it goes, ``sent`` once the server took it,
    ``not_sent`` when it failed (its draft kept); ``drafted`` or ``opened`` when it
    was handed to a mail client, which sends it."""

    message_id: str
    what: Literal["reply", "follow-up"]
    follow_up: int | None = None
    to: str
    subject: str
    via: MailVia
    status: MailStatus
    at: Moment
    sent_at: Moment | None = None
    error: str = ""
    draft: str = ""


class MailThread(_Record):
    """The case's mail: what came in, what went out, and the reply as last edited."""

    messages: list[MailIn] = Field(default_factory=list)
    sent: list[MailOut] = Field(default_factory=list)
    reply: str = ""

    def message_ids(self) -> list[str]:
        """Every Message-ID of the thread, received and sent."""
        found = [m.message_id for m in self.messages] + [m.message_id for m in self.sent]
        return [i for i in found if i]

    def lookup_keys(self) -> list[str]:
        """What finds this case from a message: every Message-ID, and the digest of
        every message received (``sha256:...``), for a message that has no id."""
        return self.message_ids() + [f"sha256:{m.digest}" for m in self.messages if m.digest]

    def latest_out(self, what: str, follow_up: int | None = None) -> MailOut | None:
        """The last attempt to send the reply (or follow-up ``follow_up``)."""
        tries = [m for m in self.sent if m.what == what and m.follow_up == follow_up]
        return tries[-1] if tries else None


class Case(_Record):
    """One recovery, from the first word on the call to the last follow-up."""

    schema_version: int = SCHEMA_VERSION
    id: str
    revision: int = 0
    status: Status = "open"
    created_at: Moment
    updated_at: Moment
    walk_completed_at: Moment | None = None
    closed_at: Moment | None = None
    currency: str = "USD"
    customer: Customer = Field(default_factory=Customer)
    playbook: PlaybookRef
    steps: list[StepRecord] = Field(default_factory=list)
    remedies: list[Remedy] = Field(default_factory=list)
    follow_ups: list[FollowUpRecord] = Field(default_factory=list)
    outcome: Outcome | None = None
    log: list[Event] = Field(default_factory=list)
    mail: MailThread | None = None

    @model_serializer(mode="wrap")
    def _without_empty_mail(self, handler: SerializerFunctionWrapHandler) -> Any:
        # A case that never saw an email is written as before.
        data = handler(self)
        if isinstance(data, dict) and data.get("mail", ...) is None:
            data.pop("mail")
        return data

    # -- queries -----------------------------------------------------------------------
    def record(self, step_id: str) -> StepRecord | None:
        """The record of a step, if it has one."""
        return next((r for r in self.steps if r.id == step_id), None)

    def answers(self) -> dict[str, Answer]:
        """Captured answers by key: ask keys, and offer step ids -> chosen offer ids."""
        return {
            r.key: r.answer
            for r in self.steps
            if r.key is not None and r.status == "answered" and r.answer is not None
        }

    def answer_text(self, record: StepRecord) -> str:
        """A step's answer in words: yes/no, chosen offers by their labels (as
        rendered when chosen), or the text typed; the note for a step with none."""
        labels = {r.offer: r.label for r in self.remedies if r.step == record.id}
        return answer_words(record.status, record.answer, record.note, labels)

    def remedy_total(self) -> Decimal:
        """What the remedies cost, in the case's currency."""
        return sum((r.amount for r in self.remedies if r.amount is not None), Decimal("0"))

    def pending_follow_ups(self) -> list[FollowUpRecord]:
        """Follow-ups not yet done, soonest first."""
        return sorted((f for f in self.follow_ups if f.done_at is None), key=lambda f: f.due_at)

    def follow_up(self, number: int | None = None) -> FollowUpRecord | None:
        """Follow-up ``number``, or without one the soonest still to do."""
        if number is None:
            pending = self.pending_follow_ups()
            return pending[0] if pending else None
        return next((f for f in self.follow_ups if f.id == number), None)

    def last_follow_up_result(self) -> FollowUpRecord | None:
        """The follow-up done most recently (cancelled ones aside)."""
        done = [f for f in self.follow_ups if f.done_at is not None and f.result != "cancelled"]
        return max(done, key=lambda f: (f.done_at, f.id)) if done else None

    # -- state changes (the walk and casework call these, passing ``now``) ----------
    def touch(self, now: datetime) -> None:
        """Mark the case changed at ``now``."""
        self.updated_at = now

    def put_record(self, record: StepRecord, order: list[str]) -> None:
        """Add or replace a step's record, keeping records in playbook order."""
        self.steps = [r for r in self.steps if r.id != record.id]
        self.steps.append(record)
        rank = {step_id: i for i, step_id in enumerate(order)}
        self.steps.sort(key=lambda r: rank.get(r.id, len(rank)))

    def drop_step(self, step_id: str) -> None:
        """Forget everything a step recorded (its answer, remedies, follow-ups)."""
        self.steps = [r for r in self.steps if r.id != step_id]
        self.remedies = [r for r in self.remedies if r.step != step_id]
        self.follow_ups = [f for f in self.follow_ups if f.step != step_id or f.done_at]

    def set_remedies(self, step_id: str, remedies: list[Remedy]) -> None:
        """Replace the remedies chosen at one step."""
        self.remedies = [r for r in self.remedies if r.step != step_id] + remedies

    def schedule_follow_up(self, step_id: str | None, due_at: datetime, message: str) -> None:
        """Promise a follow-up; a step's earlier promise (if re-answered) is replaced."""
        if step_id is not None:
            self.follow_ups = [f for f in self.follow_ups if f.step != step_id or f.done_at]
        next_id = max((f.id for f in self.follow_ups), default=0) + 1
        self.follow_ups.append(
            FollowUpRecord(id=next_id, step=step_id, due_at=due_at, message=message)
        )

    def add_event(self, now: datetime, event: str, detail: str = "") -> None:
        """Append to the case log."""
        self.log.append(Event(at=now, event=event, detail=detail))

    def complete_walk(self, now: datetime) -> None:
        """The last step is done: the case now waits for its follow-ups (if any)."""
        if self.walk_completed_at is None:
            self.walk_completed_at = now
            self.add_event(now, "walk completed")
        self.settle_status(now)

    def settle_status(self, now: datetime) -> None:
        """Work out the status from what the case holds: awaiting follow-up while one
        is still to do; closed once the outcome is recorded or the last follow-up
        found the customer happy; open otherwise (a walk to finish, or a customer
        who is not happy and has no follow-up planned)."""
        last = self.last_follow_up_result()
        if self.pending_follow_ups():
            status: Status = "awaiting_follow_up"
        elif self.outcome is not None or (last is not None and last.happy == "yes"):
            status = "closed"
        else:
            status = "open"
        if status == "closed" and self.closed_at is None:
            self.closed_at = now
        elif status != "closed":
            self.closed_at = None
        if status != self.status:
            if status == "closed":
                self.add_event(now, "closed")
            elif self.status == "closed":
                self.add_event(now, "reopened")
            self.status = status

    def add_follow_up(self, due_at: datetime, message: str, now: datetime) -> FollowUpRecord:
        """A follow-up added after the call; it reopens a closed case."""
        self.schedule_follow_up(None, due_at, message)
        added = self.follow_ups[-1]
        self.add_event(now, "follow-up added", f"#{added.id}")
        self.touch(now)
        self.settle_status(now)
        return added

    def record_follow_up(
        self,
        number: int,
        *,
        reached: bool,
        happy: Happy | None,
        note: str,
        now: datetime,
    ) -> None:
        """What came of a follow-up (``happy`` only when the customer was reached)."""
        item = self.follow_up(number)
        if item is None:
            raise ValueError(f"case {self.id} has no follow-up {number}")
        item.done_at = now
        item.result = "reached" if reached else "not_reached"
        item.happy = happy if reached else None
        item.note = note
        stored = item.happy
        detail = f"#{number}: " + (f"happy {HAPPY_LABELS[stored]}" if stored else item.result)
        self.add_event(now, "follow-up done", detail)
        self.touch(now)
        self.settle_status(now)

    def cancel_follow_ups(self, now: datetime) -> None:
        """Drop every follow-up still to do (the case is closed without them)."""
        for item in self.pending_follow_ups():
            item.done_at = now
            item.result = "cancelled"
            self.add_event(now, "follow-up cancelled", f"#{item.id}")

    def set_outcome(self, outcome: Outcome, now: datetime) -> None:
        """Record how the case ended (replacing an earlier record, whose prevention
        stays done if its action did not change)."""
        before = self.outcome
        if (
            before is not None
            and before.prevention_done_at is not None
            and before.prevention == outcome.prevention
        ):
            outcome.prevention_done_at = before.prevention_done_at
        if before is not None and before.model_extra:
            # Fields a newer version added to the outcome survive a change made here.
            for key, value in before.model_extra.items():
                outcome.model_extra.setdefault(key, value)  # type: ignore[union-attr]
        outcome.recorded_at = now
        self.outcome = outcome
        self.add_event(now, "outcome recorded", outcome.result)
        self.touch(now)
        self.settle_status(now)

    def finish_prevention(self, now: datetime) -> None:
        """The prevention action is done."""
        if self.outcome is None or not self.outcome.prevention:
            raise ValueError(f"case {self.id} has no prevention action")
        self.outcome.prevention_done_at = now
        self.add_event(now, "prevention done")
        self.touch(now)


def new_case(
    case_id: str,
    *,
    customer: Customer,
    playbook: PlaybookRef,
    currency: str,
    now: datetime,
) -> Case:
    """A fresh case, as it is first written."""
    case = Case(
        id=case_id,
        created_at=now,
        updated_at=now,
        currency=currency,
        customer=customer,
        playbook=playbook,
    )
    case.add_event(now, "created")
    return case


def case_to_json(case: Case) -> dict[str, Any]:
    """The JSON-ready dict of a case (decimals as strings, times as ISO 8601)."""
    return case.model_dump(mode="json")
