"""Hypothesis against the walk engine and the case loader.

* A rule-based state machine walks the shipped playbooks, the test SAMPLE and one
  playbook with every kind of step, typing answers of every type (valid and not),
  :back, :skip, :pause, :help, Enter, and resuming from what a save put on disk, in any
  order, on a clock that only moves forward. After every rule the case must validate
  and round-trip, hold answers only on steps that asked for them (and still apply), keep
  remedies and promised follow-ups in step with the answers, and never go back in time.
* The loader (``store.files.parse``, ``Store.load``, ``Store.iter_stored``) gets arbitrary
  bytes and mutated valid case files: only a Case or a DamagedCaseError (a Damaged
  item) may ever come out.

Default runs are modest; ``pytest -m soak`` runs the same properties far longer.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from recovery_cli import values
from recovery_cli.case import Case, Customer, Outcome, PlaybookRef, case_to_json, new_case
from recovery_cli.errors import DamagedCaseError
from recovery_cli.playbooks import placeholders
from recovery_cli.playbooks.catalog import default_dir, load_file
from recovery_cli.playbooks.check import parse_playbook
from recovery_cli.playbooks.model import Playbook, Step
from recovery_cli.playbooks.placeholders import placeholder_values
from recovery_cli.store import Damaged, Store, Stored, encode
from recovery_cli.store.files import parse
from recovery_cli.text import strip_controls
from recovery_cli.walk import Reply, Walk
from tests.conftest import SAMPLE

EVERY_TYPE = """\
id = "every-type"
title = "Every kind of step"
goodwill_limit = "20.00"

[[steps]]
id = "listen"
ask = { key = "complaint", prompt = "What went wrong, $first_name?", required = true }

[[steps]]
id = "how-much"
ask = { key = "amount", prompt = "How much did they pay?", type = "money" }

[[steps]]
id = "how-many"
ask = { key = "count", prompt = "How many times?", type = "number" }

[[steps]]
id = "which"
ask = { key = "kind", prompt = "Kind?", type = "choice", choices = ["late", "broken", "wrong"] }

[[steps]]
id = "broken-only"
when = { kind = "broken" }
ask = { key = "fixed", prompt = "Fixed now?", type = "yesno" }

[[steps]]
id = "one"
pick = "one"
offer = [
  { id = "refund", label = "Refund $amount", kind = "refund", amount = "$amount" },
  { id = "credit", label = "Credit", kind = "credit", amount = "5.00" },
]

[[steps]]
id = "after-refund"
when = { one = "refund" }
do = "Refund $amount now."
follow_up = { after = "2d", say = "Did the refund of $amount land? ($complaint)" }

[[steps]]
id = "many"
offer = [
  { id = "bonus", label = "Bonus", kind = "bonus" },
  { id = "gift", label = "Gift for $customer", kind = "gift", amount = "$order_value" },
]

[[steps]]
id = "not-fixed"
when = { fixed = false }
say = "Sorry it is still broken."
follow_up = { after = "12h", say = "Is it fixed yet, $first_name?" }

[[steps]]
id = "close"
say = "Thanks, $customer."
follow_up = { after = "1w", say = "All good, $first_name? You chose $one and $many." }
"""


def _playbooks() -> dict[str, Playbook]:
    found = {p.stem: load_file(p, origin="default") for p in sorted(default_dir().glob("*.toml"))}
    assert len(found) == 8, sorted(found)
    found["sample"] = parse_playbook(SAMPLE.encode(), "sample.toml", stem="sample")
    found["every-type"] = parse_playbook(EVERY_TYPE.encode(), "every-type.toml")
    return found


PLAYBOOKS = _playbooks()
T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
COMMANDS = [":back", ":skip", ":pause", ":help", ":b", ":s", ":h", " :BACK ", ":bogus", ":"]

# How many inputs were fuzzed (reported at the end of the module).
FUZZED: Counter[str] = Counter()

DEFAULT = settings(max_examples=100, deadline=None, stateful_step_count=40)
# A failing walk takes minutes to shrink: the default run reports it as found (the soak
# run shrinks it to the shortest story).
DEFAULT_MACHINE = settings(
    DEFAULT, phases=[phase for phase in DEFAULT.phases if phase is not Phase.shrink]
)
SOAK = settings(
    max_examples=1500,
    deadline=None,
    stateful_step_count=80,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.fixture(scope="module", autouse=True)
def report_fuzzed(request: pytest.FixtureRequest) -> Iterator[None]:
    FUZZED.clear()
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and FUZZED:
        parts = ", ".join(f"{count} {what}" for what, count in sorted(FUZZED.items()))
        reporter.write_line(f"\n[test_fuzz] inputs fuzzed: {parts}")


# == 1. the walk engine ====================================================================
_TEXT = st.text(max_size=24)


def lines_for(step: Step, *, junk: bool = True) -> st.SearchStrategy[str]:
    """What an operator might type at this step: fitting answers, near misses, junk."""
    kind = step.capture_type
    if kind == "yesno":
        fitting = st.sampled_from(["y", "n", "yes", "NO", " true ", "0", "1", "maybe", "yess"])
    elif kind == "money":
        fitting = st.one_of(
            st.sampled_from(["19", "19.5", "$1,250.00", "€3", "0", "1.234", "-5", "1e3", "12,5"]),
            st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
        )
    elif kind == "number":
        fitting = st.one_of(
            st.sampled_from(["3", "1,000", "1e5", "NaN", "-0", "1_000", "Infinity", "x"]),
            st.integers().map(str),
            st.decimals(allow_nan=True, allow_infinity=True).map(str),
        )
    elif kind == "choice":
        assert step.ask is not None
        count = len(step.ask.choices)
        fitting = st.one_of(
            st.integers(-1, count + 2).map(str),
            st.sampled_from(step.ask.choices).map(lambda c: c.upper()),
        )
    elif kind == "offer":
        count = len(step.offer)
        part = st.one_of(
            st.integers(0, count + 1).map(str), st.sampled_from([o.id for o in step.offer])
        )
        fitting = st.lists(part, max_size=4).flatmap(
            lambda parts: st.sampled_from([",", " ", ";", ", "]).map(lambda sep: sep.join(parts))
        )
    else:  # a step that only says or does: Enter, or a note
        fitting = st.one_of(st.just(""), _TEXT)
    if not junk:
        return fitting
    return st.one_of(fitting, fitting, _TEXT, st.just(""), st.sampled_from(COMMANDS))


customers = st.builds(
    Customer,
    name=st.one_of(st.just(""), st.just("Dana Reyes"), _TEXT),
    email=st.sampled_from(["", "dana@example.com"]),
    order=st.one_of(st.just(""), _TEXT),
    order_value=st.one_of(st.none(), st.decimals(0, 10_000, places=2)),
    channel=st.sampled_from(["", "phone"]),
)
settings_values = st.fixed_dictionaries(
    {"seller": st.sampled_from(["", "Sam"]), "business": st.sampled_from(["", "Sam's"])}
)


def _saved(case: Case) -> Case:
    """What a save puts on disk, read back the way the store reads it."""
    data, loaded = parse("fuzz.json", encode(case))
    assert data == case_to_json(case)
    return loaded


def _answer_fits(step: Step, answer: Any) -> bool:
    kind = step.capture_type
    if kind == "yesno":
        return isinstance(answer, bool)
    if kind == "offer":
        ids = [o.id for o in step.offer]
        return (
            isinstance(answer, list)
            and bool(answer)
            and all(a in ids for a in answer)
            and len(set(answer)) == len(answer)
            and (step.pick == "many" or len(answer) == 1)
        )
    if kind == "choice":
        assert step.ask is not None
        return answer in step.ask.choices
    if kind == "money":
        return isinstance(answer, str) and values.parse_money(answer) == Decimal(answer)
    if kind == "number":
        return isinstance(answer, str) and Decimal(answer).is_finite()
    return isinstance(answer, str) and strip_controls(answer) == answer


class WalkMachine(RuleBasedStateMachine):
    """One case walked in any order of answers, commands, pauses and resumes."""

    def __init__(self) -> None:
        super().__init__()
        self.walk: Walk | None = None

    # -- set-up and helpers ------------------------------------------------------------
    @initialize(
        # (the playbook with every kind of step, and answers in its placeholders, more often)
        name=st.sampled_from([*sorted(PLAYBOOKS), "every-type", "every-type"]),
        customer=customers,
        config=settings_values,
    )
    def start(self, name: str, customer: Customer, config: dict[str, str]) -> None:
        FUZZED["walks"] += 1
        self.playbook = PLAYBOOKS[name]
        self.config = config
        self.now = T0
        ref = PlaybookRef(id=self.playbook.id, title=self.playbook.title, hash=self.playbook.digest)
        case = new_case("1", customer=customer, playbook=ref, currency="EUR", now=self.now)
        self.walk = Walk(self.playbook, case, config)
        self.stopped = False
        self.latest = case.updated_at
        self.on_screen()

    @property
    def case(self) -> Case:
        assert self.walk is not None
        return self.walk.case

    def on_screen(self) -> None:
        """What the screen does before each prompt: draw the step, note its start."""
        assert self.walk is not None
        if not self.walk.finished:
            view = self.walk.view()
            assert view.total == len(self.playbook.steps)
            assert 1 <= view.number <= view.total
            self.walk.begin(self.now)

    def live(self) -> bool:
        return self.walk is not None and not self.stopped and not self.walk.finished

    def type_line(self, line: str, *, prefilled: bool = False) -> Reply:
        """One line typed at the prompt, handled as the CLI handles it."""
        assert self.walk is not None
        FUZZED["typed lines"] += 1
        before = case_to_json(self.case)
        index = self.walk.index
        reply = self.walk.submit(line, self.now, prefilled=prefilled)
        after = case_to_json(self.case)
        if reply.kind in ("invalid", "help", "pause") or not reply.changed:
            # Nothing typed in vain ever changes the case.
            assert after == before, (line, reply)
        if reply.kind in ("invalid", "help", "pause"):
            assert self.walk.index == index
        if reply.kind == "invalid":
            assert reply.message
        if reply.kind == "pause":
            self.stop("paused")
            return reply
        if reply.changed:
            _saved(self.case)
        self.on_screen()
        return reply

    def stop(self, event: str) -> None:
        """Pause or interruption: the CLI logs it and saves; only a resume goes on."""
        self.case.add_event(self.now, event)
        self.case.touch(self.now)
        _saved(self.case)
        self.stopped = True

    # -- rules ---------------------------------------------------------------------------
    @rule(seconds=st.integers(0, 3 * 86400))
    def time_passes(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)

    @precondition(lambda self: self.live())
    @rule(data=st.data())
    def answer(self, data: st.DataObject) -> None:
        assert self.walk is not None and self.walk.current is not None
        line = data.draw(lines_for(self.walk.current), label="line")
        self.type_line(line)

    @precondition(lambda self: self.live())
    @rule(data=st.data())
    def answer_fitting(self, data: st.DataObject) -> None:
        """Mostly what the step asks for, so that walks get far."""
        assert self.walk is not None and self.walk.current is not None
        line = data.draw(lines_for(self.walk.current, junk=False), label="line")
        self.type_line(line)

    @precondition(lambda self: self.live())
    @rule(erase=st.booleans())
    def enter_on_the_earlier_answer(self, erase: bool) -> None:
        """Enter at a prompt whose line starts with the step's earlier answer (after
        :back or on resume), sent as it is or erased first. Sent as it is, it keeps
        the answer and changes nothing; erased, it is a new, empty answer."""
        assert self.walk is not None
        view = self.walk.view()
        if view.prefill is None:
            return
        before = case_to_json(self.case)
        reply = self.type_line("" if erase else view.prefill, prefilled=True)
        if not erase and reply.kind == "moved":
            assert not reply.changed and case_to_json(self.case) == before, view

    @precondition(lambda self: self.live())
    @rule(command=st.sampled_from([":back", ":skip", "", ":help", ":pause"]))
    def command(self, command: str) -> None:
        assert self.walk is not None
        current = self.walk.current
        reply = self.type_line(command)
        if command == ":back" and reply.kind == "moved":
            assert self.walk.current is not None and self.walk.current is not current
        if command == ":skip" and reply.kind != "invalid":
            assert current is not None
            record = self.case.record(current.id)
            assert record is not None and record.status == "skipped"

    @precondition(lambda self: self.live())
    @rule(data=st.data(), steps=st.integers(2, 10))
    def walk_on(self, data: st.DataObject, steps: int) -> None:
        """Several steps answered as asked, one after the other (an ordinary call)."""
        for _ in range(steps):
            if not self.live():
                break
            assert self.walk is not None and self.walk.current is not None
            self.type_line(data.draw(lines_for(self.walk.current, junk=False), label="line"))

    @precondition(lambda self: self.live() and self.walk is not None and self.walk.index > 0)
    @rule(data=st.data())
    def correct_an_earlier_answer(self, data: st.DataObject) -> None:
        """:back to an earlier step and give it another answer, then Enter on through
        the steps after it (keeping their answers)."""
        assert self.walk is not None
        start = self.walk.index
        for _ in range(data.draw(st.integers(1, start), label="backs")):
            if self.type_line(":back").kind == "invalid":
                break
        assert self.walk.current is not None
        self.type_line(data.draw(lines_for(self.walk.current, junk=False), label="line"))
        while self.live() and self.walk.index < start:
            if self.type_line("").kind == "invalid":
                break

    @precondition(lambda self: self.live())
    @rule(times=st.integers(2, 8))
    def back_a_few_steps(self, times: int) -> None:
        """Back to an earlier step, as an operator correcting an answer does."""
        for _ in range(times):
            if self.type_line(":back").kind == "invalid":
                break

    @precondition(lambda self: self.live())
    @rule()
    def interrupted(self) -> None:
        self.stop("interrupted (interrupt)")

    @precondition(lambda self: self.live())
    @rule()
    def killed(self) -> None:
        """SIGKILL: no last word; what the last save wrote is all there is."""
        self.stopped = True

    @precondition(
        lambda self: self.walk is not None and self.stopped and self.case.walk_completed_at is None
    )
    @rule()
    def resume(self) -> None:
        """`recover resume`: read the case back from disk, walk on from the first step
        without a record."""
        FUZZED["resumes"] += 1
        loaded = _saved(self.case)
        walk = Walk(self.playbook, loaded, self.config)
        assert walk.resume(self.now) == []  # same playbook: nothing changed
        walk.settle(self.now)
        _saved(loaded)
        self.walk = walk
        self.stopped = False
        self.on_screen()

    # -- invariants ----------------------------------------------------------------------
    @invariant()
    def case_round_trips(self) -> None:
        if self.walk is None:
            return
        data = case_to_json(self.case)
        again = Case.model_validate(data)
        assert case_to_json(again) == data
        assert case_to_json(_saved(self.case)) == data

    @invariant()
    def records_only_for_steps_that_asked(self) -> None:
        if self.walk is None:
            return
        steps = {s.id: s for s in self.playbook.steps}
        order = [r.id for r in self.case.steps]
        assert len(order) == len(set(order)), order
        assert order == [s.id for s in self.playbook.steps if s.id in order], "out of order"
        for record in self.case.steps:
            step = steps.get(record.id)
            assert step is not None, f"a record for {record.id!r}, not in the playbook"
            assert self.walk.applies(step), f"{record.id!r} is recorded but does not apply"
            assert record.type == step.capture_type and record.key == step.capture_key
            if record.status == "skipped":
                assert record.answer is None and record.note == ""
            elif record.status == "declined":
                assert step.offer and record.answer == [] and record.note == ""
                assert not [r for r in self.case.remedies if r.step == record.id]
            elif step.capture_key is None:
                assert record.status in ("done", "noted") and record.answer is None
                assert record.status == "noted" or record.note == ""
            else:
                assert record.status == "answered", record
                assert _answer_fits(step, record.answer), (record.id, record.answer)
                if step.ask is not None and step.ask.required:
                    assert record.answer != "", f"required {record.id!r} answered with nothing"
            for text in (record.note, record.answer if isinstance(record.answer, str) else ""):
                assert strip_controls(text) == text, "a control character was kept"

    @invariant()
    def remedies_and_promises_follow_the_answers(self) -> None:
        if self.walk is None:
            return
        answers = self.case.answers()
        chosen = {
            (step.id, offer)
            for step in self.playbook.steps
            if step.offer
            for offer in (answers.get(step.id) or [])
        }
        remedies = [(r.step, r.offer) for r in self.case.remedies]
        assert len(remedies) == len(set(remedies)) and set(remedies) == chosen
        for remedy in self.case.remedies:
            assert remedy.currency == "EUR"
            assert remedy.amount is None or remedy.amount == remedy.amount.quantize(Decimal("0.01"))
        promised = [f for f in self.case.follow_ups if f.step is not None]
        assert len({f.step for f in promised}) == len(promised), "two promises for one step"
        assert len({f.id for f in self.case.follow_ups}) == len(self.case.follow_ups)
        for item in promised:
            step = self.playbook.step(item.step or "")
            record = self.case.record(item.step or "")
            assert step is not None and step.follow_up is not None
            assert record is not None and record.status not in ("skipped", "declined"), item
            assert item.due_at == record.ended_at + values.parse_delay(step.follow_up.after)
        for step in self.playbook.steps:
            record = self.case.record(step.id)
            if (
                step.follow_up is not None
                and record is not None
                and record.status
                in (
                    "answered",
                    "noted",
                    "done",
                )
            ):
                assert any(f.step == step.id for f in promised), f"{step.id}: promise lost"

    @invariant()
    def time_only_moves_forward(self) -> None:
        if self.walk is None:
            return
        case = self.case
        assert case.created_at <= case.updated_at <= self.now
        assert case.updated_at >= self.latest, "updated_at went back"
        self.latest = case.updated_at
        for record in case.steps:
            assert case.created_at <= record.started_at <= record.ended_at <= self.now
        moments = [event.at for event in case.log]
        assert moments == sorted(moments) and all(m <= self.now for m in moments)
        if case.walk_completed_at is not None:
            assert case.created_at <= case.walk_completed_at <= case.updated_at

    @invariant()
    def status_says_where_the_case_is(self) -> None:
        if self.walk is None:
            return
        case = self.case
        if case.walk_completed_at is None:
            assert case.status == "open" and case.closed_at is None
        else:
            assert all(self.walk.is_done(s) for s in self.playbook.steps if self.walk.applies(s))
            pending = case.pending_follow_ups()
            assert case.status == ("awaiting_follow_up" if pending else "open")
        if not self.walk.finished:
            current = self.walk.current
            assert current is not None and self.walk.applies(current)

    @invariant()
    def promises_and_remedies_quote_the_answers_as_they_are_now(self) -> None:
        """What the case promises and gives says what its step says with today's
        answers: an answer corrected by going back must not leave a promise, a remedy
        label or a remedy amount worked out from the old one."""
        if self.walk is None:
            return
        filled = placeholder_values(self.case, self.config)
        for item in self.case.pending_follow_ups():
            step = self.playbook.step(item.step or "")
            if step is not None and step.follow_up is not None:
                assert item.message == placeholders.render(step.follow_up.say, filled), item.step
        for remedy in self.case.remedies:
            step = self.playbook.step(remedy.step)
            assert step is not None
            offer = next(o for o in step.offer if o.id == remedy.offer)
            assert remedy.label == placeholders.render(offer.label, filled), remedy
            assert remedy.amount == _amount_now(self.case, offer.amount), remedy


def _amount_now(case: Case, amount: str | None) -> Decimal | None:
    """What an offer costs with the case's answers as they are (README: a plain amount,
    $order_value, or a money answer)."""
    if amount is None:
        return None
    if not amount.startswith("$"):
        return Decimal(amount).quantize(Decimal("0.01"))
    name = amount.strip("${}")
    if name == "order_value":
        return case.customer.order_value
    answer = case.answers().get(name)
    return Decimal(answer) if isinstance(answer, str) else None


WalkMachine.TestCase.settings = DEFAULT_MACHINE
TestWalkEngine = WalkMachine.TestCase


@pytest.mark.soak
def test_walk_engine_soak() -> None:
    run_state_machine_as_test(WalkMachine, settings=SOAK)


def _every_type_walk() -> Walk:
    playbook = PLAYBOOKS["every-type"]
    ref = PlaybookRef(id=playbook.id, title=playbook.title, hash=playbook.digest)
    case = new_case("1", customer=Customer(name="Dana"), playbook=ref, currency="EUR", now=T0)
    return Walk(playbook, case, {})


def test_a_required_answer_of_control_characters_alone_is_no_answer() -> None:
    """Found by the machine: a line of nothing but a control character (ESC, as a
    stray key can send) passed the required check and was saved as an empty answer."""
    walk = _every_type_walk()
    reply = walk.submit("\x1b", T0)
    assert reply.kind == "invalid", walk.case.record("listen")
    assert walk.case.record("listen") is None and walk.current is not None
    assert walk.current.id == "listen"


def test_correcting_an_answer_updates_what_was_worked_out_from_it() -> None:
    """Found by the machine: the amount paid is corrected from 10 to 20 after a refund of
    "$amount" was chosen and its follow-up promised. Going forward again (Enter keeps
    each later answer) must not leave a refund of 10.00 or a promise quoting it, while
    the screen offers "Refund 20.00 ✓ chosen"."""
    walk = _every_type_walk()
    for line in ("late parcel", "10", "1", "1", "1", ""):  # ... one: refund; after-refund
        assert walk.submit(line, T0).kind == "moved", line
    assert [(r.label, r.amount) for r in walk.case.remedies] == [("Refund 10.00", Decimal("10"))]
    while walk.current is not None and walk.current.id != "how-much":
        walk.back()
    assert walk.submit("20", T0).kind == "moved"
    while walk.current is not None and walk.current.id != "many":
        view = walk.view()
        if view.step_id == "one":
            assert next((o.label, o.amount, o.chosen) for o in view.offers) == (
                "Refund 20.00",
                Decimal("20.00"),
                True,
            )
        assert walk.submit("", T0).kind == "moved"
    assert walk.case.answers()["amount"] == "20.00"
    assert [(r.label, r.amount) for r in walk.case.remedies] == [("Refund 20.00", Decimal("20"))]
    (promise,) = walk.case.pending_follow_ups()
    assert promise.message == "Did the refund of 20.00 land? (late parcel)"


# == 2. the case loader ====================================================================
def _checked(raw: bytes) -> str:
    """Parse ``raw`` as the store does: a Case, or a DamagedCaseError naming the file."""
    FUZZED["loader inputs"] += 1
    try:
        data, case = parse("cases/1.json", raw)
    except DamagedCaseError as error:
        damaged = error
    else:
        assert isinstance(case, Case) and isinstance(data, dict)
        return "case"
    assert damaged.message.startswith("cases/1.json ") and "left untouched" in damaged.message
    assert damaged.exit_code == 5
    return "damaged"


def _walked(name: str, lines: list[str]) -> dict[str, Any]:
    playbook = PLAYBOOKS[name]
    ref = PlaybookRef(id=playbook.id, title=playbook.title, hash=playbook.digest)
    customer = Customer(name="Dana Reyes", email="d@example.com", order_value=Decimal("40"))
    case = new_case("1", customer=customer, playbook=ref, currency="USD", now=T0)
    walk = Walk(playbook, case, {"seller": "Sam"})
    turn = 0
    while not walk.finished and turn < 200:
        step = walk.current
        assert step is not None
        line = lines[turn % len(lines)] if step.capture_type in ("text", "note") else ""
        if step.capture_type == "yesno":
            line = "ny"[turn % 2]
        elif step.capture_type in ("offer", "choice"):
            line = "1"
        elif step.capture_type in ("money", "number"):
            line = "12.50"
        walk.submit(line, T0 + timedelta(minutes=turn))
        turn += 1
    case.record_follow_up(1, reached=True, happy="not_yet", note="n", now=T0 + timedelta(days=1))
    outcome = Outcome(result="kept", satisfaction=4, root_cause="x", cause_tag="t", prevention="p")
    case.set_outcome(outcome, T0 + timedelta(days=2))
    case.revision = 3
    return case_to_json(case)


SEEDS = [
    _walked("sample", ["It never came", ""]),
    _walked("general", ["Late", "note"]),
    _walked("every-type", ["broken thing"]),
]
for _seed in SEEDS:
    assert _checked(json.dumps(_seed).encode()) == "case"

json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**30), 10**30),
        st.floats(allow_nan=True, allow_infinity=True),
        _TEXT,
        st.sampled_from(
            [
                "2026-11-02T09:30:00Z",
                "2026-11-02T09:30:00",
                "2026-11-02",
                "19.50",
                "1E+400",
                "-0.001",
                "open",
                "closed",
                "kept",
                "answered",
                "skipped",
                "sha256:" + "0" * 64,
                "1",
            ]
        ),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(_TEXT, children, max_size=3)
    ),
    max_leaves=8,
)
# Byte sequences that once inside a file stretch a JSON reader: nesting deeper than the
# interpreter's recursion limit, integers longer than it converts (4300 digits)...
NASTY = [
    b"[" * 1100,
    b'{"a":' * 1100,
    b"9" * 4301,
    b"-" + b"1" * 4301,
    b"NaN",
    b"-Infinity",
    b"1e999999",
    b'"\\ud800"',
    b'"\\udfff\\ud800"',
    b"\xff\xfe",
    b"\x00",
    b"\xef\xbb\xbf",
    b'"' + b"x" * 10_000 + b'"',
]


_RAW = "\x00raw\x00"
_RAW_BYTES = json.dumps(_RAW).encode()


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*prefix, index)
            yield from _paths(value, (*prefix, index))


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        doc = doc[part]
    return doc


@st.composite
def mutated_cases(draw: st.DrawFn) -> bytes:
    """A valid case file with keys dropped, values of other types, garbage inserted,
    and sometimes its bytes cut or corrupted."""
    doc = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 5))):
        paths = list(_paths(doc))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _parent(doc, path)
        key = path[-1]
        action = draw(
            st.sampled_from(["drop", "replace", "replace", "insert", "wrap", "stringify", "raw"])
        )
        if action == "drop":
            del parent[key]
        elif action == "replace":
            parent[key] = draw(json_values)
        elif action == "insert":
            if isinstance(parent, dict):
                parent[draw(_TEXT)] = draw(json_values)
            else:
                parent.insert(key, draw(json_values))
        elif action == "wrap":
            parent[key] = [parent[key]]
        elif action == "raw":  # a value written by hand, not by a JSON writer
            parent[key] = _RAW
        else:
            parent[key] = json.dumps(parent[key])
    if draw(st.booleans()):
        doc = draw(st.sampled_from([doc, [doc], {"case": doc}, {**doc, "schema_version": 2}]))
    raw = json.dumps(doc, indent=draw(st.sampled_from([None, 2]))).encode()
    while _RAW_BYTES in raw:
        raw = raw.replace(_RAW_BYTES, draw(st.sampled_from(NASTY)), 1)
    damage = draw(st.sampled_from(["none", "none", "cut", "flip", "nasty"]))
    if damage == "cut":
        raw = raw[: draw(st.integers(0, len(raw)))]
    elif damage == "flip":
        at = draw(st.integers(0, max(len(raw) - 1, 0)))
        raw = raw[:at] + bytes([draw(st.integers(0, 255))]) + raw[at + 1 :]
    elif damage == "nasty":
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.sampled_from(NASTY)) + raw[at:]
    return raw


def _loader_on_bytes(raw: bytes) -> None:
    _checked(raw)


def _loader_on_mutations(raw: bytes) -> None:
    FUZZED["mutated case files"] += 1
    _checked(raw)


_KNOWN_HARD = [
    b"",
    b"\x00" * 64,
    b"[" * 1100,
    b'{"schema_version": ' + b"1" * 4301 + b"}",
    b'{"schema_version": 1, "id": "1", "revision": ' + b"9" * 4301 + b"}",
    b'{"schema_version": 1e999}',
    b'{"schema_version": NaN}',
    b'{"schema_version": true}',
    b'{"schema_version": 1, "id": "1", "x": "\\ud800"}',
    json.dumps({**SEEDS[0], "created_at": "2026-11-02T09:30:00"}).encode(),
]


def _with_examples(test: Any) -> Any:
    for raw in _KNOWN_HARD:
        test = example(raw)(test)
    return test


test_loader_survives_arbitrary_bytes = DEFAULT(
    given(st.binary(max_size=4096))(_with_examples(_loader_on_bytes))
)
test_loader_survives_mutated_case_files = DEFAULT(given(mutated_cases())(_loader_on_mutations))


@pytest.mark.soak
def test_loader_soak() -> None:
    SOAK(given(st.binary(max_size=8192))(_loader_on_bytes))()
    SOAK(given(mutated_cases())(_loader_on_mutations))()
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)

        @SOAK
        @given(raw=st.one_of(mutated_cases(), st.binary(max_size=512)))
        def through_files(raw: bytes) -> None:
            FUZZED["store directories"] += 1
            (home / "cases").mkdir(exist_ok=True)
            (home / "cases" / "1.json").write_bytes(raw)
            items = list(Store(home).iter_stored())
            assert len(items) == 1 and isinstance(items[0], (Stored, Damaged))
            os.remove(home / "cases" / "1.json")

        through_files()


# (Last in the module: the count of inputs fuzzed is reported after it.)
@settings(DEFAULT, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.one_of(mutated_cases(), st.binary(max_size=512)))
def test_the_store_yields_only_cases_or_damaged_items(tmp_path: Path, raw: bytes) -> None:
    """Through the files, as every command reads them: a good case beside a fuzzed one
    always comes out; the fuzzed one is a Stored case or a Damaged item."""
    FUZZED["store directories"] += 1
    cases = tmp_path / "cases"
    cases.mkdir(exist_ok=True)
    (cases / "1.json").write_bytes(json.dumps(SEEDS[1]).encode())
    (cases / "2.json").write_bytes(raw)
    store = Store(tmp_path)
    items = list(store.iter_stored())
    assert len(items) == 2
    assert isinstance(items[0], Stored) and items[0].case.id == "1"
    assert isinstance(items[1], (Stored, Damaged))
    try:
        store.load("2")
    except DamagedCaseError:
        assert isinstance(items[1], Damaged)
    else:
        assert isinstance(items[1], Stored)
