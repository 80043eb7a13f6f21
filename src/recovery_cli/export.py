"""Exports of the case store: CSV for spreadsheets, JSON and JSON Lines for scripts.

Exports stream case by case, so memory does not grow with the store. Cases are chosen
on the summary index (no case file is parsed to choose). JSON and JSONL carry each
case exactly as stored: a file the index has read at its present mtime and size, and
found sound, is copied as its bytes, without being parsed again (for JSON Lines, with
its line breaks taken out); any other file is parsed (and checked) first. CSV has one row per case
with the columns in :data:`~recovery_cli.projections.CSV_COLUMNS` (their names and
order are an interface: append, never reorder), every text cell made inert for a
spreadsheet; the rows come from the index, so a CSV export reads no case file at all.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import NamedTuple, TextIO

from .errors import DamagedCaseError
from .kinds import SCHEMA_VERSION
from .projections import CSV_COLUMNS
from .store import Damaged, Store, parse
from .store.files import own_case

FORMATS = ("csv", "json", "jsonl")
_WRITE_SIZE = 1 << 20


@dataclass(frozen=True)
class Filters:
    """Which cases to export; every filter given must match."""

    since: date | None = None
    until: date | None = None
    status: str | None = None
    playbook: str | None = None
    remedy: str | None = None
    customer: str | None = None

    def match_row(
        self, created_at: str, status: str, playbook: str, remedy_kinds: str, search: str
    ) -> bool:
        """Whether a case passes every filter, judged on its row in the index (dates
        are the local date it was opened)."""
        if (self.since or self.until) and not self._dates(datetime.fromisoformat(created_at)):
            return False
        if self.status is not None and status != self.status:
            return False
        if self.playbook is not None and playbook != self.playbook:
            return False
        if self.remedy is not None and f",{self.remedy}," not in remedy_kinds:
            return False
        return self.customer is None or self.customer.casefold() in search

    def _dates(self, created: datetime) -> bool:
        opened = created.astimezone().date()
        if self.since is not None and opened < self.since:
            return False
        return self.until is None or opened <= self.until


class Picked(NamedTuple):
    """A case picked from the index for export: its file (read only for JSON and JSON
    Lines) with the mtime and size the index read it at, and, for CSV, its row as the
    index keeps it."""

    path: str
    cells: list[str]
    mtime_ns: int = -1
    size: int = -1


def pick(store: Store, filters: Filters, *, csv_rows: bool = True) -> Iterator[Picked | Damaged]:
    """The cases that pass the filters, oldest first; damaged files pass through, to be
    reported by the caller. With ``csv_rows`` every file is checked against its row
    first and the rows' cells come along (a CSV export shows what the rows hold); JSON
    exports read each file anyway, and need neither."""
    every_one = filters == Filters()
    for row in store.export_rows(thorough=csv_rows, cells=csv_rows):
        path = store.file_of(row.id)
        if row.damaged is not None:
            yield Damaged(Path(path), row.damaged)
        elif every_one or filters.match_row(
            row.created_at, row.status, row.playbook, row.remedy_kinds, row.search
        ):
            cells = json.loads(row.csv) if csv_rows else []
            yield Picked(path, cells, row.mtime_ns, row.size)


def _as_stored(item: Picked, *, one_line: bool) -> bytes | Damaged:
    """A case file's JSON, exactly what it holds, as UTF-8 bytes (``one_line``: on one
    line, for JSON Lines). A file the index read at this very mtime and size, and found
    a sound case in, is its own bytes if they are UTF-8 text, copied without being
    parsed again; on one line, with its line breaks taken out, which leaves the same
    JSON, as valid JSON holds no raw line break inside a string. Any other file is
    parsed by orjson with the checks an export needs (and written back compact), else
    by the full parse, which names the damage.

    The index vouches by mtime and size: a file changed in place that kept both (by a
    failing disk, or an edit undone with ``touch -r``) is copied as it is now;
    ``recover doctor`` compares every file's content with its row."""
    path = item.path
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return Damaged(Path(path), f"{path} was removed during the export")
    except OSError as exc:
        return Damaged(Path(path), f"{path}: cannot read: {exc.strerror or exc}")
    try:
        st = os.fstat(fd)
        raw = os.read(fd, st.st_size + 1)
        if len(raw) > st.st_size:  # it grew while being read: read on to its end
            raw = _read_rest(fd, raw)
    except OSError as exc:
        return Damaged(Path(path), f"{path}: cannot read: {exc.strerror or exc}")
    finally:
        os.close(fd)
    vouched = (st.st_mtime_ns, st.st_size) == (item.mtime_ns, item.size) and len(raw) == st.st_size
    if vouched and _plain_json_object(raw):
        return raw.strip().translate(None, b"\r\n") if one_line else raw.strip()
    import orjson

    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        data = None
    version = data.get("schema_version") if isinstance(data, dict) else None
    own = isinstance(data, dict) and data.get("id") == os.path.basename(path).removesuffix(".json")
    if (
        isinstance(version, int)
        and not isinstance(version, bool)
        and version <= SCHEMA_VERSION
        and own
    ):
        return orjson.dumps(data)
    try:
        stored, case = parse(path, raw)
        own_case(path, case, os.path.basename(path).removesuffix(".json"))
    except DamagedCaseError as exc:
        return Damaged(Path(path), exc.message, exc.newer)
    try:
        return json.dumps(stored, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:  # bytes that were never Unicode text (a lone surrogate)
        return Damaged(
            Path(path),
            f"{path} is not a valid case file (text that is not Unicode); it was left untouched",
        )


def _plain_json_object(raw: bytes) -> bool:
    """Whether a file's bytes are UTF-8 text starting with ``{``, as recover writes
    them (JSON may also come as UTF-16 or with a byte-order mark: such a file is
    parsed and written back, never copied)."""
    if not raw.lstrip().startswith(b"{"):
        return False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _read_rest(fd: int, start: bytes) -> bytes:
    chunks = [start]
    while more := os.read(fd, 1 << 16):
        chunks.append(more)
    return b"".join(chunks)


def write(
    out: TextIO,
    items: Iterable[Picked | Damaged],
    fmt: str,
    *,
    on_damaged: Callable[[Damaged], None],
    on_case: Callable[[], None] = lambda: None,
) -> int:
    """Stream the picked cases to ``out`` in ``fmt``; return how many were written.
    JSON goes out as bytes (to ``out``'s binary buffer when it has one)."""
    if fmt == "csv":
        return _write_csv(out, items, on_damaged=on_damaged, on_case=on_case)
    binary = getattr(out, "buffer", None)
    if binary is not None:
        out.flush()  # anything written as text so far goes first
    sink: Callable[[bytes], object] = (
        binary.write if binary is not None else (lambda data: out.write(data.decode("utf-8")))
    )
    # Cases go out a megabyte at a time: one write per case costs a system call each.
    pending: list[bytes] = []
    held = 0

    def emit(data: bytes) -> None:
        nonlocal held
        pending.append(data)
        held += len(data)
        if held >= _WRITE_SIZE:
            sink(b"".join(pending))
            pending.clear()
            held = 0

    one_line = fmt == "jsonl"
    count = 0
    if not one_line:
        emit(b"[")
    for item in items:
        if isinstance(item, Damaged):
            on_damaged(item)
            continue
        text = _as_stored(item, one_line=one_line)
        if isinstance(text, Damaged):
            on_damaged(text)
            continue
        if one_line:
            emit(text + b"\n")
        else:
            emit((b"\n" if count == 0 else b",\n") + text)
        count += 1
        on_case()
    if not one_line:
        emit(b"\n]\n" if count else b"]\n")
    sink(b"".join(pending))
    if binary is not None:
        binary.flush()
    return count


def _write_csv(
    out: TextIO,
    items: Iterable[Picked | Damaged],
    *,
    on_damaged: Callable[[Damaged], None],
    on_case: Callable[[], None],
) -> int:
    count = 0
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for item in items:
        if isinstance(item, Damaged):
            on_damaged(item)
            continue
        writer.writerow(item.cells)
        count += 1
        on_case()
    return count


def export_cases(
    store: Store,
    out: TextIO,
    fmt: str,
    filters: Filters,
    *,
    on_damaged: Callable[[Damaged], None],
    on_case: Callable[[], None] = lambda: None,
) -> int:
    """What ``recover export`` does: the cases that pass ``filters``, streamed to
    ``out`` in ``fmt``; returns how many were written."""
    items = pick(store, filters, csv_rows=fmt == "csv")
    return write(out, items, fmt, on_damaged=on_damaged, on_case=on_case)
