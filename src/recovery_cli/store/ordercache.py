"""The order look-up table: the order book's orders in SQLite, so that the walk finds
an order by its reference or a customer's email in a millisecond at 100,000 orders.

It is a cache of the plain book (:mod:`recovery_cli.orders.book`), never a copy of
anything: it sits in this machine's cache folder (:mod:`recovery_cli.machine`), never
in the home, which may be synced; its rows for a platform are thrown away and read
again from the platform's file whenever the file's size, time or identity differ from
what the rows were read from, and the whole table is rebuilt when it is missing,
damaged or of another :data:`FORMAT`. Deleting it is always safe. Where no cache
folder can be written, an in-memory table stands in for the command's life.

With :mod:`.index`, the only modules that speak SQL.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson

from ..errors import DamagedCaseError, StorageError
from ..machine import home_file, private_dir
from ..orders import book
from ..orders.book import Order
from ..orders.summary import amount, is_sale, net
from .index import _transaction

FORMAT = "2"  # 2: what each sale brought in (net, currency), for stats

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stamps (platform TEXT PRIMARY KEY, stamp TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    platform TEXT NOT NULL,
    key TEXT NOT NULL,
    ref_norm TEXT NOT NULL,
    key_norm TEXT NOT NULL,
    email TEXT,
    name TEXT,
    date TEXT,
    net TEXT,
    currency TEXT,
    line BLOB NOT NULL,
    PRIMARY KEY (platform, key)
);
CREATE INDEX IF NOT EXISTS orders_ref ON orders (ref_norm);
CREATE INDEX IF NOT EXISTS orders_key ON orders (key_norm);
CREATE INDEX IF NOT EXISTS orders_email ON orders (email);
CREATE INDEX IF NOT EXISTS orders_name ON orders (name);
CREATE INDEX IF NOT EXISTS orders_date ON orders (date);
"""


_INDEX_SQL = [part.strip() for part in _SCHEMA.split(";") if "CREATE INDEX" in part]
_INDEXES = [statement.split()[5] for statement in _INDEX_SQL]


def ref_key(text: str) -> str:
    """An order reference as looked up: ``#1042``, ``1042`` and `` # 1042`` are one."""
    return "".join(text.split()).lstrip("#").casefold()


def email_key(text: str) -> str:
    """An email as looked up (case and surrounding space ignored)."""
    return text.strip().casefold()


def name_key(text: str) -> str:
    """A name as looked up (case and runs of space ignored)."""
    return " ".join(text.split()).casefold()


def _stamp(path: Path) -> str:
    found = path.stat()
    return f"{found.st_size}:{found.st_mtime_ns}:{found.st_dev}:{found.st_ino}"


class OrderCache:
    """The look-up table of one home's order book; a context manager."""

    def __init__(self, home: Path, *, snapshot: bool = False) -> None:
        """``snapshot``: the table is checked against the book once, on first use, and
        then trusted for this object's life (a command that asks about every case);
        else before every question (the walk, which lives through an import)."""
        self.home = home
        self.path = home_file(home, "orders", ".sqlite3")
        self._db: sqlite3.Connection | None = None
        self._snapshot = snapshot
        self._checked = False
        # Platform files that are not an order book (named by every view that meets
        # them, and left alone: their orders are not looked up; doctor says more).
        self.damaged: list[str] = []

    def __enter__(self) -> OrderCache:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Let go of the table."""
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- the database ------------------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        if self._db is not None:
            return self._db
        db = None
        if self.path is not None:
            with contextlib.suppress(OSError, sqlite3.Error):
                db = self._on_disk(self.path)
            if db is None:  # damaged, or of another format: once more, from nothing
                with contextlib.suppress(OSError, sqlite3.Error):
                    for suffix in ("", "-wal", "-shm", "-journal"):
                        with contextlib.suppress(FileNotFoundError):
                            Path(f"{self.path}{suffix}").unlink()
                    db = self._on_disk(self.path)
        if db is None:
            db = sqlite3.connect(":memory:", isolation_level=None)
            db.executescript(_SCHEMA)
        self._db = db
        return db

    @staticmethod
    def _on_disk(path: Path) -> sqlite3.Connection | None:
        private_dir(path.parent)  # not private: OSError, and the table stays in memory
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
        db = sqlite3.connect(path, timeout=10, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=OFF")
            db.executescript(_SCHEMA)
            found = db.execute("SELECT value FROM meta WHERE key='format'").fetchone()
            if found is None:
                db.execute("INSERT INTO meta VALUES ('format', ?)", (FORMAT,))
            elif found[0] != FORMAT:
                db.close()
                return None
            db.execute("SELECT count(*) FROM stamps").fetchone()
        except sqlite3.DatabaseError:
            db.close()
            return None
        return db

    def fresh(self) -> sqlite3.Connection:
        """The table, brought up to date with the book's files first."""
        db = self._open()
        if self._snapshot and self._checked:
            return db
        if (book.folder_of(self.home) / book.JOURNAL).exists():
            with book.locked(self.home):
                pass  # finishing a commit a killed import left
        try:
            files = book.book_files(self.home)
            known = dict(db.execute("SELECT platform, stamp FROM stamps").fetchall())
            for platform in set(known) - set(files):
                self._drop(db, platform)
            for platform, path in files.items():
                stamp = _stamp(path)
                if known.get(platform) != stamp:
                    try:
                        self._load(db, platform, path, stamp)
                    except DamagedCaseError as exc:
                        self._drop(db, platform)
                        if exc.message not in self.damaged:
                            self.damaged.append(exc.message)
        except sqlite3.Error as exc:
            raise StorageError(
                f"the order look-up table cannot be used ({type(exc).__name__})",
                hint="The order book is fine: delete the table and it is rebuilt.",
            ) from None
        except OSError as exc:
            raise StorageError(f"cannot read the order book: {exc.strerror or exc}") from None
        self._checked = True
        return db

    @staticmethod
    def _drop(db: sqlite3.Connection, platform: str) -> None:
        with _transaction(db):
            db.execute("DELETE FROM orders WHERE platform = ?", (platform,))
            db.execute("DELETE FROM stamps WHERE platform = ?", (platform,))

    @staticmethod
    def _load(db: sqlite3.Connection, platform: str, path: Path, stamp: str) -> None:
        def rows() -> Iterator[tuple[Any, ...]]:
            for _number, order, raw in book.book_lines(path):
                if order is None:
                    continue  # a damaged line: doctor names it
                email, name = order.get("email"), order.get("name")
                date = order.get("date") if isinstance(order.get("date"), str) else None
                sold = is_sale(order) and amount(order, "total") is not None
                yield (
                    platform,
                    order["key"],
                    ref_key(order["ref"]),
                    ref_key(order["key"]),
                    email_key(email) if isinstance(email, str) else None,
                    name_key(name) if isinstance(name, str) else None,
                    date,
                    str(net(order)) if sold else None,
                    str(order.get("currency") or ""),
                    raw,
                )

        with _transaction(db):
            db.execute("DELETE FROM orders WHERE platform = ?", (platform,))
            # The indexes are made again after the rows are in: twice as fast as
            # keeping them up to date row by row, at 100,000 orders.
            for name in _INDEXES:
                db.execute(f"DROP INDEX IF EXISTS {name}")
            db.executemany("INSERT OR REPLACE INTO orders VALUES (?,?,?,?,?,?,?,?,?,?)", rows())
            for statement in _INDEX_SQL:
                db.execute(statement)
            db.execute("INSERT OR REPLACE INTO stamps VALUES (?, ?)", (platform, stamp))

    def vacuum(self) -> None:
        """Give the space of forgotten rows back (after ``orders forget``): the rows are
        gone from the file, not only unlinked."""
        db = self.fresh()
        with contextlib.suppress(sqlite3.Error):
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.execute("VACUUM")

    # -- questions -----------------------------------------------------------------------
    def find(self, query: str) -> list[Order]:
        """The orders ``query`` names, newest first: every order of an email, else the
        orders with that reference (or platform key)."""
        return self.by_email(query) if "@" in query else self.by_ref(query)

    def by_ref(self, ref: str) -> list[Order]:
        """The orders with this reference or platform key (one per platform or store
        that uses it), newest first."""
        wanted = ref_key(ref)
        if not wanted:
            return []
        sql = (
            "SELECT platform, line FROM orders WHERE ref_norm = ? OR key_norm = ?"
            " ORDER BY date DESC"
        )
        return [_order(p, line) for p, line in self.fresh().execute(sql, (wanted, wanted))]

    def by_email(self, email: str) -> list[Order]:
        """Every order of this email, newest first."""
        sql = "SELECT platform, line FROM orders WHERE email = ? ORDER BY date DESC"
        return [_order(p, line) for p, line in self.fresh().execute(sql, (email_key(email),))]

    def of_customer(self, email: str, name: str) -> list[Order]:
        """Every order of a customer, newest first: by email, else (for platforms
        that give none, like Etsy) by name, among orders without an email."""
        found = self.by_email(email) if email.strip() else []
        db = self.fresh()
        if name.strip():
            sql = (
                "SELECT platform, line FROM orders WHERE name = ? AND email IS NULL"
                " ORDER BY date DESC"
            )
            found += [_order(p, line) for p, line in db.execute(sql, (name_key(name),))]
        found.sort(key=lambda order: order.get("date") or "", reverse=True)
        return found

    def listing(
        self, *, customer: str | None = None, since: datetime | None = None
    ) -> Iterator[Order]:
        """Every order, newest first; only a customer's (part of a name, an email or
        a reference), or only those dated on or after ``since``."""
        db = self.fresh()
        where, args = [], []
        if customer:
            needle = f"%{_like(customer.strip().casefold())}%"
            where.append(
                "(email LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\'"
                " OR ref_norm LIKE ? ESCAPE '\\')"
            )
            args += [needle, needle, f"%{_like(ref_key(customer))}%"]
        if since is not None:
            where.append("date >= ?")
            args.append(since.strftime("%Y-%m-%dT%H:%M:%SZ"))
        sql = "SELECT platform, line FROM orders"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY date DESC, platform, key"
        for platform, line in db.execute(sql, args):
            yield _order(platform, line)

    def sales(self) -> Iterator[tuple[str | None, str | None, str, str, str]]:
        """Every dated sale as (email, name, date, net, currency); email and name as
        looked up (normalised), the date in ISO 8601 UTC, net a decimal string."""
        yield from self.fresh().execute(
            "SELECT email, name, date, net, currency FROM orders"
            " WHERE net IS NOT NULL AND date IS NOT NULL"
        )

    def count(self) -> int:
        """How many orders the book holds."""
        return int(self.fresh().execute("SELECT count(*) FROM orders").fetchone()[0])


def _order(platform: str, line: bytes) -> Order:
    found: Order = orjson.loads(line)
    found["platform"] = platform
    return found


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
