"""The order book: every imported order, as plain data in the home.

One file per platform, ``<home>/orders/<platform>.jsonl``: a header line
(``{"recover": "orders", "format": 1, "platform": "shopify"}``), then one order per
line, its fields as :class:`~recovery_cli.orders.records.OrderRecord` names them
(amounts as decimal strings, the date in ISO 8601 UTC, a field the exports never
gave left out). Files are 0600 in a 0700 folder, and travel with the cases.

An import is one transaction over every platform file it changes. Each new file is
written whole beside its old one and synced; when more than one file changes, a
journal (``orders/commit.json``) naming every move is written atomically before the
first move, and removed after the last. Whoever opens the book next (under its lock)
finds a journal left by a killed import and finishes its moves: so readers see the
old book or the new one, never a mix. A temporary file without a journal is an
import that never reached its commit, and is removed.

Re-importing updates orders in place, keyed by (platform, key): a field the new
export carries replaces the stored one, a field it lacks keeps its value (Etsy's
Sold Order Items fill the items of its Sold Orders). Items are replaced by a later
file, in this import or a later one (two overlapping exports never double them), and
gathered within one file (the rows of one order, apart from each other).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from ..errors import DamagedCaseError, StorageError
from ..fileio import ensure_private_dir, fsync_dir, is_temp_file, stage, write_atomic
from ..machine import locks_dir
from . import FOLDER, SUFFIX, has_orders
from .records import PLATFORMS, Item, OrderRecord

__all__ = ["FOLDER", "SUFFIX", "has_orders"]

FORMAT = 1
JOURNAL = "commit.json"
LOCK = ".lock"

Order = dict[str, Any]  # one line of the book, parsed


def folder_of(home: Path) -> Path:
    """The order book's folder in ``home``."""
    return home / FOLDER


def book_files(home: Path) -> dict[str, Path]:
    """The platform files of the book, by platform."""
    found: dict[str, Path] = {}
    for platform in PLATFORMS:
        path = folder_of(home) / f"{platform}{SUFFIX}"
        if path.is_file():
            found[platform] = path
    return found


# -- one order as a line ------------------------------------------------------------------
def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def order_of(record: OrderRecord) -> Order:
    """A record as the book keeps it: only the fields the export carried."""
    found: Order = {"key": record.key, "ref": record.ref}
    if record.date is not None:
        found["date"] = record.date.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for name in ("name", "email", "phone", "currency", "status"):
        value = getattr(record, name)
        if value is not None:
            found[name] = value
    for name in ("total", "refunded"):
        value = getattr(record, name)
        if value is not None:
            found[name] = _money(value)
    if record.items is not None:
        found["items"] = [_item(item) for item in record.items]
    return found


def _item(item: Item) -> dict[str, Any]:
    found: dict[str, Any] = {"name": item.name, "quantity": item.quantity}
    if item.price is not None:
        found["price"] = str(item.price)
    if item.sku is not None:
        found["sku"] = item.sku
    if item.id is not None:
        found["id"] = item.id
    return found


def line_of(order: Order) -> bytes:
    """An order as one line of the book. (orjson's bytes keep the room its writer
    reserved, about 4 KB whatever the length: a copy is kept, of the line's own size,
    so that an import holding 100,000 lines needs tens of megabytes, not hundreds.)"""
    return memoryview(orjson.dumps(order)).tobytes()


def _header(platform: str) -> bytes:
    return orjson.dumps({"recover": "orders", "format": FORMAT, "platform": platform})


def read_book(path: Path) -> Iterator[tuple[int, Order | None]]:
    """Every order line of a platform file, with its line number; None for a line
    that is not an order (damaged). A file whose header is not the book's raises
    DamagedCaseError (it is not read as orders)."""
    for number, order, _raw in book_lines(path):
        yield number, order


def book_lines(path: Path) -> Iterator[tuple[int, Order | None, bytes]]:
    """As :func:`read_book`, with each line's own bytes (no line break)."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        first = handle.readline()
        try:
            header = orjson.loads(first)
        except orjson.JSONDecodeError:
            header = None
        if not isinstance(header, dict) or header.get("recover") != "orders":
            raise DamagedCaseError(
                f"{path} is not an order book file", hint="See what is wrong: recover doctor"
            )
        if header.get("format") != FORMAT:
            raise DamagedCaseError(
                f"{path} was written by another version of recover",
                hint="Upgrade recover, or import the exports again after `recover orders forget`.",
            )
        for number, raw in enumerate(handle, start=2):
            if raw.strip():
                yield number, _parsed(raw), raw.rstrip(b"\r\n")


def _parsed(raw: bytes) -> Order | None:
    try:
        found = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(found, dict) or not isinstance(found.get("key"), str):
        return None
    if not isinstance(found.get("ref"), str):
        return None
    return found


# -- the lock and the journal ---------------------------------------------------------------
@contextlib.contextmanager
def locked(home: Path, *, waiting: Callable[[], None] | None = None) -> Iterator[Path]:
    """The book held against other imports (an advisory lock that the kernel drops
    with the process), with any commit a killed import left half done finished first.
    Yields the book's folder (made, 0700). ``waiting`` is called when another process
    holds it (then this one waits its turn)."""
    where = folder_of(home)
    ensure_private_dir(where)
    # The lock is this machine's (the home may be synced); beside the book only where
    # this machine has no folder of its own for it.
    mine = locks_dir(home)
    lock = mine / "orders.lock" if mine is not None else where / LOCK
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise StorageError(f"cannot open {lock}: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                waiting()
            fcntl.flock(fd, fcntl.LOCK_EX)
        finish_commit(where)
        yield where
    finally:
        os.close(fd)


def finish_commit(where: Path) -> None:
    """Finish the moves of a commit a killed import left (its journal), then remove
    the temporary files of imports that never reached their commit. Call with the
    book locked."""
    journal = where / JOURNAL
    try:
        moves = orjson.loads(journal.read_bytes())
    except FileNotFoundError:
        moves = None
    except (OSError, orjson.JSONDecodeError) as exc:
        raise StorageError(f"cannot read {journal}: {exc}") from None
    try:
        if moves is not None:
            _move(where, [(tmp, target) for tmp, target in moves])
            journal.unlink()
            fsync_dir(where)
        for name in os.listdir(where):
            if is_temp_file(name) and name != LOCK:
                with contextlib.suppress(FileNotFoundError):
                    (where / name).unlink()
    except OSError as exc:
        raise StorageError(
            f"cannot finish saving the order book in {where}: {exc.strerror or exc}",
            hint="Fix the folder's permissions or free some space, then run any "
            "`recover orders` command.",
        ) from None


def _move(where: Path, moves: list[tuple[str | None, str]], *, again: bool = True) -> None:
    """Make the moves. ``again``: finishing a journal, where a move already made (its
    temporary file gone) is skipped; else every temporary file must be there."""
    for tmp, target in moves:
        if tmp is None:
            with contextlib.suppress(FileNotFoundError):
                (where / target).unlink()
        elif not again or (where / tmp).exists():
            os.replace(where / tmp, where / target)


def commit(where: Path, files: Mapping[str, Iterable[bytes] | None]) -> None:
    """Put every platform file of ``files`` in place at once (None: remove it); see
    the module's note. Call with the book locked."""
    moves: list[tuple[str | None, str]] = []
    try:  # until the journal is written, nothing has changed
        for platform, data in files.items():
            target = where / f"{platform}{SUFFIX}"
            moves.append((None if data is None else stage(target, data).name, target.name))
        if len(moves) > 1:
            write_atomic(where / JOURNAL, orjson.dumps(moves))
    except BaseException:
        for tmp, _target in moves:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    (where / tmp).unlink()
        raise
    try:
        _move(where, moves, again=False)
        if len(moves) > 1:
            (where / JOURNAL).unlink()
        fsync_dir(where)
    except OSError as exc:
        hint = (
            "The new order book is saved; the next `recover orders` command (or "
            "`recover doctor --fix`) finishes putting it in place."
            if len(moves) > 1
            else "The order book is as it was before this import."
        )
        raise StorageError(
            f"cannot save the order book in {where}: {exc.strerror or exc}", hint=hint
        ) from None


# -- an import ------------------------------------------------------------------------------
@dataclass
class _Platform:
    """One platform file during an import: its lines (raw, parsed only when touched)."""

    lines: dict[str, bytes] = field(default_factory=dict)
    new: set[str] = field(default_factory=set)
    updated: set[str] = field(default_factory=set)
    itemized: dict[str, int] = field(default_factory=dict)  # took items from this source
    seen: set[str] = field(default_factory=set)
    changed: bool = False


@dataclass
class Merged:
    """What an import did (or would do)."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0


class Importer:
    """One import into the book of ``where`` (held locked): feed it records with
    :meth:`add`, then :meth:`commit` (or nothing, for a dry run)."""

    def __init__(self, where: Path) -> None:
        self.where = where
        self._books: dict[str, _Platform] = {}

    def _book(self, platform: str) -> _Platform:
        found = self._books.get(platform)
        if found is None:
            found = _Platform()
            path = self.where / f"{platform}{SUFFIX}"
            if path.exists():
                for number, order in read_book(path):
                    if order is None:
                        raise DamagedCaseError(
                            f"{path} line {number} is damaged, so nothing was imported",
                            hint="See what is wrong: recover doctor",
                        )
                    found.lines[order["key"]] = line_of(order)
            self._books[platform] = found
        return found

    def add(self, record: OrderRecord, source: int = 0) -> None:
        """Merge one record into the book (see the module's note). ``source`` names
        the file it came from: the items of one order met twice in one file (its rows
        apart) are gathered; a later file's replace them, as a later import's do."""
        book = self._book(record.platform)
        incoming = order_of(record)
        key = record.key
        before = book.lines.get(key)
        if before is None:
            merged = incoming
            book.new.add(key)
        else:
            old = orjson.loads(before)
            merged = {**old, **incoming}
            if "items" in incoming and book.itemized.get(key) == source and "items" in old:
                merged["items"] = _gathered(old["items"], incoming["items"])
        if "items" in incoming:
            book.itemized[key] = source
        line = line_of(merged)
        if line != before:
            book.lines[key] = line
            book.changed = True
            if key not in book.new:
                book.updated.add(key)
        book.seen.add(key)

    def result(self) -> Merged:
        """The counts so far: orders new to the book, changed, and met unchanged."""
        new = sum(len(b.new) for b in self._books.values())
        updated = sum(len(b.updated) for b in self._books.values())
        return Merged(
            new=new,
            updated=updated,
            unchanged=sum(len(b.seen) for b in self._books.values()) - new - updated,
        )

    def commit(self) -> None:
        """Write every changed platform file, as one transaction."""
        files = {
            platform: _file_bytes(platform, book.lines.values())
            for platform, book in self._books.items()
            if book.changed
        }
        if files:
            commit(self.where, files)


def _gathered(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items of one order met twice in one import: all of them, once each (by the
    platform's line id, when it has one)."""
    ids = {item.get("id") for item in old if item.get("id") is not None}
    return old + [item for item in new if item.get("id") is None or item["id"] not in ids]


def _file_bytes(platform: str, lines: Iterable[bytes]) -> Iterator[bytes]:
    """A platform file's pieces, to be written one after the other."""
    yield _header(platform) + b"\n"
    for line in lines:
        yield line + b"\n"


# -- forgetting -----------------------------------------------------------------------------
def forget(home: Path, *, platform: str | None = None, before: datetime | None = None) -> int:
    """Delete orders from the book for good: a platform's, those dated before
    ``before``, or (neither) all of them. Returns how many orders went."""
    if not folder_of(home).is_dir():
        return 0
    with locked(home) as where:
        files: dict[str, Iterable[bytes] | None] = {}
        gone = 0
        for name, path in book_files(home).items():
            if platform is not None and name != platform:
                continue
            kept: list[bytes] = []
            for _number, order, raw in book_lines(path):
                if order is None and before is not None:
                    kept.append(raw)  # damaged: its date cannot be told (doctor names it)
                elif order is not None and before is not None and not _dated_before(order, before):
                    kept.append(raw)
                else:
                    gone += 1
            files[name] = _file_bytes(name, kept) if kept else None
        if files:
            commit(where, files)
        return gone


def _dated_before(order: Order, moment: datetime) -> bool:
    date = order.get("date")
    if not isinstance(date, str):
        return False  # an order with no date is kept by --before: it cannot be placed
    try:
        return datetime.fromisoformat(date) < moment
    except ValueError:
        return False
