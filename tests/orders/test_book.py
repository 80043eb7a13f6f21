"""The order book on disk and its look-up table: what an import writes, how a second
import merges, one commit over several files (finished after a kill), forgetting
for real, and a look-up table that is only ever a cache."""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from recovery_cli.errors import DamagedCaseError
from recovery_cli.fileio import stage
from recovery_cli.orders import book, has_orders
from recovery_cli.orders.importing import import_files
from recovery_cli.orders.records import Item, OrderRecord
from recovery_cli.store.ordercache import OrderCache
from tests.orders.exports import write_etsy, write_shopify


def lines(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(raw) for raw in path.read_bytes().splitlines()]


def record(key: str, **fields: object) -> OrderRecord:
    return OrderRecord(platform="shopify", key=key, ref=f"#{key}", **fields)  # type: ignore[arg-type]


def test_an_import_writes_one_private_file_per_platform(home: Path, tmp_path: Path) -> None:
    report = import_files(home, [write_shopify(tmp_path), *write_etsy(tmp_path)])
    assert (report.merged.new, report.merged.updated) == (6, 0)
    folder = home / "orders"
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        "etsy.jsonl",
        "shopify.jsonl",
    ]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in folder.glob("*.jsonl"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    shopify = lines(folder / "shopify.jsonl")
    assert shopify[0] == {"recover": "orders", "format": 1, "platform": "shopify"}
    mug = next(o for o in shopify[1:] if o["ref"] == "#1042")
    assert mug == {
        "key": "5042",
        "ref": "#1042",
        "date": "2025-06-10T14:15:00Z",
        "name": "Dana Reyes",
        "email": "dana@example.com",
        "currency": "USD",
        "status": "paid",
        "total": "48.00",
        "refunded": "0.00",
        "items": [
            {"name": "Blue Mug", "quantity": 2, "price": "12.00", "sku": "BM-1"},
            {"name": "Tea Towel", "quantity": 1, "price": "16.00", "sku": "TT-1"},
        ],
    } | ({"phone": mug["phone"]} if "phone" in mug else {})
    # Only what the views use: never an address, never the notes.
    text = (folder / "shopify.jsonl").read_text("utf-8")
    for kept_out in ("Elm Street", "Springfield", "62704", "Rua Azul", "Gift wrap"):
        assert kept_out not in text and kept_out not in (folder / "etsy.jsonl").read_text()
    # The Etsy pair is one order: the total from Sold Orders, the items from the other.
    (etsy,) = lines(folder / "etsy.jsonl")[1:]
    assert etsy["total"] == "38.00" and etsy["currency"] == "GBP" and "email" not in etsy
    assert [i["name"] for i in etsy["items"]] == ["Ceramic Vase", "Tile Coaster"]  # type: ignore[index]
    assert has_orders(home)


def test_importing_again_updates_in_place_and_never_twice(home: Path, tmp_path: Path) -> None:
    path = write_shopify(tmp_path)
    import_files(home, [path])
    before = (home / "orders" / "shopify.jsonl").read_bytes()
    again = import_files(home, [path, path])  # the same file twice: read once
    assert (again.merged.new, again.merged.updated, again.merged.unchanged) == (0, 0, 5)
    assert again.same_files == [path]
    assert (home / "orders" / "shopify.jsonl").read_bytes() == before
    # An overlapping export: #1050 refunded since, and one new order.
    from tests.orders.exports import SHOPIFY_ROWS

    changed = SHOPIFY_ROWS[4].replace(",paid,", ",refunded,").replace(",0.00,5050,", ",30.00,5050,")
    newer = (
        "#1090,new@example.com,paid,2025-10-01 10:00:00 +0000,fulfilled,no,USD,9.00,0.00,0.00,"
        "9.00,,0.00,Standard,2025-10-01 10:00:00 +0000,1,Card,9.00,C-1,New Person,,,,,,,,0.00,"
        "5090,,"
    )
    overlap = import_files(home, [write_shopify(tmp_path, [changed, newer], "later.csv")])
    assert (overlap.merged.new, overlap.merged.updated, overlap.merged.unchanged) == (1, 1, 0)
    orders = {o["ref"]: o for o in lines(home / "orders" / "shopify.jsonl")[1:]}
    assert len(orders) == 6
    assert orders["#1050"]["status"] == "refunded" and orders["#1050"]["refunded"] == "30.00"
    assert orders["#1042"]["total"] == "48.00"  # untouched by the later export


def test_a_later_export_replaces_items_and_keeps_what_it_lacks(home: Path) -> None:
    where = book.folder_of(home)
    with book.locked(home):
        first = book.Importer(where)
        first.add(record("7", name="Ana", total=Decimal("10.00"), items=[Item("Mug", 2)]))
        first.commit()
    with book.locked(home):
        second = book.Importer(where)
        second.add(record("7", items=[Item("Cup")]))
        second.add(record("7", items=[Item("Saucer")]))  # the same order, later in the file
        second.commit()
    (order,) = lines(where / "shopify.jsonl")[1:]
    assert order["name"] == "Ana" and order["total"] == "10.00"
    assert order["items"] == [{"name": "Cup", "quantity": 1}, {"name": "Saucer", "quantity": 1}]


def test_a_commit_cut_short_is_finished_by_the_next_reader(home: Path, tmp_path: Path) -> None:
    import_files(home, [write_shopify(tmp_path), *write_etsy(tmp_path)])
    where = book.folder_of(home)
    old = {p.name: p.read_bytes() for p in where.glob("*.jsonl")}
    new = {name: data.replace(b"Dana Reyes", b"Dana R.") for name, data in old.items()}
    new["etsy.jsonl"] = old["etsy.jsonl"].replace(b"Ana Souza", b"Ana S.")
    # Killed after the journal and the first move: one file new, one old.
    moves = [(stage(where / name, data).name, name) for name, data in sorted(new.items())]
    (where / book.JOURNAL).write_bytes(orjson.dumps(moves))
    os.replace(where / moves[0][0], where / moves[0][1])
    assert (where / "etsy.jsonl").read_bytes() == new["etsy.jsonl"]
    assert (where / "shopify.jsonl").read_bytes() == old["shopify.jsonl"]
    with OrderCache(home) as cache:
        assert next(o["name"] for o in cache.by_email("dana@example.com")) == "Dana R."
    assert not (where / book.JOURNAL).exists()
    assert {p.name: p.read_bytes() for p in where.glob("*.jsonl")} == new
    assert not [p for p in where.iterdir() if p.name.endswith(".tmp")]


def test_temporary_files_without_a_journal_are_an_import_that_never_committed(
    home: Path, tmp_path: Path
) -> None:
    import_files(home, [write_shopify(tmp_path)])
    where = book.folder_of(home)
    old = (where / "shopify.jsonl").read_bytes()
    leftover = stage(where / "shopify.jsonl", b"half of something")
    import_files(home, [write_shopify(tmp_path)])
    assert not leftover.exists() and (where / "shopify.jsonl").read_bytes() == old


def test_a_damaged_book_line_stops_an_import_and_changes_nothing(
    home: Path, tmp_path: Path
) -> None:
    import_files(home, [write_shopify(tmp_path)])
    path = book.folder_of(home) / "shopify.jsonl"
    damaged = path.read_bytes() + b"{not json\n"
    path.write_bytes(damaged)
    with pytest.raises(DamagedCaseError, match=r"shopify.jsonl line 7 is damaged"):
        import_files(home, [write_shopify(tmp_path)])
    assert path.read_bytes() == damaged
    # A reader skips the damaged line (doctor names it) and finds the rest.
    with OrderCache(home) as cache:
        assert len(cache.by_email("dana@example.com")) == 3


def test_look_ups_by_reference_email_and_name(home: Path, tmp_path: Path) -> None:
    import_files(home, [write_shopify(tmp_path), *write_etsy(tmp_path)])
    with OrderCache(home) as cache:
        for typed in ("#1042", "1042", " # 1042 ", "5042"):
            assert [o["ref"] for o in cache.find(typed)] == ["#1042"], typed
        assert [o["ref"] for o in cache.find("DANA@Example.com ")] == ["#1077", "#1042", "#1001"]
        assert cache.find("#9999") == [] and cache.find("#") == []
        assert [o["platform"] for o in cache.find("2871234567")] == ["etsy"]
        # No email on Etsy: the customer is the name on orders without one.
        assert [o["ref"] for o in cache.of_customer("", "ana  SOUZA")] == ["2871234567"]
        listed = list(cache.listing(customer="sam"))
        assert [o["ref"] for o in listed] == ["#1051", "#1050"]
        since = datetime(2025, 8, 1, tzinfo=UTC)
        assert [o["ref"] for o in cache.listing(since=since)] == ["#1077", "2871234567"]
        assert [o["ref"] for o in cache.listing(customer="100%")] == []  # LIKE is escaped
        assert cache.count() == 6


def test_the_look_up_table_is_a_cache_outside_the_home(home: Path, tmp_path: Path) -> None:
    import_files(home, [write_shopify(tmp_path)])
    cache = OrderCache(home)
    assert cache.path is not None and home not in cache.path.parents
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600
    assert not list(home.rglob("*.sqlite3*")) or all(
        p.name.startswith("index.sqlite3") for p in home.rglob("*.sqlite3*")
    )
    cache.close()
    # Edited by hand behind its back: the table follows the file.
    path = book.folder_of(home) / "shopify.jsonl"
    path.write_bytes(path.read_bytes().replace(b"sam@example.com", b"samuel@example.com"))
    with OrderCache(home) as again:
        assert again.by_email("sam@example.com") == []
        assert len(again.by_email("samuel@example.com")) == 2
    # Damaged: thrown away and rebuilt from the book.
    assert cache.path is not None
    cache.path.write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        Path(f"{cache.path}{suffix}").unlink(missing_ok=True)
    with OrderCache(home) as rebuilt:
        assert len(rebuilt.by_email("samuel@example.com")) == 2
    # Gone: rebuilt too.
    cache.path.unlink()
    with OrderCache(home) as fresh:
        assert fresh.count() == 5


def test_forget_deletes_for_real(home: Path, tmp_path: Path) -> None:
    import_files(home, [write_shopify(tmp_path), *write_etsy(tmp_path)])
    before = datetime(2025, 7, 1, 12, tzinfo=UTC)
    assert book.forget(home, before=before) == 3  # #1001, #1042 and #1050 (06:00 UTC)
    with OrderCache(home) as cache:
        assert sorted(o["ref"] for o in cache.listing()) == ["#1051", "#1077", "2871234567"]
    assert book.forget(home, platform="etsy") == 1
    assert not (book.folder_of(home) / "etsy.jsonl").exists()
    assert book.forget(home) == 2
    assert not has_orders(home)
    cache = OrderCache(home)
    cache.vacuum()
    assert cache.count() == 0
    cache.close()
    assert cache.path is not None
    with sqlite3.connect(cache.path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for path in cache.path.parent.iterdir():
        assert b"dana@example.com" not in path.read_bytes(), path.name


def test_overlapping_exports_in_one_import_never_double_the_items(
    home: Path, tmp_path: Path
) -> None:
    first = write_shopify(tmp_path)
    copy = tmp_path / "copy.csv"
    copy.write_bytes(first.read_bytes())
    import_files(home, [first, copy])
    with OrderCache(home) as cache:
        (mug,) = cache.by_ref("#1042")
    assert [i["name"] for i in mug["items"]] == ["Blue Mug", "Tea Towel"]


def test_forget_before_a_date_keeps_lines_it_cannot_date(home: Path, tmp_path: Path) -> None:
    import_files(home, [write_shopify(tmp_path)])
    path = book.folder_of(home) / "shopify.jsonl"
    path.write_bytes(path.read_bytes() + b"{damaged\n")
    assert book.forget(home, before=datetime(2025, 7, 1, 12, tzinfo=UTC)) == 3
    assert path.read_bytes().endswith(b"\n{damaged\n")


def test_a_second_import_waits_for_the_first_and_says_so(home: Path, tmp_path: Path) -> None:
    import threading

    said: list[str] = []
    with book.locked(home):
        worker = threading.Thread(
            target=import_files,
            args=(home, [write_shopify(tmp_path)]),
            kwargs={"waiting": lambda: said.append("waiting")},
        )
        worker.start()
        worker.join(timeout=0.5)
        assert worker.is_alive() and said == ["waiting"]
    worker.join(timeout=30)
    assert not worker.is_alive()
    with OrderCache(home) as cache:
        assert cache.count() == 5


def test_a_damaged_platform_file_is_named_and_the_others_still_answer(
    home: Path, tmp_path: Path
) -> None:
    import_files(home, [write_shopify(tmp_path), *write_etsy(tmp_path)])
    (book.folder_of(home) / "shopify.jsonl").write_bytes(b"not a book\n")
    with OrderCache(home) as cache:
        assert cache.find("#1042") == []
        assert [o["platform"] for o in cache.find("2871234567")] == ["etsy"]
        assert cache.damaged == [
            f"{book.folder_of(home) / 'shopify.jsonl'} is not an order book file"
        ]


def test_a_cache_folder_others_can_write_to_is_not_used(home: Path, tmp_path: Path) -> None:
    import_files(home, [write_shopify(tmp_path)])
    cache = OrderCache(home)
    assert cache.path is not None
    cache.path.unlink()
    os.chmod(cache.path.parent, 0o777)
    with OrderCache(home) as shared:
        assert [o["ref"] for o in shared.find("#1042")] == ["#1042"]  # from a table in memory
    assert not cache.path.exists()
