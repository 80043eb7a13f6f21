"""The walk engine, with no terminal: next step, conditions, back, skip, resume."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from recovery_cli.case import Case, Customer, PlaybookRef, new_case
from recovery_cli.playbooks.check import parse_playbook
from recovery_cli.playbooks.model import Playbook
from recovery_cli.walk import Walk
from tests.conftest import SAMPLE

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def make_case(playbook: Playbook, **customer: object) -> Case:
    ref = PlaybookRef(id=playbook.id, title=playbook.title, hash=playbook.digest)
    return new_case(
        "7",
        customer=Customer(**customer),
        playbook=ref,
        currency="EUR",
        now=T0,  # type: ignore[arg-type]
    )


@pytest.fixture
def walk(sample_playbook: Playbook) -> Walk:
    case = make_case(sample_playbook, name="Dana Reyes", order_value=Decimal("40.00"))
    return Walk(sample_playbook, case, {"seller": "Sam"})


def ids(walk: Walk) -> list[str]:
    return [r.id for r in walk.case.steps]


def test_starts_at_first_step_with_placeholders_filled(walk: Walk) -> None:
    view = walk.view()
    assert (view.step_id, view.number, view.total) == ("listen", 1, 7)
    walk.submit("It never came", at(5))
    view = walk.view()
    assert view.say == "I'm sorry, Dana. That should not have happened."


def test_answer_records_times_and_value(walk: Walk) -> None:
    walk.begin(at(1))
    reply = walk.submit("  It never came ", at(9))
    assert reply.kind == "moved" and reply.changed
    record = walk.case.record("listen")
    assert record is not None
    assert (record.status, record.key, record.answer) == ("answered", "complaint", "It never came")
    assert (record.started_at, record.ended_at) == (at(1), at(9))


def test_note_and_plain_enter_on_a_say_step(walk: Walk) -> None:
    walk.submit("x", at(1))
    walk.submit("", at(2))
    record = walk.case.record("sorry")
    assert record is not None and record.status == "done" and record.note == ""
    walk.back()
    walk.submit("she laughed", at(3))
    record = walk.case.record("sorry")
    assert record is not None and (record.status, record.note) == ("noted", "she laughed")


def test_yes_no_is_validated(walk: Walk) -> None:
    walk.submit("x", at(1))
    walk.submit("", at(2))
    reply = walk.submit("perhaps", at(3))
    assert reply.kind == "invalid" and "y or n" in reply.message
    assert walk.current is not None and walk.current.id == "arrived"
    walk.submit("Y", at(4))
    assert walk.case.answers()["arrived"] is True


def test_conditions_skip_steps_that_do_not_apply(walk: Walk) -> None:
    for line in ("x", "", "yes", "1,3"):
        walk.submit(line, at(1))
    # Neither refund chosen nor "arrived = false": both conditional steps are passed.
    assert walk.current is not None and walk.current.id == "check-in"


def test_conditions_run_steps_that_apply(walk: Walk) -> None:
    for line in ("x", "", "no", "2"):
        walk.submit(line, at(1))
    assert walk.current is not None and walk.current.id == "refund-now"
    walk.submit("", at(2))
    assert walk.current is not None and walk.current.id == "escalate"


def test_offers_become_remedies_with_amounts_and_goodwill_warning(walk: Walk) -> None:
    for line in ("x", "", "yes"):
        walk.submit(line, at(1))
    view = walk.view()
    assert [(o.number, o.amount) for o in view.offers] == [
        (1, None),
        (2, Decimal("40.00")),
        (3, Decimal("10.00")),
    ]
    reply = walk.submit("2, 3", at(2))
    assert [(r.offer, r.amount, r.currency) for r in walk.case.remedies] == [
        ("refund", Decimal("40.00"), "EUR"),
        ("credit", Decimal("10.00"), "EUR"),
    ]
    assert walk.case.remedy_total() == Decimal("50.00")
    assert reply.warnings and "50.00 EUR" in reply.warnings[0] and "25.00 EUR" in reply.warnings[0]


def test_offer_input_errors(walk: Walk) -> None:
    for line in ("x", "", "yes"):
        walk.submit(line, at(1))
    assert "not on the menu" in walk.submit("9", at(2)).message
    assert walk.submit("refund", at(2)).kind == "moved"
    assert walk.case.answers()["remedy"] == ["refund"]


def test_enter_on_an_offer_declines_every_offer(walk: Walk) -> None:
    for line in ("x", "", "yes"):
        walk.submit(line, at(1))
    view = walk.view()
    assert view.enter == "none of these"
    assert view.hint == "Enter: none of these · :back · :skip · :pause · :help"
    reply = walk.submit("", at(2))
    assert reply.kind == "moved" and reply.changed
    record = walk.case.record("remedy")
    assert record is not None and (record.status, record.answer) == ("declined", [])
    assert walk.case.remedies == [] and "remedy" not in walk.case.answers()
    assert walk.case.answer_text(record) == "none of these"
    # Declined is not chosen: the refund step does not run.
    assert walk.current is not None and walk.current.id == "check-in"
    assert walk.summary().declined == ("Put it right",) and walk.summary().skipped == ()


def test_declining_after_choosing_drops_the_remedies_and_their_steps(walk: Walk) -> None:
    for line in ("x", "", "yes", "2"):
        walk.submit(line, at(1))
    assert walk.current is not None and walk.current.id == "refund-now"
    walk.back()
    view = walk.view()
    assert view.prefill == "2" and view.enter == "keep"
    walk.submit("", at(2), prefilled=True)  # the line erased, then Enter
    assert walk.case.record("remedy").status == "declined"  # type: ignore[union-attr]
    assert walk.case.remedies == [] and walk.case.record("refund-now") is None


def test_what_enter_does_is_in_the_view_and_the_hint(walk: Walk) -> None:
    view = walk.view()  # an optional question, the first step: no :back, Enter skips
    assert (view.enter, view.hint) == ("skip", "Enter: skip · :pause · :help")
    walk.submit("x", at(1))
    view = walk.view()  # a step that only says: Enter marks it done
    assert (view.enter, view.hint) == ("next", "Enter: next · :back · :skip · :pause · :help")
    walk.submit("", at(2))
    assert walk.view().enter == "skip"  # a yes/no with no default: Enter skips it
    assert walk.submit("", at(3)).kind == "moved"
    assert walk.case.record("arrived").status == "skipped"  # type: ignore[union-attr]


DEFAULTS = SAMPLE.replace(
    'prompt = "Did it arrive now?", type = "yesno" }',
    'prompt = "Did it arrive now?", type = "yesno", default = false }',
).replace(
    'ask = { key = "complaint", prompt = "What went wrong?" }',
    'ask = { key = "complaint", prompt = "What went wrong?", required = true }',
)


def test_a_default_is_what_enter_answers() -> None:
    playbook = parse_playbook(DEFAULTS.encode(), "sample.toml")
    walk = Walk(playbook, make_case(playbook), {})
    view = walk.view()  # required, no default: Enter is not offered, and does nothing
    assert (view.enter, view.hint) == (None, "Answer needed · :pause · :help")
    assert walk.submit("", at(1)).kind == "invalid"
    walk.submit("It never came", at(1))
    walk.submit("", at(2))
    view = walk.view()
    assert (view.enter, view.default) == ("no", "no")
    assert view.hint.startswith("Enter: no · ")
    walk.submit("", at(3))
    assert walk.case.answers()["arrived"] is False
    assert walk.current is not None and walk.current.id == "remedy"


def test_the_earlier_answer_is_put_on_the_line_as_text_that_gives_it_again(walk: Walk) -> None:
    for line in ("It never came", "she sighed", "n", "1 3", "T-9"):
        walk.submit(line, at(1))
    expected = {
        "escalate": "T-9",
        "remedy": "1,3",
        "arrived": "no",
        "sorry": "she sighed",
        "listen": "It never came",
    }
    seen = {}
    while walk.back().kind == "moved":
        view = walk.view()
        seen[view.step_id] = view.prefill
    assert seen == expected
    before = walk.case.model_dump()
    for _ in expected:  # Enter on each line as it was put there changes nothing
        reply = walk.submit(walk.view().prefill or "", at(9), prefilled=True)
        assert reply.kind == "moved" and not reply.changed
    assert walk.case.model_dump() == before


def test_an_edited_earlier_answer_replaces_it_and_an_erased_one_is_empty(walk: Walk) -> None:
    walk.submit("It never came", at(1))
    walk.back()
    walk.submit("It never came, and nobody answered", at(2), prefilled=True)
    assert walk.case.answers()["complaint"] == "It never came, and nobody answered"
    walk.back()
    walk.submit("", at(3), prefilled=True)
    assert walk.case.record("listen").status == "skipped"  # type: ignore[union-attr]
    # Without a line editor (nothing was on the line), an empty line keeps the answer.
    walk.back()
    walk.submit("Late", at(4))
    walk.back()
    walk.submit("", at(5))
    assert walk.case.answers()["complaint"] == "Late"


def test_back_offers_the_previous_answer_and_enter_keeps_it(walk: Walk) -> None:
    walk.submit("It never came", at(1))
    walk.back()
    view = walk.view()
    assert view.step_id == "listen" and view.previous == "It never came"
    reply = walk.submit("", at(2))
    assert reply.kind == "moved" and not reply.changed
    assert walk.case.answers()["complaint"] == "It never came"


def test_back_at_first_step_says_so(walk: Walk) -> None:
    reply = walk.submit(":back", at(1))
    assert reply.kind == "invalid" and "first step" in reply.message


def test_changing_an_answer_drops_steps_that_no_longer_apply(walk: Walk) -> None:
    for line in ("x", "", "yes", "2", "done it"):
        walk.submit(line, at(1))
    assert "refund-now" in ids(walk)
    walk.back()  # to refund-now
    walk.back()  # to remedy
    walk.submit("1", at(2))
    assert "refund-now" not in ids(walk)
    assert [r.offer for r in walk.case.remedies] == ["resend"]


def test_skip_records_a_skip_and_required_cannot_be_skipped(sample_playbook: Playbook) -> None:
    text = SAMPLE.replace(
        'ask = { key = "ticket", prompt = "Ticket number?" }',
        'ask = { key = "ticket", prompt = "Ticket number?", required = true }',
    )
    playbook = parse_playbook(text.encode(), "sample.toml")
    walk = Walk(playbook, make_case(playbook), {})
    walk.submit(":skip", at(1))
    record = walk.case.record("listen")
    assert record is not None and record.status == "skipped" and record.answer is None
    for line in ("", "no", "1"):
        walk.submit(line, at(2))
    assert walk.current is not None and walk.current.id == "escalate"
    assert walk.submit(":skip", at(3)).kind == "invalid"
    assert walk.submit("", at(3)).kind == "invalid"


def test_commands(walk: Walk) -> None:
    assert walk.submit(":pause", at(1)).kind == "pause"
    assert walk.submit(":help", at(1)).kind == "help"
    reply = walk.submit(":frobnicate", at(1))
    assert reply.kind == "invalid" and ":frobnicate" in reply.message


def test_follow_up_is_scheduled_from_the_step_end(walk: Walk) -> None:
    for line in ("It never came", "", "yes", "1"):
        walk.submit(line, at(1))
    reply = walk.submit("", at(60))
    assert reply.kind == "finished"
    (follow_up,) = walk.case.follow_ups
    assert follow_up.due_at == at(60) + timedelta(days=3)
    assert follow_up.message == "Is everything working now, Dana? (It never came)"
    assert walk.case.status == "awaiting_follow_up"
    assert walk.case.walk_completed_at == at(60)


def test_skipping_the_follow_up_step_promises_nothing(walk: Walk) -> None:
    for line in ("x", "", "yes", "1", ":skip"):
        walk.submit(line, at(1))
    assert walk.finished and walk.case.follow_ups == []
    assert walk.case.status == "open"


def test_missing_customer_details_show_a_visible_gap(sample_playbook: Playbook) -> None:
    walk = Walk(sample_playbook, make_case(sample_playbook), {})
    walk.submit("x", at(1))
    assert walk.view().say == "I'm sorry, ‹first_name›. That should not have happened."


def test_resume_starts_at_first_unanswered_step(sample_playbook: Playbook) -> None:
    case = make_case(sample_playbook)
    first = Walk(sample_playbook, case, {})
    for line in ("x", "", "yes"):
        first.submit(line, at(1))
    again = Walk(sample_playbook, case, {})
    assert again.current is not None and again.current.id == "remedy"
    assert again.changes_since() == []


def test_resume_after_the_playbook_was_edited(sample_playbook: Playbook) -> None:
    case = make_case(sample_playbook)
    first = Walk(sample_playbook, case, {})
    for line in ("x", "", "yes"):
        first.submit(line, at(1))
    edited_text = (
        SAMPLE.replace('id = "sorry"', 'id = "apologize"')
        .replace(
            'key = "complaint", prompt = "What went wrong?"',
            'key = "complaint", prompt = "What went wrong?", type = "choice", '
            'choices = ["late", "broken"]',
        )
        .replace("$complaint", "$first_name")
    )
    edited = parse_playbook(edited_text.encode(), "sample.toml")
    walk = Walk(edited, case, {})
    notes = walk.changes_since()
    assert any("'sorry' is no longer in the playbook" in n for n in notes)
    assert any("'listen' now asks something else" in n for n in notes)
    # The changed step is asked again; the renamed one is new; nothing moved steps.
    assert walk.current is not None and walk.current.id == "listen"
    walk.submit("2", at(5))
    assert walk.current is not None and walk.current.id == "apologize"
    record = case.record("sorry")
    assert record is not None and record.status == "done"
    assert case.record("arrived") is not None and case.answers()["arrived"] is True
    assert case.answers()["complaint"] == "broken"


def test_reordered_playbook_keeps_answers_on_their_steps(sample_playbook: Playbook) -> None:
    case = make_case(sample_playbook)
    first = Walk(sample_playbook, case, {})
    first.submit("late parcel", at(1))
    blocks = SAMPLE.split("[[steps]]")
    # Move the yes/no step before the listening step.
    reordered = blocks[0] + "[[steps]]" + blocks[3] + "[[steps]]" + blocks[1]
    reordered += "".join("[[steps]]" + b for b in blocks[2:3] + blocks[4:])
    playbook = parse_playbook(reordered.encode(), "sample.toml")
    walk = Walk(playbook, case, {})
    assert walk.current is not None and walk.current.id == "arrived"
    walk.submit("no", at(2))
    assert case.answers() == {"complaint": "late parcel", "arrived": False}
    assert [r.id for r in case.steps] == ["arrived", "listen"]


def test_summary_lists_what_was_promised(walk: Walk) -> None:
    for line in ("It never came", "", "yes", "1,3", ""):
        walk.submit(line, at(1))
    summary = walk.summary()
    assert [r.label for r in summary.remedies] == ["Send it again", "Store credit"]
    assert summary.total == Decimal("10.00")
    assert summary.goodwill_limit == Decimal("25.00")
    assert len(summary.follow_ups) == 1
    assert ("Listen", "It never came") in summary.notes


def test_chosen_offers_fill_placeholders_with_their_rendered_labels() -> None:
    text = (
        'id = "pb"\ntitle = "T"\n'
        '[[steps]]\nid = "remedy"\noffer = [\n'
        '  { id = "resend", label = "Resend to $first_name, costs $$5" },\n'
        '  { id = "bonus", label = "A bonus ebook" },\n]\n'
        '[[steps]]\nid = "later"\nfollow_up = { after = "1d", say = "You chose: $remedy." }\n'
    )
    playbook = parse_playbook(text.encode(), "pb.toml")
    walk = Walk(playbook, make_case(playbook, name="Ann Lee"), {})
    walk.submit("1 2", at(1))
    walk.submit("", at(2))
    (follow_up,) = walk.case.follow_ups
    assert follow_up.message == "You chose: Resend to Ann, costs $5, A bonus ebook."


BRANCHY = """\
id = "branchy"
title = "Branchy"
[[steps]]
id = "remedy"
offer = [{ id = "refund", label = "Refund", amount = "10" }, { id = "resend", label = "Resend" }]
[[steps]]
id = "refund-now"
when = { remedy = "refund" }
do = "Refund now."
follow_up = { after = "5d", say = "Did the refund land?" }
[[steps]]
id = "ask-ok"
ask = { key = "refund_ok", prompt = "Refund went through?", type = "yesno" }
[[steps]]
id = "chase"
when = { refund_ok = false }
do = "Chase it."
[[steps]]
id = "thanks"
say = "Thank you."
"""


def test_changing_an_earlier_answer_drops_every_step_and_promise_that_depended_on_it() -> None:
    playbook = parse_playbook(BRANCHY.encode(), "branchy.toml")
    walk = Walk(playbook, make_case(playbook), {})
    for line in ("1", "", "n", ""):
        walk.submit(line, at(1))
    assert ids(walk) == ["remedy", "refund-now", "ask-ok", "chase"]
    assert [f.message for f in walk.case.follow_ups] == ["Did the refund land?"]
    assert walk.case.remedies[0].amount == Decimal("10.00")  # "10" in the file
    for _ in range(4):
        walk.back()
    assert walk.current is not None and walk.current.id == "remedy"
    walk.submit("2", at(2))
    # refund-now no longer applies: its record and its follow-up are gone at once,
    # though the walk has not reached the steps after it yet.
    assert ids(walk) == ["remedy", "ask-ok", "chase"]
    assert walk.case.follow_ups == []
    assert [r.offer for r in walk.case.remedies] == ["resend"]


def test_settle_completes_a_walk_with_nothing_left_to_ask(sample_playbook: Playbook) -> None:
    case = make_case(sample_playbook)
    first = Walk(sample_playbook, case, {})
    for line in ("x", "", "yes", "1"):
        first.submit(line, at(1))
    # The last step (check-in) is deleted from the playbook before the resume.
    shorter = parse_playbook(SAMPLE.split('[[steps]]\nid = "check-in"')[0].encode(), "s.toml")
    walk = Walk(shorter, case, {})
    assert walk.finished and case.walk_completed_at is None
    assert walk.settle(at(5)) is True
    assert case.walk_completed_at == at(5) and case.status == "open"
    assert walk.settle(at(6)) is False


def test_resume_keeps_the_history_of_playbook_versions(sample_playbook: Playbook) -> None:
    case = make_case(sample_playbook)
    Walk(sample_playbook, case, {}).submit("x", at(1))
    same = Walk(sample_playbook, case, {})
    assert same.resume(at(2)) == []
    assert case.playbook.history == [] and case.log[-1].detail == ""
    edited = parse_playbook(SAMPLE.replace("Sample recovery", "Edited").encode(), "sample.toml")
    walk = Walk(edited, case, {})
    notes = walk.resume(at(3))
    assert notes == [
        "The playbook changed since this case started; answers stay on their own steps."
    ]
    assert case.playbook.history == [sample_playbook.digest]
    assert case.playbook.hash == edited.digest and case.playbook.title == "Edited"
    assert case.log[-1].detail == f"playbook {sample_playbook.digest} -> {edited.digest}"


def test_a_command_typed_after_the_earlier_answer_on_the_line_is_the_command(walk: Walk) -> None:
    walk.submit("It never came", at(1))
    walk.back()
    assert walk.submit("It never came:pause", at(2), prefilled=True).kind == "pause"
    assert walk.submit("It never came  :skip", at(2), prefilled=True).kind == "moved"
    assert walk.case.record("listen").status == "skipped"  # type: ignore[union-attr]
    # Not a command: kept as typed.
    walk.back()
    walk.submit("It never came at 10:30", at(3), prefilled=True)
    assert walk.case.answers()["complaint"] == "It never came at 10:30"
