"""The three-way merge of two versions of one case file: nothing typed on either side
is lost, conflicts go to the later change, and the log says what was decided."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recovery_cli.case import (
    Case,
    MailIn,
    MailOut,
    MailThread,
    Outcome,
    case_to_json,
)
from recovery_cli.kinds import SCHEMA_VERSION
from recovery_cli.sync.merge import (
    DETAIL_LIMIT,
    Merged,
    MergeError,
    decode_case,
    encode_case,
    merge_cases,
)
from tests.sync import (
    COMPLAINT,
    ORDER,
    T0,
    answer,
    at,
    events,
    fork,
    js,
    started,
    steps_of,
    walked,
)

NOW = at(24 * 60)
NOW_TEXT = "2026-12-02T10:00:00Z"


def merge(base: Case | dict[str, Any] | None, ours: Case, theirs: Case, **kw: Any) -> Merged:
    """Merge case models (as their files' JSON); the result is checked to validate."""
    raw = js(base) if isinstance(base, Case) else base
    merged = merge_cases(raw, js(ours), js(theirs), now=NOW, **kw)
    Case.model_validate(merged.data)
    return merged


def merged_event(data: dict[str, Any]) -> str:
    found = events(data, "merged")
    assert len(found) == 1
    return found[0]


# -- the contract's scenarios ---------------------------------------------------------
def test_a_follow_up_recorded_while_the_case_is_closed_keeps_both() -> None:
    base = walked()
    seller, assistant = fork(base), fork(base)
    assistant.record_follow_up(
        1, reached=True, happy="not_yet", note="Still waiting for the refund", now=at(90)
    )
    seller.cancel_follow_ups(at(120))
    seller.set_outcome(Outcome(result="kept", root_cause="Links expire too fast"), at(120))

    merged = merge(base, seller, assistant).data

    item = merged["follow_ups"][0]
    assert (item["result"], item["happy"], item["note"]) == (
        "reached",
        "not_yet",
        "Still waiting for the refund",
    )
    assert merged["outcome"]["root_cause"] == "Links expire too fast"
    assert merged["status"] == "closed"  # the seller's change was the later one
    assert merged["closed_at"] == "2026-12-01T12:00:00Z"
    assert merged["updated_at"] == "2026-12-01T12:00:00Z"
    log = [e["event"] for e in merged["log"]]
    assert "follow-up done" in log and "outcome recorded" in log
    detail = merged_event(merged)
    assert "status: kept 'closed' (changed later), the other machine had 'open'" in detail
    assert "a result beats a cancellation" in detail


def test_the_later_side_wins_a_field_whichever_side_it_is() -> None:
    base = walked()
    ours, theirs = fork(base), fork(base)
    ours.customer.channel = "email"
    ours.touch(at(30))
    theirs.customer.channel = "chat"
    theirs.touch(at(40))

    merged = merge(base, ours, theirs)

    assert merged.data["customer"]["channel"] == "chat"
    assert merged.notes[0] == (
        "customer.channel: took 'chat' from the other machine (changed later), set aside 'email'"
    )


def test_a_change_on_one_side_only_is_taken_field_by_field() -> None:
    base = walked()
    ours, theirs = fork(base), fork(base)
    ours.customer.email = "dana.reyes@example.com"
    ours.touch(at(60))
    theirs.customer.order = "A-1002"
    theirs.touch(at(30))

    data = merge(base, ours, theirs).data

    assert data["customer"]["email"] == "dana.reyes@example.com"
    assert data["customer"]["order"] == "A-1002"
    assert "conflict" not in merged_event(data)
    assert events(data, "set aside") == []


def test_both_answering_different_steps_keeps_both_answers() -> None:
    base = started()
    ours, theirs = fork(base), fork(base)
    answer(ours, "sorry", None, at(2), status="done", note="Apologised twice")
    answer(theirs, "remedy", ["refund"], at(3))
    answer(theirs, "follow-up", "tomorrow", at(4))

    data = merge(base, ours, theirs).data

    assert steps_of(data) == {
        "listen": COMPLAINT,
        "remedy": ["refund"],
        "follow-up": "tomorrow",
        "sorry": None,
    }
    # Ours' order is kept; theirs' records follow the record before them in theirs.
    assert [s["id"] for s in data["steps"]] == ["listen", "remedy", "follow-up", "sorry"]
    assert [r["offer"] for r in data["remedies"]] == ["refund"]
    assert "from the other machine: step remedy, step follow-up" in merged_event(data)


def test_the_same_step_answered_twice_keeps_the_later_and_logs_the_other() -> None:
    base = walked()
    ours, theirs = fork(base), fork(base)
    answer(ours, "remedy", ["credit"], at(30))
    answer(theirs, "remedy", ["refund", "resend"], at(40))

    data = merge(base, ours, theirs).data

    record = next(s for s in data["steps"] if s["id"] == "remedy")
    assert record["answer"] == ["refund", "resend"]
    detail = merged_event(data)
    assert (
        "step remedy: took 'Full refund, Send the download again now' from the other "
        "machine (answered later), set aside 'Credit'"
    ) in detail
    # What each side gave stays recorded: the remedies are the union.
    assert sorted(r["offer"] for r in data["remedies"]) == ["credit", "refund", "resend"]


def test_a_step_answered_again_on_one_side_takes_its_new_remedies() -> None:
    base = walked()
    ours, theirs = fork(base), fork(base)
    answer(theirs, "remedy", ["refund"], at(40))
    ours.customer.channel = "email"
    ours.touch(at(50))

    data = merge(base, ours, theirs).data

    assert steps_of(data)["remedy"] == ["refund"]
    assert [r["offer"] for r in data["remedies"]] == ["refund"]


def test_a_step_answered_again_on_one_side_takes_its_new_promise() -> None:
    base = walked()
    base.add_follow_up(at(2 * 24 * 60), "Ask about the new link", at(6))
    ours, theirs = fork(base), fork(base)
    theirs.schedule_follow_up("follow-up", at(14 * 24 * 60), "Still happy?")
    answer(theirs, "follow-up", "in two weeks", at(40))
    ours.customer.channel = "email"
    ours.touch(at(50))

    data = merge(base, ours, theirs).data

    assert [(f["id"], f["message"]) for f in data["follow_ups"]] == [
        (2, "Ask about the new link"),
        (3, "Still happy?"),
    ]


def test_going_back_on_one_side_loses_nothing_of_the_other() -> None:
    base = walked()
    ours, theirs = fork(base), fork(base)
    theirs.drop_step("remedy")
    theirs.touch(at(40))

    data = merge(base, ours, theirs).data

    assert steps_of(data)["remedy"] == ["resend"]
    assert [r["offer"] for r in data["remedies"]] == ["resend"]


def test_a_long_answer_set_aside_is_in_the_log_word_for_word() -> None:
    base = started()
    ours, theirs = fork(base), fork(base)
    long = "She wants the paperback instead, " * 5 + "and says so clearly."
    answer(ours, "explain", long, at(30))
    answer(theirs, "explain", "Told her the link expired", at(50))

    data = merge(base, ours, theirs).data

    assert steps_of(data)["explain"] == "Told her the link expired"
    assert long not in merged_event(data)  # the note quotes it shortened
    (aside,) = events(data, "set aside")
    assert aside.startswith("step explain: took 'Told her the link expired' from the other")
    assert aside.endswith(f"set aside '{long}'")


def test_the_same_answer_on_both_sides_is_not_a_conflict() -> None:
    base = started()
    ours, theirs = fork(base), fork(base)
    answer(ours, "explain", "Told her", at(30))
    answer(theirs, "explain", "Told her", at(31))

    data = merge(base, ours, theirs).data

    assert next(s for s in data["steps"] if s["id"] == "explain")["ended_at"] == (
        "2026-12-01T10:31:00Z"
    )
    assert events(data, "set aside") == []


def test_a_follow_up_two_added_on_both_sides_is_kept_twice() -> None:
    base = walked()
    ours, theirs = fork(base), fork(base)
    ours.add_follow_up(at(3 * 24 * 60), "Check the refund arrived", at(30))
    theirs.add_follow_up(at(2 * 24 * 60), "Ask about the new link", at(40))

    merged = merge(base, ours, theirs)

    items = {f["id"]: f["message"] for f in merged.data["follow_ups"]}
    assert items == {
        1: "Did the new link work?",
        2: "Check the refund arrived",
        3: "Ask about the new link",
    }
    assert "follow-up #2: both sides added one; the other machine's is now #3" in merged.notes


def test_a_renumbered_follow_up_takes_its_sends_with_it() -> None:
    base = walked()
    ours, theirs = fork(base), fork(base)
    ours.add_follow_up(at(3 * 24 * 60), "Check the refund arrived", at(30))
    theirs.add_follow_up(at(2 * 24 * 60), "Ask about the new link", at(40))
    theirs.mail = MailThread(sent=[sent_out("<f2@shop>", at(41), "sent", follow_up=2)])

    data = merge(base, ours, theirs).data

    assert [(m["message_id"], m["follow_up"]) for m in data["mail"]["sent"]] == [("<f2@shop>", 3)]


def test_a_follow_up_done_on_one_side_is_kept() -> None:
    base = walked()
    ours, theirs = fork(base), fork(base)
    theirs.record_follow_up(1, reached=False, happy=None, note="Voicemail", now=at(60))
    ours.customer.channel = "phone, then email"
    ours.touch(at(70))

    data = merge(base, ours, theirs).data

    item = data["follow_ups"][0]
    assert (item["result"], item["note"], item["done_at"]) == (
        "not_reached",
        "Voicemail",
        "2026-12-01T11:00:00Z",
    )
    assert events(data, "set aside") == []


def test_a_follow_up_done_on_both_keeps_the_later_and_logs_the_other() -> None:
    base = walked()
    ours, theirs = fork(base), fork(base)
    ours.record_follow_up(1, reached=True, happy="yes", note="All good now", now=at(90))
    theirs.record_follow_up(1, reached=False, happy=None, note="No answer", now=at(60))

    data = merge(base, ours, theirs).data

    item = data["follow_ups"][0]
    assert (item["result"], item["happy"], item["note"]) == ("reached", "yes", "All good now")
    assert (
        "follow-up #1: kept 'reached, happy: yes · All good now' (done later), "
        "the other machine had 'not reached · No answer'"
    ) in merged_event(data)


def test_an_email_sent_on_one_side_and_still_sending_on_the_other_is_sent() -> None:
    base = walked()
    base.mail = MailThread(sent=[sent_out("<r1@shop>", at(10), "sending")])
    ours, theirs = fork(base), fork(base)
    attempt = ours.mail.sent[0]  # type: ignore[union-attr]
    attempt.status, attempt.sent_at = "sent", at(10)
    ours.touch(at(10))
    theirs.mail.sent[0].error = "the server did not confirm"  # type: ignore[union-attr]
    theirs.touch(at(50))  # theirs is the later change, and still not the further along

    data = merge(base, ours, theirs).data

    (out,) = data["mail"]["sent"]
    assert (out["status"], out["sent_at"], out["error"]) == ("sent", "2026-12-01T10:10:00Z", "")


@pytest.mark.parametrize("other", ["not_sent", "sending", "drafted", "opened"])
def test_sent_beats_every_other_status_without_a_base(other: str) -> None:
    base = walked()
    ours, theirs = fork(base), fork(base)
    ours.mail = MailThread(sent=[sent_out("<r1@shop>", at(10), other)])
    ours.touch(at(90))
    theirs.mail = MailThread(sent=[sent_out("<r1@shop>", at(10), "sent", sent_at=at(11))])

    data = merge(None, ours, theirs).data

    (out,) = data["mail"]["sent"]
    assert (out["status"], out["sent_at"]) == ("sent", "2026-12-01T10:11:00Z")


def test_mail_from_both_sides_is_kept() -> None:
    base = walked()
    ours, theirs = fork(base), fork(base)
    ours.mail = MailThread(messages=[mail_in("<m1@customer>", at(6))], reply="Dear Dana")
    ours.touch(at(20))
    theirs.mail = MailThread(
        messages=[mail_in("<m1@customer>", at(6)), mail_in("", at(30), digest="ab12")],
        sent=[sent_out("<r1@shop>", at(31), "sent", sent_at=at(31))],
    )
    theirs.touch(at(31))

    data = merge(base, ours, theirs).data

    assert [m["message_id"] or m["digest"] for m in data["mail"]["messages"]] == [
        "<m1@customer>",
        "ab12",
    ]
    assert [m["message_id"] for m in data["mail"]["sent"]] == ["<r1@shop>"]
    assert data["mail"]["reply"] == "Dear Dana"


def test_an_outcome_recorded_on_one_side_is_kept_even_against_a_later_change() -> None:
    base = walked()
    ours, theirs = fork(base), fork(base)
    ours.set_outcome(Outcome(result="refunded", prevention="Longer links"), at(30))
    theirs.customer.channel = "email"
    theirs.touch(at(60))

    data = merge(None, ours, theirs).data

    assert data["outcome"]["prevention"] == "Longer links"


def test_two_outcomes_merge_field_by_field() -> None:
    base = walked()
    base.set_outcome(Outcome(result="kept"), at(20))
    ours, theirs = fork(base), fork(base)
    ours.set_outcome(Outcome(result="kept", root_cause="Links expire"), at(30))
    theirs.outcome.prevention = "Longer links"  # type: ignore[union-attr]
    theirs.touch(at(40))

    outcome = merge(base, ours, theirs).data["outcome"]

    assert (outcome["root_cause"], outcome["prevention"]) == ("Links expire", "Longer links")


def test_the_walk_stays_completed() -> None:
    base = started()
    ours, theirs = fork(base), fork(base)
    answer(ours, "sorry", None, at(2), status="done")
    ours.complete_walk(at(3))
    answer(theirs, "explain", "Told her", at(90))

    data = merge(None, ours, theirs).data

    assert data["walk_completed_at"] == "2026-12-01T10:03:00Z"


def test_a_playbook_version_set_aside_stays_in_its_history() -> None:
    base = walked()
    ours, theirs = fork(base), fork(base)
    for case, new, when in ((ours, "bbb222", at(30)), (theirs, "ccc333", at(40))):
        case.playbook.history.append(case.playbook.hash)
        case.playbook.hash = new
        case.touch(when)

    playbook = merge(base, ours, theirs).data["playbook"]

    assert playbook["hash"] == "ccc333"
    assert playbook["history"] == ["aaa111", "bbb222"]


def test_the_logs_are_united_in_time_order() -> None:
    base = walked()
    ours, theirs = fork(base), fork(base)
    ours.add_event(at(40), "paused")
    ours.touch(at(40))
    theirs.add_event(at(30), "resumed", "on the laptop")
    theirs.add_event(at(40), "paused")
    theirs.touch(at(40))

    data = merge(base, ours, theirs).data

    tail = [(e["at"], e["event"]) for e in data["log"][-3:]]
    assert tail == [
        ("2026-12-01T10:30:00Z", "resumed"),
        ("2026-12-01T10:40:00Z", "paused"),
        (NOW_TEXT, "merged"),
    ]
    assert "from the other machine: 1 log entry" in merged_event(data)


# -- what a merge result is --------------------------------------------------------------
def test_the_result_validates_and_counts_a_new_revision() -> None:
    base = walked()
    base.revision = 4
    ours, theirs = fork(base), fork(base)
    ours.revision, theirs.revision = 6, 9
    answer(ours, "explain", "Told her", at(30))
    answer(theirs, "prevent", "Longer links", at(20))

    data = merge(base, ours, theirs).data

    assert data["revision"] == 10
    assert data["updated_at"] == "2026-12-01T10:30:00Z"
    assert data["schema_version"] == SCHEMA_VERSION
    case = Case.model_validate(data)
    assert case.record("explain") is not None and case.record("prevent") is not None


def test_the_merged_event_is_written_as_the_case_files_write_times() -> None:
    base = started()
    ours, theirs = fork(base), fork(base)
    answer(ours, "sorry", None, at(2), status="done")
    answer(theirs, "explain", "Told her", at(3))

    data = merge(base, ours, theirs).data

    entry = data["log"][-1]
    assert entry == {"at": NOW_TEXT, "event": "merged", "detail": entry["detail"]}
    case = Case.model_validate(data)
    case.add_event(NOW, "merged", entry["detail"])
    assert case_to_json(case)["log"][-1] == entry


def test_fields_this_version_does_not_know_are_kept() -> None:
    base = walked()
    ours, theirs = js(fork(base)), js(fork(base))
    ours["x_sentiment"] = {"score": 0.2}
    ours["steps"][0]["x_tone"] = "calm"
    ours["customer"]["x_vip"] = True
    theirs["x_channel_id"] = "C-77"
    theirs["follow_ups"][0]["x_reminder"] = "sms"
    theirs["steps"][1]["answer_audio"] = "clip-2.ogg"
    theirs["updated_at"] = "2026-12-01T11:00:00Z"

    data = merge_cases(js(base), ours, theirs, now=NOW).data

    assert data["x_sentiment"] == {"score": 0.2}
    assert data["x_channel_id"] == "C-77"
    assert data["steps"][0]["x_tone"] == "calm"
    assert data["steps"][1]["answer_audio"] == "clip-2.ogg"
    assert data["customer"]["x_vip"] is True
    assert data["follow_ups"][0]["x_reminder"] == "sms"
    assert list(data)[: len(js(base))] == list(js(base))  # ours' key order


def test_a_winner_keeps_the_unknown_fields_of_the_record_it_beat() -> None:
    base = started()
    ours, theirs = js(fork(base)), js(fork(base))
    answer_ours, answer_theirs = fork(base), fork(base)
    answer(answer_ours, "explain", "Told her", at(30))
    answer(answer_theirs, "explain", "Told her twice", at(40))
    ours, theirs = js(answer_ours), js(answer_theirs)
    ours["steps"][-1]["x_tone"] = "calm"

    data = merge_cases(js(base), ours, theirs, now=NOW).data

    record = data["steps"][-1]
    assert (record["answer"], record["x_tone"]) == ("Told her twice", "calm")


def test_merging_a_case_with_itself_changes_nothing() -> None:
    case = walked()
    data = js(case)

    merged = merge_cases(js(started()), data, copy.deepcopy(data), now=NOW)

    assert merged.data == data
    assert merged.notes == []


def test_a_merge_is_idempotent_and_deterministic() -> None:
    base = walked()
    ours, theirs = fork(base), fork(base)
    answer(ours, "remedy", ["credit"], at(30))
    ours.add_follow_up(at(3 * 24 * 60), "Check the refund arrived", at(31))
    answer(theirs, "remedy", ["refund"], at(40))
    theirs.add_follow_up(at(2 * 24 * 60), "Ask about the new link", at(41))
    before = (js(ours), js(theirs))

    first = merge(base, ours, theirs)
    again = merge(base, ours, theirs)

    assert first == again
    assert (js(ours), js(theirs)) == before  # the inputs are left as they were
    twice = merge_cases(None, first.data, copy.deepcopy(first.data), now=NOW + timedelta(1))
    assert twice.data == first.data
    # A side that already holds the merge gains nothing from it again.
    folded = merge_cases(js(base), first.data, js(theirs), now=NOW)
    assert steps_of(folded.data) == steps_of(first.data)
    assert [f["id"] for f in folded.data["follow_ups"]] == [1, 2, 3]


def test_without_a_base_every_difference_is_decided_by_time() -> None:
    base = walked()
    ours, theirs = fork(base), fork(base)
    answer(ours, "explain", "Told her", at(30))
    ours.customer.channel = "email"
    ours.touch(at(30))
    answer(theirs, "prevent", "Longer links", at(40))

    merged = merge(None, ours, theirs, other="the conflict copy")

    data = merged.data
    assert set(steps_of(data)) == {"listen", "sorry", "remedy", "follow-up", "explain", "prevent"}
    assert data["customer"]["channel"] == "phone"  # theirs changed later, as far as is known
    assert (
        "customer.channel: took 'phone' from the conflict copy (changed later), set aside 'email'"
        in merged.notes
    )
    assert events(data, "set aside") == []


def test_a_damaged_or_foreign_base_is_merged_as_no_base() -> None:
    base = walked()
    ours, theirs = fork(base), fork(base)
    answer(ours, "explain", "Told her", at(30))
    answer(theirs, "prevent", "Longer links", at(40))

    for bad in ({"id": "17"}, js(walked("18"))):
        data = merge(bad, ours, theirs).data
        assert {"explain", "prevent"} <= set(steps_of(data))


def test_a_long_merge_summarises_its_detail_and_logs_every_value() -> None:
    base = started()
    ours, theirs = fork(base), fork(base)
    for n, step in enumerate(ORDER[1:]):
        answer(ours, step, f"ours answer {n} " + "x" * 50, at(30 + n))
        answer(theirs, step, f"theirs answer {n} " + "y" * 50, at(40 + n))

    data = merge(base, ours, theirs).data

    detail = merged_event(data)
    assert len(detail) <= DETAIL_LIMIT
    assert "more" in detail
    aside = events(data, "set aside")
    for n in range(len(ORDER) - 1):
        assert any(f"ours answer {n} " + "x" * 50 in entry for entry in aside)


# -- nothing typed is lost, whatever each side did ---------------------------------------------
WORDS = st.text(alphabet="abcdefgh ", min_size=1, max_size=80).map(str.strip).filter(bool)
STEP = st.sampled_from(ORDER[1:])
MOVE = st.one_of(
    st.tuples(st.just("answer"), STEP, WORDS),
    st.tuples(st.just("add"), st.integers(1, 30), WORDS),
    st.tuples(st.just("record"), st.integers(1, 3), WORDS),
    st.tuples(st.just("close"), WORDS, st.just("")),
    st.tuples(st.just("channel"), WORDS, st.just("")),
)


def play(case: Case, moves: list[tuple[str, Any, str]], start: int) -> None:
    """Each move one minute after the last, as a seller (or an assistant) works."""
    for minute, (kind, what, words) in enumerate(moves, start=start):
        now = at(minute)
        if kind == "answer":
            answer(case, what, words, now)
        elif kind == "add":
            case.add_follow_up(now + timedelta(days=what), words, now)
        elif kind == "record" and case.follow_up(what) is not None:
            case.record_follow_up(what, reached=True, happy="not_yet", note=words, now=now)
        elif kind == "close":
            case.cancel_follow_ups(now)
            case.set_outcome(Outcome(result="kept", root_cause=what), now)
        elif kind == "channel":
            case.customer.channel = what
            case.touch(now)


def typed_on(case: Case) -> list[str]:
    """What was typed on a side: answers, follow-up notes, the root cause, the channel."""
    found = [r.answer for r in case.steps if isinstance(r.answer, str)]
    found += [f.note for f in case.follow_ups if f.note]
    found += [f.message for f in case.follow_ups]
    if case.outcome is not None and case.outcome.root_cause:
        found.append(case.outcome.root_cause)
    return [*found, case.customer.channel]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(MOVE, max_size=6),
    st.lists(MOVE, max_size=6),
    st.integers(0, 20),
    st.booleans(),
)
def test_every_word_typed_on_either_side_is_in_the_merge(
    mine: list[tuple[str, Any, str]],
    yours: list[tuple[str, Any, str]],
    lag: int,
    with_base: bool,
) -> None:
    base = walked()
    ours, theirs = fork(base), fork(base)
    play(ours, mine, 10)
    play(theirs, yours, 10 + lag)

    merged = merge(base if with_base else None, ours, theirs).data

    text = json.dumps(merged, ensure_ascii=False)
    before = typed_on(base)
    for side in (ours, theirs):
        for words in typed_on(side):
            assert words in before or words in text
    again = merge_cases(js(base), merged, copy.deepcopy(merged), now=NOW)
    assert again.data == merged
    assert merge(base if with_base else None, ours, theirs).data == merged


# -- what cannot be merged -----------------------------------------------------------------
def test_two_different_cases_are_not_merged() -> None:
    with pytest.raises(MergeError, match="different cases") as caught:
        merge_cases(None, js(walked("17")), js(walked("B17")), now=NOW)
    assert caught.value.side is None


def test_a_case_made_again_under_the_same_id_is_not_merged() -> None:
    other = js(walked("17"))
    other["created_at"] = "2026-11-30T09:00:00Z"
    with pytest.raises(MergeError, match="created at different times"):
        merge_cases(None, js(walked("17")), other, now=NOW)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d.update(status="lost"), "bad status"),
        (lambda d: d.pop("playbook"), "bad playbook"),
        (lambda d: d.update(schema_version="1"), "bad schema_version"),
        (lambda d: d["steps"].append({"id": "x"}), "bad steps.1"),
    ],
)
def test_a_side_that_is_not_a_valid_case_is_named(change: Any, reason: str) -> None:
    theirs = js(started())
    change(theirs)
    with pytest.raises(MergeError, match=reason) as caught:
        merge_cases(None, js(started()), theirs, now=NOW)
    assert caught.value.side == "theirs"
    assert "Dana" not in caught.value.message


def test_a_side_from_a_newer_version_is_not_merged() -> None:
    ours = js(started())
    ours["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(MergeError, match="newer version") as caught:
        merge_cases(None, ours, js(started()), now=NOW)
    assert (caught.value.side, caught.value.newer) == ("ours", True)


def test_decode_and_encode_a_case_file() -> None:
    data = js(walked())
    raw = encode_case(data)
    assert raw == (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()
    assert decode_case(raw) == data
    with pytest.raises(MergeError, match="not JSON"):
        decode_case(b'{\n  "id": ')
    with pytest.raises(MergeError, match="not Unicode"):
        decode_case(raw.replace(b"Dana Reyes", b"Dana \\udc80"), side="theirs")
    with pytest.raises(MergeError, match="is not a case"):
        decode_case(b"[]")


# -- helpers ------------------------------------------------------------------------------
def sent_out(message_id: str, when: Any, status: str, **extra: Any) -> MailOut:
    """An attempt to send, as the mail code records one."""
    return MailOut.model_validate(
        {
            "message_id": message_id,
            "what": "follow-up" if "follow_up" in extra else "reply",
            "to": "dana@example.com",
            "subject": "Your download",
            "via": "smtp",
            "status": status,
            "at": when,
            **extra,
        }
    )


def mail_in(message_id: str, when: Any, *, digest: str = "") -> MailIn:
    """A message from the customer, as the mail code records one."""
    return MailIn(
        message_id=message_id,
        digest=digest,
        subject="Download",
        sender="dana@example.com",
        text="Where is it?",
        added_at=when,
    )


def test_the_case_builders_make_what_the_models_make() -> None:
    case = walked()
    assert case.status == "awaiting_follow_up"
    assert [s.id for s in case.steps] == ORDER[:4]
    assert case.created_at == T0
