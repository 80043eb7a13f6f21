"""Follow-ups with no terminal: what is due and in what order, local-date boundaries,
the case's state changes, and the calendar file."""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar

from recovery_cli.case import Case, Customer, PlaybookRef, new_case
from recovery_cli.followups import (
    HORIZON_DAYS,
    Due,
    count_overdue,
    due_list,
    local_date,
    to_ics,
    when,
)
from recovery_cli.playbooks.check import parse_playbook
from recovery_cli.playbooks.model import Playbook
from recovery_cli.projections import brief_of
from recovery_cli.walk import Walk
from tests.conftest import SAMPLE, Clock, Run, read_case, utc

EAST = timezone(timedelta(hours=13))  # local date runs ahead of UTC's
WEST = timezone(timedelta(hours=-5))  # local date lags behind UTC's
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
REF = PlaybookRef(id="sample", title="Sample recovery", hash="sha256:0")


def due(cases: list[Case], now: datetime, **options: Any) -> list[Due]:
    """The follow-ups due of these cases, made from their briefs as the index keeps them."""
    briefs = [b for case in cases if (b := brief_of(case)) is not None]
    return due_list(briefs, now, **options).items


def overdue(cases: list[Case], now: datetime, zone: tzinfo) -> int:
    """How many follow-ups of these cases are overdue."""
    dues = (item.due_at for case in cases for item in case.pending_follow_ups())
    return count_overdue(dues, now, zone)


def a_case(case_id: str, *dues: datetime, name: str = "Dana Reyes") -> Case:
    """A case with a follow-up due at each of ``dues`` (numbered 1, 2, ...)."""
    case = new_case(
        case_id,
        customer=Customer(name=name, email="dana@example.com", order="A-1", channel="phone"),
        playbook=REF,
        currency="USD",
        now=utc(1, 9),
    )
    for n, due in enumerate(dues, start=1):
        case.schedule_follow_up(None, due, f"Message {n} of case {case_id}")
    return case


def listed(items: list[Due]) -> list[tuple[str, int, str]]:
    return [(d.case_id, d.number, d.when) for d in items]


# -- when, local dates --------------------------------------------------------------------
def test_local_date_is_the_date_where_the_seller_is() -> None:
    moment = utc(25, 11, 30)
    assert local_date(moment, UTC) == date(2026, 11, 25)
    assert local_date(moment, EAST) == date(2026, 11, 26)
    assert local_date(utc(25, 3), WEST) == date(2026, 11, 24)


def test_a_follow_up_is_due_all_of_its_local_day() -> None:
    due = utc(25, 9)  # 09:00 UTC on the 25th
    assert when(due, utc(25, 0, 0), UTC) == "today"
    assert when(due, utc(25, 23, 59), UTC) == "today"
    assert when(due, utc(26, 0, 0), UTC) == "overdue"
    assert when(due, utc(24, 23, 59), UTC) == "upcoming"


def test_when_goes_by_the_local_date_not_the_utc_date_east() -> None:
    # In UTC+13, 10:59 UTC is 23:59 local and 11:00 UTC is 00:00 the next local day.
    assert when(utc(25, 10, 59), utc(25, 11, 0), EAST) == "overdue"  # same UTC date
    assert when(utc(25, 10, 59), utc(25, 11, 0), UTC) == "today"
    assert when(utc(25, 11, 0), utc(26, 10, 59), EAST) == "today"  # UTC dates differ
    assert when(utc(25, 11, 0), utc(26, 10, 59), UTC) == "overdue"
    assert when(utc(26, 11, 0), utc(26, 10, 59), EAST) == "upcoming"


def test_when_goes_by_the_local_date_not_the_utc_date_west() -> None:
    now = utc(25, 15)  # 10:00 on the 25th in UTC-5
    assert when(utc(26, 4, 59), now, WEST) == "today"  # 23:59 local, the 26th in UTC
    assert when(utc(26, 5, 0), now, WEST) == "upcoming"  # 00:00 local on the 26th
    assert when(utc(25, 4, 59), now, WEST) == "overdue"  # 23:59 on the 24th local
    assert when(utc(25, 5, 0), now, WEST) == "today"


# -- due_list -----------------------------------------------------------------------------
def test_due_list_orders_overdue_oldest_first_then_today_then_upcoming_soonest_first() -> None:
    cases = [
        a_case("3", utc(27, 9), utc(20, 9)),  # upcoming, overdue (oldest)
        a_case("1", utc(25, 20), utc(24, 9)),  # today (late), overdue (yesterday)
        a_case("2", utc(26, 8), utc(25, 6), utc(22, 9)),  # upcoming, today (early), overdue
    ]
    items = due(cases, NOW, zone=UTC)
    assert listed(items) == [
        ("3", 2, "overdue"),
        ("2", 3, "overdue"),
        ("1", 2, "overdue"),
        ("2", 2, "today"),
        ("1", 1, "today"),
        ("2", 1, "upcoming"),
        ("3", 1, "upcoming"),
    ]
    assert [d.due_at for d in items] == sorted(d.due_at for d in items)


def test_due_list_breaks_ties_by_case_number_then_follow_up() -> None:
    same = utc(24, 9)
    cases = [a_case("10", same), a_case("9", same, same), a_case("100", same)]
    assert listed(due(cases, NOW, zone=UTC)) == [
        ("9", 1, "overdue"),
        ("9", 2, "overdue"),
        ("10", 1, "overdue"),
        ("100", 1, "overdue"),
    ]


def test_due_list_carries_what_is_needed_to_follow_up() -> None:
    item = due([a_case("4", utc(25, 9))], NOW, zone=UTC)[0]
    assert item.as_json() == {
        "case_id": "4",
        "follow_up": 1,
        "due_at": "2026-11-25T09:00:00Z",
        "when": "today",
        "customer": {
            "name": "Dana Reyes",
            "email": "dana@example.com",
            "order": "A-1",
            "channel": "phone",
        },
        "playbook": "Sample recovery",
        "message": "Message 1 of case 4",
        "sent": None,
    }


def test_horizon_is_seven_local_days_ahead() -> None:
    assert HORIZON_DAYS == 7
    now = utc(25, 15)
    last_day_in = utc(2, 23, 59, month=12)  # 25 Nov + 7 days = 2 Dec, its last minute
    first_day_out = utc(3, 0, 0, month=12)
    long_overdue = utc(1, 9)
    cases = [a_case("1", last_day_in, first_day_out, long_overdue)]
    assert listed(due(cases, now, zone=UTC)) == [("1", 3, "overdue"), ("1", 1, "upcoming")]
    assert listed(due(cases, now, horizon_days=None, zone=UTC)) == [
        ("1", 3, "overdue"),
        ("1", 1, "upcoming"),
        ("1", 2, "upcoming"),
    ]
    assert listed(due(cases, now, horizon_days=0, zone=UTC)) == [("1", 3, "overdue")]


def test_horizon_counts_local_days() -> None:
    # 2 Dec 12:00 UTC is 3 Dec 01:00 in UTC+13: past the horizon there, inside it in UTC.
    cases = [a_case("1", utc(2, 12, month=12))]
    assert len(due(cases, utc(25, 9), zone=UTC)) == 1
    assert due(cases, utc(25, 9), zone=EAST) == []


def test_done_and_cancelled_follow_ups_are_not_due() -> None:
    done = a_case("1", utc(20, 9), utc(21, 9))
    done.record_follow_up(1, reached=True, happy="not_yet", note="", now=utc(20, 10))
    cancelled = a_case("2", utc(22, 9), utc(23, 9))
    cancelled.cancel_follow_ups(utc(22, 8))
    nothing_left = a_case("3")
    items = due([done, cancelled, nothing_left], NOW, zone=UTC)
    assert listed(items) == [("1", 2, "overdue")]
    assert overdue([done, cancelled, nothing_left], NOW, zone=UTC) == 1


def test_overdue_count_counts_only_overdue_by_local_date() -> None:
    cases = [
        a_case("1", utc(24, 9), utc(25, 10, 59)),  # 25 Nov 23:59 local in UTC+13
        a_case("2", utc(25, 11, 0), utc(30, 9)),  # 26 Nov 00:00 local: today there
    ]
    now = utc(25, 12)  # 26 Nov 01:00 in UTC+13
    assert overdue(cases, now, UTC) == 1
    assert overdue(cases, now, EAST) == 2
    assert overdue([], now, UTC) == 0


# -- the case's state changes -------------------------------------------------------------
TWO_CHECK_INS = """\
id = "two"
title = "Two check-ins"

[[steps]]
id = "listen"
ask = { key = "complaint", prompt = "What went wrong?" }

[[steps]]
id = "tomorrow"
follow_up = { after = "1d", say = "Did it work, $first_name?" }

[[steps]]
id = "later"
follow_up = { after = "2w", say = "Still fine after two weeks? ($complaint)" }
"""


def walked(playbook: Playbook, lines: list[tuple[str, datetime]]) -> Case:
    ref = PlaybookRef(id=playbook.id, title=playbook.title, hash=playbook.digest)
    case = new_case(
        "5",
        customer=Customer(name="Dana Reyes"),
        playbook=ref,
        currency="USD",
        now=lines[0][1],
    )
    walk = Walk(playbook, case, {})
    for line, at in lines:
        walk.begin(at)
        walk.submit(line, at)
    assert walk.finished
    return case


def test_follow_ups_come_from_the_playbooks_follow_up_steps(sample_playbook: Playbook) -> None:
    call = utc(20, 14, 30)
    case = walked(sample_playbook, [(line, call) for line in ["never came", "", "y", "1", ""]])
    assert [(f.id, f.step, f.due_at) for f in case.follow_ups] == [
        (1, "check-in", call + timedelta(days=3))
    ]
    assert case.follow_ups[0].message == "Is everything working now, Dana? (never came)"
    assert case.follow_ups[0].done_at is None
    assert case.status == "awaiting_follow_up"


def test_each_follow_up_is_due_its_delay_after_its_step_on_the_call() -> None:
    playbook = parse_playbook(TWO_CHECK_INS.encode(), "two.toml", stem="two")
    call = utc(20, 14, 30)
    case = walked(
        playbook,
        [("slow", call), ("", call + timedelta(minutes=2)), ("", call + timedelta(minutes=3))],
    )
    assert [(f.id, f.due_at, f.message) for f in case.follow_ups] == [
        (1, call + timedelta(days=1, minutes=2), "Did it work, Dana?"),
        (2, call + timedelta(weeks=2, minutes=3), "Still fine after two weeks? (slow)"),
    ]
    assert [d.number for d in due([case], call, horizon_days=None, zone=UTC)] == [1, 2]


def test_happy_at_the_last_follow_up_closes_the_case() -> None:
    case = a_case("1", utc(20, 9), utc(27, 9))
    case.status = "awaiting_follow_up"
    case.record_follow_up(1, reached=True, happy="yes", note="fine", now=utc(20, 10))
    assert case.status == "awaiting_follow_up"  # the second one is still planned
    assert case.closed_at is None
    case.record_follow_up(2, reached=True, happy="yes", note="all good", now=utc(27, 11))
    assert case.status == "closed"
    assert case.closed_at == utc(27, 11)
    assert case.log[-1].event == "closed"
    second = case.follow_ups[1]
    assert (second.done_at, second.result, second.happy, second.note) == (
        utc(27, 11),
        "reached",
        "yes",
        "all good",
    )


def test_not_yet_keeps_it_awaiting_while_a_follow_up_is_planned_else_open() -> None:
    case = a_case("1", utc(20, 9), utc(27, 9))
    case.status = "awaiting_follow_up"
    case.record_follow_up(1, reached=True, happy="not_yet", note="", now=utc(20, 10))
    assert case.status == "awaiting_follow_up"
    case.record_follow_up(2, reached=True, happy="not_yet", note="", now=utc(27, 10))
    assert case.status == "open"  # unhappy, nothing planned
    assert case.closed_at is None


def test_not_reached_records_no_happiness() -> None:
    case = a_case("1", utc(20, 9))
    case.record_follow_up(1, reached=False, happy="yes", note="voicemail", now=utc(20, 10))
    item = case.follow_ups[0]
    assert (item.result, item.happy, item.note) == ("not_reached", None, "voicemail")
    assert case.status == "open"
    assert (case.log[-1].event, case.log[-1].detail) == ("follow-up done", "#1: not_reached")


def test_recording_an_unknown_follow_up_is_refused() -> None:
    case = a_case("1", utc(20, 9))
    with pytest.raises(ValueError, match="case 1 has no follow-up 2"):
        case.record_follow_up(2, reached=True, happy="yes", note="", now=utc(20, 10))


def test_adding_a_follow_up_reopens_a_closed_case() -> None:
    case = a_case("1", utc(20, 9))
    case.record_follow_up(1, reached=True, happy="yes", note="", now=utc(20, 10))
    assert case.status == "closed" and case.closed_at == utc(20, 10)
    added = case.add_follow_up(utc(23, 10), "Checking in", utc(21, 8))
    assert (added.id, added.step, added.due_at, added.message) == (
        2,
        None,
        utc(23, 10),
        "Checking in",
    )
    assert case.status == "awaiting_follow_up"
    assert case.closed_at is None
    assert [e.event for e in case.log[-2:]] == ["follow-up added", "reopened"]
    assert case.updated_at == utc(21, 8)


def test_cancel_follow_ups_drops_every_one_still_to_do() -> None:
    case = a_case("1", utc(20, 9), utc(22, 9), utc(24, 9))
    case.record_follow_up(1, reached=True, happy="not_yet", note="", now=utc(20, 10))
    case.cancel_follow_ups(utc(21, 8))
    assert [(f.id, f.result, f.done_at) for f in case.follow_ups] == [
        (1, "reached", utc(20, 10)),
        (2, "cancelled", utc(21, 8)),
        (3, "cancelled", utc(21, 8)),
    ]
    assert case.pending_follow_ups() == []
    # A cancelled follow-up is not "the last one done": the one actually done is.
    last = case.last_follow_up_result()
    assert last is not None and last.id == 1


# -- iCalendar ----------------------------------------------------------------------------
def test_ics_has_one_event_per_due_follow_up_at_its_due_time() -> None:
    cases = [
        a_case("7", utc(24, 9, 15), utc(26, 16)),
        a_case("8", utc(25, 13, 45), name=""),
    ]
    items = due(cases, NOW, zone=UTC)
    calendar = Calendar.from_ical(to_ics(items, NOW))
    events = list(calendar.walk("VEVENT"))
    assert len(events) == len(items) == 3
    assert str(calendar["VERSION"]) == "2.0"
    for event, item in zip(events, items, strict=True):
        assert event.decoded("DTSTART") == item.due_at
        assert event.decoded("DURATION") == timedelta(minutes=15)
        assert str(event["UID"]) == f"recover-case-{item.case_id}-follow-up-{item.number}"
        description = str(event["DESCRIPTION"])
        assert description.startswith(item.message + "\n")
        assert f"recover followup {item.case_id}" in description
    summaries = [str(e["SUMMARY"]) for e in events]
    assert summaries == [
        "Follow up with Dana Reyes (case 7)",
        "Follow up with customer (case 8)",
        "Follow up with Dana Reyes (case 7)",
    ]
    first = str(events[0]["DESCRIPTION"])
    assert "Email: dana@example.com" in first and "Order: A-1" in first


def test_ics_of_nothing_is_an_empty_calendar() -> None:
    calendar = Calendar.from_ical(to_ics([], NOW))
    assert list(calendar.walk("VEVENT")) == []


# -- through the CLI ----------------------------------------------------------------------
def test_followups_ics_writes_the_listed_follow_ups(
    run: Run,
    home: Path,
    tmp_path: Path,
    user_playbook: Callable[[str, str], Path],
    freeze: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with monkeypatch.context() as zone:
        zone.setenv("TZ", "UTC0")
        time.tzset()
        try:
            check_followups_ics(run, home, tmp_path, user_playbook, freeze)
        finally:
            zone.undo()
            time.tzset()


def check_followups_ics(
    run: Run,
    home: Path,
    tmp_path: Path,
    user_playbook: Callable[[str, str], Path],
    freeze: Clock,
) -> None:
    user_playbook("sample", SAMPLE)
    answers = tmp_path / "answers.json"
    for number, opened in enumerate([utc(10, 9), utc(21, 9), utc(23, 9)], start=1):
        answers.write_text(
            json.dumps(
                {
                    "playbook": "sample",
                    "customer": {"name": f"Customer {number}", "email": f"c{number}@x.io"},
                    "answers": {"complaint": f"problem {number}", "arrived": True},
                }
            )
        )
        freeze(opened)
        created = run("new", "--answers", str(answers), "--no-input")
        assert created.exit_code == 0, created.output
        assert created.stdout == f"{number}\n"
    freeze(NOW)
    added = run("followup", "add", "3", "--in", "2w")  # due 9 Dec: past the 7 days
    assert added.exit_code == 0, added.output
    ics = tmp_path / "follow-ups.ics"
    result = run("followups", "--ics", str(ics))
    assert result.exit_code == 0, result.output
    assert f"Wrote 3 follow-ups to {ics}" in result.stderr
    assert stat.S_IMODE(os.stat(ics).st_mode) == 0o600

    listed_json = json.loads(run("followups", "--json").stdout)
    events = list(Calendar.from_ical(ics.read_bytes()).walk("VEVENT"))
    assert len(events) == len(listed_json) == 3
    assert [(i["case_id"], i["follow_up"]) for i in listed_json] == [("1", 1), ("2", 1), ("3", 1)]
    for event, item in zip(events, listed_json, strict=True):
        due = datetime.fromisoformat(item["due_at"].replace("Z", "+00:00"))
        assert event.decoded("DTSTART") == due
        assert str(event["SUMMARY"]) == (
            f"Follow up with {item['customer']['name']} (case {item['case_id']})"
        )
        assert str(event["DESCRIPTION"]).startswith(item["message"] + "\n")
    assert read_case(home, "1")["follow_ups"][0]["due_at"] == "2026-11-13T09:00:00Z"
    assert listed_json[0]["due_at"] == "2026-11-13T09:00:00Z"

    every = tmp_path / "all.ics"
    assert run("followups", "--all", "--ics", str(every), "--json").exit_code == 0
    events = list(Calendar.from_ical(every.read_bytes()).walk("VEVENT"))
    assert len(events) == 4
    assert events[-1].decoded("DTSTART") == NOW + timedelta(weeks=2)
