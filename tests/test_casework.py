"""What the commands do, reached without a terminal: casework and walking as plain
functions over a real Store on disk and a ``now`` passed in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from recovery_cli import answers as answering
from recovery_cli import casework, lookups, walking
from recovery_cli.case import Case, Customer, Outcome, PlaybookRef, new_case
from recovery_cli.config import Settings, set_setting
from recovery_cli.errors import StorageError
from recovery_cli.playbooks.model import Playbook
from recovery_cli.store import Store
from recovery_cli.walk import Walk
from tests.conftest import full_refund

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
REF = PlaybookRef(id="sample", title="Sample recovery", hash="sha256:0")


def opened(store: Store, name: str, *, currency: str = "USD", amount: str = "") -> Case:
    """A case written through the store (its lock let go), with one remedy if priced."""

    def build(case_id: str) -> Case:
        case = new_case(
            case_id,
            customer=Customer(name=name, email=f"{name.split()[0].lower()}@example.com"),
            playbook=REF,
            currency=currency,
            now=NOW - timedelta(days=3),
        )
        if amount:
            case.set_remedies("remedy", [full_refund(amount, currency)])
        return case

    case = store.create(build)
    store.release(case.id)
    return case


@pytest.fixture
def store(home: Path) -> Iterator[Store]:
    with Store(home) as opened_store:
        yield opened_store


def test_a_customers_history_totals_each_currency_apart(store: Store) -> None:
    opened(store, "Dana Reyes", amount="20.00")
    opened(store, "Dana Reyes", currency="EUR", amount="5.50")
    opened(store, "Dana Reyes", amount="2.25")
    opened(store, "Ann Lee", amount="99.00")
    found = lookups.customer_history(store, "dana@")
    assert [card["id"] for card in found.cases] == ["3", "2", "1"]
    assert found.people == ["Dana Reyes"]
    assert found.totals() == {"EUR": Decimal("5.50"), "USD": Decimal("22.25")}


def test_a_damaged_file_is_put_aside_for_the_view_to_report(store: Store) -> None:
    opened(store, "Dana Reyes")
    opened(store, "Dana Reyes")
    store.path_for("1").write_bytes(b"{ broken")
    found = lookups.customer_history(store, "dana")
    assert [card["id"] for card in found.cases] == ["2"]
    assert len(found.damaged) == 1 and "1.json is damaged" in found.damaged[0]
    met: list[str] = []
    listed = lookups.list_cases(store, status=None, limit=None, on_damaged=met.append)
    assert [card["id"] for card in listed] == ["2"]
    assert len(met) == 1 and "1.json is damaged" in met[0]


def test_prevention_actions_group_by_cause_tag_biggest_first_untagged_last(store: Store) -> None:
    tags = ["email", "", "packaging", "email", ""]
    for number, tag in enumerate(tags, start=1):
        case = opened(store, f"Customer {number}")
        with casework.holding(store, case.id) as held:
            outcome = Outcome(result="kept", cause_tag=tag, prevention=f"fix {number}")
            casework.close_case(store, held, outcome, keep_follow_ups=False, now=NOW)
    with casework.holding(store, "3") as held:
        held.finish_prevention(NOW)
        store.save(held)
    groups = lookups.prevention_actions(store).groups
    assert [(tag, [c["id"] for c in cards]) for tag, cards in groups] == [
        ("email", ["4", "1"]),
        ("", ["5", "2"]),
    ]
    everything = lookups.prevention_actions(store, done_too=True).groups
    assert [tag for tag, _ in everything] == ["email", "", "packaging"]


def test_follow_ups_due_come_from_the_index_and_damage_is_set_aside(store: Store) -> None:
    for days in (-2, 0, 3, 30):
        case = opened(store, f"Due in {days}")
        with casework.holding(store, case.id) as held:
            casework.add_follow_up(store, held, timedelta(days=days), "", NOW)
    store.path_for("2").write_bytes(b"[]")
    dues = lookups.due_follow_ups(store, NOW)
    found = dues.found
    assert [(item.case_id, item.when) for item in found.items] == [
        ("1", "overdue"),
        ("3", "upcoming"),
    ]
    assert found.later == 1
    assert len(dues.damaged) == 1 and "2.json" in dues.damaged[0]
    every_one = lookups.due_follow_ups(store, NOW, every_one=True).found
    assert [item.case_id for item in every_one.items] == [
        "1",
        "3",
        "4",
    ]
    assert lookups.overdue_count(store, NOW) == 1


def test_the_overdue_count_is_a_hint_that_never_fails(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "cases").write_text("not a folder")  # every look at the store now fails
    with Store(home) as store:
        with pytest.raises(StorageError):
            list(lookups.list_cases(store, status=None, limit=None, on_damaged=print))
        assert lookups.overdue_count(store, NOW) == 0


def test_a_follow_up_that_reached_the_customer_plans_a_fresh_check_in(store: Store) -> None:
    case = opened(store, "Dana Reyes")
    set_setting(store.home, "seller", "Sam")
    set_setting(store.home, "business", "Tea & Co")
    with casework.holding(store, case.id) as held:
        first = casework.add_follow_up(store, held, timedelta(days=1), "Hi $first_name", NOW)
        assert first.message == "Hi Dana"
        result = casework.FollowUpResult(
            reached=True, happy="not_yet", note="still slow", next_in=timedelta(days=3)
        )
        planned = casework.record_follow_up(store, held, first, result, NOW)
    assert planned is not None and planned.due_at == NOW + timedelta(days=3)
    assert planned.message.startswith("Hi Dana, it's Sam at Tea & Co.")
    on_disk = store.load(case.id)
    assert [(f.id, f.result, f.happy) for f in on_disk.follow_ups] == [
        (1, "reached", "not_yet"),
        (2, None, None),
    ]
    assert on_disk.status == "awaiting_follow_up"


def test_a_follow_up_that_did_not_reach_them_tries_the_same_words_again(store: Store) -> None:
    case = opened(store, "Dana Reyes")
    with casework.holding(store, case.id) as held:
        first = casework.add_follow_up(store, held, timedelta(days=1), "Call me", NOW)
        result = casework.FollowUpResult(
            reached=False, happy="yes", note="", next_in=timedelta(days=1)
        )
        planned = casework.record_follow_up(store, held, first, result, NOW)
    assert planned is not None and planned.message == "Call me"
    assert store.load(case.id).follow_ups[0].happy is None  # not reached: no happiness


@pytest.mark.parametrize("keep", [True, False])
def test_closing_keeps_or_cancels_the_follow_ups_still_planned(store: Store, keep: bool) -> None:
    case = opened(store, "Dana Reyes")
    with casework.holding(store, case.id) as held:
        casework.add_follow_up(store, held, timedelta(days=2), "", NOW)
        casework.close_case(store, held, Outcome(result="kept"), keep_follow_ups=keep, now=NOW)
    on_disk = store.load(case.id)
    assert on_disk.outcome is not None and on_disk.outcome.result == "kept"
    assert on_disk.status == ("awaiting_follow_up" if keep else "closed")
    assert [f.result for f in on_disk.follow_ups] == [None if keep else "cancelled"]


def test_a_save_that_fails_mid_walk_says_how_to_carry_on(
    store: Store, sample_playbook: Playbook, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = walking.start_case(store, sample_playbook, Customer(name="Dana"), Settings(), NOW)
    live = walking.LiveWalk(store, Walk(sample_playbook, case))
    assert live.submit("It never came", NOW).changed
    saved = store.path_for(case.id).read_bytes()

    def full_disk(*args: object, **options: object) -> None:
        raise StorageError(f"cannot save {store.path_for(case.id)}: No space left on device")

    monkeypatch.setattr(store.files, "write", full_disk)
    with pytest.raises(StorageError) as failed:
        live.submit("", NOW)
    assert failed.value.hint is not None
    assert f"recover resume {case.id}" in failed.value.hint
    assert store.path_for(case.id).read_bytes() == saved  # the answer before is kept


def test_an_answers_file_that_does_not_fit_writes_nothing(
    store: Store, sample_playbook: Playbook, tmp_path: Path
) -> None:
    path = tmp_path / "answers.toml"
    path.write_text('playbook = "sample"\n[answers]\nnot_asked = "x"\n', encoding="utf-8")
    prefill = answering.load(path)
    with pytest.raises(answering.AnswersError):
        walking.case_from_answers(
            store, sample_playbook, Customer(), prefill, Settings(), NOW, problems=[]
        )
    assert store.count() == 0
