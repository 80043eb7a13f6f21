"""Random walks through every shipped playbook: whatever the operator types, the walk
ends, the case stays valid, and no answer sits on a step that did not run. And the
shipped wording: written lines that read as a reply to someone who already wrote."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recovery_cli.case import Case, Customer, PlaybookRef, new_case
from recovery_cli.playbooks.catalog import default_dir, load_file
from recovery_cli.playbooks.lint import check_file
from recovery_cli.playbooks.model import Playbook, Step
from recovery_cli.walk import Walk

PLAYBOOKS = {p.stem: load_file(p, origin="default") for p in sorted(default_dir().glob("*.toml"))}
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def line_for(walk: Walk, data: st.DataObject) -> str:
    step = walk.current
    assert step is not None
    move = data.draw(st.sampled_from(["answer"] * 6 + [":back", ":skip", "", "junk"]))
    if move != "answer":
        return "not a number, not y/n" if move == "junk" else move
    if step.offer:
        count = len(step.offer)
        if step.pick == "one":
            return str(data.draw(st.integers(1, count)))
        picks = data.draw(st.sets(st.integers(1, count), min_size=1))
        return ",".join(map(str, sorted(picks)))
    kind = step.capture_type
    if kind == "yesno":
        return data.draw(st.sampled_from(["y", "n"]))
    if kind == "choice":
        assert step.ask is not None
        return str(data.draw(st.integers(1, len(step.ask.choices))))
    if kind in ("money", "number"):
        return data.draw(st.sampled_from(["0", "12.50", "1,250"]))
    return data.draw(st.text(min_size=0, max_size=30))


@pytest.mark.parametrize("playbook_id", sorted(PLAYBOOKS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_walks_keep_the_case_sound(playbook_id: str, data: st.DataObject) -> None:
    playbook: Playbook = PLAYBOOKS[playbook_id]
    ref = PlaybookRef(id=playbook.id, title=playbook.title, hash=playbook.digest)
    case = new_case("1", customer=Customer(name="Ann Lee"), playbook=ref, currency="USD", now=T0)
    walk = Walk(playbook, case, {"seller": "Sam", "business": "Shop"})
    now = T0
    for _ in range(400):
        if walk.finished:
            break
        now += timedelta(seconds=data.draw(st.integers(0, 90)))
        walk.begin(now)
        walk.submit(line_for(walk, data), now)
    assert walk.finished, "the walk did not end"

    # The case round-trips through its JSON form unchanged.
    assert Case.model_validate(case.model_dump(mode="json")) == case
    answers = case.answers()
    for record in case.steps:
        step = playbook.step(record.id)
        assert step is not None
        assert walk.applies(step), f"{record.id} has a record but did not run"
        assert record.started_at <= record.ended_at
        if record.status == "answered":
            assert record.key == step.capture_key
    for remedy in case.remedies:
        assert answers.get(remedy.step) is not None
        assert remedy.offer in answers[remedy.step]  # type: ignore[operator]
    for follow_up in case.follow_ups:
        record = case.record(follow_up.step or "")
        assert record is not None and record.status != "skipped"
        # Messages sent days later must not depend on answers that may be skipped.
        assert "‹" not in follow_up.message, follow_up.message
    if not any(r.status == "skipped" for r in case.steps):
        assert case.follow_ups, "a walk with nothing skipped always promises a follow-up"


def listening_step(playbook: Playbook) -> Step:
    """The step that records the complaint: where an email's words are shown."""
    return next(s for s in playbook.steps if s.ask is not None and s.ask.key == "complaint")


@pytest.mark.parametrize("playbook_id", sorted(PLAYBOOKS))
def test_the_written_listening_line_does_not_ask_what_they_already_wrote(
    playbook_id: str,
) -> None:
    step = listening_step(PLAYBOOKS[playbook_id])
    assert step.write is not None, f"{playbook_id}: the listening step has no write line"
    asks_again = re.compile(r"tell me|walk me through|\?", re.IGNORECASE)
    assert not asks_again.search(step.write), step.write


@pytest.mark.parametrize("playbook_id", sorted(PLAYBOOKS))
def test_written_lines_leave_the_greeting_and_sign_off_to_the_reply(playbook_id: str) -> None:
    greeting = re.compile(r"^(hi|hello|dear|hey)\b", re.IGNORECASE)
    sign_off = re.compile(r"best wishes|kind regards|best regards|thanks,\s*$", re.IGNORECASE)
    for step in PLAYBOOKS[playbook_id].steps:
        if step.write is None:
            continue
        assert not greeting.search(step.write), (step.id, step.write)
        assert not sign_off.search(step.write), (step.id, step.write)
        assert "$seller" not in step.write, (step.id, step.write)  # the sign-off names them


def test_the_public_complaint_playbook_ships_and_keeps_reviews_out_of_remedies() -> None:
    playbook = PLAYBOOKS["public-complaint"]
    assert check_file(Path(playbook.source), origin="default") == []
    assert playbook.summary and playbook.goodwill_limit
    assert any(s.offer for s in playbook.steps)
    assert any(s.follow_up for s in playbook.steps)
    public = playbook.step("public-reply")
    assert public is not None and public.write and "$business" in public.write
    never_conditional = re.compile(
        r"never make .*(remedy|refund).* depend on changing the review", re.IGNORECASE
    )
    assert any(s.do and never_conditional.search(s.do) for s in playbook.steps)
