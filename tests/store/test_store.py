"""The case store: ids, atomic private writes, damaged files, concurrent creation."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest

from recovery_cli.case import Case, Customer, Outcome
from recovery_cli.errors import DamagedCaseError, NotFoundError, StorageError, UsageError
from recovery_cli.store import Damaged, Store, encode, parse_case_id
from tests.conftest import NOW, Run, mode, sample_builder, sample_case, umask

build = sample_builder(name="Ann")


@pytest.mark.parametrize(
    ("typed", "normal"),
    [("17", "17"), ("#17", "17"), ("case 17", "17"), ("0017", "17"), ("Case-3", "3")],
)
def test_ids_as_typed_are_normalised(typed: str, normal: str) -> None:
    assert parse_case_id(typed) == normal


@pytest.mark.parametrize(
    "bad", ["../x", "/etc/passwd", "1/../../x", "a\x00b", "0", "", "1" * 12, "17.json", "x" * 500]
)
def test_bad_ids_are_refused_before_any_path_is_built(bad: str) -> None:
    with pytest.raises(UsageError):
        parse_case_id(bad)


def test_create_numbers_cases_and_writes_private_files(tmp_path: Path) -> None:
    with umask(0o022):
        store = Store(tmp_path / "home")
        first = store.create(build)
        second = store.create(build)
    assert (first.id, second.id) == ("1", "2")
    assert mode(tmp_path / "home") == 0o700 and mode(store.cases_dir) == 0o700
    assert mode(store.path_for("1")) == 0o600
    on_disk = json.loads(store.path_for("2").read_text())
    assert on_disk["id"] == "2" and on_disk["revision"] == 1 and on_disk["schema_version"] == 1


def test_save_is_atomic_private_and_leaves_no_temp_file(tmp_path: Path) -> None:
    store = Store(tmp_path)
    case = store.create(build)
    case.customer.order_value = None
    case.customer.email = "a@example.com"
    with umask(0o022):
        store.save(case)
    assert sorted(os.listdir(store.cases_dir)) == ["1.json"]  # its lock is this machine's
    assert mode(store.path_for("1")) == 0o600
    loaded = store.load("1")
    assert loaded.customer.email == "a@example.com" and loaded.revision == 2


def test_money_is_a_decimal_string_on_disk(tmp_path: Path) -> None:
    from decimal import Decimal

    store = Store(tmp_path)
    case = store.create(build)
    case.customer.order_value = Decimal("19.90")
    store.save(case)
    data = json.loads(store.path_for("1").read_text())
    assert data["customer"]["order_value"] == "19.90"


def test_failed_save_keeps_the_previous_file_byte_for_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path)
    case = store.create(build)
    before = store.path_for("1").read_bytes()

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    case.customer.name = "Changed"
    with pytest.raises(StorageError) as caught:
        store.save(case)
    assert "No space left on device" in caught.value.message and "1.json" in caught.value.message
    assert store.path_for("1").read_bytes() == before
    assert sorted(os.listdir(store.cases_dir)) == ["1.json"]  # its lock is this machine's


def test_unknown_fields_survive_a_load_and_save(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.create(build)
    path = store.path_for("1")
    data = json.loads(path.read_text())
    data["from_the_future"] = {"x": [1, 2]}
    data["customer"]["nickname"] = "Annie"
    path.write_text(json.dumps(data))
    case = store.load("1")
    store.save(case)
    again = json.loads(path.read_text())
    assert again["from_the_future"] == {"x": [1, 2]} and again["customer"]["nickname"] == "Annie"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b'{"id": "1", "sche', "damaged (not JSON)"),
        (b"\x00" * 64, "damaged (not JSON)"),
        (b"[1, 2]", "not a case file"),
        (b'{"id": "1"}', "not a valid case file"),
        (b'{"schema_version": 99, "id": "1"}', "newer version of recover"),
        (b'{"schema_version": "9", "id": "1"}', "bad schema_version"),
    ],
)
def test_damaged_files_are_reported_and_left_untouched(
    tmp_path: Path, content: bytes, fragment: str
) -> None:
    store = Store(tmp_path)
    store.create(build)
    store.create(build)
    store.path_for("1").write_bytes(content)
    with pytest.raises(DamagedCaseError) as caught:
        store.load("1")
    assert fragment in caught.value.message
    listed = list(store.iter_newest())
    assert isinstance(listed[0], Case) and listed[0].id == "2"
    assert isinstance(listed[1], Damaged) and fragment in listed[1].reason
    assert store.path_for("1").read_bytes() == content


def test_a_lone_surrogate_in_a_case_file_makes_it_damaged(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.create(build)
    store.create(build)
    path = store.path_for("1")
    path.write_text(path.read_text("utf-8").replace('"Ann"', '"Ann \\ud83d"'), "utf-8")
    content = path.read_bytes()
    with pytest.raises(DamagedCaseError) as caught:
        store.load("1")
    assert "not a valid case file (text that is not Unicode)" in caught.value.message
    assert [type(item).__name__ for item in store.iter_newest()] == ["Case", "Damaged"]
    assert path.read_bytes() == content
    # An escaped pair is a character like any other.
    path.write_text(content.decode().replace("\\ud83d", "\\ud83d\\ude00"), "utf-8")
    assert store.load("1").customer.name == "Ann \U0001f600"


def test_text_that_cannot_be_utf8_is_saved_with_a_replacement_character(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path)
    case = store.create(build)
    case.customer.name = "Ann \udcff"  # a byte the terminal sent that was not UTF-8
    store.save(case)
    assert json.loads(store.path_for("1").read_bytes())["customer"]["name"] == "Ann \ufffd"


def test_cases_come_in_id_order_across_gaps_and_far_numbers(tmp_path: Path) -> None:
    store = Store(tmp_path)
    for _ in range(20):
        store.create(build)
    for gone in (3, 8, 9, 16):
        store.path_for(str(gone)).unlink()
    far = sample_case("123456789", name="F")
    far.revision = 1
    (store.cases_dir / "123456789.json").write_bytes(encode(far))
    expected = [n for n in range(1, 21) if n not in (3, 8, 9, 16)] + [123456789]
    oldest = [item.case.id for item in store.iter_stored() if not isinstance(item, Damaged)]
    assert oldest == [str(n) for n in expected]
    newest = [item.id for item in store.iter_newest() if isinstance(item, Case)]
    assert newest == [str(n) for n in reversed(expected)]
    assert store.count() == len(expected)
    assert store.create(build).id == "123456790"


def test_unknown_case_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        Store(tmp_path).load("5")


def test_temp_files_are_never_read_as_cases(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.create(build)
    (store.cases_dir / ".1.json.abc.tmp").write_text("{half")
    assert [c.id for c in store.iter_newest() if isinstance(c, Case)] == ["1"]
    assert store.create(build).id == "2"


def _create_many(home: str, count: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    store = Store(Path(home))
    queue.put([store.create(build).id for _ in range(count)])


@pytest.mark.parametrize("workers", [2, 4])
def test_concurrent_creation_never_reuses_an_id(tmp_path: Path, workers: int) -> None:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    procs = [
        context.Process(target=_create_many, args=(str(tmp_path), 25, queue))
        for _ in range(workers)
    ]
    for proc in procs:
        proc.start()
    made = [case_id for _ in procs for case_id in queue.get(timeout=60)]
    for proc in procs:
        proc.join(timeout=60)
    assert len(made) == len(set(made)) == 25 * workers
    files = sorted(p.name for p in (tmp_path / "cases").iterdir())
    assert len([f for f in files if f.endswith(".json")]) == 25 * workers
    assert not [f for f in files if f.endswith(".tmp")]
    store = Store(tmp_path)
    assert sorted(int(c.id) for c in store.iter_newest() if isinstance(c, Case)) == list(
        range(1, 25 * workers + 1)
    )


def test_only_cases_with_a_follow_up_to_do_are_parsed_for_follow_ups(tmp_path: Path) -> None:
    store = Store(tmp_path)
    for number in range(1, 5):
        case = store.create(build)
        if number % 2 == 0:
            case.schedule_follow_up(None, NOW, "Check in")
        if number == 4:
            case.follow_ups[0].done_at = NOW  # done: nothing left to do
        if number == 3:
            case.set_outcome(Outcome(result="kept", prevention="Fix it"), NOW)
        store.save(case)
    store.path_for("1").write_bytes(b'{"done_at": null, "half')
    found = list(store.follow_up_briefs())
    assert [row.id for row in found if row.damaged is None] == [2]
    assert [row.id for row in found if row.damaged is not None] == [1]
    assert "1.json" in next(row.damaged for row in found if row.damaged is not None)


def test_a_save_that_landed_but_could_not_be_synced_says_so_truthfully(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recovery_cli import fileio
    from recovery_cli.errors import NotDurableError

    store = Store(tmp_path)
    case = store.create(build)
    case.customer.name = "Bea"

    def broken_disk(path: Path) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(fileio, "fsync_dir", broken_disk)
    with pytest.raises(NotDurableError) as caught:
        store.save(case)
    assert "1.json was saved, but its folder could not be synced" in caught.value.message
    assert "Nothing already saved was changed" not in (caught.value.hint or "")
    on_disk = json.loads(store.path_for("1").read_bytes())
    assert on_disk["customer"]["name"] == "Bea" and on_disk["revision"] == case.revision
    monkeypatch.undo()
    case.customer.name = "Cy"
    store.save(case)  # the next save is no conflict: the revision in memory is on disk
    assert store.load("1").customer.name == "Cy"


def test_an_earlier_case_matches_on_any_detail_it_shares(tmp_path: Path) -> None:
    store = Store(tmp_path)
    for customer in (
        Customer(order="A-123"),  # no email then
        Customer(name="Someone Else", email="else@example.com"),
        Customer(name="Dana Reyes"),
    ):
        case = store.create(build)
        case.customer = customer
        store.save(case)
        store.release(case.id)
    later = Customer(name="Dana Reyes", email="dana@example.com", order="A-123")
    assert [case.id for case in store.same_customer(later)] == ["3", "1"]


def test_the_index_is_made_private_again_when_it_is_not(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.release(store.create(build).id)
    store.index.close()
    index = store.index_path
    assert index is not None and not index.is_relative_to(tmp_path)  # never in the home
    os.chmod(index, 0o644)
    assert [case.id for case in store.list_cases()] == ["1"]
    assert mode(index) == 0o600


@pytest.fixture
def copied_over(home: Path) -> Store:
    """Four cases, and 9.json holding case 4 (a file copied by hand)."""
    store = Store(home)
    for _ in range(4):
        store.release(store.create(sample_builder(name="Ann")).id)
    cases = home / "cases"
    (cases / "9.json").write_bytes((cases / "4.json").read_bytes())
    return store


@pytest.mark.parametrize(
    "command",
    [
        ["show", "9"],
        ["followup", "add", "9", "--in", "2d"],
        ["close", "9", "--outcome", "kept", "--no-input"],
        ["prevent", "done", "9"],
        ["resume", "9"],
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_a_file_that_holds_another_case_is_never_written_through(
    run: Run, home: Path, copied_over: Store, command: list[str]
) -> None:
    """9.json holding case 4 (copied by hand): a command on 9 must not change 4.json."""
    cases = home / "cases"
    before = {p.name: p.read_bytes() for p in cases.glob("*.json")}
    result = run(*command)
    assert result.exit_code == 5, result.output
    assert "9.json holds another case than case 9; it was left untouched" in result.stderr
    assert {p.name: p.read_bytes() for p in cases.glob("*.json")} == before


def test_a_file_that_holds_another_case_is_listed_as_damaged_not_twice(
    run: Run, copied_over: Store
) -> None:
    items = list(copied_over.iter_stored())
    assert [i.case.id for i in items if not isinstance(i, Damaged)] == ["1", "2", "3", "4"]
    assert [i.path.name for i in items if isinstance(i, Damaged)] == ["9.json"]
    result = run("list", "--json")
    assert result.exit_code == 0, result.output
    assert [case["id"] for case in json.loads(result.stdout)] == ["4", "3", "2", "1"]
    assert "9.json holds another case than case 9" in result.stderr
