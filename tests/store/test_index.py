"""The summary index beside the case files: built on first use, checked before every
use, rebuilt when it cannot be trusted, and never needed to read a case.

Every test compares what a user sees (the CLI's output) with what the case files say,
read straight from disk without any recover code; the index is looked into directly
only to see its dirty marks, its format and its file modes."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from recovery_cli.case import Case, Customer, Outcome
from recovery_cli.fileio import ensure_private_dir, write_atomic
from recovery_cli.store import Store, encode
from recovery_cli.store import index as index_module
from tests.conftest import Run, full_refund, index_file, mode, read_case, sample_case

OPENED = datetime(2020, 3, 2, 9, 30, tzinfo=UTC)
DUE_PAST = datetime(2020, 3, 9, 9, 0, tzinfo=UTC)  # long overdue when the tests run
DONE_ON_TIME = datetime(2020, 3, 8, 16, 0, tzinfo=UTC)
DUE_AHEAD = datetime(2099, 6, 1, 9, 0, tzinfo=UTC)  # still to come
# A moment long before any test runs: the case files and their folder are dated to it
# once written, so that any change made afterwards, even within the same tick of a
# coarse file-system clock, gives the folder or the file a different mtime.
SETTLED_NS = int(datetime(2021, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000_000
CUSTOMER_QUERY = "ann@example"


def index_path(home: Path) -> Path:
    return index_file(home)


# -- the cases --------------------------------------------------------------------------
def make(case_id: int, name: str, email: str, order: str) -> Case:
    case = sample_case(str(case_id), now=OPENED, name=name, email=email, order=order)
    case.revision = 1
    return case


def the_four() -> list[Case]:
    """Four cases: open; awaiting a follow-up ahead (with a refund); closed with a
    prevention action (its follow-up done on time); awaiting an overdue follow-up."""
    first = make(1, "Ann Lee", "ann@example.com", "ORD-1")
    second = make(2, "Bob Ray", "bob@example.com", "ORD-2")
    second.set_remedies(
        "remedy",
        [full_refund("20.00")],
    )
    second.schedule_follow_up("check-in", DUE_AHEAD, "Is it working now?")
    second.complete_walk(OPENED)
    third = make(3, "Ann Lee", "ann@example.com", "ORD-3")
    third.schedule_follow_up("check-in", DUE_PAST, "Did the parcel come?")
    third.complete_walk(OPENED)
    third.record_follow_up(1, reached=True, happy="yes", note="", now=DONE_ON_TIME)
    third.set_outcome(
        Outcome(
            result="kept",
            satisfaction=4,
            cause_tag="packing",
            prevention="Double-box fragile items",
        ),
        DONE_ON_TIME,
    )
    fourth = make(4, "Cy Park", "cy@example.com", "ORD-4")
    fourth.schedule_follow_up("check-in", DUE_PAST, "Did the new one fit?")
    fourth.complete_walk(OPENED)
    return [first, second, third, fourth]


def write_case(home: Path, case: Case) -> Path:
    """A case file written as recover writes it, but without telling the index."""
    ensure_private_dir(home)
    ensure_private_dir(home / "cases")
    path = home / "cases" / f"{case.id}.json"
    write_atomic(path, encode(case))
    return path


def settle(home: Path) -> None:
    """Date every case file, and the folder, long ago."""
    cases = home / "cases"
    for path in cases.glob("*.json"):
        os.utime(path, ns=(SETTLED_NS, SETTLED_NS))
    os.utime(cases, ns=(SETTLED_NS, SETTLED_NS))


@pytest.fixture
def seeded(home: Path) -> Path:
    """A home with the four case files, written without any index."""
    for case in the_four():
        write_case(home, case)
    settle(home)
    assert not index_path(home).exists()
    return home


@contextlib.contextmanager
def folder_untouched(home: Path) -> Iterator[None]:
    """Whatever is done inside, the cases folder keeps its mtime (as a change within one
    tick of a coarse clock would, or an edit made in place)."""
    cases = home / "cases"
    before = os.stat(cases)
    yield
    os.utime(cases, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(cases).st_mtime_ns == before.st_mtime_ns


def rewrite_in_place(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Edit a case file through an open handle, as a text editor saving in place does:
    same inode, the folder's mtime unchanged."""
    folder = os.stat(path.parent).st_mtime_ns
    with open(path, "r+b") as handle:
        data = json.loads(handle.read())
        change(data)
        handle.seek(0)
        handle.write((json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode())
        handle.truncate()
    assert os.stat(path.parent).st_mtime_ns == folder


# -- the index, looked into ---------------------------------------------------------------
def query(home: Path, sql: str) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(index_path(home))) as db:
        return db.execute(sql).fetchall()


def dirty(home: Path) -> list[int]:
    return [case_id for (case_id,) in query(home, "SELECT id FROM dirty ORDER BY id")]


def meta(home: Path, key: str) -> str | None:
    found = query(home, f"SELECT value FROM meta WHERE key = '{key}'")
    return found[0][0] if found else None


def delete_index(home: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{index_path(home)}{suffix}").unlink()


# -- what the case files say, and what the user sees ---------------------------------------
def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def on_disk(home: Path) -> dict[str, Any]:
    """What every view should show, read straight from the case files."""
    files = {int(p.stem): json.loads(p.read_bytes()) for p in (home / "cases").glob("*.json")}
    newest = sorted(files, reverse=True)

    def ids(wanted: Callable[[dict[str, Any]], Any]) -> list[str]:
        return [str(n) for n in newest if wanted(files[n])]

    def customer(data: dict[str, Any]) -> str:
        who = data["customer"]
        return "\n".join((who["name"], who["email"], who["order"])).casefold()

    today = datetime.now(UTC)
    follow_ups: Counter[str] = Counter()
    for data in files.values():
        for item in data["follow_ups"]:
            if item["result"] == "cancelled":
                continue
            if item["done_at"] is not None:
                on_time = _moment(item["done_at"]).date() <= _moment(item["due_at"]).date()
                follow_ups["on_time" if on_time else "late"] += 1
            else:
                follow_ups["missed" if _moment(item["due_at"]) < today else "pending"] += 1
    refunds = sum(
        (Decimal(r["amount"]) for d in files.values() for r in d["remedies"] if r["amount"]),
        Decimal(0),
    )
    return {
        "list": ids(lambda d: True),
        "open": ids(lambda d: d["status"] == "open"),
        "awaiting": ids(lambda d: d["status"] == "awaiting_follow_up"),
        "closed": ids(lambda d: d["status"] == "closed"),
        "customer": ids(lambda d: CUSTOMER_QUERY in customer(d)),
        "followups": sorted(
            (str(n), _moment(f["due_at"]))
            for n, d in files.items()
            for f in d["follow_ups"]
            if f["done_at"] is None
        ),
        "prevent": sorted(
            (str(n), d["outcome"]["prevention"])
            for n, d in files.items()
            if d["outcome"] and d["outcome"]["prevention"]
        ),
        "cases": len(files),
        "outcomes": dict(Counter(d["outcome"]["result"] for d in files.values() if d["outcome"])),
        "satisfaction": dict(
            Counter(
                str(d["outcome"]["satisfaction"])
                for d in files.values()
                if d["outcome"] and d["outcome"]["satisfaction"]
            )
        ),
        "follow_ups": dict(follow_ups),
        "refunds": f"{refunds:.2f}",
        "csv": [(str(n), files[n]["status"], files[n]["customer"]["email"]) for n in sorted(files)],
        "jsonl": [files[n] for n in sorted(files)],
    }


def shown(run: Run, before_each: Callable[[], None] = lambda: None) -> dict[str, Any]:
    """The same, as the commands show it. The views that pick cases on the index
    without comparing every file (list --status) come first."""

    def out(*args: str) -> str:
        before_each()
        result = run(*args)
        no_crash(result)
        assert result.exit_code == 0, (args, result.output)
        assert "Warning" not in result.stderr, (args, result.stderr)
        return str(result.stdout)

    def ids(*args: str) -> list[str]:
        return [c["id"] for c in json.loads(out("list", "--all", "--json", *args))]

    found = {
        "open": ids("--status", "open"),
        "awaiting": ids("--status", "awaiting-follow-up"),
        "closed": ids("--status", "closed"),
        "list": ids(),
    }
    customer = json.loads(out("customer", CUSTOMER_QUERY, "--json"))
    found["customer"] = [c["id"] for c in customer["cases"]]
    due = json.loads(out("followups", "--all", "--json"))
    found["followups"] = sorted((f["case_id"], _moment(f["due_at"])) for f in due)
    prevent = json.loads(out("prevent", "--all", "--json"))
    found["prevent"] = sorted((p["case_id"], p["prevention"]) for p in prevent)
    stats = json.loads(out("stats", "--json"))
    found["cases"] = stats["cases"]
    found["outcomes"] = {k: v for k, v in stats["outcomes"].items() if v}
    found["satisfaction"] = {k: v for k, v in stats["satisfaction"].items() if v}
    found["follow_ups"] = {k: v for k, v in stats["follow_ups"].items() if v}
    found["refunds"] = stats["money"]["USD"]["refunds"] if stats["money"] else "0.00"
    rows = list(csv.DictReader(io.StringIO(out("export"))))
    found["csv"] = [(r["id"], r["status"], r["customer_email"]) for r in rows]
    found["jsonl"] = [json.loads(line) for line in out("export", "-f", "jsonl").splitlines()]
    return found


def no_crash(result: Any) -> None:
    """The command ended as commands end (in-process, an error nobody expected escapes
    the CLI runner instead of becoming "something unexpected went wrong")."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )


def listed(run: Run, *args: str) -> list[str]:
    result = run("list", "--all", "--json", *args)
    no_crash(result)
    assert result.exit_code == 0, result.output
    return [c["id"] for c in json.loads(result.stdout)]


def index_findings(run: Run) -> tuple[int, list[dict[str, Any]]]:
    result = run("doctor", "--json")
    data = json.loads(result.stdout)
    return result.exit_code, [f for f in data["findings"] if f["check"] == "index"]


# -- 1. built on first use, from the case files ---------------------------------------------
def test_the_index_is_built_on_first_use_and_answers_as_the_case_files_do(
    run: Run, seeded: Path
) -> None:
    truth = on_disk(seeded)
    # The case files say what the seed meant them to say (the comparison is not empty).
    assert truth["open"] == ["1"] and truth["awaiting"] == ["4", "2"] and truth["closed"] == ["3"]
    assert truth["customer"] == ["3", "1"]
    assert truth["follow_ups"] == {"on_time": 1, "pending": 1, "missed": 1}
    assert truth["outcomes"] == {"kept": 1} and truth["refunds"] == "20.00"
    assert shown(run) == truth
    assert index_path(seeded).is_file()
    assert meta(seeded, "format") == index_module.FORMAT
    assert sorted(i for (i,) in query(seeded, "SELECT id FROM cases")) == [1, 2, 3, 4]
    assert dirty(seeded) == []
    # A second round answers from the index as it now is: the same.
    assert shown(run) == truth


def test_an_index_deleted_by_hand_is_built_again(run: Run, seeded: Path) -> None:
    truth = on_disk(seeded)
    assert shown(run) == truth
    delete_index(seeded)
    assert listed(run, "--status", "closed") == ["3"]
    assert index_path(seeded).is_file()
    assert shown(run) == truth


def test_the_index_is_never_needed_to_read_a_case(run: Run, seeded: Path) -> None:
    commands = [
        ("list",),
        ("list", "--status", "awaiting-follow-up"),
        ("show", "3"),
        ("customer", "ann"),
        ("followups", "--all"),
        ("prevent", "--all"),
        ("stats", "--json"),
        ("export",),
        ("export", "-f", "json"),
    ]
    with_index = []
    for args in commands:
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
        with_index.append((result.stdout, result.stderr))
    assert "1 follow-up is overdue" in with_index[0][1]  # the notice comes from the index too
    without = []
    for args in commands:
        delete_index(seeded)
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
        without.append((result.stdout, result.stderr))
    assert without == with_index
    assert shown(run, before_each=lambda: delete_index(seeded)) == on_disk(seeded)


# -- 2. a save cut short ------------------------------------------------------------------
def _close_case_one(store: Store) -> Case:
    case = store.load("1")
    case.customer.email = "ann.lee@work.example"
    case.set_outcome(
        Outcome(
            result="refunded", satisfaction=2, cause_tag="courier", prevention="Switch courier"
        ),
        DONE_ON_TIME,
    )
    case.revision += 1
    return case


@pytest.mark.parametrize("folder_changed", [True, False], ids=["folder-changed", "same-tick"])
def test_a_save_cut_short_after_its_file_was_written_is_read_again(
    run: Run, seeded: Path, folder_changed: bool
) -> None:
    assert shown(run) == on_disk(seeded)
    store = Store(seeded)
    case = _close_case_one(store)
    with contextlib.ExitStack() as stack:
        if not folder_changed:  # only the dirty mark can tell
            stack.enter_context(folder_untouched(seeded))
        store.index.mark("1")  # what Store.save does first,
        write_atomic(store.path_for("1"), encode(case))  # then the file; then it dies
    store.close()
    assert dirty(seeded) == [1]
    if not folder_changed:
        assert meta(seeded, "folder_mtime") == str(os.stat(seeded / "cases").st_mtime_ns)
    assert listed(run, "--status", "closed") == ["3", "1"]
    assert dirty(seeded) == []
    assert listed(run, "--status", "open") == []
    customer = run("customer", "ann.lee@work", "--json")
    assert [c["id"] for c in json.loads(customer.stdout)["cases"]] == ["1"]
    stats = json.loads(run("stats", "--json").stdout)
    assert stats["outcomes"]["refunded"] == 1 and stats["satisfaction"]["2"] == 1
    assert read_case(seeded, "1")["status"] == "closed"
    assert shown(run) == on_disk(seeded)


def test_the_mark_of_a_case_being_saved_elsewhere_is_kept_until_its_lock_is_free(
    run: Run, seeded: Path
) -> None:
    assert shown(run) == on_disk(seeded)
    walker = Store(seeded)  # another terminal, walking case 1
    with walker.session("1"):
        walker.index.mark("1")  # its save has begun
        for args in (
            ("list", "--status", "open"),
            ("customer", "ann"),
            ("followups", "--all"),
            ("stats", "--json"),
        ):
            assert run(*args).exit_code == 0
            assert dirty(seeded) == [1], args  # not cleared mid-save
        case = _close_case_one(walker)
        with folder_untouched(seeded):
            write_atomic(walker.path_for("1"), encode(case))
        assert run("list", "--status", "open").exit_code == 0
        assert dirty(seeded) == [1]
    # The walk was killed before its save recorded the row; its lock went with it.
    assert listed(run, "--status", "closed") == ["3", "1"]
    assert dirty(seeded) == []
    assert shown(run) == on_disk(seeded)


def test_a_reader_does_not_clear_the_mark_of_a_save_still_in_progress(
    run: Run, seeded: Path
) -> None:
    """BUG: `Index._reread` clears the dirty mark of every case it reads, even when
    another process holds the case's lock in the middle of a save. If that save then
    lands within the same clock tick as the reader's look at the folder and dies
    before recording its row, nothing is left to say the row is stale."""
    assert shown(run) == on_disk(seeded)
    # An edit made by hand earlier: the row is stale, as the thorough views will find.
    rewrite_in_place(seeded / "cases" / "1.json", lambda d: d["customer"].update(name="Ann Leigh"))
    walker = Store(seeded)
    with walker.session("1"):
        case = walker.load("1")
        walker.index.mark("1")  # the walk's save begins...
        assert run("stats", "--json").exit_code == 0  # ...as another terminal counts
        assert dirty(seeded) == [1], "a reader cleared the mark of a save in progress"
        case.set_outcome(Outcome(result="lost"), DONE_ON_TIME)
        case.revision += 1
        with folder_untouched(seeded):  # the save lands in the same tick
            write_atomic(walker.path_for("1"), encode(case))
    # ... and the walk is killed before recording the row.
    assert read_case(seeded, "1")["status"] == "closed"
    assert listed(run, "--status", "closed") == ["3", "1"]


# -- 3. changes made by hand in the cases folder --------------------------------------------
def _add(home: Path) -> None:
    case = make(5, "Dee Ann", "ann@example.org", "ORD-5")
    case.set_outcome(Outcome(result="lost", prevention="Call back sooner"), DONE_ON_TIME)
    write_case(home, case)


def _remove(home: Path) -> None:
    (home / "cases" / "3.json").unlink()


def _replace(home: Path) -> None:
    """An older copy put back in place of case 4 (a new file renamed over it)."""
    case = the_four()[3]
    case.customer.email = "ann@example.com"
    case.cancel_follow_ups(DONE_ON_TIME)
    case.set_outcome(Outcome(result="escalated", satisfaction=1), DONE_ON_TIME)
    spare = home / "spare.json"
    spare.write_bytes(encode(case))
    os.replace(spare, home / "cases" / "4.json")


@pytest.mark.parametrize("then", ["a-view", "a-save"])
@pytest.mark.parametrize("change", [_add, _remove, _replace], ids=["added", "removed", "replaced"])
def test_a_file_added_removed_or_replaced_by_hand_is_seen_by_the_next_command(
    run: Run, seeded: Path, change: Callable[[Path], None], then: str
) -> None:
    """BUG (added/replaced, then a save): `Index.record` stores the folder's mtime after
    every save, whatever changed the folder before it, so a file copied in by hand and
    then a save of another case leave an index that claims to be up to date: `recover
    list` never shows the file (only the views that compare every file do)."""
    before = on_disk(seeded)
    assert shown(run) == before
    change(seeded)
    assert on_disk(seeded)["closed"] != before["closed"]  # a change list --status shows
    if then == "a-save":  # another case is saved before anything is looked at
        saved = run("close", "1", "--outcome", "lost", "--no-input")
        assert saved.exit_code == 0, saved.output
    assert shown(run) == on_disk(seeded)


@pytest.mark.parametrize("how", ["never-built", "deleted"])
def test_a_save_into_a_missing_index_does_not_hide_the_other_cases(
    run: Run, seeded: Path, how: str
) -> None:
    """BUG: with no index (deleted by hand, or a home from before the index), the first
    save creates an empty one and `Index.record` writes the folder's mtime into it, so
    the index claims to hold every case while it holds one: `recover list` shows only
    the case just saved until a view that compares every file runs."""
    if how == "deleted":
        assert shown(run) == on_disk(seeded)
        delete_index(seeded)
    saved = run("close", "1", "--outcome", "lost", "--no-input")
    assert saved.exit_code == 0, saved.output
    assert index_path(seeded).is_file()
    assert listed(run) == ["4", "3", "2", "1"]
    assert listed(run, "--status", "awaiting-follow-up") == ["4", "2"]
    assert shown(run) == on_disk(seeded)


def edit_three_in_place(home: Path, *, same_size: bool) -> None:
    """Edit cases 1, 2 and 3 in place: a new email, a follow-up moved, another outcome
    (and its follow-up done late after all), keeping every file's size or not."""
    cases = home / "cases"
    sizes = {n: os.path.getsize(cases / f"{n}.json") for n in (1, 2, 3)}

    def first(data: dict[str, Any]) -> None:
        data["customer"]["email"] = "amy@example.com" if same_size else "amy@example.org.uk"

    def second(data: dict[str, Any]) -> None:
        data["follow_ups"][0]["due_at"] = "2099-07-01T09:00:00Z"
        if not same_size:
            data["follow_ups"][0]["message"] = "Any news?"

    def third(data: dict[str, Any]) -> None:
        outcome = data["outcome"]
        outcome.update(result="lost" if same_size else "escalated", satisfaction=2)
        outcome["prevention"] = "Triple-box fragile items" if same_size else "Use a courier"
        data["follow_ups"][0]["done_at"] = "2020-03-18T16:00:00Z"  # late, after all

    for number, change in ((1, first), (2, second), (3, third)):
        rewrite_in_place(cases / f"{number}.json", change)
    resized = {n: os.path.getsize(cases / f"{n}.json") != sizes[n] for n in sizes}
    assert resized == dict.fromkeys(sizes, not same_size)


# The views that count or export from the rows: they compare every file each time.
ROW_VIEWS = ("cases", "outcomes", "satisfaction", "follow_ups", "refunds", "csv", "jsonl")


@pytest.mark.parametrize("same_size", [True, False], ids=["same-size", "resized"])
def test_a_file_edited_in_place_is_seen_by_stats_and_exports(
    run: Run, seeded: Path, same_size: bool
) -> None:
    assert shown(run) == on_disk(seeded)
    edit_three_in_place(seeded, same_size=same_size)
    truth = on_disk(seeded)
    assert truth["outcomes"] != {"kept": 1} and truth["follow_ups"]["late"] == 1
    found = shown(run)
    assert {k: found[k] for k in ROW_VIEWS} == {k: truth[k] for k in ROW_VIEWS}


@pytest.mark.parametrize("same_size", [True, False], ids=["same-size", "resized"])
def test_a_file_edited_in_place_is_seen_by_followups(
    run: Run, seeded: Path, same_size: bool
) -> None:
    """BUG: `recover followups` now shows what the index row holds (the follow-up
    brief: due time, message, customer) through `Index.follow_ups_to_do`, which calls
    `fresh()` without `thorough=True`: a follow-up moved in place, or a case file
    damaged in place, is shown as it was, for good (the module's docstring: the views
    that show what the rows hold compare every file each time)."""
    assert shown(run) == on_disk(seeded)
    edit_three_in_place(seeded, same_size=same_size)
    truth = on_disk(seeded)
    assert ("2", datetime(2099, 7, 1, 9, 0, tzinfo=UTC)) in truth["followups"]
    due = run("followups", "--all", "--json")
    assert due.exit_code == 0, due.output
    found = sorted((f["case_id"], _moment(f["due_at"])) for f in json.loads(due.stdout))
    assert found == truth["followups"]
    if not same_size:
        assert "Any news?" in due.stdout
    # A file damaged in place is warned of, not shown as it was.
    path = seeded / "cases" / "4.json"
    with open(path, "r+b") as handle:
        handle.write(b"\x00" * 64)
        handle.truncate()
    due = run("followups", "--all")
    assert f"Warning: {path} is damaged" in due.stderr
    assert "Cy Park" not in due.stdout


def test_a_file_edited_in_place_is_seen_by_prevent_and_by_customer_once_doctor_fixed_it(
    run: Run, seeded: Path
) -> None:
    """`recover prevent` compares every file with its row. `recover customer` does not
    (it must answer in half a second on a large store): an email corrected in place by
    hand is found once `recover doctor --fix` has brought the index up to date."""
    assert shown(run) == on_disk(seeded)
    edit_three_in_place(seeded, same_size=True)
    cases = seeded / "cases"

    def prevention(data: dict[str, Any]) -> None:
        data["outcome"] = {**read_case(seeded, "3")["outcome"], "prevention": "Label it"}

    rewrite_in_place(cases / "4.json", prevention)
    truth = on_disk(seeded)
    prevent = json.loads(run("prevent", "--all", "--json").stdout)
    assert sorted((p["case_id"], p["prevention"]) for p in prevent) == truth["prevent"]
    assert run("doctor", "--fix").exit_code == 0
    customer = run("customer", "amy@example", "--json")
    assert [c["id"] for c in json.loads(customer.stdout)["cases"]] == ["1"]
    prevent = json.loads(run("prevent", "--all", "--json").stdout)
    assert sorted((p["case_id"], p["prevention"]) for p in prevent) == truth["prevent"]
    assert ("4", "Label it") in truth["prevent"]


@pytest.mark.parametrize("how", ["--fix", "--reindex"])
def test_doctor_reports_an_edit_in_place_and_mends_the_index(
    run: Run, seeded: Path, how: str
) -> None:
    assert shown(run) == on_disk(seeded)
    cases = seeded / "cases"
    rewrite_in_place(cases / "1.json", lambda d: d.update(status="closed"))
    rewrite_in_place(cases / "2.json", lambda d: d["customer"].update(email="bo@example.com"))
    result = run("doctor")
    assert result.exit_code == 1
    index = index_path(seeded)
    assert f"warning: the summary index {index} is out of date for 2 cases" in result.stdout
    assert "recover doctor --fix, or --reindex" in result.stdout
    code, found = index_findings(run)
    assert code == 1 and len(found) == 1
    assert found[0]["fixable"] is True and found[0]["path"] == str(index)
    assert found[0]["severity"] == "warning"
    fixed = run("doctor", how)
    assert fixed.exit_code == 0, fixed.output
    assert "Fixed: rebuilt the summary index (4 cases)" in fixed.stdout
    assert "summary index" not in fixed.stdout.replace("Fixed: rebuilt the summary index", "")
    assert fixed.stdout.endswith("Nothing needs attention.\n")
    # The view that trusts the index without comparing every file is right again.
    assert listed(run, "--status", "closed") == ["3", "1"]
    assert shown(run) == on_disk(seeded)
    assert index_findings(run) == (0, [])


def test_doctor_finds_a_change_in_place_that_kept_the_files_mtime_and_size(
    run: Run, seeded: Path
) -> None:
    """BUG: `Index.disagreements` compares a file with its row by mtime, size, damage
    and the CSV cells only, so a change the CSV does not show (a follow-up done late
    rather than on time: a failing disk, or a tool that keeps mtimes) goes unreported,
    while `recover stats` keeps counting the old facts."""
    assert shown(run) == on_disk(seeded)
    path = seeded / "cases" / "3.json"
    size = path.stat().st_size
    rewrite_in_place(path, lambda d: d["follow_ups"][0].update(done_at="2020-03-18T16:00:00Z"))
    os.utime(path, ns=(SETTLED_NS, SETTLED_NS))
    assert path.stat().st_size == size
    assert on_disk(seeded)["follow_ups"]["late"] == 1
    code, found = index_findings(run)
    assert code == 1 and len(found) == 1, "doctor says the index agrees with the case files"
    assert run("doctor", "--fix").exit_code == 0
    assert shown(run) == on_disk(seeded)


@pytest.mark.parametrize(
    "stored_id",
    ["3", "A-3", "99999999999999999999"],
    ids=["copy-of-another-case", "not-a-number", "too-large"],
)
def test_a_case_file_whose_stored_id_is_not_its_number_is_still_accounted_for(
    run: Run, seeded: Path, stored_id: str
) -> None:
    """BUG: the index keys a file's row by the id written inside it
    (`int(case.id)` in `index._row_of`) rather than by the file's number: a case file
    copied by hand to a new number replaces the row of the case it was copied from
    and is never listed, doctor reports the index out of date for ever (--fix cannot
    mend it); an id that is not a small number makes every indexed view fail."""
    assert shown(run) == on_disk(seeded)
    data = read_case(seeded, "3")
    data["id"] = stored_id
    (seeded / "cases" / "5.json").write_text(json.dumps(data, indent=2), "utf-8")
    result = run("list", "--all", "--json")
    no_crash(result)
    assert result.exit_code == 0
    warned = result.stderr.count("Warning: ")
    assert len(json.loads(result.stdout)) + warned == 5  # every case file, shown or warned of
    stats = run("stats", "--json")
    no_crash(stats)
    assert stats.exit_code == 0
    assert json.loads(stats.stdout)["cases"] + stats.stderr.count("Warning: ") == 5
    assert run("doctor", "--fix").exit_code in (0, 1)
    assert index_findings(run)[1] == []


# -- 4. an index that cannot be trusted or cannot be written ---------------------------------
def _garbage(home: Path) -> None:
    index_path(home).write_bytes(b"this is not a database\x00\xff" * 400)


def _another_format(home: Path) -> None:
    """An index that says it is of another format, with rows that lie about every case (and
    that would be trusted: the folder's mtime is the one it recorded)."""
    with contextlib.closing(sqlite3.connect(index_path(home), isolation_level=None)) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'format'", ("x" + index_module.FORMAT,))
        db.execute("UPDATE cases SET status = 'closed', search = '', next_due = NULL")


def _empty(home: Path) -> None:
    index_path(home).write_bytes(b"")


@pytest.mark.parametrize(
    "spoil", [_garbage, _another_format, _empty], ids=["garbage", "another-format", "empty"]
)
def test_an_index_that_cannot_be_trusted_is_rebuilt(
    run: Run, seeded: Path, spoil: Callable[[Path], None]
) -> None:
    assert shown(run) == on_disk(seeded)
    assert meta(seeded, "folder_mtime") == str(os.stat(seeded / "cases").st_mtime_ns)
    spoil(seeded)
    assert listed(run, "--status", "closed") == ["3"]
    assert shown(run) == on_disk(seeded)
    assert meta(seeded, "format") == index_module.FORMAT
    assert sorted(i for (i,) in query(seeded, "SELECT id FROM cases")) == [1, 2, 3, 4]
    assert index_findings(run) == (0, [])


def test_doctor_reports_an_unreadable_index_and_fix_rebuilds_it(run: Run, seeded: Path) -> None:
    assert shown(run) == on_disk(seeded)
    _garbage(seeded)
    result = run("doctor")
    assert result.exit_code == 1
    assert f"the summary index {index_path(seeded)} cannot be read" in result.stdout
    assert index_path(seeded).read_bytes().startswith(b"this is not")  # looking changed nothing
    fixed = run("doctor", "--fix")
    assert fixed.exit_code == 0, fixed.output
    assert "Fixed: rebuilt the summary index (4 cases)" in fixed.stdout
    assert meta(seeded, "format") == index_module.FORMAT
    assert shown(run) == on_disk(seeded)


def _spoil_the_cases_table(home: Path) -> None:
    """Overwrite the first page of the cases table, as a power cut or a bad sector may."""
    [(root,)] = query(home, "SELECT rootpage FROM sqlite_master WHERE name = 'cases'")
    [(size,)] = query(home, "PRAGMA page_size")
    with open(index_path(home), "r+b") as handle:
        handle.seek((root - 1) * size)
        handle.write(b"\xa5" * size)


def test_an_index_damaged_inside_is_rebuilt_not_bypassed_on_every_run(
    run: Run, seeded: Path
) -> None:
    """BUG: an index whose meta table still reads but whose cases table is damaged
    passes `Index._open`'s check; `fresh` then falls back to an index in memory for
    that run only, so every later command reads every case file again and the damaged
    file stays (only `recover doctor` tells). The docstring says such an index is
    rebuilt from scratch."""
    assert shown(run) == on_disk(seeded)
    _spoil_the_cases_table(seeded)
    assert shown(run) == on_disk(seeded)  # answers stay right either way
    try:
        sound = query(seeded, "PRAGMA quick_check") == [("ok",)]
    except sqlite3.DatabaseError:
        sound = False
    assert sound, "the damaged index was kept, and every command reads every case file"
    assert index_findings(run) == (0, [])


@contextlib.contextmanager
def index_not_writable(home: Path) -> Iterator[None]:
    """A home where the index cannot be opened, created or removed (read-only, another
    owner: chmod cannot show it when the tests run as root)."""
    real_connect = sqlite3.connect
    real_open = os.open
    real_unlink = os.unlink
    name = str(index_path(home))

    def connect(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        if str(database).replace("file://", "").startswith(name):
            raise sqlite3.OperationalError("unable to open database file")
        return real_connect(database, *args, **kwargs)

    def open_(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if str(path).startswith(name) and flags & os.O_CREAT:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    def unlink(path: Any, *args: Any, **kwargs: Any) -> None:
        if str(path).startswith(name):
            raise PermissionError(13, "Permission denied", str(path))
        real_unlink(path, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sqlite3, "connect", connect)
        patch.setattr(os, "open", open_)
        patch.setattr(os, "unlink", unlink)
        yield


@pytest.mark.parametrize("had_index", [False, True], ids=["no-index-yet", "index-there"])
def test_a_home_where_the_index_cannot_be_written_still_answers_from_the_case_files(
    run: Run, seeded: Path, had_index: bool
) -> None:
    if had_index:
        assert shown(run) == on_disk(seeded)
    with index_not_writable(seeded):
        assert shown(run) == on_disk(seeded)
        # A save still lands, and the views that follow show it.
        closed = run("close", "1", "--outcome", "lost", "--no-input")
        assert closed.exit_code == 0, closed.output
        assert read_case(seeded, "1")["status"] == "closed"
        assert listed(run, "--status", "closed") == ["3", "1"]
        assert shown(run) == on_disk(seeded)
        assert index_path(seeded).exists() == had_index
        fixed = run("doctor", "--fix")
        no_crash(fixed)
        if had_index:  # it cannot be read, nor rebuilt: said so
            assert fixed.exit_code == 1
            assert f"could not fix {index_path(seeded)}: Permission denied" in fixed.stdout
        else:  # nothing to say of an index there is not
            assert fixed.exit_code == 0 and "summary index" not in fixed.stdout
    # Writable again: the index catches up with the save it did not hear of.
    assert listed(run, "--status", "closed") == ["3", "1"]
    assert shown(run) == on_disk(seeded)


def test_reindex_in_a_home_where_the_index_cannot_be_written_says_so(
    run: Run, seeded: Path
) -> None:
    """BUG: `recover doctor --reindex` calls `doctor.reindex` without handling an
    OSError (doctor_cmd.py), so when the old index cannot be removed it fails with
    "something unexpected went wrong" instead of saying what it could not do (as
    `--fix` does: "could not fix ...")."""
    assert shown(run) == on_disk(seeded)
    with index_not_writable(seeded):
        result = run("doctor", "--reindex")
    no_crash(result)
    assert result.exit_code == 1
    assert "Permission denied" in result.output


# -- 5. private, like every file recover writes ----------------------------------------------
def test_the_index_and_its_journal_files_are_private_under_umask_022(
    run: Run, seeded: Path, umask_022: None
) -> None:
    assert run("list").exit_code == 0  # built by a command
    index = index_path(seeded)
    assert mode(index) == 0o600
    for suffix in ("-wal", "-shm", "-journal"):
        leftover = Path(f"{index}{suffix}")
        assert not leftover.exists() or mode(leftover) == 0o600
    delete_index(seeded)
    # Built by a save in a walk that is still going: its journal files are there.
    walker = Store(seeded)
    assert [c.id for c in walker.list_cases(status="awaiting_follow_up")] == ["4", "2"]
    case = walker.load("2")
    case.customer.channel = "phone"
    walker.save(case)
    for suffix in ("", "-wal", "-shm"):
        path = Path(f"{index}{suffix}")
        assert path.exists(), suffix
        assert mode(path) == 0o600, suffix
    assert mode(seeded) == 0o700 and mode(seeded / "cases") == 0o700


# -- 6. damaged case files ----------------------------------------------------------------
def test_a_damaged_case_file_is_reported_and_read_again_once_mended_in_place(
    run: Run, seeded: Path
) -> None:
    assert shown(run) == on_disk(seeded)
    path = seeded / "cases" / "2.json"
    good = path.read_bytes()
    with open(path, "r+b") as handle:  # a failing disk: the folder never hears of it
        handle.write(b'{"schema_version": 1, "id": "2", "half')
        handle.truncate()
    warning = f"Warning: {path} is damaged (not JSON); it was left untouched"
    for args in (
        ("list",),  # reads every case file it lists
        ("customer", "bob"),  # reads the files of the cases it picks
        ("stats",),  # compares every file with its row, and keeps the damage there
        ("export",),
        ("export", "-f", "jsonl"),
        ("followups", "--all"),
        ("prevent",),
        ("list", "--status", "open"),  # a damaged row goes with every filter
    ):
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
        assert warning in result.stderr, args
    assert listed(run) == ["4", "3", "1"]
    stats = json.loads(run("stats", "--json").stdout)
    assert stats["cases"] == 3 and stats["money"]["USD"]["refunds"] == "0.00"
    # Mended in place (restored by hand): the folder's mtime stays, and still it shows.
    with folder_untouched(seeded), open(path, "r+b") as handle:
        handle.write(good)
        handle.truncate()
    result = run("list", "--status", "awaiting-follow-up", "--json")
    assert result.exit_code == 0 and "Warning" not in result.stderr
    assert [c["id"] for c in json.loads(result.stdout)] == ["4", "2"]
    assert shown(run) == on_disk(seeded)


# -- 7. two terminals ---------------------------------------------------------------------
def test_two_stores_on_one_home_see_each_others_saves(run: Run, home: Path) -> None:
    first_terminal = Store(home)
    second_terminal = Store(home)
    cases = the_four()
    created = first_terminal.create(lambda case_id: cases[0])
    first_terminal.release(created.id)
    assert [c.id for c in second_terminal.list_cases()] == ["1"]
    created = second_terminal.create(lambda case_id: cases[1])
    second_terminal.release(created.id)
    assert [c.id for c in first_terminal.list_cases(status="awaiting_follow_up")] == ["2"]
    assert [row.id for row in first_terminal.follow_up_briefs()] == [2]

    # The first terminal walks case 1 and closes it; the second looks on.
    with first_terminal.session("1"):
        case = first_terminal.load("1")
        case.set_outcome(Outcome(result="kept", prevention="Check the label"), DONE_ON_TIME)
        first_terminal.save(case)
        assert [c.id for c in second_terminal.list_cases(status="closed")] == ["1"]
        assert [c.id for c in second_terminal.with_prevention()] == ["1"]
        assert second_terminal.latest_unfinished() is None  # 1 is held; 2's walk is done
        case.customer.email = "ann.lee@work.example"
        first_terminal.save(case)
        seen = second_terminal.same_customer(Customer(email="ANN.LEE@work.example "))
        assert [c.id for c in seen] == ["1"]
        assert [c.id for c in second_terminal.of_customer("work.example")] == ["1"]

    # The second terminal records the follow-up of case 2; the first sees it done.
    case = second_terminal.load("2")
    case.record_follow_up(1, reached=True, happy="yes", note="", now=DONE_ON_TIME)
    second_terminal.save(case)
    assert list(first_terminal.follow_up_briefs()) == []
    assert [c.id for c in first_terminal.list_cases(status="closed")] == ["2", "1"]
    assert dirty(home) == []
    # And a third terminal, the CLI, agrees with both and with the files.
    assert shown(run) == on_disk(home)
    assert [c.id for c in second_terminal.list_cases(status="closed")] == ["2", "1"]


# -- 8. doctor on a home without an index --------------------------------------------------
def test_doctor_on_a_home_without_an_index_says_nothing_of_it_and_creates_none(
    run: Run, seeded: Path
) -> None:
    result = run("doctor")
    assert result.exit_code == 0, result.output
    assert "4 case files" in result.stdout and "summary index" not in result.stdout
    assert result.stdout.endswith("Nothing needs attention.\n")
    assert index_findings(run) == (0, [])
    fixed = run("doctor", "--fix", "--json")
    assert fixed.exit_code == 0 and json.loads(fixed.stdout)["fixed"] == []
    assert not index_path(seeded).exists()
    assert sorted(p.name for p in seeded.iterdir()) == ["cases"]
    # Asked for, it is built.
    rebuilt = run("doctor", "--reindex")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "Fixed: rebuilt the summary index (4 cases)" in rebuilt.stdout
    assert index_path(seeded).is_file()
    assert shown(run) == on_disk(seeded)
