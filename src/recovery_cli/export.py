"""Exports of the case store: CSV for spreadsheets, JSON and JSON Lines for scripts.

Exports stream case by case, so memory does not grow with the store. JSON and JSONL
carry each case exactly as stored. CSV has one row per case with the columns in
:data:`CSV_COLUMNS` (their names and order are an interface: append, never reorder),
and every text cell is neutralised so a spreadsheet never runs it as a formula.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from .case import SCHEMA_VERSION, Case
from .errors import DamagedCaseError
from .store import Damaged, Store, Stored

FORMATS = ("csv", "json", "jsonl")

CSV_COLUMNS: tuple[str, ...] = (
    "id",
    "created_at",
    "updated_at",
    "status",
    "walk_completed_at",
    "customer_name",
    "customer_email",
    "order",
    "order_value",
    "channel",
    "currency",
    "playbook_id",
    "playbook_title",
    "remedies",
    "remedy_total",
    "follow_ups_pending",
    "follow_ups_done",
    "next_follow_up_due",
    "outcome",
    "satisfaction",
    "root_cause",
    "cause_tag",
    "prevention",
    "steps_answered",
    "steps_skipped",
    "closed_at",
    "prevention_done_at",
)

# OWASP CSV injection: a cell starting with one of these may run as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_QUOTE = "'"


def neutralise(text: str) -> str:
    """Make a text cell inert in a spreadsheet by prefixing a quote when it starts
    like a formula. A cell that already starts with a quote gets one more, so that
    :func:`restore` can always give back the original."""
    if text.startswith(_FORMULA_START) or text.startswith(_QUOTE):
        return _QUOTE + text
    return text


def restore(cell: str) -> str:
    """The original text of a neutralised cell."""
    return cell[1:] if cell.startswith(_QUOTE) else cell


@dataclass(frozen=True)
class Filters:
    """Which cases to export; every filter given must match."""

    since: date | None = None
    until: date | None = None
    status: str | None = None
    playbook: str | None = None
    remedy: str | None = None
    customer: str | None = None

    def match(self, case: Case) -> bool:
        """Whether the case passes every filter (dates are the local date opened)."""
        if not self._dates(case.created_at):
            return False
        if self.status is not None and case.status != self.status:
            return False
        if self.playbook is not None and case.playbook.id != self.playbook:
            return False
        if self.remedy is not None and not any(r.kind == self.remedy for r in case.remedies):
            return False
        if self.customer is not None:
            needle = self.customer.casefold()
            customer = case.customer
            haystack = (customer.name, customer.email, customer.order)
            if not any(needle in value.casefold() for value in haystack):
                return False
        return True

    def match_row(
        self, created_at: str, status: str, playbook: str, remedy_kinds: str, search: str
    ) -> bool:
        """:meth:`match`, on a case's row in the index."""
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


def _money(amount: Decimal | None) -> str:
    return "" if amount is None else f"{amount:.2f}"


def _time(moment: datetime | None) -> str:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else ""


def csv_row(case: Case) -> list[str]:
    """A case as one CSV row, in :data:`CSV_COLUMNS` order (numbers stay numbers)."""
    pending = case.pending_follow_ups()
    outcome = case.outcome
    remedies = "; ".join(
        r.label + (f" ({r.kind})" if r.kind else "") + (f" {r.amount:.2f}" if r.amount else "")
        for r in case.remedies
    )
    text = {
        "status": case.status,
        "customer_name": case.customer.name,
        "customer_email": case.customer.email,
        "order": case.customer.order,
        "channel": case.customer.channel,
        "currency": case.currency,
        "playbook_id": case.playbook.id,
        "playbook_title": case.playbook.title,
        "remedies": remedies,
        "outcome": outcome.result if outcome else "",
        "root_cause": outcome.root_cause if outcome else "",
        "cause_tag": outcome.cause_tag if outcome else "",
        "prevention": outcome.prevention if outcome else "",
    }
    plain = {
        "id": case.id,
        "created_at": _time(case.created_at),
        "updated_at": _time(case.updated_at),
        "walk_completed_at": _time(case.walk_completed_at),
        "order_value": _money(case.customer.order_value),
        "remedy_total": _money(case.remedy_total()),
        "follow_ups_pending": str(len(pending)),
        "follow_ups_done": str(sum(f.done_at is not None for f in case.follow_ups)),
        "next_follow_up_due": _time(pending[0].due_at) if pending else "",
        "satisfaction": str(outcome.satisfaction) if outcome and outcome.satisfaction else "",
        "steps_answered": str(sum(r.status != "skipped" for r in case.steps)),
        "steps_skipped": str(sum(r.status == "skipped" for r in case.steps)),
        "closed_at": _time(case.closed_at),
        "prevention_done_at": _time(outcome.prevention_done_at if outcome else None),
    }
    return [neutralise(text[c]) if c in text else plain[c] for c in CSV_COLUMNS]


def summary(case: Case) -> dict[str, object]:
    """The case in brief, for ``recover list --json`` (keys documented in the README)."""
    pending = case.pending_follow_ups()
    return {
        "id": case.id,
        "status": case.status,
        "created_at": _time(case.created_at),
        "updated_at": _time(case.updated_at),
        "walk_completed_at": _time(case.walk_completed_at) or None,
        "customer": {
            "name": case.customer.name,
            "email": case.customer.email,
            "order": case.customer.order,
        },
        "playbook": {"id": case.playbook.id, "title": case.playbook.title},
        "steps_recorded": len(case.steps),
        "remedy_total": _money(case.remedy_total()),
        "currency": case.currency,
        "follow_ups_pending": len(pending),
        "next_follow_up_due": _time(pending[0].due_at) if pending else None,
    }


@dataclass(frozen=True)
class Picked:
    """A case picked from the index for export: its CSV row (kept in the index) and
    its file, read only for JSON and JSON Lines."""

    path: str
    cells: list[str]


def pick(store: Store, filters: Filters, *, thorough: bool = True) -> Iterator[Picked | Damaged]:
    """The cases that pass the filters, oldest first, chosen on the index (no case file
    is parsed to choose); damaged files pass through, to be reported by the caller.
    ``thorough`` checks every file against its row first (a CSV export shows what the
    rows hold; JSON exports read each file anyway)."""
    folder = os.fspath(store.cases_dir)
    columns = "created_at, status, playbook, remedy_kinds, search, csv"
    for case_id, damaged, created_at, status, playbook, kinds, search, cells in store.index.rows(
        columns, thorough=thorough
    ):
        path = os.path.join(folder, f"{case_id}.json")
        if damaged is not None:
            yield Damaged(Path(path), damaged)
        elif filters.match_row(created_at, status, playbook, kinds, search):
            yield Picked(path, json.loads(cells))


def _as_stored(path: str) -> str | Damaged:
    """A case file as one line of JSON, exactly what it holds (fast path: orjson, with
    the checks an export needs; anything it cannot take goes through the store)."""
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
        stored, _ = Store.parse(path, raw)
    except DamagedCaseError as exc:
        return Damaged(Path(path), exc.message)
    return json.dumps(stored, ensure_ascii=False, separators=(",", ":"))


def write(
    out: TextIO,
    items: Iterable[Stored | Picked | Damaged],
    fmt: str,
    *,
    on_damaged: Callable[[Damaged], None],
    on_case: Callable[[], None] = lambda: None,
) -> int:
    """Stream the cases to ``out`` in ``fmt``; return how many were written."""
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
            writer.writerow(item.cells if isinstance(item, Picked) else csv_row(item.case))
        else:
            text = (
                _as_stored(item.path)
                if isinstance(item, Picked)
                else json.dumps(item.data, ensure_ascii=False)
            )
            if isinstance(text, Damaged):
                on_damaged(text)
                continue
            if fmt == "json":
                out.write(("\n" if count == 0 else ",\n") + text)
            else:
                out.write(text + "\n")
        count += 1
        on_case()
    if fmt == "json":
        out.write("\n]\n" if count else "]\n")
    return count
