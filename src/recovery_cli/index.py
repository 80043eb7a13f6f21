"""The summary index: one row per case file, so that the views which would otherwise
read every case (filtered lists, a customer's history, follow-ups, prevention, stats,
exports) can pick the cases they need, or count, without parsing the whole store.

The case files stay the source of truth; the index is a cache beside them
(``<home>/index.sqlite3``) that is checked before it is used and rebuilt from the case
files whenever it cannot be trusted — never trusted blindly:

* every save marks its case *dirty* in the index before the file is written, and
  records the new row (with the file's mtime and size) and clears the mark after. A
  save cut short (a crash, a kill) leaves the mark, so the next reader reads that one
  file again;
* the index also records the cases folder's own mtime and identity (device, inode)
  after each save. Any change to the folder that did not come through a save (a file
  copied in, deleted or restored by hand, a save that failed half-way), and a home
  copied or restored from a backup, changes one of them, and the next reader compares
  every file's mtime and size with its row and reads again those that differ. The
  views that show what the rows hold rather than the files (stats, CSV exports)
  compare every file that way each time;
* an index that is missing, unreadable or of another format is rebuilt from scratch.

A case file edited in place by hand keeps the folder's mtime: ``recover doctor``
compares every file with its row and ``recover doctor --fix`` brings the index up to
date. Nothing in the index is ever needed to read a case: deleting it is always safe.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .errors import DamagedCaseError, StorageError

if TYPE_CHECKING:
    from .case import Case, Customer
    from .store import Store

# Rows are made by this version's code (CSV cells, stats facts, follow-up briefs): an
# index made by another version is rebuilt.
FORMAT = f"2/{__version__}"
FILE_NAME = "index.sqlite3"
# Rows written in one transaction while catching up, so a long rebuild never holds the
# database against a walk's save for long.
_BATCH = 500
# How long a reader waits for another process's transaction (short: saves and batches
# are), and how long a save on a live call waits before going on without the index.
_READ_WAIT_S = 5.0
_SAVE_WAIT_MS = 250
_CASE_FILE = re.compile(r"^([1-9][0-9]{0,8})\.json$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS dirty (id INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS cases (
    id INTEGER PRIMARY KEY,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    damaged TEXT,
    created_at TEXT,
    status TEXT,
    playbook TEXT,
    search TEXT,
    email TEXT,
    order_ref TEXT,
    name TEXT,
    remedy_kinds TEXT,
    next_due TEXT,
    pending TEXT,
    prevention INTEGER,
    walk_done INTEGER,
    facts TEXT,
    csv TEXT
);
CREATE INDEX IF NOT EXISTS cases_by_status ON cases (status, id);
CREATE INDEX IF NOT EXISTS cases_by_due ON cases (next_due) WHERE next_due IS NOT NULL;
CREATE INDEX IF NOT EXISTS cases_by_email ON cases (email) WHERE email != '';
CREATE INDEX IF NOT EXISTS cases_by_order ON cases (order_ref) WHERE order_ref != '';
CREATE INDEX IF NOT EXISTS cases_by_name ON cases (name) WHERE name != '';
"""
_COLUMNS = (
    "id, mtime_ns, size, damaged, created_at, status, playbook, search, email, order_ref, "
    "name, remedy_kinds, next_due, pending, prevention, walk_done, facts, csv"
)
_UPSERT = f"INSERT OR REPLACE INTO cases ({_COLUMNS}) VALUES ({', '.join('?' * 18)})"


def key(text: str) -> str:
    """A customer detail as it is compared: trimmed, case folded."""
    return text.strip().casefold()


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def row_of(case: Case, mtime_ns: int, size: int) -> tuple[Any, ...]:
    """The index row of a case read from a file of this mtime and size."""
    from .values import clean_text

    # Text that is not valid Unicode (a lone surrogate typed on a broken terminal) is
    # stored with a replacement character, as the case file itself is.
    return tuple(clean_text(v) if isinstance(v, str) else v for v in _row_of(case, mtime_ns, size))


def _row_of(case: Case, mtime_ns: int, size: int) -> tuple[Any, ...]:
    from .export import csv_row
    from .followups import brief_of
    from .stats import facts_of

    customer = case.customer
    pending = case.pending_follow_ups()
    outcome = case.outcome
    prevention = 0
    if outcome is not None and outcome.prevention:
        prevention = 2 if outcome.prevention_done_at is not None else 1
    kinds = {r.kind for r in case.remedies if r.kind}
    return (
        int(case.id),
        mtime_ns,
        size,
        None,
        _iso(case.created_at),
        case.status,
        case.playbook.id,
        "\x1f".join(key(v) for v in (customer.name, customer.email, customer.order)),
        key(customer.email),
        key(customer.order),
        key(customer.name),
        "," + ",".join(sorted(kinds)) + "," if kinds else "",
        _iso(pending[0].due_at) if pending else None,
        json.dumps(brief_of(case), ensure_ascii=False) if pending else None,
        prevention,
        int(case.walk_completed_at is not None),
        json.dumps(facts_of(case), separators=(",", ":")),
        json.dumps(csv_row(case), ensure_ascii=False, separators=(",", ":")),
    )


def damaged_row(case_id: int, mtime_ns: int, size: int, reason: str) -> tuple[Any, ...]:
    """The index row of a case file that could not be read."""
    return (case_id, mtime_ns, size, reason, *([None] * 14))


@dataclass(frozen=True)
class Entry:
    """One row as the views use it: the case id, and why it is damaged (or None)."""

    id: int
    damaged: str | None


class Index:
    """The index of one store; every query first brings it up to date."""

    def __init__(self, store: Store, *, notify: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.path = store.home / FILE_NAME
        self._in_step: dict[str, bool] = {}
        self.notify = notify
        self._db: sqlite3.Connection | None = None

    # -- the database ------------------------------------------------------------------
    def _open(self, *, wait: float = _READ_WAIT_S, again: bool = True) -> sqlite3.Connection:
        if self._db is not None:
            return self._db
        # Made private before SQLite opens it (its journal files take its mode), and
        # made private again if it was not: it holds customers' names and emails.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
        db = sqlite3.connect(self.path, timeout=wait, isolation_level=None)
        try:
            # A killed process cannot hurt a WAL database; a power cut might, and then
            # it fails to open or to check out, and is rebuilt from the case files.
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=OFF")
            db.executescript(_SCHEMA)
            found = db.execute("SELECT value FROM meta WHERE key='format'").fetchone()
            if found is None:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('format', ?)", (FORMAT,))
            elif found[0] != FORMAT:
                db.close()
                raise sqlite3.DatabaseError("another format")
        except sqlite3.DatabaseError as exc:
            with contextlib.suppress(sqlite3.Error):
                db.close()
            # Only a file that is not a sound database of this format is thrown away
            # (a busy one is another process's, in use), and only once.
            if not again or (isinstance(exc, sqlite3.OperationalError) and not _is_corrupt(exc)):
                raise
            self._discard()
            return self._open(wait=wait, again=False)
        self._db = db
        _OPEN.add(self)
        return db

    def _in_memory(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = sqlite3.connect(":memory:", isolation_level=None)
            self._db.executescript(_SCHEMA)
        return self._db

    def _discard(self) -> None:
        """Remove an index that cannot be used (it is rebuilt from the case files)."""
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{self.path}{suffix}").unlink()

    def close(self) -> None:
        """Let go of the database."""
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- kept in step by every save ----------------------------------------------------
    def _for_a_save(self) -> sqlite3.Connection:
        # A save on a live call never waits long for the index: if another process
        # holds it (a rebuild), the save goes on without it and readers catch up.
        db = self._open(wait=_SAVE_WAIT_MS / 1000)
        db.execute(f"PRAGMA busy_timeout = {_SAVE_WAIT_MS}")
        return db

    def mark(self, case_id: str) -> None:
        """Before a case file is written: it may be about to differ from its row. Notes
        whether the index was in step with the folder until now: only then may the
        save, once recorded, say the index is in step again."""
        db = self._for_a_save()
        self._in_step[case_id] = self._matches_folder(db)
        db.execute("INSERT OR IGNORE INTO dirty VALUES (?)", (int(case_id),))

    def _matches_folder(self, db: sqlite3.Connection) -> bool:
        try:
            folder = os.stat(self.store.cases_dir)
        except OSError:
            return False
        seen = dict(db.execute("SELECT key, value FROM meta WHERE key LIKE 'folder_%'"))
        return seen.get("folder_mtime") == str(folder.st_mtime_ns) and seen.get(
            "folder_id"
        ) == _identity(folder)

    def record(self, case: Case, path: Path) -> None:
        """After a case file was written: its row, and the folder's mtime with it."""
        db = self._for_a_save()
        st = os.stat(path)
        folder = os.stat(path.parent)
        row = row_of(case, st.st_mtime_ns, st.st_size)
        in_step = self._in_step.pop(case.id, False)
        with _transaction(db):
            db.execute(_UPSERT, row)
            db.execute("DELETE FROM dirty WHERE id = ?", (int(case.id),))
            if in_step:
                _note_folder(db, folder)

    # -- brought up to date before every query -----------------------------------------
    def fresh(self, *, thorough: bool = False) -> sqlite3.Connection:
        """The database, with every row checked against the case files as described in
        the module's docstring; ``thorough`` also compares every file's mtime and size
        with its row (for the views that count or show every case: a file changed in
        place, by hand or by a failing disk, is read again)."""
        folder = self.store.cases_dir
        if self._db is not None:
            self._db.execute(f"PRAGMA busy_timeout = {int(_READ_WAIT_S * 1000)}")
        try:
            st = os.stat(folder)
        except FileNotFoundError:
            # No case was ever saved: nothing to index, and nothing is created to say so.
            return self._in_memory()
        except OSError as exc:
            raise StorageError(f"cannot read {folder}: {exc.strerror or exc}") from None
        try:
            db = self._open()
            return self._brought_up_to_date(db, st, thorough)
        except sqlite3.DatabaseError as exc:
            self.close()
            if not isinstance(exc, sqlite3.OperationalError) or _is_corrupt(exc):
                # Damaged inside (it opened, but a table does not read): rebuild it.
                with contextlib.suppress(OSError, sqlite3.Error):
                    self._discard()
                    return self._brought_up_to_date(self._open(), st, thorough)
                self.close()
            return self._brought_up_to_date(self._in_memory(), st, thorough)
        except (OSError, sqlite3.Error):
            # A home this process cannot write to (read-only, another owner, a full
            # disk): answer from an index in memory, built from the case files for
            # this run only.
            self.close()
            return self._brought_up_to_date(self._in_memory(), st, thorough)

    def _brought_up_to_date(
        self, db: sqlite3.Connection, folder: os.stat_result, thorough: bool
    ) -> sqlite3.Connection:
        # The folder's identity as well as its mtime: a home copied or restored from a
        # backup keeps the times of its files and folders, but not their inodes.
        if thorough or not self._matches_folder(db):
            self._catch_up(db, folder)
        self._recheck(db)
        return db

    def _catch_up(self, db: sqlite3.Connection, folder: os.stat_result) -> None:
        """Compare every case file with its row; read again the ones that differ."""
        rows = {
            case_id: (mtime, size)
            for case_id, mtime, size in db.execute("SELECT id, mtime_ns, size FROM cases")
        }
        stale: list[tuple[int, os.stat_result | None]] = []
        try:
            entries = os.scandir(self.store.cases_dir)
        except OSError as exc:
            raise StorageError(
                f"cannot read {self.store.cases_dir}: {exc.strerror or exc}"
            ) from None
        with entries:
            for entry in entries:
                match = _CASE_FILE.match(entry.name)
                if not match:
                    continue
                case_id = int(match.group(1))
                try:
                    st = entry.stat()
                except FileNotFoundError:
                    continue
                if rows.pop(case_id, None) != (st.st_mtime_ns, st.st_size):
                    stale.append((case_id, st))
        if len(stale) > 1000 and self.notify is not None:
            self.notify(f"Indexing {len(stale)} case files; this happens once.")
        gone = list(rows)
        with _transaction(db):
            db.executemany("DELETE FROM cases WHERE id = ?", [(i,) for i in gone])
        self._reread(db, [case_id for case_id, _ in stale])
        with _transaction(db):
            _note_folder(db, folder)

    def _recheck(self, db: sqlite3.Connection) -> None:
        """Read again the cases whose save was cut short (marked, never recorded) and
        no process is saving now, and damaged files that changed since."""
        again = [i for (i,) in db.execute("SELECT id FROM dirty")]
        for case_id, mtime, size in db.execute(
            "SELECT id, mtime_ns, size FROM cases WHERE damaged IS NOT NULL"
        ).fetchall():
            try:
                st = os.stat(self.store.cases_dir / f"{case_id}.json")
            except FileNotFoundError:
                again.append(case_id)
                continue
            if (st.st_mtime_ns, st.st_size) != (mtime, size):
                again.append(case_id)
        if again:
            self._reread(db, again)

    def _reread(self, db: sqlite3.Connection, ids: list[int]) -> None:
        """Read these case files and write their rows (or drop rows of files gone)."""
        for start in range(0, len(ids), _BATCH):
            batch = ids[start : start + _BATCH]
            rows = []
            gone = []
            for case_id in batch:
                row = self._read_row(case_id)
                if row is None:
                    gone.append((case_id,))
                else:
                    rows.append(row)
            marked = {i for (i,) in db.execute("SELECT id FROM dirty")}
            # A mark whose case is locked belongs to a save still in progress: its
            # writer records the row and clears the mark, or the next reader does.
            done = [(i,) for i in batch if i in marked and self.store.lock_is_free(str(i))]
            with _transaction(db):
                db.executemany(_UPSERT, rows)
                db.executemany("DELETE FROM cases WHERE id = ?", gone)
                db.executemany("DELETE FROM dirty WHERE id = ?", done)

    def _read_row(self, case_id: int) -> tuple[Any, ...] | None:
        name = self.store.cases_dir / f"{case_id}.json"
        try:
            with open(name, "rb") as handle:
                st = os.fstat(handle.fileno())
                raw = handle.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            return damaged_row(case_id, 0, 0, f"{name}: cannot read: {exc.strerror or exc}")
        try:
            _, case = self.store.parse(name, raw)
        except DamagedCaseError as exc:
            return damaged_row(case_id, st.st_mtime_ns, st.st_size, exc.message)
        if case.id != str(case_id):
            reason = f"{name} holds another case than case {case_id}; it was left untouched"
            return damaged_row(case_id, st.st_mtime_ns, st.st_size, reason)
        return row_of(case, st.st_mtime_ns, st.st_size)

    # -- checks for doctor --------------------------------------------------------------
    def disagreements(self, *, read_only: bool = False) -> list[int]:
        """Cases whose row does not match their file now (compared by mtime and size,
        and by content for every file): what ``doctor`` reports and ``--fix`` mends.
        With ``read_only``, the database is opened without any write."""
        if read_only:
            self.close()
            self._db = sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True)
            _OPEN.add(self)
        db = self._open()
        rows = {row[0]: row[1:] for row in db.execute(f"SELECT {_COLUMNS} FROM cases")}
        wrong = [i for (i,) in db.execute("SELECT id FROM dirty")]
        for number in self.store.numbers():
            row = rows.pop(number, None)
            fresh = self._read_row(number)
            if fresh is None:
                continue
            if row is None or row != fresh[1:]:
                wrong.append(number)
        wrong += list(rows)
        return sorted(set(wrong))

    def rebuild(self) -> int:
        """Throw the index away and build it again from the case files; returns how
        many cases it holds."""
        self.close()
        self._discard()
        db = self.fresh()
        found: int = db.execute("SELECT count(*) FROM cases").fetchone()[0]
        return found

    # -- queries -----------------------------------------------------------------------
    def entries(
        self, where: str = "", params: tuple[Any, ...] = (), *, thorough: bool = False
    ) -> Iterator[Entry]:
        """Rows newest first (damaged ones always included), matching ``where``."""
        clause = f"WHERE damaged IS NOT NULL OR ({where})" if where else ""
        sql = f"SELECT id, damaged FROM cases {clause} ORDER BY id DESC"
        for case_id, damaged in self.fresh(thorough=thorough).execute(sql, params):
            yield Entry(case_id, damaged)

    def same_customer(self, customer: Customer) -> Iterator[Entry]:
        """Cases that may be the same customer's: the same email, order reference or
        name (each case is then confirmed by :func:`recovery_cli.customers.same_customer`,
        which weighs them in that order)."""
        given = [
            (column, key(value))
            for column, value in (
                ("email", customer.email),
                ("order_ref", customer.order),
                ("name", customer.name),
            )
            if key(value)
        ]
        if given:
            where = " OR ".join(f"{column} = ?" for column, _ in given)
            yield from self.entries(where, tuple(value for _, value in given))

    def pending_dues(self) -> Iterator[datetime]:
        """The due time of every follow-up still to do."""
        for (pending,) in self.fresh().execute(
            "SELECT pending FROM cases WHERE next_due IS NOT NULL AND damaged IS NULL"
        ):
            for _, due, _ in json.loads(pending)["items"]:
                yield datetime.fromisoformat(due)

    def follow_ups_to_do(self) -> Iterator[tuple[str | None, Any]]:
        """For each case with follow-ups still to do, newest first: why its file is
        damaged (or None), and its brief (see :func:`recovery_cli.followups.brief_of`)."""
        for damaged, pending in self.fresh(thorough=True).execute(
            "SELECT damaged, pending FROM cases WHERE next_due IS NOT NULL "
            "OR damaged IS NOT NULL ORDER BY id DESC"
        ):
            yield damaged, json.loads(pending) if pending is not None else None

    def rows(self, columns: str, *, thorough: bool = True) -> Iterator[tuple[Any, ...]]:
        """``id, damaged`` and the columns asked for, of every case, oldest first
        (checked thoroughly by default: these views show what the rows hold)."""
        db = self.fresh(thorough=thorough)
        yield from db.execute(f"SELECT id, damaged, {columns} FROM cases ORDER BY id")


def _is_corrupt(exc: sqlite3.Error) -> bool:
    # SQLITE_CORRUPT and SQLITE_NOTADB, with or without extended codes.
    return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in (11, 26)


def _identity(folder: os.stat_result) -> str:
    return f"{folder.st_dev}:{folder.st_ino}"


def _note_folder(db: sqlite3.Connection, folder: os.stat_result) -> None:
    """Record the state of the cases folder the rows were checked against."""
    db.executemany(
        "INSERT OR REPLACE INTO meta VALUES (?, ?)",
        [("folder_mtime", str(folder.st_mtime_ns)), ("folder_id", _identity(folder))],
    )


# Every index with its database open, so that a command can close them all when it
# ends, even while something (a traceback, a test runner) still holds its store.
_OPEN: weakref.WeakSet[Index] = weakref.WeakSet()


def close_all() -> None:
    """Close every open index database."""
    for index in list(_OPEN):
        index.close()


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
