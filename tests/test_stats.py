"""Stats over a generated set of cases whose answers are known: every figure exact.

The cases are built with the project's own models and state changes (new_case,
remedies, follow-ups, outcomes), then counted by :class:`Stats`; the last tests build
a store through the CLI and check ``recover stats`` and ``recover stats --json``."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from recovery_cli.case import Case, Customer, Outcome, PlaybookRef, Remedy, new_case
from recovery_cli.projections import facts_of
from recovery_cli.stats import Stats
from tests.conftest import SAMPLE, Clock, Run, read_case, utc

EAST = timezone(timedelta(hours=13))
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@dataclass
class Spec:
    """One case to generate, and how it went."""

    opened: datetime
    playbook: str = "sample"
    currency: str = "USD"
    order_value: str | None = None
    remedies: list[tuple[str | None, str | None]] = field(default_factory=list)  # kind, amount
    outcome: str | None = None
    satisfaction: int | None = None
    tag: str = ""
    closed_after_hours: float | None = None
    pending_follow_up: bool = False


def build(case_id: int, spec: Spec) -> Case:
    customer = Customer(
        name=f"Customer {case_id}",
        order_value=Decimal(spec.order_value) if spec.order_value is not None else None,
    )
    ref = PlaybookRef(id=spec.playbook, title=spec.playbook.title(), hash="sha256:0")
    case = new_case(
        str(case_id), customer=customer, playbook=ref, currency=spec.currency, now=spec.opened
    )
    case.set_remedies(
        "remedy",
        [
            Remedy(
                step="remedy",
                offer=f"offer-{n}",
                label=f"Offer {n}",
                kind=kind,
                amount=Decimal(amount) if amount is not None else None,
                currency=spec.currency,
            )
            for n, (kind, amount) in enumerate(spec.remedies)
        ],
    )
    case.complete_walk(spec.opened)
    if spec.pending_follow_up:
        case.schedule_follow_up("check-in", NOW + timedelta(days=2), "Checking in")
        case.settle_status(spec.opened)
    if spec.outcome is not None:
        hours = spec.closed_after_hours or 0
        outcome = Outcome(
            result=spec.outcome,  # type: ignore[arg-type]
            satisfaction=spec.satisfaction,
            cause_tag=spec.tag,
        )
        case.set_outcome(outcome, spec.opened + timedelta(hours=hours))
    return case


# Eight cases, numbers worked out by hand below.
CASES = [
    Spec(  # 1
        utc(1), order_value="40", remedies=[("refund", "40.00"), ("credit", "10.00")],
        outcome="kept", satisfaction=5, tag="Email", closed_after_hours=2,
    ),
    Spec(  # 2
        utc(2), order_value="20", remedies=[("bonus", None), ("discount", "5.50")],
        outcome="kept", satisfaction=4, tag="email ", closed_after_hours=5,
    ),
    Spec(  # 3
        utc(3), order_value="30", remedies=[("refund", "30.00")],
        outcome="refunded", satisfaction=2, tag="EMAIL", closed_after_hours=30,
    ),
    Spec(  # 4
        utc(4), playbook="wrong-item", remedies=[("credit", "10.00")],
        outcome="lost", satisfaction=1, tag="packaging", closed_after_hours=9,
    ),
    Spec(  # 5: outcome recorded, a follow-up kept: awaiting, not closed
        utc(5), order_value="15", outcome="escalated", pending_follow_up=True,
        closed_after_hours=1,
    ),
    Spec(  # 6: no outcome yet
        utc(6), playbook="not-delivered", order_value="25", remedies=[("refund", "25.00")],
    ),
    Spec(  # 7: euros
        utc(7), playbook="wrong-item", currency="EUR", order_value="50",
        remedies=[("gift", "12.00")], outcome="kept", satisfaction=5, tag=" Packaging",
        closed_after_hours=1,
    ),
    Spec(  # 8
        utc(8), outcome="lost", satisfaction=3, tag="courier", closed_after_hours=20,
    ),
]  # fmt: skip


def generated() -> Iterator[Case]:
    for number, spec in enumerate(CASES, start=1):
        yield build(number, spec)


def counted(cases: Iterator[Case] | list[Case], **options: object) -> Stats:
    stats = Stats(now=NOW, zone=UTC, **options)  # type: ignore[arg-type]
    for case in cases:
        facts = facts_of(case)
        if stats.wants(facts):
            stats.add(facts)
    return stats


def test_the_generated_cases_are_what_the_specs_say() -> None:
    cases = list(generated())
    assert [c.status for c in cases] == [
        "closed", "closed", "closed", "closed", "awaiting_follow_up", "open", "closed", "closed",
    ]  # fmt: skip
    assert cases[2].closed_at == utc(3) + timedelta(hours=30)


def test_exact_figures_over_the_generated_cases() -> None:
    stats = counted(generated())
    data = stats.as_json()
    assert data.pop("remedy_kinds") == {
        "refund": {"cases": 3, "with_outcome": 2, "kept": 1, "kept_rate": 0.5},  # 1, 3, 6
        "exchange": {"cases": 0, "with_outcome": 0, "kept": 0, "kept_rate": None},
        "bonus": {"cases": 1, "with_outcome": 1, "kept": 1, "kept_rate": 1.0},
        "gift": {"cases": 1, "with_outcome": 1, "kept": 1, "kept_rate": 1.0},
        "credit": {"cases": 2, "with_outcome": 2, "kept": 1, "kept_rate": 0.5},  # 1, 4
        "discount": {"cases": 1, "with_outcome": 1, "kept": 1, "kept_rate": 1.0},
        "support": {"cases": 0, "with_outcome": 0, "kept": 0, "kept_rate": None},
        "other": {"cases": 0, "with_outcome": 0, "kept": 0, "kept_rate": None},
        "none": {"cases": 2, "with_outcome": 2, "kept": 0, "kept_rate": 0.0},  # 5, 8
    }
    speed = data.pop("speed")
    assert speed["first_reply"]["cases"] == 0  # no walk steps, no mail: nothing to time
    to_close = speed["to_close"]
    assert [(b["cases"], b["with_outcome"], b["kept"]) for b in to_close["buckets"]] == [
        (5, 5, 3),  # 1, 2, 4, 7, 8: within a day
        (1, 1, 0),  # 3: 30 hours
        (0, 0, 0),
        (0, 0, 0),
        (0, 0, 0),
    ]
    assert to_close["quick"] == {"cases": 6, "with_outcome": 6, "kept": 3, "kept_rate": 0.5}
    assert to_close["slow"]["cases"] == 0 and to_close["median_hours"] == 7.0
    assert data == {
        "since": None,
        "until": None,
        "cases": 8,
        "with_outcome": 7,
        "kept_rate": 0.4286,  # 3 kept of 7
        "outcomes": {"kept": 3, "refunded": 1, "lost": 2, "escalated": 1},
        "money": {
            "EUR": {
                "refunds": "0.00",
                "goodwill": "12.00",
                "cost": "12.00",
                "order_value": "50.00",
                "cost_share": 0.24,
            },
            "USD": {
                "refunds": "95.00",  # 40 + 30 + 25
                "goodwill": "25.50",  # 10 + 5.50 + 10; the bonus has no amount
                "cost": "120.50",
                "order_value": "130.00",  # 40 + 20 + 30 + 15 + 25; 4 and 8 have none
                "cost_share": 0.9269,  # 120.50 / 130
            },
        },
        "closed": 6,  # hours 2, 5, 30, 9, 1, 20
        "median_hours_to_close": 7.0,  # (5 + 9) / 2
        "follow_ups": {"on_time": 0, "late": 0, "missed": 0, "pending": 1},
        "playbooks": {"sample": 5, "wrong-item": 2, "not-delivered": 1},
        "cause_tags": {"email": 3, "packaging": 2, "courier": 1},
        "satisfaction": {"1": 1, "2": 1, "3": 1, "4": 1, "5": 2},
        "bought_again": None,  # no orders imported
    }


def test_money_is_exact_decimal_per_currency() -> None:
    stats = counted(generated())
    usd = stats.money["USD"]
    assert (usd.refunds, usd.goodwill, usd.cost) == (
        Decimal("95.00"),
        Decimal("25.50"),
        Decimal("120.50"),
    )
    assert usd.order_value == Decimal("130.00")
    assert stats.money["EUR"].share == pytest.approx(0.24)


def test_nothing_to_divide_by_gives_null() -> None:
    stats = counted([build(1, Spec(utc(1), remedies=[("refund", "5.00")]))])
    data = stats.as_json()
    assert data["kept_rate"] is None
    assert data["with_outcome"] == 0
    assert data["median_hours_to_close"] is None and data["closed"] == 0
    assert data["money"] == {
        "USD": {
            "refunds": "5.00",
            "goodwill": "0.00",
            "cost": "5.00",
            "order_value": "0.00",
            "cost_share": None,
        }
    }
    empty = Stats(now=NOW, zone=UTC).as_json()
    assert empty["cases"] == 0 and empty["money"] == {} and empty["kept_rate"] is None
    assert empty["outcomes"] == {"kept": 0, "refunded": 0, "lost": 0, "escalated": 0}
    assert empty["satisfaction"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}


@pytest.mark.parametrize(
    ("hours", "median"),
    [
        ([7.0], 7.0),
        ([30.0, 2.0, 5.0], 5.0),
        ([30.0, 2.0, 9.0, 5.0], 7.0),
        ([1.5, 2.0], 1.75),
        ([0.25, 48.0, 3.0, 1.0, 100.0], 3.0),
    ],
)
def test_median_hours_to_close(hours: list[float], median: float) -> None:
    cases = [
        build(n, Spec(utc(n), outcome="kept", closed_after_hours=h))
        for n, h in enumerate(hours, start=1)
    ]
    stats = counted(cases)
    assert stats.median_hours_to_close == median
    assert stats.as_json()["median_hours_to_close"] == median
    assert stats.as_json()["closed"] == len(hours)


def test_a_case_closed_by_a_happy_follow_up_counts_its_hours() -> None:
    case = build(1, Spec(utc(1, 8), pending_follow_up=True))
    case.record_follow_up(1, reached=True, happy="yes", note="", now=utc(2, 20))
    assert case.status == "closed"
    stats = counted([case])
    assert stats.median_hours_to_close == 36.0
    assert stats.with_outcome == 0  # no outcome was recorded: not in the kept rate


def test_follow_ups_on_time_late_missed_pending_with_a_frozen_now() -> None:
    now = utc(25, 15)
    case = build(1, Spec(utc(1)))
    case.schedule_follow_up(None, utc(10, 9), "cancelled, so not counted")
    case.cancel_follow_ups(utc(10, 8))
    plan = [
        (utc(20, 9), utc(20, 23, 59)),  # done later on its due day: on time
        (utc(21, 9), utc(19, 10)),  # done early (not reached): on time
        (utc(22, 9), utc(23, 0, 1)),  # done the next day: late
        (utc(18, 9), utc(24, 9)),  # done six days after: late
        (utc(24, 9), None),  # not done, due yesterday: missed
        (utc(25, 8), None),  # not done, due earlier today: still to come
        (utc(28, 9), None),  # not done, due later: still to come
    ]
    for due, _ in plan:
        case.schedule_follow_up(None, due, "hi")
    for number, (_, done) in enumerate(plan, start=2):
        if done is not None:
            case.record_follow_up(number, reached=number != 3, happy=None, note="", now=done)
    assert [f.result for f in case.follow_ups] == [
        "cancelled", "reached", "not_reached", "reached", "reached", None, None, None,
    ]  # fmt: skip
    stats = Stats(now=now, zone=UTC)
    stats.add(facts_of(case))
    assert dict(stats.follow_ups) == {"on_time": 2, "late": 2, "missed": 1, "pending": 2}
    assert stats.as_json()["follow_ups"] == {"on_time": 2, "late": 2, "missed": 1, "pending": 2}


def test_follow_up_days_are_local_days() -> None:
    case = build(1, Spec(utc(1)))
    # Due 23:00 on the 25th in UTC+13; done 00:30 on the 26th there (same UTC date).
    case.schedule_follow_up(None, utc(25, 10), "a")
    case.record_follow_up(1, reached=True, happy="yes", note="", now=utc(25, 11, 30))
    # Due 14 Nov 23:30 UTC = 15 Nov 12:30 in UTC+13; now is 15 Nov 05:00 UTC = 15 Nov 18:00.
    case.schedule_follow_up(None, utc(14, 23, 30), "b")
    in_utc = Stats(now=utc(15, 5), zone=UTC)
    in_utc.add(facts_of(case))
    in_east = Stats(now=utc(15, 5), zone=EAST)
    in_east.add(facts_of(case))
    assert in_utc.as_json()["follow_ups"] == {"on_time": 1, "late": 0, "missed": 1, "pending": 0}
    assert in_east.as_json()["follow_ups"] == {"on_time": 0, "late": 1, "missed": 0, "pending": 1}


def test_cause_tags_top_ten_most_first_ties_alphabetical_case_folded() -> None:
    tags = [
        *["Zeta", "zeta", " ZETA "],
        *["omega", "Omega", "beta", "BETA", "alpha", "alpha"],
        *["kilo", "juliet", "india", "hotel", "golf", "foxtrot", "echo", "delta"],
        "",
    ]
    cases = [build(n, Spec(utc(1), outcome="kept", tag=t)) for n, t in enumerate(tags, start=1)]
    stats = counted(cases)
    assert stats.top_causes() == [
        ("zeta", 3),
        ("alpha", 2),
        ("beta", 2),
        ("omega", 2),
        ("delta", 1),
        ("echo", 1),
        ("foxtrot", 1),
        ("golf", 1),
        ("hotel", 1),
        ("india", 1),
    ]
    assert list(stats.as_json()["cause_tags"].items()) == stats.top_causes()  # type: ignore[attr-defined]


def test_playbooks_most_used_first_ties_alphabetical() -> None:
    names = ["wrong-item", "general", "general", "heard", "wrong-item", "general", "alpha"]
    cases = [build(n, Spec(utc(1), playbook=p)) for n, p in enumerate(names, start=1)]
    playbooks = counted(cases).as_json()["playbooks"]
    assert list(playbooks.items()) == [  # type: ignore[attr-defined]
        ("general", 3),
        ("wrong-item", 2),
        ("alpha", 1),
        ("heard", 1),
    ]


def test_satisfaction_distribution_and_cases_without_a_score() -> None:
    scores = [5, 5, 5, 3, 1, None, 4, None]
    cases = [
        build(n, Spec(utc(1), outcome="lost", satisfaction=s))
        for n, s in enumerate(scores, start=1)
    ]
    cases.append(build(99, Spec(utc(1))))  # no outcome at all
    data = counted(cases).as_json()
    assert data["satisfaction"] == {"1": 1, "2": 0, "3": 1, "4": 1, "5": 3}
    assert data["with_outcome"] == 8 and data["cases"] == 9


def test_since_and_until_filter_by_the_local_opening_date() -> None:
    data = counted(generated(), since=date(2026, 11, 3), until=date(2026, 11, 5)).as_json()
    assert (data["since"], data["until"]) == ("2026-11-03", "2026-11-05")
    assert data["cases"] == 3  # cases 3, 4 and 5
    assert data["outcomes"] == {"kept": 0, "refunded": 1, "lost": 1, "escalated": 1}
    assert data["playbooks"] == {"sample": 2, "wrong-item": 1}
    assert data["money"]["USD"] == {  # type: ignore[index]
        "refunds": "30.00",
        "goodwill": "10.00",
        "cost": "40.00",
        "order_value": "45.00",
        "cost_share": 0.8889,
    }
    assert data["median_hours_to_close"] == 19.5  # cases 3 (30h) and 4 (9h)
    assert counted(generated(), since=date(2026, 11, 8)).as_json()["cases"] == 1
    assert counted(generated(), until=date(2026, 11, 1)).as_json()["cases"] == 1
    assert counted(generated(), since=date(2026, 11, 9)).as_json()["cases"] == 0

    # Opened 11:30 UTC on the 3rd: the 4th in UTC+13, the 3rd in UTC.
    late = build(1, Spec(utc(3, 11, 30)))
    assert Stats(now=NOW, zone=EAST, since=date(2026, 11, 4)).wants(facts_of(late))
    assert not Stats(now=NOW, zone=UTC, since=date(2026, 11, 4)).wants(facts_of(late))
    assert Stats(now=NOW, zone=UTC, until=date(2026, 11, 3)).wants(facts_of(late))
    assert not Stats(now=NOW, zone=EAST, until=date(2026, 11, 3)).wants(facts_of(late))


# -- through the CLI ----------------------------------------------------------------------
STATS_KEYS = {
    "since",
    "until",
    "cases",
    "with_outcome",
    "kept_rate",
    "outcomes",
    "money",
    "closed",
    "median_hours_to_close",
    "follow_ups",
    "playbooks",
    "cause_tags",
    "bought_again",
    "satisfaction",
    "remedy_kinds",
    "speed",
}


@pytest.fixture
def cli_store(
    run: Run,
    home: Path,
    tmp_path: Path,
    user_playbook: Callable[[str, str], Path],
    monkeypatch: pytest.MonkeyPatch,
    freeze: Clock,
) -> Iterator[Clock]:
    """A store of four cases made with the CLI at fixed times, in a known local zone
    (UTC): new --answers --no-input, close --no-input, followup --no-input."""

    user_playbook("sample", SAMPLE)
    user_playbook(
        "other",
        SAMPLE.replace('id = "sample"', 'id = "other"').replace("Sample rec", "Other rec"),
    )
    with monkeypatch.context() as zone:
        zone.setenv("TZ", "UTC0")
        time.tzset()
        try:

            def new(at: datetime, playbook: str, value: str, remedy: list[str]) -> None:
                answers = tmp_path / "answers.json"
                answers.write_text(
                    json.dumps(
                        {
                            "playbook": playbook,
                            "customer": {"name": "Dana Reyes", "order_value": value},
                            "answers": {"complaint": "broke", "arrived": True, "remedy": remedy},
                        }
                    )
                )
                freeze(at)
                assert run("new", "--answers", str(answers), "--no-input").exit_code == 0

            def do(at: datetime, *args: str) -> None:
                freeze(at)
                result = run(*args, "--no-input")
                assert result.exit_code == 0, result.output

            new(utc(2, 9), "sample", "40", ["refund", "credit"])  # 1: refund 40, credit 10
            new(utc(3, 9), "sample", "20", ["credit"])  # 2: credit 10
            new(utc(4, 9), "other", "60", ["resend"])  # 3: nothing with an amount
            assert run("config", "set", "currency", "EUR").exit_code == 0
            new(utc(5, 9), "other", "100", ["refund"])  # 4: refund 100 EUR
            # Case 1: its follow-up (due 5 Nov 09:00) done on the day, customer happy;
            # then the outcome.
            do(utc(5, 17), "followup", "1", "--reached", "--happy", "yes")
            do(utc(6, 9), "close", "1", "--outcome", "kept", "--satisfaction", "5",
               "--tag", "Email", "--prevention", "Check the mailer")  # fmt: skip
            # Case 2: closed after 6 hours, its follow-up cancelled.
            do(utc(3, 15), "close", "2", "--outcome", "refunded", "--satisfaction", "2",
               "--tag", "email", "--cancel-follow-ups")  # fmt: skip
            # Case 3: follow-up (due 7 Nov) done a day late, not reached; a new one in 2d.
            do(utc(8, 10), "followup", "3", "--not-reached", "--next", "2d")
            # Case 4: lost, its follow-up (due 8 Nov) kept, never done.
            do(utc(4, 9) + timedelta(days=1, hours=1), "close", "4", "--outcome", "lost",
               "--satisfaction", "1", "--tag", "courier")  # fmt: skip
            freeze(utc(9, 12))
            yield freeze
        finally:
            zone.undo()
            time.tzset()


def test_stats_json_has_exactly_the_documented_keys_and_the_known_figures(
    run: Run, home: Path, cli_store: Clock
) -> None:
    assert read_case(home, "1")["status"] == "closed"
    assert read_case(home, "4")["status"] == "awaiting_follow_up"
    result = run("stats", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == STATS_KEYS
    kinds = {kind: tuple(t.values()) for kind, t in data.pop("remedy_kinds").items() if t["cases"]}
    # (cases, with an outcome, kept, kept rate): 1 refund+credit kept, 2 credit refunded,
    # 3 a resend (the sample playbook calls it an exchange) still open, 4 refund lost.
    assert kinds == {
        "refund": (2, 2, 1, 0.5),
        "credit": (2, 2, 1, 0.5),
        "exchange": (1, 0, 0, None),
    }
    # Each walk answered the customer as it began: all four within the hour.
    reply = data.pop("speed")["first_reply"]
    assert [b["cases"] for b in reply["buckets"]] == [4, 0, 0, 0, 0]
    assert (reply["median_hours"], reply["quick"]["kept_rate"]) == (0.0, 0.3333)
    assert data == {
        "since": None,
        "until": None,
        "cases": 4,
        "with_outcome": 3,
        "kept_rate": 0.3333,
        "outcomes": {"kept": 1, "refunded": 1, "lost": 1, "escalated": 0},
        "money": {
            "EUR": {
                "refunds": "100.00",
                "goodwill": "0.00",
                "cost": "100.00",
                "order_value": "100.00",
                "cost_share": 1.0,
            },
            "USD": {
                "refunds": "40.00",
                "goodwill": "20.00",
                "cost": "60.00",
                "order_value": "120.00",
                "cost_share": 0.5,
            },
        },
        # Case 1 closed when its follow-up found them happy (3 days 8 hours), case 2
        # after 6 hours; case 4 waits for its follow-up, case 3 for its next one.
        "closed": 2,
        "median_hours_to_close": 43.0,  # (80 + 6) / 2
        # 1: on time; 2: cancelled; 3: late, then one to come (10 Nov); 4: missed (8 Nov).
        "follow_ups": {"on_time": 1, "late": 1, "missed": 1, "pending": 1},
        "playbooks": {"other": 2, "sample": 2},
        "cause_tags": {"email": 2, "courier": 1},
        "satisfaction": {"1": 1, "2": 1, "3": 0, "4": 0, "5": 1},
        "bought_again": None,
    }


def test_stats_since_and_until_through_the_cli(run: Run, home: Path, cli_store: Clock) -> None:
    data = json.loads(
        run("stats", "--json", "--since", "2026-11-03", "--until", "2026-11-04").stdout
    )
    assert (data["since"], data["until"], data["cases"]) == ("2026-11-03", "2026-11-04", 2)
    assert data["playbooks"] == {"other": 1, "sample": 1}
    assert data["money"] == {
        "USD": {
            "refunds": "0.00",
            "goodwill": "10.00",
            "cost": "10.00",
            "order_value": "80.00",
            "cost_share": 0.125,
        }
    }
    later = run("stats", "--since", "2026-11-20")
    assert later.exit_code == 0
    assert later.stdout == "Recoveries opened 2026-11-20 to today\nNo cases in those dates.\n"
    bad = run("stats", "--since", "20 Nov")
    assert bad.exit_code == 2 and "Error" in bad.stderr


def chart_rows(out: str, title: str) -> dict[str, tuple[int, int]]:
    """The rows of one bar chart: label -> (full blocks drawn, count)."""
    lines = out.split(f"\n{title}\n", 1)[1].split("\n\n", 1)[0].splitlines()
    rows = {}
    for line in lines:
        match = re.fullmatch(r"  (\S+)\s+([█▌▐]*)\s*(\d+)", line.rstrip())
        assert match, line
        rows[match.group(1)] = (match.group(2).count("█"), int(match.group(3)))
    return rows


def test_stats_terminal_view_draws_bar_charts(run: Run, home: Path, cli_store: Clock) -> None:
    result = run("stats")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("Recoveries\n")
    for fragment in (
        "Cases          4",
        "Kept           33% (1 of 3 with an outcome)",
        "Cost (EUR)     100.00 EUR: refunds 100.00, goodwill 0.00; 100% of 100.00 EUR order value",
        "Cost (USD)     60.00 USD: refunds 40.00, goodwill 20.00; 50% of 120.00 USD order value",
        "Time to close  median 43.0h (2 closed)",
        "Follow-ups     1 on time · 1 late · 1 missed · 1 to come",
    ):
        assert fragment in out, fragment
    assert chart_rows(out, "Outcomes") == {
        "kept": (30, 1),
        "refunded": (30, 1),
        "lost": (30, 1),
        "escalated": (0, 0),
    }
    assert chart_rows(out, "Cases per playbook") == {"sample": (30, 2), "other": (30, 2)}
    causes = chart_rows(out, "Root-cause tags")
    assert causes == {"email": (30, 2), "courier": (15, 1)}
    assert list(causes) == ["email", "courier"]
    satisfaction = chart_rows(out, "Satisfaction")
    assert list(satisfaction) == ["5/5", "4/5", "3/5", "2/5", "1/5"]
    assert satisfaction["5/5"] == (30, 1) and satisfaction["3/5"] == (0, 0)


def test_stats_on_an_empty_home(run: Run, home: Path) -> None:
    result = run("stats")
    assert result.exit_code == 0
    assert result.stdout == "Recoveries\nNo cases yet.\n"
    data = json.loads(run("stats", "--json").stdout)
    assert set(data) == STATS_KEYS and data["cases"] == 0 and data["kept_rate"] is None


def test_bought_again_counts_sales_within_90_days_and_waits_for_open_windows() -> None:
    from recovery_cli.stats import Again

    now = datetime(2026, 6, 1, tzinfo=UTC)
    again = Again()
    # Bought again 10 days after: yes (the case's own order, before it, is not counted).
    again.add(datetime(2026, 1, 1, tzinfo=UTC), now, [
        ("2025-12-20T00:00:00Z", "10.00", "USD"),
        ("2026-01-11T00:00:00Z", "6.00", "USD"),
    ])  # fmt: skip
    # Bought again only after 90 days: no.
    again.add(datetime(2026, 1, 1, tzinfo=UTC), now, [("2026-04-15T00:00:00Z", "1.00", "USD")])
    # Opened 10 days ago, nothing since: still in its window, not a "no" yet.
    again.add(datetime(2026, 5, 22, tzinfo=UTC), now, [])
    assert (again.cases, again.bought, again.waiting) == (3, 1, 1)
    assert again.share == 0.5  # 1 of the 2 cases that can tell
    assert again.revenue == {"USD": Decimal("6.00")}


def test_sales_are_found_by_email_by_name_without_one_and_by_an_orders_buyer() -> None:
    from recovery_cli.orders.customers import Sales

    sales = Sales(
        [
            ("a@x.com", "ann lee", "2026-01-02T00:00:00Z", "6.00", "USD"),
            (None, "bo", "2026-01-04T00:00:00Z", "5.00", "GBP"),
        ],
        lambda ref: ("A@x.com", "Ann Lee") if ref == "#1" else None,
    )
    assert sales.of("A@X.com ", "", "") == [("2026-01-02T00:00:00Z", "6.00", "USD")]
    assert sales.of("", "", "#1") == sales.of("a@x.com", "", "")  # the buyer of order 1
    assert sales.of("", "", "#2") == []
    assert sales.of("", "Bo", "") == [("2026-01-04T00:00:00Z", "5.00", "GBP")]
