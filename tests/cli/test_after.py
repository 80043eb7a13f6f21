"""After the call, through the CLI: follow-ups, closing, prevention, customer history,
the returning-customer notice, and a whole journey from the call to the stats.

The clock is frozen (every command reads ``recovery_cli.clock.now``) and the local
zone is UTC-5 with no daylight saving, so nothing here depends on today's date or on
the machine's zone."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SAMPLE, Clock, Run, read_case, utc

DETAILS = ["Dana Reyes", "dana@example.com", "A-1042", "40", "phone"]
FIRST_MESSAGE = "Is everything working now, Dana? (The link never came)"


def check_in(first_name: str) -> str:
    """The sample playbook's follow-up message for a case made by :class:`Cases`."""
    return f"Is everything working now, {first_name}? (The link never came)"


AFTER = """\
id = "after"
title = "After-call routine"

[[steps]]
id = "listen"
ask = { key = "complaint", prompt = "What went wrong?" }

[[steps]]
id = "why"
ask = { key = "root_cause", prompt = "Why did it happen?" }

[[steps]]
id = "never-again"
ask = { key = "prevention", prompt = "How will you stop it happening again?" }

[[steps]]
id = "check-in"
follow_up = { after = "3d", say = "All good now, $first_name?" }
"""


@pytest.fixture(autouse=True)
def local_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The seller's zone: UTC-5 all year (09:00 UTC is 04:00 local)."""
    with monkeypatch.context() as zone:
        zone.setenv("TZ", "<-05>5")
        time.tzset()
        yield
    time.tzset()


@pytest.fixture
def clock(freeze: Clock) -> Clock:
    """The time every command takes for now: frozen from the start, at noon on 1 Nov."""
    freeze.set(utc(1, 12))
    return freeze


@pytest.fixture
def playbooks(user_playbook: Callable[[str, str], Path]) -> None:
    user_playbook("sample", SAMPLE)
    user_playbook("after", AFTER)


class Cases:
    """Cases made with ``recover new --answers FILE --no-input`` at a given time."""

    def __init__(self, run: Run, clock: Clock, folder: Path) -> None:
        self.run, self.clock, self.file = run, clock, folder / "answers.json"

    def new(
        self,
        at: datetime,
        *,
        playbook: str = "sample",
        answers: dict[str, Any] | None = None,
        **customer: str,
    ) -> str:
        if answers is None:
            answers = (
                {"complaint": "The link never came", "arrived": True, "remedy": ["credit"]}
                if playbook == "sample"
                else {"complaint": "Box crushed", "root_cause": "Thin box", "prevention": "Pad it"}
            )
        data = {"playbook": playbook, "customer": customer, "answers": answers}
        self.file.write_text(json.dumps(data))
        self.clock.set(at)
        result = self.run("new", "--answers", str(self.file), "--no-input")
        assert result.exit_code == 0, result.output
        return str(result.stdout.strip())

    def dana(self, at: datetime, **answers: Any) -> str:
        """A case for Dana, walked with the sample playbook (follow-up due 3 days on)."""
        return self.new(
            at,
            name="Dana Reyes",
            email="dana@example.com",
            order="A-1042",
            order_value="40",
            channel="phone",
            **({"answers": answers} if answers else {}),
        )


@pytest.fixture
def cases(run: Run, clock: Clock, tmp_path: Path, playbooks: None) -> Cases:
    return Cases(run, clock, tmp_path)


def rows(out: str) -> list[str]:
    """Printed lines, with column gaps shown as `` | `` and blank lines left out."""
    return [re.sub(r"\s{2,}", " | ", line.strip()) for line in out.splitlines() if line.strip()]


def disk(home: Path, case_id: str = "1") -> bytes:
    return (home / "cases" / f"{case_id}.json").read_bytes()


# -- recover followups --------------------------------------------------------------------
@pytest.fixture
def due_cases(cases: Cases, run: Run, clock: Clock) -> None:
    """Follow-ups all over the calendar; now is Wed 25 Nov 18:00 local (23:00 UTC).

    Created out of due order, so the case numbers do not give the order away."""
    for at, name in [
        (utc(25, 12), "Eve Upton"),  # 1: due Sat 28 Nov 07:00
        (utc(23, 2), "Cal Today"),  # 2: due 26 Nov 02:00 UTC = Wed 25 Nov 21:00 local
        (utc(17, 15), "Ann Overdue"),  # 3: due Fri 20 Nov 10:00
        (utc(22, 14), "Dee Today"),  # 4: due Wed 25 Nov 09:00
        (utc(22, 4), "Bob Overdue"),  # 5: due 25 Nov 04:00 UTC = Tue 24 Nov 23:00 local
    ]:
        cases.new(at, name=name, email=f"{name.split()[0].lower()}@example.com")
    clock.set(utc(25, 23))
    for delay, note in [("7d", "Last day in, $first_name"), ("8d", "Too far ahead")]:
        added = run("followup", "add", "1", "--in", delay, "--note", note)
        assert added.exit_code == 0, added.output
    assert run("followup", "add", "1", "--in", "1d").exit_code == 0  # done just below
    done = run("followup", "1", "-n", "4", "--reached", "--happy", "not-yet", "--no-input")
    assert done.exit_code == 0, done.output


def test_followups_leaves_out_the_long_overdue_and_says_how_many(
    cases: Cases, run: Run, clock: Clock
) -> None:
    """A store of years keeps follow-ups nobody did: the list shows those overdue for up
    to four weeks, says how many older (and later) ones it leaves out, and --all, the
    JSON too, gives every one."""
    for at, name in [(utc(1, month=10), "Old Overdue"), (utc(10), "Recent Overdue")]:
        cases.new(at, name=name, email=f"{name.split()[0].lower()}@example.com")
    clock.set(utc(25, 23))
    result = run("followups")
    assert result.exit_code == 0, result.output
    shown = rows(result.stdout)
    assert [line for line in shown if "Overdue" in line and "|" in line] == [
        f"Fri 13 Nov 07:00 | 2 | Recent Overdue | {check_in('Recent')}"
    ]
    assert "Not shown: 1 overdue for over 4 weeks (recover followups --all)." in shown
    every_one = run("followups", "--all")
    assert "Old Overdue" in every_one.stdout and "Not shown" not in every_one.stdout
    listed = run("followups", "--json")
    assert [item["case_id"] for item in json.loads(listed.stdout)] == ["2"]
    assert "Not shown: 1 overdue for over 4 weeks" in listed.stderr
    assert [item["case_id"] for item in json.loads(run("followups", "--json", "--all").stdout)] == [
        "1",
        "2",
    ]


def test_followups_grouped_overdue_today_upcoming_by_local_date(
    run: Run, home: Path, due_cases: None
) -> None:
    result = run("followups")
    assert result.exit_code == 0, result.output
    assert rows(result.stdout) == [
        "Overdue (2)",
        "Due | Case | Customer | Say",
        f"Fri 20 Nov 10:00 | 3 | Ann Overdue | {check_in('Ann')}",
        f"Tue 24 Nov 23:00 | 5 | Bob Overdue | {check_in('Bob')}",
        "Today (2)",
        "Due | Case | Customer | Say",
        f"Wed 25 Nov 09:00 | 4 | Dee Today | {check_in('Dee')}",
        f"Wed 25 Nov 21:00 | 2 | Cal Today | {check_in('Cal')}",
        "Upcoming (2)",
        "Due | Case | Customer | Say",
        f"Sat 28 Nov 07:00 | 1 | Eve Upton | {check_in('Eve')}",
        "Wed 02 Dec 18:00 | 1 #2 | Eve Upton | Last day in, Eve",
        "Not shown: 1 due later (recover followups --all).",
        "Record one with: recover followup ID",
    ]
    assert result.stderr == ""


def test_followups_all_reaches_past_seven_days(run: Run, home: Path, due_cases: None) -> None:
    result = run("followups", "--all")
    assert result.exit_code == 0, result.output
    listed = rows(result.stdout)
    assert "Upcoming (3)" in listed
    assert listed[-2] == "Thu 03 Dec 18:00 | 1 #3 | Eve Upton | Too far ahead"
    assert "Too far ahead" not in run("followups").stdout


def test_followups_json_keys_order_and_when(run: Run, home: Path, due_cases: None) -> None:
    result = run("followups", "--json")
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    assert [(i["case_id"], i["follow_up"], i["when"]) for i in items] == [
        ("3", 1, "overdue"),
        ("5", 1, "overdue"),
        ("4", 1, "today"),
        ("2", 1, "today"),
        ("1", 1, "upcoming"),
        ("1", 2, "upcoming"),
    ]
    assert items[1] == {
        "case_id": "5",
        "follow_up": 1,
        "due_at": "2026-11-25T04:00:00Z",
        "when": "overdue",
        "customer": {"name": "Bob Overdue", "email": "bob@example.com", "order": "", "channel": ""},
        "playbook": "Sample recovery",
        "message": check_in("Bob"),
        "sent": None,
    }
    assert all(set(i) == set(items[1]) for i in items)
    every = json.loads(run("followups", "--json", "--all").stdout)
    assert [(i["case_id"], i["follow_up"]) for i in every][-1] == ("1", 3)
    assert len(every) == 7


def test_followups_when_there_are_none(run: Run, home: Path) -> None:
    assert run("followups").stdout == "No follow-ups due in the next 7 days.\n"
    assert run("followups", "--all").stdout == "No follow-ups due.\n"
    assert json.loads(run("followups", "--json").stdout) == []


def test_bare_recover_and_list_say_in_one_line_when_some_are_overdue(
    run: Run, home: Path, due_cases: None, clock: Clock
) -> None:
    bare = run()
    assert bare.exit_code == 0
    assert bare.stdout.startswith("Usage: recover")
    assert bare.stderr == "2 follow-ups are overdue: recover followups\n"
    listed = run("list")
    assert listed.exit_code == 0
    assert listed.stderr == "2 follow-ups are overdue: recover followups\n"
    assert "overdue" not in listed.stdout
    assert json.loads(run("list", "--json").stdout)  # --json stays plain JSON
    done = run("followup", "3", "--not-reached", "--no-input")
    assert done.exit_code == 0, done.output
    assert run("list").stderr == "1 follow-up is overdue: recover followups\n"
    clock.set(utc(20, 12))  # back before anything was due
    assert run().stderr == "" and run("list").stderr == ""


# -- recover followup ID ------------------------------------------------------------------
@pytest.fixture
def due(cases: Cases, run: Run, clock: Clock) -> str:
    """Case 1, opened Fri 20 Nov 09:00 local, follow-up due Mon 23 Nov 09:00; now is
    Tue 24 Nov 10:30 local: it is overdue."""
    assert run("config", "set", "seller", "Sam").exit_code == 0
    assert run("config", "set", "business", "Sam's Templates").exit_code == 0
    case_id = cases.dana(utc(20, 14))
    clock.set(utc(24, 15, 30))
    return case_id


def test_followup_shows_the_message_then_records_the_answers(
    run: Run, home: Path, due: str
) -> None:
    result = run(
        "followup", "1",
        answers=["maybe", "y", "sort of", "not yet", "the second file still won't open", "2d"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Case 1 · follow-up 1 · Mon 23 Nov 09:00 (overdue)\n"
        "To: Dana Reyes · dana@example.com · order A-1042 · via phone\n"
        "\n"
        f"{FIRST_MESSAGE}\n"
        "\n"
        "Type y or n (Enter: yes).\n"
        "Type yes, not yet or no (or 1-3).\n"
        "Recorded follow-up 1 of case 1: reached, happy: not yet.\n"
        "Next follow-up: Thu 26 Nov 10:30.\n"
    )
    assert run.prompter is not None
    assert run.prompter.asked == [
        "Did you reach them? (Y/n): ",
        "Did you reach them? (Y/n): ",
        "Are they happy now? (yes / not yet / no): ",
        "Are they happy now? (yes / not yet / no): ",
        "Note (Enter skips): ",
        "Next follow-up in (e.g. 3d; Enter for none): ",
    ]
    case = read_case(home, "1")
    first, second = case["follow_ups"]
    assert {k: first[k] for k in ("done_at", "result", "happy", "note")} == {
        "done_at": "2026-11-24T15:30:00Z",
        "result": "reached",
        "happy": "not_yet",
        "note": "the second file still won't open",
    }
    assert second == {
        "id": 2,
        "step": None,
        "due_at": "2026-11-26T15:30:00Z",
        "message": "Hi Dana, it's Sam at Sam's Templates. I wanted to check in about your "
        "order A-1042: is everything all right now?",
        "done_at": None,
        "result": None,
        "happy": None,
        "note": "",
    }
    assert case["status"] == "awaiting_follow_up"
    assert [(e["event"], e["detail"]) for e in case["log"][-2:]] == [
        ("follow-up done", "#1: happy not yet"),
        ("follow-up added", "#2"),
    ]


def test_followup_happy_closes_the_case_and_offers_the_outcome(
    run: Run, home: Path, due: str
) -> None:
    result = run("followup", "1", answers=["y", "yes", "", "n"])
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(
        "Recorded follow-up 1 of case 1: reached, happy: yes.\n"
        "Case 1 is closed.\n"
        "Later: recover close 1\n"
    )
    assert run.prompter is not None
    assert run.prompter.asked[-1].startswith("Record the outcome now")
    case = read_case(home, "1")
    assert (case["status"], case["closed_at"], case["outcome"]) == (
        "closed",
        "2026-11-24T15:30:00Z",
        None,
    )
    assert len(case["follow_ups"]) == 1  # a happy customer is not asked for a next one


def test_followup_with_options_and_no_input(run: Run, home: Path, due: str, clock: Clock) -> None:
    result = run(
        "followup", "1", "--not-reached", "--note", "voicemail", "--next", "1d", "--no-input"
    )
    assert result.exit_code == 0, result.output
    assert rows(result.stdout)[-2:] == [
        "Recorded follow-up 1 of case 1: not reached.",
        "Next follow-up: Wed 25 Nov 10:30.",
    ]
    case = read_case(home, "1")
    first, second = case["follow_ups"]
    assert (first["result"], first["happy"], first["note"]) == ("not_reached", None, "voicemail")
    assert second["message"] == FIRST_MESSAGE  # not reached: the same message again
    assert second["due_at"] == "2026-11-25T15:30:00Z"

    clock.set(utc(25, 16))
    result = run("followup", "#1", "--reached", "--happy", "not-yet", "--no-input")
    assert result.exit_code == 0, result.output
    assert "Case 1 · follow-up 2 · Wed 25 Nov 10:30 (due today)" in result.stdout
    assert rows(result.stdout)[-2:] == [
        "Recorded follow-up 2 of case 1: reached, happy: not yet.",
        "Case 1 has no follow-up planned. Plan one with `recover followup add 1`, "
        "or close it with `recover close 1`.",
    ]
    assert read_case(home, "1")["status"] == "open"
    assert run("followup", "add", "1", "--in", "2d").exit_code == 0
    result = run("followup", "1", "-n", "3", "--reached", "--happy", "yes", "--no-input")
    assert result.exit_code == 0, result.output
    assert "(not due yet)" in result.stdout
    assert rows(result.stdout)[-2:] == [
        "Recorded follow-up 3 of case 1: reached, happy: yes.",
        "Case 1 is closed.",
    ]
    case = read_case(home, "1")
    assert (case["status"], case["closed_at"]) == ("closed", "2026-11-25T16:00:00Z")
    assert [f["happy"] for f in case["follow_ups"]] == [None, "not_yet", "yes"]


def test_followup_happy_option_for_a_customer_not_reached_after_all(
    run: Run, home: Path, due: str
) -> None:
    result = run("followup", "1", "--happy", "yes", answers=["n", "", ""])
    assert result.exit_code == 0, result.output
    assert "Recorded follow-up 1 of case 1: not reached.\n" in result.stdout
    assert "happy" not in result.stdout.split("Recorded")[1]
    case = read_case(home, "1")
    assert (case["follow_ups"][0]["result"], case["follow_ups"][0]["happy"]) == (
        "not_reached",
        None,
    )
    assert case["log"][-1]["detail"] == "#1: not_reached"
    assert case["status"] == "open"


def test_followup_errors(run: Run, home: Path, due: str) -> None:
    before = disk(home)
    missing = run("followup", "9", "--reached", "--happy", "yes", "--no-input")
    assert missing.exit_code == 4 and "Error: no case 9" in missing.stderr
    no_such = run("followup", "1", "-n", "5", "--reached", "--happy", "yes", "--no-input")
    assert no_such.exit_code == 4
    assert "Error: case 1 has no follow-up 5" in no_such.stderr
    both = run("followup", "1", "--happy", "yes", "--not-reached", "--no-input")
    assert both.exit_code == 2
    assert both.stderr == "Error: --happy needs a customer you reached: drop --not-reached\n"
    nothing = run("followup", "1", "--no-input")
    assert nothing.exit_code == 2
    assert "Error: --no-input needs --reached or --not-reached" in nothing.stderr
    unhappy = run("followup", "1", "--reached", "--no-input")
    assert unhappy.exit_code == 2
    assert "Error: --no-input needs --happy: yes, not-yet or no" in unhappy.stderr
    bad_happy = run("followup", "1", "--reached", "--happy", "maybe", "--no-input")
    assert bad_happy.exit_code == 2 and "Type yes, not yet or no" in bad_happy.stderr
    bad_next = run("followup", "1", "--not-reached", "--next", "soon", "--no-input")
    assert bad_next.exit_code == 2 and "not a delay" in bad_next.stderr
    assert disk(home) == before
    assert "Traceback" not in missing.output + both.output + nothing.output + bad_next.output

    assert run("followup", "1", "--reached", "--happy", "yes", "--no-input").exit_code == 0
    again = run("followup", "1", "-n", "1", "--reached", "--happy", "yes", "--no-input")
    assert again.exit_code == 2
    assert again.stderr == (
        "Error: follow-up 1 of case 1 was already done (Tue 24 Nov 10:30)\n"
        "See it with: recover show 1\n"
    )
    none_left = run("followup", "1", "--reached", "--happy", "yes", "--no-input")
    assert none_left.exit_code == 4
    assert none_left.stderr == (
        "Error: case 1 has no follow-up to do\nAdd one with: recover followup add 1 --in 3d\n"
    )


@pytest.mark.parametrize(
    "answers",
    [["^C"], ["y", "^C"], ["y", "not yet", "a note", "^C"], ["n", "^D"]],
    ids=["reached", "happy", "next", "eof-at-note"],
)
def test_interrupting_a_followup_records_nothing(
    run: Run, home: Path, due: str, answers: list[str]
) -> None:
    before = disk(home)
    result = run("followup", "1", answers=answers)
    assert result.exit_code == 130
    assert result.stderr == "Stopped; nothing was recorded for case 1.\n"
    assert FIRST_MESSAGE in result.stdout
    assert "Recorded" not in result.stdout
    assert disk(home) == before
    # The case is not left locked: it can be recorded at once.
    assert run("followup", "1", "--not-reached", "--no-input").exit_code == 0


# -- recover followup add -----------------------------------------------------------------
def test_followup_add_plans_one_by_hand(run: Run, home: Path, due: str) -> None:
    result = run("followup", "add", "1", "--in", "3d", "--note", "Hi $first_name, did it open?")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Follow-up 2 added to case 1, due Fri 27 Nov 10:30.\n"
    added = read_case(home, "1")["follow_ups"][1]
    assert (added["id"], added["step"], added["due_at"], added["message"]) == (
        2,
        None,
        "2026-11-27T15:30:00Z",
        "Hi Dana, did it open?",
    )
    default = run("followup", "add", "case-1")
    assert default.stdout == "Follow-up 3 added to case 1, due Fri 27 Nov 10:30.\n"
    assert read_case(home, "1")["follow_ups"][2]["message"] == (
        "Hi Dana, it's Sam at Sam's Templates. I wanted to check in about your order A-1042: "
        "is everything all right now?"
    )
    hours = run("followup", "add", "1", "--in", "12h")
    assert hours.stdout == "Follow-up 4 added to case 1, due Tue 24 Nov 22:30.\n"


def test_followup_add_reopens_a_closed_case(run: Run, home: Path, due: str) -> None:
    closed = run("close", "1", "--outcome", "kept", "--cancel-follow-ups", "--no-input")
    assert closed.exit_code == 0, closed.output
    assert read_case(home, "1")["status"] == "closed"
    result = run("followup", "add", "1", "--in", "1w", "--note", "One more check")
    assert result.exit_code == 0, result.output
    case = read_case(home, "1")
    assert (case["status"], case["closed_at"]) == ("awaiting_follow_up", None)
    assert [e["event"] for e in case["log"][-2:]] == ["follow-up added", "reopened"]
    assert case["follow_ups"][-1]["due_at"] == "2026-12-01T15:30:00Z"
    listed = json.loads(run("followups", "--json").stdout)
    assert [(i["case_id"], i["follow_up"], i["message"]) for i in listed] == [
        ("1", 2, "One more check")
    ]
    # Done, with the outcome already recorded: closed again.
    done = run("followup", "1", "--reached", "--happy", "no", "--no-input")
    assert done.exit_code == 0
    assert read_case(home, "1")["status"] == "closed"


def test_followup_add_errors(run: Run, home: Path, due: str) -> None:
    before = disk(home)
    bad = run("followup", "add", "1", "--in", "soon")
    assert bad.exit_code == 2 and "not a delay" in bad.stderr
    assert run("followup", "add", "9").exit_code == 4
    assert disk(home) == before


# -- recover close ------------------------------------------------------------------------
def test_close_with_options(run: Run, home: Path, due: str) -> None:
    result = run(
        "close", "1", "--outcome", "kept", "--satisfaction", "4",
        "--cause", "Mailer dropped the link", "--tag", " Email ",
        "--prevention", "Send links from the shop", "--cancel-follow-ups",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == "Outcome of case 1: kept, satisfaction 4/5. Case 1 is closed.\n"
    case = read_case(home, "1")
    assert case["outcome"] == {
        "result": "kept",
        "satisfaction": 4,
        "root_cause": "Mailer dropped the link",
        "cause_tag": "email",
        "prevention": "Send links from the shop",
        "prevention_done_at": None,
        "recorded_at": "2026-11-24T15:30:00Z",
    }
    assert (case["status"], case["closed_at"]) == ("closed", "2026-11-24T15:30:00Z")
    assert (case["follow_ups"][0]["result"], case["follow_ups"][0]["done_at"]) == (
        "cancelled",
        "2026-11-24T15:30:00Z",
    )
    assert json.loads(run("followups", "--json", "--all").stdout) == []


def test_close_keeping_follow_ups_closes_when_the_last_is_done(
    run: Run, home: Path, due: str
) -> None:
    result = run("close", "1", "--outcome", "lost", "--keep-follow-ups", "--no-input")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Outcome of case 1: lost. Case 1 closes when its follow-up (Mon 23 Nov 09:00) is done.\n"
    )
    case = read_case(home, "1")
    assert (case["status"], case["outcome"]["result"]) == ("awaiting_follow_up", "lost")
    assert case["follow_ups"][0]["done_at"] is None
    done = run("followup", "1", "--reached", "--happy", "no", "--no-input")
    assert rows(done.stdout)[-1] == "Case 1 is closed."
    assert read_case(home, "1")["status"] == "closed"


def test_close_with_no_input_keeps_follow_ups_and_earlier_answers(
    run: Run, home: Path, due: str
) -> None:
    first = run(
        "close", "1", "--outcome", "kept", "--satisfaction", "3", "--cause", "Spam filter",
        "--tag", "email", "--prevention", "Use a known sender",
    )  # fmt: skip
    # Every answer given: nothing is asked, and the follow-up is kept.
    assert first.exit_code == 0, first.output
    assert read_case(home, "1")["status"] == "awaiting_follow_up"
    again = run("close", "1", "--outcome", "escalated", "--no-input")
    assert again.exit_code == 0, again.output
    outcome = read_case(home, "1")["outcome"]
    assert (outcome["result"], outcome["satisfaction"], outcome["cause_tag"]) == (
        "escalated",
        3,
        "email",
    )


def test_close_errors(run: Run, home: Path, due: str) -> None:
    before = disk(home)
    no_outcome = run("close", "1", "--no-input")
    assert no_outcome.exit_code == 2
    assert "Error: --no-input needs --outcome: kept, refunded, lost or escalated" in (
        no_outcome.stderr
    )
    assert run("close", "1", "--outcome", "maybe", "--no-input").exit_code == 2
    assert run("close", "1", "--outcome", "kept", "--satisfaction", "6").exit_code == 2
    assert run("close", "7", "--outcome", "kept", "--no-input").exit_code == 4
    assert disk(home) == before


def test_close_interactively_starts_from_the_answers_on_the_call(
    run: Run, home: Path, cases: Cases, clock: Clock
) -> None:
    cases.new(
        utc(20, 14),
        playbook="after",
        name="Lee Park",
        answers={"complaint": "Box crushed", "root_cause": "Thin box", "prevention": "Pad it"},
    )
    clock.set(utc(21, 15))
    result = run("close", "1", answers=["", "2", "9", "3", "", "Courier", "", "n"])
    assert result.exit_code == 0, result.output
    assert run.prompter is not None
    assert run.prompter.asked == [
        "Outcome (1-4): ",
        "Outcome (1-4): ",
        "Satisfaction, 1-5 (Enter skips): ",
        "Satisfaction, 1-5 (Enter skips): ",
        "Root cause (what really went wrong?): ",
        "Cause tag (a word or two to group by, like email or packaging): ",
        "Prevention (how will you make sure it never happens again?): ",
        "1 follow-up(s) still planned (next Mon 23 Nov 09:00): keep them? (Y/n): ",
    ]
    # What the call's answers said is on the line, to edit.
    assert run.prompter.prefills == ["", "", "", "", "Thin box", "", "Pad it", ""]
    out = result.stdout
    assert out.startswith("Closing case 1 · Lee Park\nHow did it end?\n  1. kept\n")
    assert "Type kept, refunded, lost or escalated (or 1-4)." in out
    assert "Type a number from 1 (unhappy) to 5 (delighted)" in out
    assert out.endswith("Outcome of case 1: refunded, satisfaction 3/5. Case 1 is closed.\n")
    case = read_case(home, "1")
    assert {k: case["outcome"][k] for k in ("result", "satisfaction", "root_cause")} == {
        "result": "refunded",
        "satisfaction": 3,
        "root_cause": "Thin box",
    }
    assert (case["outcome"]["cause_tag"], case["outcome"]["prevention"]) == ("courier", "Pad it")
    assert case["follow_ups"][0]["result"] == "cancelled"
    assert case["status"] == "closed"

    # Closing again changes it; Enter keeps what was recorded, and a prevention marked
    # done stays done while it is the same action.
    assert run("prevent", "done", "1").exit_code == 0
    clock.set(utc(22, 15))
    again = run("close", "1", answers=["", "", "", "", ""])
    assert again.exit_code == 0, again.output
    assert "Outcome (1-4) [refunded]: " in run.prompter.asked
    assert run.prompter.prefills[1:5] == ["3", "Thin box", "courier", "Pad it"]
    outcome = read_case(home, "1")["outcome"]
    assert (outcome["result"], outcome["satisfaction"], outcome["cause_tag"]) == (
        "refunded",
        3,
        "courier",
    )
    assert outcome["prevention_done_at"] == "2026-11-21T15:00:00Z"
    assert outcome["recorded_at"] == "2026-11-22T15:00:00Z"
    changed = run("close", "1", "--prevention", "Use boxes with corners", "--no-input")
    assert changed.exit_code == 0
    assert read_case(home, "1")["outcome"]["prevention_done_at"] is None


def test_close_interactively_keeping_follow_ups(run: Run, home: Path, due: str) -> None:
    result = run("close", "1", answers=["kept", "", "", "", "", "y"])
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(
        "Outcome of case 1: kept. Case 1 closes when its follow-up (Mon 23 Nov 09:00) is done.\n"
    )
    case = read_case(home, "1")
    assert case["status"] == "awaiting_follow_up"
    assert case["outcome"]["satisfaction"] is None


@pytest.mark.parametrize("answers", [["^C"], ["1", "5", "^C"], ["1", "", "", "", "", "^D"]])
def test_interrupting_close_records_nothing(
    run: Run, home: Path, due: str, answers: list[str]
) -> None:
    before = disk(home)
    result = run("close", "1", answers=answers)
    assert result.exit_code == 130
    assert result.stderr == "Stopped; the outcome of case 1 was not recorded.\n"
    assert disk(home) == before


# -- recover prevent ----------------------------------------------------------------------
@pytest.fixture
def preventions(cases: Cases, run: Run, clock: Clock) -> None:
    closing = [
        ("Ann", ["--tag", "Email", "--cause", "Spam filter", "--prevention", "Use a known sender"]),
        ("Bob", ["--tag", "courier", "--prevention", "Switch couriers"]),
        ("Cal", ["--tag", "email", "--prevention", "Send links twice"]),
        ("Dee", ["--prevention", "Write it down"]),
        ("Eve", []),  # an outcome without a prevention action
    ]
    for day, (name, options) in enumerate(closing, start=2):
        cases.new(utc(day, 15), name=name)
        result = run("close", str(day - 1), "--outcome", "kept", *options, "--no-input")
        assert result.exit_code == 0, result.output
    cases.new(utc(9, 15), name="Fay")  # no outcome at all
    clock.set(utc(10, 15))


def test_prevent_groups_open_actions_by_cause_tag(run: Run, home: Path, preventions: None) -> None:
    result = run("prevent")
    assert result.exit_code == 0, result.output
    listed = rows(result.stdout)
    assert [line for line in listed if re.fullmatch(r".+ \(\d+\)", line)] == [
        "email (2)",
        "courier (1)",
        "no tag (1)",
    ]
    assert [line.split(" | ")[:3] for line in listed if re.match(r"\d+ \| ", line)] == [
        ["3", "Send links twice", "—"],
        ["1", "Use a known sender", "Spam filter"],
        ["2", "Switch couriers", "—"],
        ["4", "Write it down", "—"],
    ]
    assert listed[-1] == "Mark one done with: recover prevent done ID"


def test_prevent_json_and_done(run: Run, home: Path, preventions: None, clock: Clock) -> None:
    items = json.loads(run("prevent", "--json").stdout)
    assert [(i["case_id"], i["cause_tag"]) for i in items] == [
        ("3", "email"),
        ("1", "email"),
        ("2", "courier"),
        ("4", ""),
    ]
    assert items[1] == {
        "case_id": "1",
        "customer": "Ann",
        "cause_tag": "email",
        "root_cause": "Spam filter",
        "prevention": "Use a known sender",
        "recorded_at": "2026-11-02T15:00:00Z",
        "done_at": None,
    }
    clock.set(utc(11, 15, 45))
    done = run("prevent", "done", "2")
    assert done.exit_code == 0, done.output
    assert done.stdout == "Prevention for case 2 is done: Switch couriers\n"
    assert read_case(home, "2")["outcome"]["prevention_done_at"] == "2026-11-11T15:45:00Z"
    assert "courier" not in run("prevent").stdout
    assert [i["case_id"] for i in json.loads(run("prevent", "--json").stdout)] == ["3", "1", "4"]
    every = json.loads(run("prevent", "--json", "--all").stdout)
    assert [(i["case_id"], i["done_at"]) for i in every if i["done_at"]] == [
        ("2", "2026-11-11T15:45:00Z")
    ]
    shown = rows(run("prevent", "--all").stdout)
    assert "courier (1)" in shown
    assert any(
        line.startswith("2 | Switch couriers") and "Wed 11 Nov 10:45" in line for line in shown
    )
    # Done twice: still done at the first time.
    clock.set(utc(12, 9))
    assert run("prevent", "done", "2").exit_code == 0
    assert read_case(home, "2")["outcome"]["prevention_done_at"] == "2026-11-11T15:45:00Z"


def test_prevent_errors_and_empty(run: Run, home: Path, preventions: None) -> None:
    no_action = run("prevent", "done", "5")
    assert no_action.exit_code == 4
    assert "Error: case 5 has no prevention action" in no_action.stderr
    assert run("prevent", "done", "6").exit_code == 4  # no outcome at all
    assert run("prevent", "done", "99").exit_code == 4
    for case_id in ("1", "2", "3", "4"):
        assert run("prevent", "done", case_id).exit_code == 0
    assert run("prevent").stdout == "No open prevention actions.\n"
    assert json.loads(run("prevent", "--json").stdout) == []


def test_prevent_done_prints_the_action_without_its_control_characters(
    run: Run, home: Path, cases: Cases
) -> None:
    cases.new(utc(2, 15), name="Eve")
    action = "Pad \x1b]0;pwned\x07the [red]box[/red]"
    closed = run("close", "1", "--outcome", "kept", "--prevention", action, "--no-input")
    assert closed.exit_code == 0, closed.output
    done = run("prevent", "done", "1")
    assert done.exit_code == 0
    assert done.stdout == "Prevention for case 1 is done: Pad ]0;pwnedthe [red]box[/red]\n"
    assert "\x1b" not in run("prevent", "--all").stdout


# -- recover customer ---------------------------------------------------------------------
@pytest.fixture
def history(cases: Cases, run: Run) -> None:
    cases.dana(utc(2, 15), complaint="x", arrived=False, remedy=["refund", "credit"], ticket="T1")
    closed = run(
        "close",
        "1",
        "--outcome",
        "refunded",
        "--satisfaction",
        "4",
        "--cancel-follow-ups",
        "--no-input",
    )
    assert closed.exit_code == 0, closed.output
    cases.new(utc(3, 15), name="Sam Lee", email="sam@example.org", order="B-7")
    cases.new(utc(4, 15), name="Dana Reyes", email="dana@example.com", order="A-2001")


def test_customer_by_email_name_and_order(run: Run, home: Path, history: None) -> None:
    by_email = run("customer", "DANA@example.com")
    assert by_email.exit_code == 0, by_email.output
    assert rows(by_email.stdout) == [
        "Dana Reyes · 2 cases",
        "ID | Opened | Playbook | Status | Remedies | Outcome",
        "3 | Wed 04 Nov 10:00 | Sample recovery | awaiting follow-up | Store credit",
        "1 | Mon 02 Nov 10:00 | Sample recovery | closed | Full refund; Store credit"
        " | refunded 4/5",
        "Remedies given in all: 60.00 USD",
    ]
    by_name = run("customer", "reyes")
    assert rows(by_name.stdout)[0] == "Dana Reyes · 2 cases"
    by_order = run("customer", "A-1042")
    assert rows(by_order.stdout)[0] == "Dana Reyes · 1 case"
    assert rows(by_order.stdout)[2].startswith("1 | ")
    other = run("customer", "B-7")
    assert rows(other.stdout)[0] == "Sam Lee · 1 case"


def test_customer_json(run: Run, home: Path, history: None) -> None:
    result = run("customer", "dana", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["query"] == "dana"
    assert [c["id"] for c in data["cases"]] == ["3", "1"]
    list_keys = set(json.loads(run("list", "--json").stdout)[0])
    for case in data["cases"]:
        assert set(case) == list_keys | {"remedies", "outcome", "satisfaction"}
    older = data["cases"][1]
    assert older["remedies"] == [
        {"label": "Full refund", "kind": "refund", "amount": "40.00", "currency": "USD"},
        {"label": "Store credit", "kind": "credit", "amount": "10.00", "currency": "USD"},
    ]
    assert (older["outcome"], older["satisfaction"], older["status"]) == ("refunded", 4, "closed")
    newer = data["cases"][0]
    assert (newer["outcome"], newer["satisfaction"]) == (None, None)


def test_customer_shows_the_newest_hundred_and_counts_every_case(
    run: Run, home: Path, monkeypatch: pytest.MonkeyPatch, history: None
) -> None:
    """A query that matches many cases (a mail domain) shows the newest of them, says
    how many there are, and totals what every one of them was given."""
    from recovery_cli import lookups

    every_one = json.loads(run("customer", "example", "--json").stdout)
    assert every_one["total"] == len(every_one["cases"]) > 2
    monkeypatch.setattr(lookups, "HISTORY_LIMIT", 2)
    few = json.loads(run("customer", "example", "--json").stdout)
    assert few["total"] == every_one["total"]
    assert [c["id"] for c in few["cases"]] == [c["id"] for c in every_one["cases"][:2]]
    shown = run("customer", "example")
    lines = rows(shown.stdout)
    assert lines[0].endswith(f"· {every_one['total']} cases")
    assert len([line for line in lines if re.match(r"^\d+ \| ", line)]) == 2
    assert (
        f"Showing the newest 2 of {every_one['total']} cases "
        "(recover customer 'example' --all)." in lines
    )
    assert lines[-1] == rows(run("customer", "example", "--all").stdout)[-1]
    assert (
        len(json.loads(run("customer", "example", "--all", "--json").stdout)["cases"])
        == (every_one["total"])
    )


def test_customer_without_a_match(run: Run, home: Path, history: None) -> None:
    none = run("customer", "nobody")
    assert none.exit_code == 0
    assert none.stdout == "No cases match 'nobody'.\n"
    assert json.loads(run("customer", "nobody", "--json").stdout) == {
        "query": "nobody",
        "total": 0,
        "cases": [],
        "orders": [],  # no orders imported
        "lifetime": None,
    }
    assert run("customer", "  ").stdout == "No cases match '  '.\n"


# -- the returning-customer notice --------------------------------------------------------
def walk_until_first_step(run: Run, clock: Clock, at: datetime, details: list[str]) -> str:
    clock.set(at)
    result = run("new", "-p", "sample", answers=[*details, ":pause"])
    assert result.exit_code == 0, result.output
    out: str = result.stdout
    assert "Step 1 of 7" in out
    return out.split("Step 1 of 7")[0]


def notice(before_first_step: str) -> str | None:
    found = [line for line in before_first_step.splitlines() if "Returning customer" in line]
    return found[0] if found else None


def test_repeat_notice_before_the_first_step(run: Run, home: Path, cases: Cases) -> None:
    cases.dana(utc(3, 3))  # 2 Nov 22:00 local
    assert run("close", "1", "--outcome", "refunded", "--no-input").exit_code == 0
    first_seen = walk_until_first_step(
        run, cases.clock, utc(13, 15), ["Someone Else", "", "", "", ""]
    )
    assert notice(first_seen) is None
    before = walk_until_first_step(run, cases.clock, utc(13, 16), DETAILS)
    assert notice(before) == (
        "! Returning customer: 2nd case in 90 days; "
        "last time: Sample recovery, refunded (case 1, 2 Nov 2026)"
    )
    assert before.index("Customer details") < before.index("! Returning customer")
    # The third: the last one (case 3) is paused, so still open.
    third = walk_until_first_step(run, cases.clock, utc(20, 15), DETAILS)
    assert notice(third) == (
        "! Returning customer: 3rd case in 90 days; "
        "last time: Sample recovery, open (case 3, 13 Nov 2026)"
    )


def test_repeat_notice_counts_90_days_and_all_cases(run: Run, home: Path, cases: Cases) -> None:
    cases.dana(utc(1, 15, month=6))  # 1 Jun: more than 90 days before November
    old_only = walk_until_first_step(run, cases.clock, utc(10, 15), DETAILS)
    assert notice(old_only) == (
        "! Returning customer: 2nd case; "
        "last time: Sample recovery, awaiting follow-up (case 1, 1 Jun 2026)"
    )
    mixed = walk_until_first_step(run, cases.clock, utc(11, 15), DETAILS)
    assert notice(mixed) == (
        "! Returning customer: 2nd case in 90 days (3rd in all); "
        "last time: Sample recovery, open (case 2, 10 Nov 2026)"
    )


def test_repeat_notice_matches_email_else_order_else_name(
    run: Run, home: Path, cases: Cases
) -> None:
    cases.new(utc(2, 15), name="Dana Reyes", email="dana@example.com")
    cases.new(utc(3, 15), name="Pat Doe", order="ORD-9")
    cases.new(utc(4, 15), name="Kim Ode")
    at = utc(10, 15)
    # Same name, another email: someone else.
    other = walk_until_first_step(
        run, cases.clock, at, ["Dana Reyes", "d.reyes@work.example", "", "", ""]
    )
    assert notice(other) is None
    # The email in another case: the same person, whatever the name.
    email = walk_until_first_step(run, cases.clock, at, ["D. R.", "DANA@example.com", "", "", ""])
    assert "(case 1," in (notice(email) or "")
    order = walk_until_first_step(run, cases.clock, at, ["", "", "ord-9", "", ""])
    assert "(case 2," in (notice(order) or "")
    name = walk_until_first_step(run, cases.clock, at, ["kim ode", "", "", "", ""])
    assert "(case 3," in (notice(name) or "")
    anonymous = walk_until_first_step(run, cases.clock, at, ["", "", "", "", ""])
    assert notice(anonymous) is None


# -- the whole journey --------------------------------------------------------------------
def test_full_journey_from_the_call_to_the_stats(
    run: Run, home: Path, clock: Clock, playbooks: None
) -> None:
    run("config", "set", "seller", "Sam")
    run("config", "set", "business", "Sam's Templates")

    # The call: Fri 20 Nov 09:00 local.
    clock.set(utc(20, 14))
    walk = run(
        "new", "-p", "sample",
        answers=[*DETAILS, "The link never came", "", "no", "2,3", "Refunded at once", "T-77",
                 "", "n"],
    )  # fmt: skip
    assert walk.exit_code == 0, walk.output
    out = walk.stdout
    assert "Case 1 started · Sample recovery" in out
    assert "Returning customer" not in out
    assert f"Mon 23 Nov 09:00: {FIRST_MESSAGE}" in out
    assert "Status: awaiting follow-up. Details: recover show 1" in out
    assert out.endswith("Later: recover close 1\n")

    # Monday afternoon: it is due today, not overdue.
    clock.set(utc(23, 20))
    assert rows(run("followups").stdout)[:3] == [
        "Today (1)",
        "Due | Case | Customer | Say",
        f"Mon 23 Nov 09:00 | 1 | Dana Reyes | {FIRST_MESSAGE}",
    ]
    assert run("list").stderr == ""

    # Tuesday morning: overdue; the follow-up is done, the customer not happy yet.
    clock.set(utc(24, 15))
    assert run("list").stderr == "1 follow-up is overdue: recover followups\n"
    first = run("followup", "1", answers=["y", "not yet", "second file won't open", "2d"])
    assert first.exit_code == 0, first.output
    assert "Case 1 · follow-up 1 · Mon 23 Nov 09:00 (overdue)" in first.stdout
    assert rows(first.stdout)[-2:] == [
        "Recorded follow-up 1 of case 1: reached, happy: not yet.",
        "Next follow-up: Thu 26 Nov 10:00.",
    ]

    # The outcome, recorded now; the next follow-up is kept.
    closing = run(
        "close", "1",
        answers=["kept", "4", "Mailer dropped the link", "Email", "Send links from the shop", "y"],
    )  # fmt: skip
    assert closing.exit_code == 0, closing.output
    assert closing.stdout.endswith(
        "Outcome of case 1: kept, satisfaction 4/5. "
        "Case 1 closes when its follow-up (Thu 26 Nov 10:00) is done.\n"
    )
    assert read_case(home, "1")["status"] == "awaiting_follow_up"

    # Thursday, an hour after it fell due: happy now, so the case closes.
    clock.set(utc(26, 16))
    last = run("followup", "1", "--reached", "--happy", "yes", "--note", "works now", "--no-input")
    assert last.exit_code == 0, last.output
    assert "Hi Dana, it's Sam at Sam's Templates." in last.stdout
    assert rows(last.stdout)[-2:] == [
        "Recorded follow-up 2 of case 1: reached, happy: yes.",
        "Case 1 is closed.",
    ]
    assert run("followups").stdout == "No follow-ups due in the next 7 days.\n"

    case = read_case(home, "1")
    assert (case["status"], case["closed_at"]) == ("closed", "2026-11-26T16:00:00Z")
    assert [(f["id"], f["result"], f["happy"], f["done_at"]) for f in case["follow_ups"]] == [
        (1, "reached", "not_yet", "2026-11-24T15:00:00Z"),
        (2, "reached", "yes", "2026-11-26T16:00:00Z"),
    ]
    assert case["outcome"]["cause_tag"] == "email"
    assert [e["event"] for e in case["log"]] == [
        "created",
        "walk completed",
        "follow-up done",
        "follow-up added",
        "outcome recorded",
        "follow-up done",
        "closed",
    ]

    stats = json.loads(run("stats", "--json").stdout)
    assert {k: stats[k] for k in ("cases", "with_outcome", "kept_rate", "closed")} == {
        "cases": 1,
        "with_outcome": 1,
        "kept_rate": 1.0,
        "closed": 1,
    }
    assert stats["money"] == {
        "USD": {
            "refunds": "40.00",
            "goodwill": "10.00",
            "cost": "50.00",
            "order_value": "40.00",
            "cost_share": 1.25,
        }
    }
    assert stats["median_hours_to_close"] == 146.0  # 6 days 2 hours
    assert stats["follow_ups"] == {"on_time": 1, "late": 1, "missed": 0, "pending": 0}
    assert (stats["cause_tags"], stats["satisfaction"]["4"]) == ({"email": 1}, 1)
    screen = run("stats").stdout
    assert "Kept           100% (1 of 1 with an outcome)" in screen
    assert "Cost           50.00 USD: refunds 40.00, goodwill 10.00; 125% of 40.00 USD" in screen
    assert "Time to close  median 6.1d (1 closed)" in screen
    assert "Follow-ups     1 on time · 1 late · 0 missed · 0 to come" in screen
    assert re.search(r"\n  email\s+█{30}\s+1\n", screen)

    history = rows(run("customer", "dana@example.com").stdout)
    assert history[2] == (
        "1 | Fri 20 Nov 09:00 | Sample recovery | closed | Full refund; Store credit | kept 4/5"
    )
    prevent = rows(run("prevent").stdout)
    assert prevent[:2] == ["email (1)", "Case | Prevention | Root cause | Since | Done"]
    assert prevent[2].startswith("1 | Send links from the shop | Mailer dropped the link | ")


def test_followup_with_every_answer_as_an_option_needs_no_terminal(
    run: Run, home: Path, due: str
) -> None:
    # No --no-input and no terminal: nothing is left to ask, so nothing is asked.
    result = run("followup", "1", "--reached", "--happy", "yes", "--note", "all good")
    assert result.exit_code == 0, result.output
    assert rows(result.stdout)[-1] == "Case 1 is closed."
    assert read_case(home, "1")["follow_ups"][0]["note"] == "all good"


def test_close_keeps_no_control_characters_from_its_options(run: Run, home: Path, due: str) -> None:
    result = run(
        "close", "1", "--outcome", "kept", "--satisfaction", "5",
        "--cause", "Link \x1b]0;pwned\x07expired", "--tag", "\x1b[31mlinks",
        "--prevention", "Longer\x9b links\r", "--no-input",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    outcome = read_case(home, "1")["outcome"]
    assert (outcome["root_cause"], outcome["cause_tag"], outcome["prevention"]) == (
        "Link ]0;pwnedexpired",
        "[31mlinks",
        "Longer links",
    )
