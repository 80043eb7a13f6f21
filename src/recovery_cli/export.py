"""Exports of the case store: CSV for spreadsheets, JSON and JSON Lines for scripts.

Exports stream case by case, so memory does not grow with the store. Cases are chosen
on the summary index (no case file is parsed to choose). JSON and JSONL carry each
case exactly as stored. CSV has one row per case with the columns in
:data:`~recovery_cli.projections.CSV_COLUMNS` (their names and order are an interface:
append, never reorder), every text cell made inert for a spreadsheet; the rows come
from the index, so a CSV export reads no case file at all.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TextIO

from .case import SCHEMA_VERSION
from .errors import DamagedCaseError
from .projections import CSV_COLUMNS
from .store import Damaged, Store, parse

FORMATS = ("csv", "json", "jsonl")


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


@dataclass(frozen=True)
class Picked:
    """A case picked from the index for export: its file (read only for JSON and JSON
    Lines) and, for CSV, its row as the index keeps it."""

    path: str
    cells: list[str]


def pick(store: Store, filters: Filters, *, csv_rows: bool = True) -> Iterator[Picked | Damaged]:
    """The cases that pass the filters, oldest first; damaged files pass through, to be
    reported by the caller. With ``csv_rows`` every file is checked against its row
    first and the rows' cells come along (a CSV export shows what the rows hold); JSON
    exports read each file anyway, and need neither."""
    for row in store.export_rows(thorough=csv_rows):
        path = store.file_of(row.id)
        if row.damaged is not None:
            yield Damaged(Path(path), row.damaged)
        elif filters.match_row(
            row.created_at, row.status, row.playbook, row.remedy_kinds, row.search
        ):
            yield Picked(path, json.loads(row.csv) if csv_rows else [])


def _as_stored(path: str) -> str | Damaged:
    """A case file as one line of JSON, exactly what it holds (fast path: orjson, with
    the checks an export needs; anything it cannot take goes through the full parse)."""
    import orjson

    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        return Damaged(Path(path), f"{path} was removed during the export")
    except OSError as exc:
        return Damaged(Path(path), f"{path}: cannot read: {exc.strerror or exc}")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        data = None
    version = data.get("schema_version") if isinstance(data, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and version <= SCHEMA_VERSION:
        return orjson.dumps(data).decode("utf-8")
    try:
        stored, _ = parse(path, raw)
    except DamagedCaseError as exc:
        return Damaged(Path(path), exc.message, exc.newer)
    return json.dumps(stored, ensure_ascii=False, separators=(",", ":"))


def write(
    out: TextIO,
    items: Iterable[Picked | Damaged],
    fmt: str,
    *,
    on_damaged: Callable[[Damaged], None],
    on_case: Callable[[], None] = lambda: None,
) -> int:
    """Stream the picked cases to ``out`` in ``fmt``; return how many were written."""
    count = 0
    writer = csv.writer(out, lineterminator="\r\n") if fmt == "csv" else None
    if writer is not None:
        writer.writerow(CSV_COLUMNS)
    elif fmt == "json":
        out.write("[")
    for item in items:
        if isinstance(item, Damaged):
            on_damaged(item)
            continue
        if writer is not None:
            writer.writerow(item.cells)
        else:
            text = _as_stored(item.path)
            if isinstance(text, Damaged):
                on_damaged(text)
                continue
            out.write((("\n" if count == 0 else ",\n") if fmt == "json" else "") + text)
            if fmt == "jsonl":
                out.write("\n")
        count += 1
        on_case()
    if fmt == "json":
        out.write("\n]\n" if count else "]\n")
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
