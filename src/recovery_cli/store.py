"""The case store: one JSON file per case in ``<home>/cases/``.

Case ids are small numbers (``17``), easy to read out on a call. A new case claims
its number by linking a complete, fsynced file into place, which fails if the name
is taken: two terminals creating cases at the same moment get different numbers
and neither file is ever overwritten or seen half-written.

A walk holds its case's lock (``cases/.17.lock``, an advisory ``flock`` that the
system releases when the process ends, however it ends) so a second terminal cannot
walk the same case; every save also checks the case's ``revision`` on disk, so a
change made behind the walk's back is refused rather than overwritten. Lock files
are never deleted: deleting a lock another process holds would break it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from .case import SCHEMA_VERSION, Case, case_to_json
from .errors import (
    CaseBusyError,
    DamagedCaseError,
    NotDurableError,
    NotFoundError,
    StorageError,
    UsageError,
)
from .fileio import ensure_private_dir, write_atomic
from .values import clean_text

if TYPE_CHECKING:
    from .case import Customer
    from .index import Entry, Index

_ID_INPUT = re.compile(r"^\s*(?:#|case[ -]?)?0*([1-9][0-9]{0,8})\s*$", re.IGNORECASE)
_ID_FILE = re.compile(r"^([1-9][0-9]{0,8})\.json$")
# The JSON escape of a UTF-16 surrogate: a pair is fine, a lone one cannot be written out.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")


# Case numbers below this are kept as bits (at most 1 MB); any above, as a list.
_BITMAP_LIMIT = 1 << 23
_OFFSETS_UP = tuple(range(8))
# Waiting for a lock held only for an instant: this many tries, this far apart.
_LOCK_TRIES, _LOCK_PAUSE = 10, 0.02
_OFFSETS_DOWN = tuple(reversed(_OFFSETS_UP))


def _holds_lone_surrogate(data: Any) -> bool:
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def parse_case_id(text: str) -> str:
    """Normalise an id as typed (``17``, ``#17``, ``case 17``) or raise UsageError.

    The pattern is checked before any path is built from it.
    """
    match = _ID_INPUT.match(text)
    if not match:
        raise UsageError(f"{text[:40]!r} is not a case id: use the number shown, like 17")
    return match.group(1)


@dataclass(frozen=True)
class Damaged:
    """A case file that could not be read; reported, never rewritten."""

    path: Path
    reason: str


@dataclass(frozen=True)
class Stored:
    """A case together with its file's JSON as stored (unknown fields included)."""

    data: dict[str, Any]
    case: Case


def encode(case: Case) -> bytes:
    """The bytes of a case file: indented JSON (jq- and diff-friendly), UTF-8."""
    text = json.dumps(case_to_json(case), indent=2, ensure_ascii=False) + "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate got in: keep everything else
        return clean_text(text).encode("utf-8")


class Store:
    """Reads and writes the cases of one home."""

    def __init__(self, home: Path, *, warn: Callable[[str], None] | None = None) -> None:
        """``warn``, when given, hears of a save that landed but could not be synced
        to disk (instead of a NotDurableError): the caller goes on, and says so."""
        self.home = home
        self.cases_dir = home / "cases"
        self._locks: dict[str, int] = {}
        self._warn = warn
        self._index: Index | None = None

    @property
    def index(self) -> Index:
        """The summary index beside the case files (see :mod:`recovery_cli.index`)."""
        if self._index is None:
            from .index import Index

            self._index = Index(self, notify=self._warn)
        return self._index

    def _index_mark(self, case_id: str) -> None:
        """Tell the index a case file is about to change. The index is a cache that
        checks itself: if this fails, the next reader finds out by other means."""
        import sqlite3

        with contextlib.suppress(sqlite3.Error, OSError, RecursionError, ValueError):
            self.index.mark(case_id)

    def _index_record(self, case: Case) -> None:
        import sqlite3

        with contextlib.suppress(sqlite3.Error, OSError, RecursionError, ValueError):
            self.index.record(case, self.path_for(case.id))

    def _not_durable(self, error: NotDurableError) -> None:
        if self._warn is None:
            raise error
        self._warn(error.message)

    def path_for(self, case_id: str) -> Path:
        """The file of a case (the id must already be normalised)."""
        return self.cases_dir / f"{parse_case_id(case_id)}.json"

    # -- locks -------------------------------------------------------------------------
    def _try_lock(self, case_id: str) -> bool:
        if case_id in self._locks:
            return True
        path = self.cases_dir / f".{case_id}.lock"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StorageError(f"cannot lock case {case_id}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._locks[case_id] = fd
        return True

    def _lock_patiently(self, case_id: str) -> bool:
        """Take the case's lock, waiting a moment if it is held: `recover doctor` and
        `recover resume` (finding the latest case) hold other cases' locks for an
        instant to test them, and must not make a command fail for that. A walk in
        another terminal holds it for minutes, and still gets a prompt refusal."""
        for _ in range(_LOCK_TRIES - 1):
            if self._try_lock(case_id):
                return True
            time.sleep(_LOCK_PAUSE)
        return self._try_lock(case_id)

    def lock_is_free(self, case_id: str) -> bool:
        """Whether no process holds the case's lock right now (without creating a lock
        file, and without keeping the lock)."""
        lock = self.cases_dir / f".{case_id}.lock"
        try:
            fd = os.open(lock, os.O_RDWR)
        except FileNotFoundError:
            return True
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(fd)  # closing drops the lock again
        return True

    def release(self, case_id: str) -> None:
        """Let other terminals have the case again."""
        fd = self._locks.pop(case_id, None)
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the flock

    @contextlib.contextmanager
    def session(self, case_id: str) -> Iterator[None]:
        """Hold a case for a walk; CaseBusyError if another terminal holds it."""
        if not self.path_for(case_id).exists():
            raise NotFoundError(
                f"no case {case_id}", hint="`recover list` shows the cases there are."
            )
        if not self._lock_patiently(case_id):
            raise CaseBusyError(
                f"case {case_id} is open in another terminal",
                hint="Finish or pause it there first.",
            )
        try:
            yield
        finally:
            self.release(case_id)

    # -- writing -----------------------------------------------------------------------
    def create(self, build: Callable[[str], Case]) -> Case:
        """Claim the next free id, write ``build(id)`` under it, and return the case,
        its lock held (see :meth:`session`)."""
        ensure_private_dir(self.home)
        ensure_private_dir(self.cases_dir)
        number = max(self._scan(), default=0) + 1
        while True:
            case_id = str(number)
            number += 1
            if not self._try_lock(case_id):
                continue
            try:
                case = build(case_id)
                case.revision = 1
                self._index_mark(case_id)
                write_atomic(self.path_for(case_id), encode(case), exclusive=True)
            except FileExistsError:
                self.release(case_id)
                continue
            except NotDurableError as error:
                self._not_durable(error)  # the case is in place: it is ours either way
            except BaseException:
                self.release(case_id)
                raise
            self._index_record(case)
            return case

    def save(self, case: Case) -> None:
        """Write the case durably (after every answered step), unless the file on disk
        is no longer the version this case was read from."""
        path = self.path_for(case.id)
        # The check and the write must not interleave with another writer's: hold the
        # case's lock for them, unless this store holds it already (a walk does).
        borrowed = case.id not in self._locks
        if borrowed and not self._lock_patiently(case.id):
            raise CaseBusyError(
                f"case {case.id} is open in another terminal; this change was not saved",
                hint="Finish or pause it there first.",
            )
        try:
            self._save_locked(path, case)
        finally:
            if borrowed:
                self.release(case.id)

    def _save_locked(self, path: Path, case: Case) -> None:
        on_disk = self._revision_on_disk(path)
        if on_disk != case.revision:
            raise CaseBusyError(
                f"case {case.id} was changed elsewhere since it was opened here; "
                "this change was not saved",
                hint=f"Nothing on disk was overwritten. See it with: recover show {case.id}",
            )
        self._index_mark(case.id)
        case.revision += 1
        try:
            write_atomic(path, encode(case))
        except NotDurableError as error:
            self._not_durable(error)  # the file on disk is this revision now
        except BaseException:
            case.revision -= 1
            raise
        self._index_record(case)

    @staticmethod
    def _revision_on_disk(path: Path) -> int | None:
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError, RecursionError):
            return None
        revision = data.get("revision") if isinstance(data, dict) else None
        return revision if isinstance(revision, int) else None

    # -- reading -----------------------------------------------------------------------
    def _scan(self) -> Iterator[int]:
        """The number of every case file, in directory order."""
        try:
            entries = os.scandir(self.cases_dir)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StorageError(f"cannot read {self.cases_dir}: {exc.strerror or exc}") from None
        with entries:
            for entry in entries:
                match = _ID_FILE.match(entry.name)
                if match:
                    yield int(match.group(1))

    def _numbers(self, *, newest_first: bool = False) -> Iterator[int]:
        """Every case number in order, without holding a list of them: numbers are
        dense (each new case takes the next one), so a bitmap of one bit a number
        keeps a store of 100,000 cases in 12.5 kB. The rare number far above the rest
        (a file named by hand) is kept aside instead of growing the bitmap."""
        bits = bytearray()
        outliers: list[int] = []
        for number in self._scan():
            if number >= _BITMAP_LIMIT:
                outliers.append(number)
                continue
            index = number >> 3
            if index >= len(bits):
                bits.extend(bytes(max(index + 1 - len(bits), len(bits))))
            bits[index] |= 1 << (number & 7)
        outliers.sort(reverse=newest_first)
        if newest_first:
            yield from outliers
        indices = range(len(bits) - 1, -1, -1) if newest_first else range(len(bits))
        offsets = _OFFSETS_DOWN if newest_first else _OFFSETS_UP
        for index in indices:
            byte = bits[index]
            if byte:
                base = index << 3
                for offset in offsets:
                    if byte >> offset & 1:
                        yield base + offset
        if not newest_first:
            yield from outliers

    def numbers(self) -> Iterator[int]:
        """Every case number, oldest first (without holding a list of them)."""
        return self._numbers()

    def count(self) -> int:
        """How many case files there are (damaged ones included)."""
        return sum(1 for _ in self._scan())

    def load(self, case_id: str) -> Case:
        """Load one case; NotFoundError or DamagedCaseError when it cannot be had."""
        return self.load_stored(case_id).case

    def load_stored(self, case_id: str) -> Stored:
        """One case with its JSON as stored."""
        case_id = parse_case_id(case_id)
        path = self.path_for(case_id)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError(
                f"no case {case_id}", hint="`recover list` shows the cases there are."
            ) from None
        except OSError as exc:
            raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from None
        return Stored(*self._parse(path, raw))

    @classmethod
    def parse(cls, path: str | Path, raw: bytes) -> tuple[dict[str, Any], Case]:
        """A case file's JSON as stored and the case it describes, from its bytes;
        DamagedCaseError when it cannot be read as a case."""
        return cls._parse(path, raw)

    @staticmethod
    def _parse(path: str | Path, raw: bytes) -> tuple[dict[str, Any], Case]:
        """The case file's JSON as stored, and the case it describes."""
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            # Not JSON, not UTF-8, nested past the parser's depth, or a number too long
            # to convert: all damage, none of it a reason to stop listing the rest.
            raise DamagedCaseError(f"{path} is damaged (not JSON); it was left untouched") from None
        if not isinstance(data, dict):
            raise DamagedCaseError(f"{path} is not a case file; it was left untouched")
        if _SURROGATE_ESCAPE.search(raw) and _holds_lone_surrogate(data):
            raise DamagedCaseError(
                f"{path} is not a valid case file (text that is not Unicode); it was left untouched"
            )
        version = data.get("schema_version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise DamagedCaseError(
                f"{path} is not a valid case file (bad schema_version); it was left untouched"
            )
        if version > SCHEMA_VERSION:
            raise DamagedCaseError(
                f"{path} was written by a newer version of recover (schema {version}); "
                "it was left untouched",
                hint="Upgrade recover to work with this case.",
            )
        try:
            return data, Case.model_validate(data)
        except ValidationError as exc:
            fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})[:3]
            raise DamagedCaseError(
                f"{path} is not a valid case file (bad {', '.join(fields)}); it was left untouched"
            ) from None

    def iter_newest(self) -> Iterator[Case | Damaged]:
        """Every case, newest (highest id) first; unreadable files come as Damaged."""
        for item in self.iter_stored(newest_first=True):
            yield item if isinstance(item, Damaged) else item.case

    def iter_stored(self, *, newest_first: bool = False) -> Iterator[Stored | Damaged]:
        """Every case with its JSON exactly as stored, oldest first unless asked
        otherwise; unreadable files come as Damaged."""
        # Plain strings, not Path objects, for the files: pathlib interns every name
        # it parses, and the interning table would grow with the store.
        folder = os.fspath(self.cases_dir)
        for number in self._numbers(newest_first=newest_first):
            found = self._read(os.path.join(folder, f"{number}.json"))
            if found is not None:
                yield found

    def _read(self, name: str) -> Stored | Damaged | None:
        """One case file, read and parsed (None: it is gone)."""
        try:
            with open(name, "rb") as file:
                raw = file.read()
            data, case = self._parse(name, raw)
        except FileNotFoundError:
            return None
        except OSError as exc:
            return Damaged(Path(name), f"cannot read: {exc.strerror or exc}")
        except DamagedCaseError as exc:
            return Damaged(Path(name), exc.message)
        return Stored(data, case)

    def _load_entries(self, entries: Iterable[Entry]) -> Iterator[Case | Damaged]:
        """The cases the index picked, read from their files (the files, not the index,
        are what is shown); damaged ones as Damaged."""
        folder = os.fspath(self.cases_dir)
        for entry in entries:
            name = os.path.join(folder, f"{entry.id}.json")
            if entry.damaged is not None:
                yield Damaged(Path(name), entry.damaged)
                continue
            found = self._read(name)
            if found is not None:
                yield found if isinstance(found, Damaged) else found.case

    def with_follow_ups_to_do(self) -> Iterator[Case | Damaged]:
        """The cases with a follow-up still to do, newest first (and damaged files)."""
        return self._load_entries(self.index.entries("next_due IS NOT NULL", thorough=True))

    def with_prevention(self, *, done_too: bool = False) -> Iterator[Case | Damaged]:
        """The cases with a prevention action (still open, unless ``done_too``), newest
        first (and damaged files)."""
        where = "prevention >= 1" if done_too else "prevention = 1"
        return self._load_entries(self.index.entries(where, thorough=True))

    def of_customer(self, query: str) -> Iterator[Case | Damaged]:
        """The cases whose customer's name, email or order holds ``query`` (ignoring
        case), newest first (and damaged files)."""
        needle = query.strip().casefold()
        if not needle:
            return iter(())
        entries = self.index.entries("instr(search, ?) > 0", (needle,))
        return self._load_entries(entries)

    def same_customer(self, customer: Customer) -> Iterator[Case]:
        """The cases that may be this customer's (same email, else order reference,
        else name), newest first; damaged files are left out."""
        for item in self._load_entries(self.index.same_customer(customer)):
            if isinstance(item, Case):
                yield item

    def list_cases(
        self, *, status: str | None = None, limit: int | None = None
    ) -> Iterator[Case | Damaged]:
        """Cases newest first, optionally only one status, at most ``limit`` of them.
        Damaged files are yielded too (and do not count towards the limit)."""
        entries = self.index.entries("status = ?", (status,)) if status else self.index.entries()
        count = 0
        for item in self._load_entries(entries):
            if limit is not None and count >= limit:
                return
            if isinstance(item, Case):
                if status is not None and item.status != status:
                    continue  # the file changed since the index saw it
                count += 1
            yield item

    def latest_unfinished(self) -> Case | None:
        """The most recent case whose walk is not finished and that no other terminal
        has open (for ``recover resume`` without an id)."""
        for item in self._load_entries(self.index.entries("walk_done = 0")):
            if not isinstance(item, Case) or item.walk_completed_at is not None:
                continue
            if self.lock_is_free(item.id):
                return item
        return None
