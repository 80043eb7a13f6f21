"""The Store: the one object the rest of recover reads and writes cases through.

It owns the case files (:mod:`.files`) and the summary index (:mod:`.index`) of one
home, and keeps the two in step: every save marks its case in the index, writes the
file, then records the new row. Views ask it for cases by what they need (newest,
a customer's, those with follow-ups to do); it asks the index, which answers from its
rows once each row shown is checked against its file (the files stay the truth), and
a walk or a change reads the case from its file.

A walk holds its case (:meth:`Store.session`) so a second terminal cannot walk the
same case; every save also checks the case's ``revision`` on disk, so a change made
behind the walk's back is refused rather than overwritten.

A Store is a context manager: leaving it closes the index and lets go of every lock.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..errors import CaseBusyError, NotDurableError, NotFoundError, StorageError
from ..fileio import TMP_SUFFIX, ensure_private_dir, is_temp_file
from ..machine import home_file, machine_id, private_dir, state_dir
from ..sync.ids import key_of, parse_case_id
from .files import (
    CaseFiles,
    Damaged,
    Stored,
    locked_case,
    on_disk,
    own_case,
    parse,
    read,
    temp_file_case,
)
from .index import FILE_NAME, BriefRow, CardRow, Entry, ExportRow, FactsRow, Index

if TYPE_CHECKING:
    from ..case import Case, Customer

Notify = Callable[[str], None]

# Every case this process wrote, by home and id: what the command changed, for the
# commit a synced home gets when the command is done (see recovery_cli.sync.engine).
# With each, how many events its log held before this process first wrote it.
_WRITTEN: dict[tuple[str, str], tuple[Case, int]] = {}


def written(home: Path) -> list[tuple[Case, int]]:
    """The cases this process wrote in ``home`` (each as last written), each with the
    number of log events it had before: the events after those are this process's."""
    key = os.fspath(home)
    return [found for (where, _), found in _WRITTEN.items() if where == key]


def _wrote(home: Path, case: Case, before: int) -> None:
    key = (os.fspath(home), case.id)
    _WRITTEN[key] = (case, _WRITTEN[key][1] if key in _WRITTEN else before)


class Store:
    """Reads and writes the cases of one home."""

    def __init__(self, home: Path, *, warn: Notify | None = None) -> None:
        """``warn``, when given, hears what the person waiting should know and that
        does not stop the command: a save that landed but could not be synced to disk
        (instead of a NotDurableError), and a long catch-up of the index."""
        self.home = home
        self.files = CaseFiles(home)
        self._warn = warn
        self.index = Index(self.files, home_file(home, "index", ".sqlite3"), notify=warn)
        if os.path.lexists(home / FILE_NAME):
            self._move_index_out()

    def _move_index_out(self) -> None:
        """An index kept inside the home by an earlier version (and its lock files
        beside the cases) moves to this machine's own folder: a synced home must not
        carry them. The index is only a cache: where it cannot move, it is deleted and
        built again."""
        old, new = self.home / FILE_NAME, self.index.path
        moved = False
        if new is not None and not new.exists():
            with contextlib.suppress(OSError):
                private_dir(new.parent)
                for suffix in ("-wal", "-shm", ""):
                    with contextlib.suppress(FileNotFoundError):
                        os.replace(f"{old}{suffix}", f"{new}{suffix}")
                moved = True
        if not moved and new is not None:
            for suffix in ("-wal", "-shm", "-journal", ""):
                with contextlib.suppress(OSError):
                    os.unlink(f"{old}{suffix}")
        self.files.drop_old_locks()
        if new is not None:
            done = (
                f"Moved the summary index out of the home, to {new}"
                if moved
                else (f"Removed the summary index from the home (it is built again in {new})")
            )
            note = f"{done}: it is this machine's own, and a synced home must not carry it."
            if self._warn is not None:
                self._warn(note)

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the index and let go of every case this store holds."""
        self.index.close()
        self.files.release_all()

    @property
    def cases_dir(self) -> Path:
        """The folder of the case files."""
        return self.files.folder

    @property
    def index_path(self) -> Path | None:
        """The summary index's database file (None: this machine has no place for it)."""
        return self.index.path

    def path_for(self, case_id: str) -> Path:
        """The file of a case (the id is checked before any path is built)."""
        return self.files.path_for(case_id)

    def file_of(self, number: int) -> str:
        """The file of a case number, as a plain string (for streaming a whole store)."""
        return self.files.name_of(number)

    # -- holding a case ------------------------------------------------------------------
    @contextlib.contextmanager
    def session(self, case_id: str) -> Iterator[None]:
        """Hold a case for a walk; CaseBusyError if another terminal holds it."""
        case_id = parse_case_id(case_id)
        if not self.path_for(case_id).exists():
            raise NotFoundError(
                f"no case {case_id}", hint="`recover list` shows the cases there are."
            )
        if not self.files.lock_patiently(case_id):
            raise CaseBusyError(
                f"case {case_id} is open in another terminal",
                hint="Finish or pause it there first.",
            )
        try:
            yield
        finally:
            self.files.release(case_id)

    def release(self, case_id: str) -> None:
        """Let other terminals have the case again."""
        self.files.release(case_id)

    # -- writing -------------------------------------------------------------------------
    def machine_prefix(self) -> str:
        """The letter this machine's case ids start with in this home (none on the
        first machine), taken now if it has none yet (see :mod:`recovery_cli.sync.ids`)."""
        from ..sync import ids

        try:
            machine = machine_id(self.home)
        except OSError as exc:
            raise StorageError(
                f"cannot keep this machine's id in {state_dir()}: {exc.strerror or exc}",
                hint="New case ids need it, so that no other machine makes the same id.",
            ) from None
        assert machine is not None
        letter = ids.letter_of(self.home, machine)
        if letter is None:
            import socket

            letter = ids.claim(self.home, machine, socket.gethostname())
        return "" if letter == "A" else letter

    def create(self, build: Callable[[str], Case]) -> Case:
        """Claim the next free id, write ``build(id)`` under it, and return the case,
        its lock held (see :meth:`session`)."""
        ensure_private_dir(self.home)
        ensure_private_dir(self.cases_dir)
        prefix = self.machine_prefix()
        number = self.files.next_number(prefix)
        while True:
            case_id = f"{prefix}{number}"
            number += 1
            if not self.files.try_lock(case_id):
                continue
            try:
                case = build(case_id)
                case.revision = 1
                self.index.note_saving(case_id)
                self.files.write(case, new=True)
            except FileExistsError:
                self.files.release(case_id)
                continue
            except NotDurableError as error:
                self._not_durable(error)  # the case is in place: it is ours either way
            except BaseException:
                self.files.release(case_id)
                raise
            self.index.note_saved(case)
            _wrote(self.home, case, 0)
            if not os.path.lexists(self.home / ".stignore"):
                # Syncthing (and git) leave this machine's temporary files alone.
                from ..sync.ignores import write_ignores

                with contextlib.suppress(StorageError):
                    write_ignores(self.home)
            return case

    def save(self, case: Case) -> None:
        """Write the case durably (after every answered step), unless the file on disk
        is no longer the version this case was read from."""
        # The check and the write must not interleave with another writer's: hold the
        # case's lock for them, unless this store holds it already (a walk does).
        with self.files.locked(case.id) as held:
            if not held:
                raise CaseBusyError(
                    f"case {case.id} is open in another terminal; this change was not saved",
                    hint="Finish or pause it there first.",
                )
            revision, events = on_disk(self.path_for(case.id))
            if revision != case.revision:
                raise CaseBusyError(
                    f"case {case.id} was changed elsewhere since it was opened here; "
                    "this change was not saved",
                    hint=f"Nothing on disk was overwritten. See it with: recover show {case.id}",
                )
            self.index.note_saving(case.id)
            case.revision += 1
            try:
                self.files.write(case)
            except NotDurableError as error:
                self._not_durable(error)  # the file on disk is this revision now
            except BaseException:
                case.revision -= 1
                raise
            self.index.note_saved(case)
            _wrote(self.home, case, events)

    def _not_durable(self, error: NotDurableError) -> None:
        if self._warn is None:
            raise error
        self._warn(error.message)

    # -- reading one ---------------------------------------------------------------------
    def load(self, case_id: str) -> Case:
        """Load one case; NotFoundError or DamagedCaseError when it cannot be had."""
        return self.files.load(case_id).case

    def load_stored(self, case_id: str) -> Stored:
        """One case with its JSON as stored."""
        return self.files.load(case_id)

    def case_json(
        self, case_id: str, *, as_stored: bool = False, checked: bool = False
    ) -> dict[str, Any]:
        """One case as the JSON of its file, for a view that only shows it. When the
        index read this very file (same mtime and size) and found a sound case in it,
        the JSON is taken as it is. Otherwise the file is checked as a walk would load
        it (NotFoundError or DamagedCaseError if it cannot be had), and the JSON given
        with every default filled in, or ``as_stored`` (unknown fields included).
        ``checked``: always the latter (for a file whose JSON, sound to the models, is
        not written the way recover writes it: a time as a number, say)."""
        case_id = parse_case_id(case_id)
        path = self.files.path_for(case_id)
        raw, st = self.files.read_raw(case_id)
        if not checked and self.index.attests(key_of(case_id), st.st_mtime_ns, st.st_size):
            with contextlib.suppress(ValueError, RecursionError):
                data = json.loads(raw)
                if isinstance(data, dict):
                    return data
        from ..case import case_to_json

        data, case = parse(path, raw)
        own_case(path, case, case_id)
        return data if as_stored else case_to_json(case)

    # -- what the everyday views show: the index's cards, never a case model -------------
    def list_cards(
        self, *, status: str | None = None, limit: int | None = None
    ) -> Iterator[CardRow]:
        """Cases newest first (only one status, if given; at most ``limit``), and every
        damaged file met on the way (which does not count towards the limit)."""
        if status is None:
            return self.index.cards(limit=limit)
        return self.index.cards("status = ?", (status,), limit=limit)

    def prevention_cards(
        self, *, done_too: bool = False, thorough: bool = True
    ) -> Iterator[CardRow]:
        """The cases with a prevention action still open (or done too), newest first.
        Every file is compared with its row first: a prevention action written into a
        case file by hand is seen at once (a small list, asked for once in a while).
        ``thorough=False`` is for a caller that has just had every file compared (the
        monthly report, after its pass over every case's facts)."""
        where = "prevention >= 1" if done_too else "prevention = 1"
        return self.index.cards(where, thorough=thorough)

    def customer_cards(self, query: str) -> Iterator[CardRow]:
        """The cases whose customer's name, email or order holds ``query`` (ignoring
        case), newest first (and damaged files)."""
        needle = query.strip().casefold()
        if not needle:
            return iter(())
        return self.index.cards("instr(search, ?) > 0", (needle,))

    # -- reading many --------------------------------------------------------------------
    def count(self) -> int:
        """How many case files there are (damaged ones included)."""
        return self.files.count()

    def iter_stored(self, *, newest_first: bool = False) -> Iterator[Stored | Damaged]:
        """Every case file with its JSON exactly as stored, oldest first unless asked
        otherwise; unreadable files come as Damaged."""
        for number in self.files.numbers(newest_first=newest_first):
            found = read(self.files.name_of(number))
            if found is not None:
                yield found

    def iter_newest(self) -> Iterator[Case | Damaged]:
        """Every case, newest (highest id) first; unreadable files come as Damaged."""
        for item in self.iter_stored(newest_first=True):
            yield item if isinstance(item, Damaged) else item.case

    def _load(self, entries: Iterable[Entry]) -> Iterator[Case | Damaged]:
        """The cases the index picked, read from their files (the files, not the index,
        are what is shown); damaged ones as Damaged."""
        for entry in entries:
            name = self.files.name_of(entry.id)
            if entry.damaged is not None:
                yield Damaged(Path(name), entry.damaged)
                continue
            found = read(name)
            if found is not None:
                yield found if isinstance(found, Damaged) else found.case

    def list_cases(
        self, *, status: str | None = None, limit: int | None = None
    ) -> Iterator[Case | Damaged]:
        """Cases newest first, optionally only one status, at most ``limit`` of them.
        Damaged files are yielded too (and do not count towards the limit)."""
        count = 0
        for item in self._load(self.index.newest(status=status)):
            if limit is not None and count >= limit:
                return
            if not isinstance(item, Damaged):
                if status is not None and item.status != status:
                    continue  # the file changed since the index saw it
                count += 1
            yield item

    def with_prevention(self, *, done_too: bool = False) -> Iterator[Case | Damaged]:
        """The cases with a prevention action (still open, unless ``done_too``), newest
        first (and damaged files)."""
        return self._load(self.index.with_prevention(done_too=done_too))

    def of_customer(self, query: str) -> Iterator[Case | Damaged]:
        """The cases whose customer's name, email or order holds ``query`` (ignoring
        case), newest first (and damaged files)."""
        needle = query.strip().casefold()
        if not needle:
            return iter(())
        return self._load(self.index.matching(needle))

    def same_customer(self, customer: Customer) -> Iterator[Case]:
        """The cases that may be this customer's (same email, else order reference,
        else name), newest first; damaged files are left out."""
        for item in self._load(self.index.same_customer(customer)):
            if not isinstance(item, Damaged):
                yield item

    @contextlib.contextmanager
    def mail_turn(self) -> Iterator[None]:
        """One message filed at a time, across processes: finding the case a message
        belongs to and writing the case it starts are one step, so the same message
        given twice at once (a mail filter that fires twice) makes one case."""
        import fcntl

        ensure_private_dir(self.cases_dir)
        try:
            fd = os.open(self.files.lock_path("mail"), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StorageError(f"cannot lock the cases folder: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def with_message(self, message_ids: Iterable[str]) -> list[str]:
        """The ids of the cases whose mail holds one of these Message-IDs, oldest first."""
        return [str(i) for i in self.index.with_message(list(message_ids))]

    def latest_unfinished(self) -> Case | None:
        """The most recent case whose walk is not finished and that no other terminal
        has open (for ``recover resume`` without an id)."""
        for item in self._load(self.index.unfinished()):
            if isinstance(item, Damaged) or item.walk_completed_at is not None:
                continue
            if self.files.lock_is_free(item.id):
                return item
        return None

    def follow_up_briefs(self) -> Iterator[BriefRow]:
        """Every case with follow-ups to do, from the index (see :class:`BriefRow`)."""
        return self.index.follow_up_briefs()

    def export_rows(self, *, thorough: bool = True, cells: bool = True) -> Iterator[ExportRow]:
        """Every case's export row, from the index (see :class:`ExportRow`)."""
        return self.index.export_rows(thorough=thorough, cells=cells)

    def stats_rows(self, *, loads: Callable[[str], Any] | None = None) -> Iterator[FactsRow]:
        """Every case's stats facts, from the index (see :class:`FactsRow`), each parsed
        with ``loads`` (json's by default)."""
        return self.index.stats_rows(loads=loads)

    def pending_dues(self) -> Iterator[datetime]:
        """The due time of every follow-up still to do."""
        return self.index.pending_dues()

    # -- what doctor asks ----------------------------------------------------------------
    def private_paths(self) -> Iterator[tuple[Path, int]]:
        """The folder and files of the store that hold private data, with the mode each
        should have (0700 for the folder, 0600 for the files)."""
        folder = self.cases_dir
        if folder.is_dir() and not folder.is_symlink():
            yield folder, 0o700
            for entry in os.scandir(folder):
                leftover = entry.name.endswith(TMP_SUFFIX)  # reported as such instead
                if entry.is_file(follow_symlinks=False) and not leftover:
                    yield Path(entry.path), 0o600
        for suffix in ("", "-wal", "-shm"):
            if self.index.path is None:
                break
            path = Path(f"{self.index.path}{suffix}")
            if path.is_file() and not path.is_symlink():
                yield path, 0o600

    def leftover_temp_files(self, now: float, stale_after: float) -> list[Path]:
        """Temporary files of saves cut short in the cases folder: those of a case no
        process holds (a save in progress holds its case), and any older than
        ``stale_after`` seconds at ``now`` (a timestamp)."""
        if not self.cases_dir.is_dir():
            return []
        found = []
        with os.scandir(self.cases_dir) as entries:
            for entry in entries:
                if not is_temp_file(entry.name) or not entry.is_file(follow_symlinks=False):
                    continue
                case_id = temp_file_case(entry.name)
                try:
                    old = now - entry.stat(follow_symlinks=False).st_mtime > stale_after
                except FileNotFoundError:
                    continue  # a save in progress just moved it into place
                if old or (case_id is not None and self.files.lock_is_free(case_id)):
                    found.append(Path(entry.path))
        return sorted(found)

    def open_elsewhere(self) -> list[tuple[str, Path]]:
        """The cases a terminal has open right now, with their lock files (a lock left
        by a killed process is free already, so none is ever stale)."""
        folder = self.files.lock_folder
        if not folder.is_dir():
            return []
        found = []
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            case_id = locked_case(entry.name)
            if case_id is not None and not self.files.lock_is_free(case_id):
                found.append((case_id, Path(entry.path)))
        return found

    def index_disagreements(self) -> list[int] | None:
        """Cases whose index row does not match their file (None: the index cannot be
        read; empty: it is in step, or was never made). Reads only."""
        if self.index.path is None or not self.index.path.exists() or not self.cases_dir.is_dir():
            return []
        try:
            return self.index.disagreements(read_only=True)
        except StorageError:
            return None
        finally:
            self.index.close()

    def rebuild_index(self) -> int:
        """Throw the index away and build it again from the case files; returns how
        many cases it holds."""
        return self.index.rebuild()
