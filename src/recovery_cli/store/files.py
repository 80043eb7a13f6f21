"""The case files of one home: ``<home>/cases/17.json``, one JSON file per case.

Case ids are short, easy to read out on a call: the case's number after its machine's
letter (``17``, ``B17``; see :mod:`recovery_cli.sync.ids`). A new case claims its
number by linking a complete, fsynced file into place, which fails if the name is
taken: two terminals creating cases at the same moment get different numbers and
neither file is ever overwritten or seen half-written.

A walk holds its case's lock (``case-17.lock`` in this machine's lock folder for the
home, an advisory ``flock`` that the system releases when the process ends, however
it ends) so a second terminal cannot walk the same case. Locks live outside the home,
which may be synced to another machine where they would protect nothing (only where
no such folder can be had, beside the cases as ``.17.lock``). Lock files are never
deleted while in use: deleting a lock another process holds would break it.

This module knows names, bytes and locks; it knows nothing of the index.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DamagedCaseError, NotFoundError, StorageError
from ..fileio import write_atomic
from ..kinds import SCHEMA_VERSION
from ..machine import locks_dir
from ..sync.ids import ID, ID_FILE, id_of, parse_case_id, rank
from ..text import replace_surrogates

if TYPE_CHECKING:
    # The case models (Pydantic) are imported where a case is built or checked, never
    # by a view that only shows what the index or a checked file holds.
    from ..case import Case

FOLDER = "cases"
_LOCK_FILE = re.compile(rf"^case-({ID})\.lock$")
_OLD_LOCK_FILE = re.compile(rf"^\.({ID})\.lock$")
_TEMP_FILE = re.compile(rf"^\.({ID})\.json\..*\.tmp$")
# The JSON escape of a UTF-16 surrogate: a pair is fine, a lone one cannot be written out.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")

# Case numbers below this are kept as bits (at most 1 MB); any above, as a list.
_BITMAP_LIMIT = 1 << 23
_OFFSETS_UP = tuple(range(8))
_OFFSETS_DOWN = tuple(reversed(_OFFSETS_UP))
# Waiting for a lock held only for an instant: this many tries, this far apart.
_LOCK_TRIES, _LOCK_PAUSE = 10, 0.02


def locked_case(name: str) -> str | None:
    """The case whose lock file this name is (``case-17.lock``), else None."""
    match = _LOCK_FILE.match(name) or _OLD_LOCK_FILE.match(name)
    return match.group(1) if match else None


def old_lock(name: str) -> bool:
    """Whether a name in the cases folder is a lock file of an earlier version
    (``.17.lock``), from before the locks moved out of the home."""
    return _OLD_LOCK_FILE.match(name) is not None


def temp_file_case(name: str) -> str | None:
    """The case a save's temporary file was for (``.17.json.x1y2.tmp``), else None."""
    match = _TEMP_FILE.match(name)
    return match.group(1) if match else None


@dataclass(frozen=True)
class Damaged:
    """A case file that could not be read; reported, never rewritten."""

    path: Path
    reason: str
    newer: bool = False  # written by a newer version of recover, not broken


@dataclass(frozen=True)
class Stored:
    """A case together with its file's JSON as stored (unknown fields included)."""

    data: dict[str, Any]
    case: Case


def encode(case: Case) -> bytes:
    """The bytes of a case file: indented JSON (jq- and diff-friendly), UTF-8."""
    from ..case import case_to_json

    text = json.dumps(case_to_json(case), indent=2, ensure_ascii=False) + "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate got in: keep everything else
        return replace_surrogates(text).encode("utf-8")


def _holds_lone_surrogate(data: Any) -> bool:
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def parse(path: str | Path, raw: bytes) -> tuple[dict[str, Any], Case]:
    """A case file's JSON as stored and the case it describes, from its bytes;
    DamagedCaseError (naming the file, never quoting it) when it is not a case."""
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
            newer=True,
        )
    from pydantic import ValidationError

    from ..case import Case

    try:
        return data, Case.model_validate(data)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})[:3]
        raise DamagedCaseError(
            f"{path} is not a valid case file (bad {', '.join(fields)}); it was left untouched"
        ) from None


def own_case(path: str | Path, case: Case, case_id: str) -> Case:
    """The case, if it is the one its file is named for; DamagedCaseError if the file
    holds another (copied by hand): written to, it would be the other case's file that
    changed, and listed, the same case would show twice."""
    if case.id != case_id:
        raise DamagedCaseError(
            f"{path} holds another case than case {case_id}; it was left untouched"
        )
    return case


def read(name: str) -> Stored | Damaged | None:
    """One case file, read and parsed (None: there is no such file)."""
    try:
        with open(name, "rb") as file:
            raw = file.read()
        data, case = parse(name, raw)
        own_case(name, case, os.path.basename(name).removesuffix(".json"))
    except FileNotFoundError:
        return None
    except OSError as exc:
        return Damaged(Path(name), f"{name}: cannot read: {exc.strerror or exc}")
    except DamagedCaseError as exc:
        return Damaged(Path(name), exc.message, exc.newer)
    return Stored(data, case)


def on_disk(path: Path) -> tuple[int | None, int]:
    """The revision a case file holds now (None: no file, or none readable), and how
    many events its log holds."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None, 0
    if not isinstance(data, dict):
        return None, 0
    revision, log = data.get("revision"), data.get("log")
    return (
        revision if isinstance(revision, int) else None,
        len(log) if isinstance(log, list) else 0,
    )


class CaseFiles:
    """The ``cases`` folder of a home: names, reading, writing, and the case locks
    this process holds."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.folder = home / FOLDER
        self._prefix = os.path.join(os.fspath(self.folder), "")
        self._locks: dict[str, int] = {}
        self._lock_folder: Path | None = None

    def path_for(self, case_id: str) -> Path:
        """The file of a case (the id is checked before any path is built)."""
        return self.folder / f"{parse_case_id(case_id)}.json"

    def name_of(self, key: int) -> str:
        """The file of a case's index key (:func:`~recovery_cli.sync.ids.key_of`) as a
        plain string: pathlib interns every name it parses, and a scan of a large
        store must not grow that table."""
        return f"{self._prefix}{id_of(key)}.json"

    @property
    def lock_folder(self) -> Path:
        """Where this home's locks are on this machine: its own folder in the cache
        folder, else (no private folder can be had outside the home) the cases folder."""
        if self._lock_folder is None:
            self._lock_folder = locks_dir(self.home) or self.folder
        return self._lock_folder

    def lock_path(self, name: str) -> Path:
        """The lock file ``name`` of this home (``case-17``, ``mail``, ``orders``)."""
        folder = self.lock_folder
        if folder == self.folder:
            return folder / (f".{name[5:]}.lock" if name.startswith("case-") else f".{name}.lock")
        return folder / f"{name}.lock"

    def load(self, case_id: str) -> Stored:
        """One case with its JSON as stored; NotFoundError or DamagedCaseError."""
        case_id = parse_case_id(case_id)
        path = self.path_for(case_id)
        raw, _ = self.read_raw(case_id)
        data, case = parse(path, raw)
        return Stored(data, own_case(path, case, case_id))

    def read_raw(self, case_id: str) -> tuple[bytes, os.stat_result]:
        """A case file's bytes and the state of the file they were read from;
        NotFoundError or StorageError."""
        case_id = parse_case_id(case_id)
        path = self.path_for(case_id)
        try:
            with open(path, "rb") as handle:
                return handle.read(), os.fstat(handle.fileno())
        except FileNotFoundError:
            raise NotFoundError(
                f"no case {case_id}", hint="`recover list` shows the cases there are."
            ) from None
        except OSError as exc:
            raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from None

    # -- which cases there are -----------------------------------------------------------
    def scan(self) -> Iterator[tuple[str, int]]:
        """Every case file's machine prefix and number, in directory order."""
        try:
            entries = os.scandir(self.folder)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StorageError(f"cannot read {self.folder}: {exc.strerror or exc}") from None
        with entries:
            for entry in entries:
                match = ID_FILE.match(entry.name)
                if match:
                    yield match.group(1), int(match.group(2))

    def numbers(self, *, newest_first: bool = False) -> Iterator[int]:
        """The index key of every case file, in key order, without holding a list of
        them: each machine numbers its cases densely (each new case takes the next
        number), so a bitmap of one bit a number for each machine keeps a store of
        100,000 cases in 12.5 kB. The rare number far above the rest (a file named by
        hand) is kept aside instead of growing the bitmap."""
        maps: dict[int, bytearray] = {}
        outliers: list[int] = []
        for prefix, number in self.scan():
            base = rank(prefix) << 32
            if number >= _BITMAP_LIMIT:
                outliers.append(base | number)
                continue
            bits = maps.get(base)
            if bits is None:
                bits = maps[base] = bytearray()
            index = number >> 3
            if index >= len(bits):
                bits.extend(bytes(max(index + 1 - len(bits), len(bits))))
            bits[index] |= 1 << (number & 7)
        outliers.sort(reverse=newest_first)
        bases = sorted({*maps, *(o >> 32 << 32 for o in outliers)}, reverse=newest_first)
        offsets = _OFFSETS_DOWN if newest_first else _OFFSETS_UP
        for base in bases:
            aside = [o for o in outliers if o >> 32 << 32 == base]
            if newest_first:
                yield from aside
            bits = maps.get(base, bytearray())
            indices = range(len(bits) - 1, -1, -1) if newest_first else range(len(bits))
            for index in indices:
                byte = bits[index]
                if byte:
                    start = base | index << 3
                    for offset in offsets:
                        if byte >> offset & 1:
                            yield start + offset
            if not newest_first:
                yield from aside

    def count(self) -> int:
        """How many case files there are (damaged ones included)."""
        return sum(1 for _ in self.scan())

    def next_number(self, prefix: str) -> int:
        """The number after the highest this machine's prefix has in use (1 in a
        store without any)."""
        return max((n for p, n in self.scan() if p == prefix), default=0) + 1

    # -- writing -------------------------------------------------------------------------
    def write(self, case: Case, *, new: bool = False) -> None:
        """Write the case file durably; with ``new``, only if the name is free
        (FileExistsError otherwise, and nothing changed)."""
        write_atomic(self.path_for(case.id), encode(case), exclusive=new)

    # -- locks ---------------------------------------------------------------------------
    def try_lock(self, case_id: str) -> bool:
        """Take the case's lock if no process holds it (a lock already held here counts)."""
        if case_id in self._locks:
            return True
        path = self.lock_path(f"case-{case_id}")
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

    def lock_patiently(self, case_id: str) -> bool:
        """Take the case's lock, waiting a moment if it is held: `recover doctor` and
        `recover resume` (finding the latest case) hold other cases' locks for an
        instant to test them, and must not make a command fail for that. A walk in
        another terminal holds it for minutes, and still gets a prompt refusal."""
        for _ in range(_LOCK_TRIES - 1):
            if self.try_lock(case_id):
                return True
            time.sleep(_LOCK_PAUSE)
        return self.try_lock(case_id)

    def holds(self, case_id: str) -> bool:
        """Whether this process holds the case's lock."""
        return case_id in self._locks

    def lock_is_free(self, case_id: str) -> bool:
        """Whether no process holds the case's lock right now (without creating a lock
        file, and without keeping the lock)."""
        if case_id in self._locks:
            return False
        try:
            fd = os.open(self.lock_path(f"case-{case_id}"), os.O_RDWR)
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

    def drop_old_locks(self) -> None:
        """Remove the lock files an earlier version kept beside the cases (``.17.lock``,
        ``.mail.lock``) that no process holds: the locks are this machine's now."""
        if self.lock_folder == self.folder:
            return
        try:
            names = os.listdir(self.folder)
        except OSError:
            return
        for name in names:
            if not (old_lock(name) or name == ".mail.lock"):
                continue
            path = self.folder / name
            with contextlib.suppress(OSError):
                fd = os.open(path, os.O_RDWR)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    path.unlink()
                except BlockingIOError:
                    pass
                finally:
                    os.close(fd)

    def release(self, case_id: str) -> None:
        """Let other terminals have the case again."""
        fd = self._locks.pop(case_id, None)
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the flock

    def release_all(self) -> None:
        """Let go of every lock this process holds."""
        for case_id in list(self._locks):
            self.release(case_id)

    @contextlib.contextmanager
    def locked(self, case_id: str) -> Iterator[bool]:
        """Hold the case's lock for a moment if it can be had; yields whether it was."""
        had = self.holds(case_id)
        got = had or self.lock_patiently(case_id)
        try:
            yield got
        finally:
            if got and not had:
                self.release(case_id)
