"""The summary index: one row per case file, so that the views which would otherwise
read every case (filtered lists, a customer's history, follow-ups, prevention, stats,
exports) can pick the cases they need, or count, without parsing the whole store.

The case files stay the source of truth; the index is a cache of this machine's
(in its cache folder, see :mod:`recovery_cli.machine`: never inside the home, which may
be synced) that is checked before it is used and rebuilt from the case files whenever
it cannot be trusted — never trusted blindly:

* every save marks its case *dirty* in the index before the file is written, and
  records the new row (with the file's mtime and size) and clears the mark after. A
  save cut short (a crash, a kill) leaves the mark, so the next reader reads that one
  file again;
* the index also records the cases folder's own mtime and identity (device, inode)
  after each save. Any change to the folder that did not come through a save (a file
  copied in, deleted or restored by hand, a save that failed half-way), and a home
  copied or restored from a backup, changes one of them, and the next reader compares
  every file's mtime and size with its row and reads again those that differ. The
  views that count or list every case of a kind (stats, CSV exports, prevention)
  compare every file that way each time, and so see a file changed in place (damaged,
  or edited by hand) as soon as its size or time changed;
* an index that is missing, unreadable or of another :data:`FORMAT` is rebuilt from
  scratch, and so is one whose table turns out damaged in the middle of a query. The
  format is the rows' own, not the package's version: an upgrade that leaves the
  rows alone rebuilds nothing.

The everyday views (lists, a customer's history, the follow-ups due) show what the
rows keep of each case (its card or brief, see :mod:`recovery_cli.projections`),
after comparing the mtime and size of each file they show with its row
(:meth:`Index._checked`): a file changed since is read again first, and reported if it
is damaged. ``recover show`` and JSON exports take a file's own JSON when the index
read a file of that mtime and size and found a sound case in it (:meth:`Index.attests`).
A case file edited in place by hand so that it keeps its size and time, or so that it
now belongs in a view it was not picked for (a follow-up added by hand), is seen there
once ``recover doctor --fix`` brings the index up to date (``recover doctor`` compares
every file's content with its row). Nothing in the index is ever needed to read a
case: deleting it is always safe.

This is the only module that speaks SQL; the rest of recover asks it by name.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from .. import projections
from ..errors import DamagedCaseError, StorageError
from ..machine import private_dir
from ..sync.ids import id_of, key_of
from ..text import replace_surrogates
from .files import CaseFiles, own_case, parse

if TYPE_CHECKING:
    from ..case import Case, Customer

# The format of the rows (their columns, and what the projections put in them). Bump it
# whenever either changes: an index of another format is rebuilt from the case files,
# and an upgrade that leaves the rows alone rebuilds nothing.
FORMAT = "8"
# Where an earlier version kept the index: inside the home (it moves out on first use).
FILE_NAME = "index.sqlite3"
# Rows written in one transaction while catching up, so a long rebuild never holds the
# database against a walk's save for long.
_BATCH = 500
# How long a reader waits for another process's transaction (short: saves and batches
# are), and how long a save on a live call waits before going on without the index.
_READ_WAIT_S = 5.0
_SAVE_WAIT_MS = 250
# Catching up on more case files than this is worth a word to the person waiting.
NOTE_FROM = 1000

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
    csv TEXT,
    card TEXT,
    mail_ids TEXT,
    ord INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS cases_by_ord ON cases (ord, id);
CREATE INDEX IF NOT EXISTS cases_by_status ON cases (status, ord, id);
CREATE INDEX IF NOT EXISTS cases_by_due ON cases (next_due) WHERE next_due IS NOT NULL;
CREATE INDEX IF NOT EXISTS cases_by_email ON cases (email) WHERE email != '';
CREATE INDEX IF NOT EXISTS cases_by_order ON cases (order_ref) WHERE order_ref != '';
CREATE INDEX IF NOT EXISTS cases_by_name ON cases (name) WHERE name != '';
CREATE INDEX IF NOT EXISTS cases_damaged ON cases (id) WHERE damaged IS NOT NULL;
"""
_COLUMNS = (
    "id, mtime_ns, size, damaged, created_at, status, playbook, search, email, order_ref, "
    "name, remedy_kinds, next_due, pending, prevention, walk_done, facts, csv, card, mail_ids, "
    "ord"
)
_UPSERT = f"INSERT OR REPLACE INTO cases ({_COLUMNS}) VALUES ({', '.join('?' * 21)})"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def key(text: str) -> str:
    """A customer detail as it is compared: trimmed, case folded."""
    return text.strip().casefold()


def row_of(case: Case, mtime_ns: int, size: int) -> tuple[Any, ...]:
    """The index row of a case read from a file of this mtime and size."""
    customer = case.customer
    pending = case.pending_follow_ups()
    outcome = case.outcome
    prevention = 0
    if outcome is not None and outcome.prevention:
        prevention = 2 if outcome.prevention_done_at is not None else 1
    kinds = {r.kind for r in case.remedies if r.kind}
    row = (
        key_of(case.id),
        mtime_ns,
        size,
        None,
        projections.iso(case.created_at),
        case.status,
        case.playbook.id,
        "\x1f".join(key(v) for v in (customer.name, customer.email, customer.order)),
        key(customer.email),
        key(customer.order),
        key(customer.name),
        "," + ",".join(sorted(kinds)) + "," if kinds else "",
        projections.iso(pending[0].due_at) if pending else None,
        json.dumps(projections.brief_of(case), ensure_ascii=False) if pending else None,
        prevention,
        int(case.walk_completed_at is not None),
        json.dumps(projections.facts_of(case), separators=(",", ":"), ensure_ascii=False),
        json.dumps(projections.csv_row(case), ensure_ascii=False, separators=(",", ":")),
        json.dumps(projections.card_of(case), ensure_ascii=False, separators=(",", ":")),
        # Every Message-ID of the case's mail, each between separators: a message
        # that names one of them (a reply in the thread) finds its case.
        "".join(f"\x1f{i}" for i in case.mail.lookup_keys()) + "\x1f" if case.mail else None,
        # Newest first means made last, on whichever machine: ids of two machines
        # do not sort by time.
        (case.created_at - _EPOCH) // _MICROSECOND,
    )
    # Text that is not valid Unicode (a lone surrogate typed on a broken terminal) is
    # stored with a replacement character, as the case file itself is.
    return tuple(replace_surrogates(v) if isinstance(v, str) else v for v in row)


def damaged_row(case_id: int, mtime_ns: int, size: int, reason: str) -> tuple[Any, ...]:
    """The index row of a case file that could not be read."""
    return (case_id, mtime_ns, size, reason, *([None] * 16), mtime_ns // 1000)


@dataclass(frozen=True)
class Entry:
    """One row as the views use it: the case id, and why it is damaged (or None)."""

    id: int
    damaged: str | None


class ExportRow(NamedTuple):
    """What an export needs of a case to filter it, its CSV cells as kept (JSON text:
    decoded only for the rows a CSV export writes), and the mtime and size its file
    was read at."""

    id: int
    damaged: str | None
    created_at: str
    status: str
    playbook: str
    remedy_kinds: str
    search: str
    csv: str
    mtime_ns: int
    size: int


class FactsRow(NamedTuple):
    """What stats count of one case (see :func:`recovery_cli.projections.facts_of`)."""

    id: int
    damaged: str | None
    facts: projections.Facts


class CardRow(NamedTuple):
    """What the everyday views show of a case (see
    :func:`recovery_cli.projections.card_of`), or why its file is damaged."""

    id: int
    damaged: str | None
    card: projections.Card


class BriefRow(NamedTuple):
    """A case with follow-ups to do (see :func:`recovery_cli.projections.brief_of`)."""

    id: int
    damaged: str | None
    brief: projections.Brief


class Index:
    """The index of one store; every query first brings it up to date."""

    def __init__(
        self,
        files: CaseFiles,
        path: Path | None,
        *,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        """``path`` None: there is no place for the index on this machine (it is then
        kept in memory, for one run). ``notify`` hears of a long catch-up before it
        starts ("Indexing N case files")."""
        self.files = files
        self.path = path
        self._in_step: dict[str, bool] = {}
        self.notify = notify
        self._db: sqlite3.Connection | None = None
        self._memory: sqlite3.Connection | None = None  # the stand-in for an unwritable one

    # -- the database ------------------------------------------------------------------
    def _open(self, *, wait: float = _READ_WAIT_S, again: bool = True) -> sqlite3.Connection:
        if self._db is not None:
            return self._db
        if self.path is None:
            raise OSError("no place for the index on this machine")
        private_dir(self.path.parent)
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
        return db

    def _in_memory(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = sqlite3.connect(":memory:", isolation_level=None)
            self._db.executescript(_SCHEMA)
            self._memory = self._db
        return self._db

    def _discard(self) -> None:
        """Remove an index that cannot be used (it is rebuilt from the case files)."""
        if self.path is None:
            return
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{self.path}{suffix}").unlink()

    def close(self) -> None:
        """Let go of the database."""
        if self._db is not None:
            self._db.close()
            self._db = None
        self._memory = None

    # -- kept in step by every save ----------------------------------------------------
    def _for_a_save(self) -> sqlite3.Connection:
        # A save on a live call never waits long for the index: if another process
        # holds it (a rebuild), the save goes on without it and readers catch up.
        db = self._open(wait=_SAVE_WAIT_MS / 1000)
        db.execute(f"PRAGMA busy_timeout = {_SAVE_WAIT_MS}")
        return db

    def note_saving(self, case_id: str) -> None:
        """Before a case file is written: it may be about to differ from its row.
        Never fails: the index is a cache that checks itself, and if this does not
        reach it, the next reader finds out by other means."""
        with contextlib.suppress(sqlite3.Error, OSError, RecursionError, ValueError):
            self.mark(case_id)

    def note_saved(self, case: Case) -> None:
        """After a case file was written: its row. Never fails (as :meth:`note_saving`)."""
        with contextlib.suppress(sqlite3.Error, OSError, RecursionError, ValueError):
            self.record(case, self.files.path_for(case.id))

    def mark(self, case_id: str) -> None:
        """Mark a case dirty, noting whether the index was in step with the folder
        until now: only then may the save, once recorded, say it is in step again."""
        db = self._for_a_save()
        self._in_step[case_id] = self._matches_folder(db)
        db.execute("INSERT OR IGNORE INTO dirty VALUES (?)", (key_of(case_id),))

    def _matches_folder(self, db: sqlite3.Connection) -> bool:
        try:
            folder = os.stat(self.files.folder)
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
            db.execute("DELETE FROM dirty WHERE id = ?", (key_of(case.id),))
            if in_step:
                _note_folder(db, folder)

    # -- brought up to date before every query -----------------------------------------
    def fresh(self, *, thorough: bool = False) -> sqlite3.Connection:
        """The database, with every row checked against the case files as described in
        the module's docstring; ``thorough`` also compares every file's mtime and size
        with its row (for the views that count or show every case: a file changed in
        place, by hand or by a failing disk, is read again)."""
        folder = self.files.folder
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
            self._catch_up(db, folder, kept=db is not self._memory)
        self._recheck(db)
        return db

    def _catch_up(self, db: sqlite3.Connection, folder: os.stat_result, *, kept: bool) -> None:
        """Compare every case file with its row; read again the ones that differ
        (``kept``: into the index on disk, rather than one in memory for this run).

        The case numbers on disk (a bitmap, in order) are merged with the rows read in
        id order, so memory does not grow with the store: only the ids to read again
        or drop are kept, as machine integers."""
        stale, gone = array("q"), array("q")
        rows = db.execute("SELECT id, mtime_ns, size FROM cases ORDER BY id")
        row = rows.fetchone()
        for number in self.files.numbers():
            while row is not None and row[0] < number:
                gone.append(row[0])
                row = rows.fetchone()
            try:
                st = os.stat(self.files.name_of(number))
            except FileNotFoundError:
                continue
            except OSError:
                st = None
            known = row[1:] if row is not None and row[0] == number else None
            if st is None or known != (st.st_mtime_ns, st.st_size):
                stale.append(number)
            if known is not None:
                row = rows.fetchone()
        while row is not None:
            gone.append(row[0])
            row = rows.fetchone()
        if len(stale) > NOTE_FROM and self.notify is not None:
            self.notify(
                f"Indexing {len(stale)} case files; this happens once."
                if kept
                else f"Reading {len(stale)} case files: the summary index cannot be "
                "saved in this home (recover doctor tells why)."
            )
        with _transaction(db):
            db.executemany("DELETE FROM cases WHERE id = ?", ((i,) for i in gone))
        self._reread(db, stale)
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
                st = os.stat(self.files.name_of(case_id))
            except FileNotFoundError:
                again.append(case_id)
                continue
            if (st.st_mtime_ns, st.st_size) != (mtime, size):
                again.append(case_id)
        if again:
            self._reread(db, again)

    def _reread(self, db: sqlite3.Connection, ids: Sequence[int]) -> None:
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
            done = [(i,) for i in batch if i in marked and self.files.lock_is_free(id_of(i))]
            with _transaction(db):
                db.executemany(_UPSERT, rows)
                db.executemany("DELETE FROM cases WHERE id = ?", gone)
                db.executemany("DELETE FROM dirty WHERE id = ?", done)

    def _read_row(self, case_id: int) -> tuple[Any, ...] | None:
        name = self.files.name_of(case_id)
        try:
            with open(name, "rb") as handle:
                st = os.fstat(handle.fileno())
                raw = handle.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            return damaged_row(case_id, 0, 0, f"{name}: cannot read: {exc.strerror or exc}")
        try:
            _, case = parse(name, raw)
        except DamagedCaseError as exc:
            return damaged_row(case_id, st.st_mtime_ns, st.st_size, exc.message)
        try:
            own_case(name, case, id_of(case_id))
        except DamagedCaseError as exc:
            return damaged_row(case_id, st.st_mtime_ns, st.st_size, exc.message)
        return row_of(case, st.st_mtime_ns, st.st_size)

    # -- checks for doctor --------------------------------------------------------------
    def disagreements(self, *, read_only: bool = False) -> list[int]:
        """Cases whose row does not match their file now (compared by mtime and size,
        and by content for every file): what ``doctor`` reports and ``--fix`` mends.
        With ``read_only``, the database is opened without any write."""
        with _readable():
            if read_only:
                self.close()
                if self.path is None:
                    return []
                self._db = sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True)
            db = self._open()
            rows = {row[0]: row[1:] for row in db.execute(f"SELECT {_COLUMNS} FROM cases")}
            wrong = [i for (i,) in db.execute("SELECT id FROM dirty")]
            for number in self.files.numbers():
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

    # -- queries: each one named for what a view asks -----------------------------------
    def newest(self, *, status: str | None = None) -> Iterator[Entry]:
        """Every case newest first, or only those of one status (damaged files too)."""
        if status is None:
            return self._entries()
        return self._entries("status = ?", (status,))

    def unfinished(self) -> Iterator[Entry]:
        """The cases whose walk is not finished, newest first (damaged files too)."""
        return self._entries("walk_done = 0")

    def with_prevention(self, *, done_too: bool = False) -> Iterator[Entry]:
        """The cases with a prevention action still open (or done too), newest first."""
        where = "prevention >= 1" if done_too else "prevention = 1"
        return self._entries(where, thorough=True)

    def matching(self, needle: str) -> Iterator[Entry]:
        """The cases whose customer's name, email or order holds ``needle`` (already
        case folded), newest first."""
        return self._entries("instr(search, ?) > 0", (needle,))

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
        if not given:
            return iter(())
        where = " OR ".join(f"{column} = ?" for column, _ in given)
        return self._entries(where, tuple(value for _, value in given))

    def pending_dues(self) -> Iterator[datetime]:
        """The due time of every follow-up still to do."""
        with _readable():
            rows = self.fresh().execute(
                "SELECT pending FROM cases WHERE next_due IS NOT NULL AND damaged IS NULL"
            )
            for (pending,) in rows.fetchall():
                for item in json.loads(pending)["items"]:
                    yield datetime.fromisoformat(item[1])

    def with_message(self, message_ids: Sequence[str]) -> list[int]:
        """The cases whose mail holds one of these Message-IDs, oldest first."""
        wanted = [f"\x1f{i}\x1f" for i in message_ids if i and "\x1f" not in i]
        if not wanted:
            return []
        where = " OR ".join("instr(mail_ids, ?) > 0" for _ in wanted)
        with _readable():
            rows = self.fresh().execute(
                f"SELECT id FROM cases WHERE mail_ids IS NOT NULL AND ({where}) ORDER BY ord, id",
                wanted,
            )
            return [case_id for (case_id,) in rows.fetchall()]

    def follow_up_briefs(self) -> Iterator[BriefRow]:
        """Each case with follow-ups still to do, and each damaged file, newest first.
        The index is trusted as far as it proves itself (the folder and the marks of
        every save), and each row shown is checked against its file: the view is made
        from these rows alone, without comparing every file of the store."""
        columns = "id, damaged, pending, mtime_ns, size"
        where = "next_due IS NOT NULL"
        for case_id, damaged, pending, _, _ in self._checked(columns, where):
            yield BriefRow(case_id, damaged, json.loads(pending) if pending else {})

    def cards(
        self,
        where: str = "",
        params: tuple[Any, ...] = (),
        *,
        limit: int | None = None,
        thorough: bool = False,
    ) -> Iterator[CardRow]:
        """The cards of the cases matching ``where`` (and every damaged file), newest
        first, at most ``limit`` good ones; each checked against its file first
        (``thorough``: every file of the store compared with its row before any is
        picked, for a view that must see a file changed in place)."""
        columns = "id, damaged, card, mtime_ns, size"
        rows = self._checked(columns, where, params, limit=limit, thorough=thorough)
        for case_id, damaged, card, _, _ in rows:
            yield CardRow(case_id, damaged, json.loads(card) if card else {})

    def _checked(
        self,
        columns: str,
        where: str,
        params: tuple[Any, ...] = (),
        *,
        limit: int | None = None,
        thorough: bool = False,
    ) -> Iterator[tuple[Any, ...]]:
        """Rows newest first (damaged ones always included) whose last two columns
        are the mtime and size they were read at. Each row is compared with its file
        before it is yielded; one that differs (a file changed in place, by hand or by
        a save this index did not hear of) is read again from its file first, and
        yielded only if it still matches ``where``. Read a chunk at a time, so that the
        newest 20 of a large store cost 20 checks."""
        condition = f"(damaged IS NOT NULL OR ({where}))" if where else "1"
        chunk = 256 if limit is None else min(256, limit + 16)
        below: tuple[int, int] | None = None
        good = 0
        with _readable():
            db = self.fresh(thorough=thorough)
            while True:
                try:
                    rows, last = self._chunk(db, columns, condition, params, below, chunk)
                except sqlite3.DatabaseError as exc:
                    if isinstance(exc, sqlite3.OperationalError) and not _is_corrupt(exc):
                        raise
                    # Damaged inside, where only a query reaches: rebuilt from the case
                    # files (once), and the view goes on from where it was.
                    self.close()
                    self._discard()
                    db = self.fresh(thorough=thorough)
                    rows, last = self._chunk(db, columns, condition, params, below, chunk)
                if last is None:
                    return
                below = last
                for row in rows:
                    if row is None:
                        continue
                    yield row
                    good += row[1] is None
                    if limit is not None and good >= limit:
                        return

    def _chunk(
        self,
        db: sqlite3.Connection,
        columns: str,
        condition: str,
        params: tuple[Any, ...],
        below: tuple[int, int] | None,
        size: int,
    ) -> tuple[list[tuple[Any, ...] | None], tuple[int, int] | None]:
        """The next rows of :meth:`_checked` (ids below ``below``), each compared with
        its file: one that no longer matches ``condition`` once read again is None; and
        where the chunk ended, as (ord, id) (None: there are no more rows)."""
        sql = f"SELECT ord, {columns} FROM cases WHERE {condition}"
        args: tuple[Any, ...] = params
        if below is not None:
            sql += " AND (ord, id) < (?, ?)"
            args = (*params, *below)
        found: list[tuple[Any, ...]] = db.execute(
            f"{sql} ORDER BY ord DESC, id DESC LIMIT ?", (*args, size)
        ).fetchall()
        if not found:
            return [], None
        last = (found[-1][0], found[-1][1])
        rows: list[tuple[Any, ...] | None] = [row[1:] for row in found]
        stale = [
            row[0] for row in rows if row is not None and row[1] is None and not self._agrees(row)
        ]
        if not stale:
            return rows, last
        self._reread(db, stale)
        marks = ", ".join("?" * len(stale))
        again = {
            row[0]: row
            for row in db.execute(
                f"SELECT {columns} FROM cases WHERE id IN ({marks}) AND {condition}",
                (*stale, *params),
            )
        }
        redone = set(stale)
        return [
            again.get(row[0]) if row is not None and row[0] in redone else row for row in rows
        ], last

    def _agrees(self, row: Sequence[Any]) -> bool:
        """Whether a row's case file is still the one it was read from."""
        try:
            st = os.stat(self.files.name_of(row[0]))
        except OSError:
            return False
        return (st.st_mtime_ns, st.st_size) == (row[-2], row[-1])

    def attests(self, case_id: int, mtime_ns: int, size: int) -> bool:
        """Whether the index read this case's file at this mtime and size and found a
        sound case in it: its JSON may then be shown as it is, without checking it
        again. Never fails (an index that cannot say, says no)."""
        try:
            found = (
                self._open()
                .execute("SELECT mtime_ns, size, damaged FROM cases WHERE id = ?", (case_id,))
                .fetchone()
            )
        except (sqlite3.Error, OSError):
            self.close()
            return False
        return found is not None and found[2] is None and (found[0], found[1]) == (mtime_ns, size)

    def export_rows(self, *, thorough: bool = True, cells: bool = True) -> Iterator[ExportRow]:
        """Every case oldest first, with what an export filters on and its CSV cells
        (``cells``: else empty; checked against every file first, unless ``thorough``
        is off: a JSON export checks each file itself)."""
        csv = "csv" if cells else "''"
        columns = (
            f"id, damaged, created_at, status, playbook, remedy_kinds, search, {csv}, "
            "mtime_ns, size"
        )
        with _readable():
            db = self.fresh(thorough=thorough)
            for row in db.execute(f"SELECT {columns} FROM cases ORDER BY ord, id"):
                yield ExportRow._make(row)

    def stats_rows(self, *, loads: Callable[[str], Any] | None = None) -> Iterator[FactsRow]:
        """The facts of every case, oldest first (checked against every file first),
        parsed with ``loads`` (json's by default)."""
        parse = loads or json.loads
        with _readable():
            db = self.fresh(thorough=True)
            for case_id, damaged, facts in db.execute(
                "SELECT id, damaged, facts FROM cases ORDER BY ord, id"
            ):
                yield FactsRow(case_id, damaged, parse(facts) if facts is not None else {})

    def _entries(
        self, where: str = "", params: tuple[Any, ...] = (), *, thorough: bool = False
    ) -> Iterator[Entry]:
        """Rows newest first (damaged ones always included), matching ``where``."""
        clause = f"WHERE damaged IS NOT NULL OR ({where})" if where else ""
        sql = f"SELECT id, damaged FROM cases {clause} ORDER BY ord DESC, id DESC"
        with _readable():
            for case_id, damaged in self.fresh(thorough=thorough).execute(sql, params):
                yield Entry(case_id, damaged)


@contextlib.contextmanager
def _readable() -> Iterator[None]:
    """An index that fails half-way through a query (a disk error, another process
    replacing it) is a storage problem to report, never a traceback."""
    try:
        yield
    except sqlite3.Error as exc:
        raise StorageError(
            f"the summary index cannot be read ({type(exc).__name__})",
            hint="The case files are fine: recover doctor --fix rebuilds it.",
        ) from None


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


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
