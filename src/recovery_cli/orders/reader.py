"""Reading a shop's order export (CSV) into :class:`~.records.OrderRecord`, a row at
a time.

:func:`open_export` opens the file, tells its encoding (a BOM, else UTF-8, else
Windows-1252) and its delimiter (``,`` ``;`` or tab, from the header line), reads the
header row and tells which export it is (:mod:`.formats`), or takes the columns a
``--map`` names. :meth:`ExportReader.records` then streams the rows: an order that
spans consecutive rows (Shopify's line items, Gumroad's purchases of one order) comes
out as one record once its last row is read, so memory stays flat however long the
file is. Etsy's Sold Order Items is the one exception: its rows are grouped by Order
ID in memory, and the orders come out at the end.

A row that cannot be read (an amount or a date that is not one) is skipped, and
reported as a :class:`RowProblem` naming the file, the line and the column; the rows
around it are read all the same. A file that cannot be read at all raises
:class:`~recovery_cli.errors.InputFileError`. No message ever carries a cell's value:
they name files, lines and columns.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO

from ..errors import InputFileError
from . import formats
from .formats import Format
from .records import MAP_FIELDS, PLATFORMS, Item, OrderRecord
from .values import (
    clean_currency,
    clean_email,
    clean_status,
    currency_in_amount,
    header_currency,
    header_key,
    is_yes,
    parse_amount,
    parse_date,
    parse_item_list,
    parse_quantity,
)

if TYPE_CHECKING:
    from _csv import Reader as _CsvReader

_CHUNK = 64 * 1024  # what the encoding and the delimiter are told from
_PROGRESS_ROWS = 1000  # rows between two calls of the progress callback
_DELIMITERS = (",", ";", "\t")
_PAID = frozenset({"paid", "completed", "complete", "processing"})

BAD_VALUE = "a bad amount or date"
SAME_ORDER = "of an order with a bad row"
BAD_QUANTITY = "a bad quantity"
NO_REFERENCE = "no order reference or email"
TOTALS_ROW = "the Totals row"

KNOWN_EXPORTS = (
    "Shopify orders, Etsy Sold Orders and Sold Order Items, Gumroad sales, WooCommerce, "
    "Stripe payments"
)
MAP_EXAMPLE = "--map 'Order=ref' --map 'E-mail=email' --map 'Total=total' --map 'Date=date'"


@dataclass(frozen=True)
class RowProblem:
    """A row that was skipped because a cell could not be read."""

    path: str  # the file name as given
    line: int  # the physical line the row starts on (the header is line 1)
    message: str  # which column, and what is wrong with it: never the cell itself

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class FileReport:
    """What one export is and what reading it found. The first five fields are
    known once the file is open; the counts and problems once its records are read."""

    path: Path
    platform: str  # one of records.PLATFORMS
    label: str  # the export's name as the platform calls it: "Shopify orders export"
    encoding: str  # "utf-8", "utf-16" or "cp1252"
    delimiter: str
    rows: int = 0  # data rows read
    orders: int = 0  # records yielded
    missing: tuple[str, ...] = ()  # fields the views show that this export lacks
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> rows
    problems: list[RowProblem] = field(default_factory=list)


def open_export(
    path: Path, *, platform: str | None = None, mapping: Mapping[str, str] | None = None
) -> ExportReader:
    """Open an order export and read its header row.

    ``platform`` (one of :data:`~.records.PLATFORMS`) makes its column rules apply
    whatever the header looks like. ``mapping`` ({column header: field}, the fields
    of :data:`~.records.MAP_FIELDS`) names columns: the only columns of a CSV of no
    known shape, or additions and overrides to a known export's.

    Raises InputFileError when the file cannot be read, is empty, is in an encoding
    that cannot be told, or has a header that matches no known export and no mapping,
    or no order reference or email column.
    """
    name = str(path)
    if platform is not None and platform not in PLATFORMS:
        raise InputFileError(
            f"{platform!r} is not a platform recover reads; use one of {', '.join(PLATFORMS)}"
        )
    binary = _open_binary(path, name)
    try:
        head = binary.read(_CHUNK)
        codec, encoding, skip = _encoding(head, path, name)
        delimiter = _delimiter(head[skip:], codec)
        binary.seek(skip)
        text = io.TextIOWrapper(binary, encoding=codec, errors="strict", newline="")
        rows = csv.reader(text, delimiter=delimiter)
        header = _header(rows, name)
        export, plan, missing = _plan(header, name, platform, mapping, european=delimiter == ";")
    except BaseException:
        binary.close()
        raise
    report = FileReport(
        path=path,
        platform=platform or export.platform,
        label=export.label,
        encoding=encoding,
        delimiter=delimiter,
        missing=missing,
    )
    return ExportReader(report, export, plan, binary, text, rows, codec, skip)


class ExportReader:
    """An open export: its report, and its records to read once (a context manager;
    ``close()`` closes the file)."""

    def __init__(
        self,
        report: FileReport,
        export: Format,
        plan: _Plan,
        binary: BinaryIO,
        text: io.TextIOWrapper,
        rows: _CsvReader,
        codec: str,
        skip: int,
    ) -> None:
        self.report = report
        self._export = export
        self._plan = plan
        self._binary = binary
        self._text = text
        self._rows = rows
        self._codec = codec
        self._skip = skip
        self._read = False

    def __enter__(self) -> ExportReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (reading its records stops there)."""
        self._text.close()

    def records(self, progress: Callable[[int], None] | None = None) -> Iterator[OrderRecord]:
        """The export's orders, each complete for its key within the file, as the
        rows are read. ``progress`` is called every thousand rows, and at the end,
        with the bytes read so far. The report's counts and problems are filled in as
        the rows go by.

        Raises InputFileError if the file turns out not to be in the encoding its
        start is in, or not CSV a reader can follow.
        """
        if self._read:
            raise RuntimeError("the records of an export are read once")
        self._read = True
        try:
            yield from self._records(progress)
        except UnicodeDecodeError:
            raise self._not_decodable() from None
        except csv.Error as error:
            line = self._rows.line_num
            raise InputFileError(
                f"{self.report.path}:{line}: not CSV that can be read ({error})"
            ) from None
        if progress is not None:
            progress(self._binary.tell())

    def _records(self, progress: Callable[[int], None] | None) -> Iterator[OrderRecord]:
        """The rows read into orders: an order is yielded once the row after its last
        is read (or, for an export grouped by key, once the file is read)."""
        export, plan, report, rows = self._export, self._plan, self.report, self._rows
        width = plan.width
        drafts: dict[str, _Draft] = {}
        current: _Draft | None = None
        # An order with a row that cannot be read is skipped whole (its other rows
        # too): half an order would be stored under another key, beside the whole one
        # a corrected export brings later.
        spoiled: set[str] = set()
        held_blank = False  # a row naming no order, held back: the Totals row if last
        last_line = rows.line_num
        for row in rows:
            line = last_line + 1
            last_line = rows.line_num
            if not any(row):
                continue
            if len(row) < width:
                row += [""] * (width - len(row))
            report.rows += 1
            if progress is not None and report.rows % _PROGRESS_ROWS == 0:
                progress(self._binary.tell())
            if held_blank:
                report.skipped[NO_REFERENCE] += 1
                held_blank = False
            if plan.totals_marker and _says_totals(row, plan.totals_marker):
                report.skipped[TOTALS_ROW] += 1
                continue
            read = self._read_row(row, line)
            if read is None:
                group = _first(row, plan.group)
                if group is not None:
                    spoiled.add(group)
                    if current is not None and current.group == group:
                        report.skipped[SAME_ORDER] += current.rows
                        current = None
                    if group in drafts:
                        report.skipped[SAME_ORDER] += drafts.pop(group).rows
                continue
            if read.group is not None and read.group in spoiled:
                report.skipped[SAME_ORDER] += 1
                continue
            if read.group is None:
                if plan.totals_marker:
                    held_blank = True
                else:
                    report.skipped[NO_REFERENCE] += 1
                continue
            if export.by_key:
                draft = drafts.get(read.group)
                if draft is None:
                    drafts[read.group] = _Draft(export.platform, read)
                else:
                    draft.add(read, sum_totals=False)
            elif current is not None and current.group == read.group:
                current.add(read, sum_totals=export.sum_totals)
            else:
                if current is not None:
                    report.orders += 1
                    yield current.finish(export.default_status, plan.header_currency)
                    if not export.by_key:
                        spoiled.clear()  # consecutive rows: an order's rows are behind us
                current = _Draft(export.platform, read)
        if held_blank:
            report.skipped[TOTALS_ROW] += 1
        if current is not None:
            report.orders += 1
            yield current.finish(export.default_status, plan.header_currency)
        for draft in drafts.values():
            report.orders += 1
            yield draft.finish(export.default_status, plan.header_currency)

    def _read_row(self, row: list[str], line: int) -> _Row | None:
        """One row's values; None (and the row counted as skipped, with its problem)
        when a cell cannot be read."""
        plan = self._plan
        bad: list[str] = []
        email = _first(row, plan.email)
        if email is not None:
            email = clean_email(email)
        date = self._date(row, bad)
        total, total_text = _amount_of(row, plan.total, plan, bad)
        refunded, _ = _amount_of(row, plan.refunded, plan, bad)
        adjusted, _ = _amount_of(row, plan.adjusted, plan, bad)
        if plan.price == plan.total:
            price, price_text = total, total_text
        else:
            price, price_text = _amount_of(row, plan.price, plan, bad)
        quantity, bad_quantity = 1, False
        text = _first(row, plan.quantity)
        if text is not None:
            try:
                parsed = parse_quantity(text)
                quantity = 1 if parsed is None else parsed
            except ValueError:
                bad_quantity = True
                bad.append(f"{plan.label(row, plan.quantity)} is not a quantity")
        if bad:
            self._problem(line, bad)
            reason = BAD_QUANTITY if bad_quantity and len(bad) == 1 else BAD_VALUE
            self.report.skipped[reason] += 1
            return None

        ref = _first(row, plan.ref)
        key = _first(row, plan.key)
        group = _first(row, plan.group)
        if group is not None:
            key = key or group
            ref = ref or key
        elif email is not None:
            # No order reference: the customer and the moment stand in for one.
            group = key = email if date is None else f"{email} {date.isoformat()}"
        currency = _first(row, plan.currency)
        sure = False
        if currency is not None:
            currency = clean_currency(currency)
            sure = currency is not None
        if currency is None:
            for text in (total_text, price_text):
                if text and not (text[0].isdigit() and text[-1].isdigit()):
                    currency, sure = currency_in_amount(text)
                    if currency is not None:
                        break
        flagged = bool(plan.refund_flag) and any(is_yes(row[i]) for i in plan.refund_flag)
        if flagged and refunded is None:
            refunded = total
        elif refunded is None and adjusted is not None and total is not None and adjusted < total:
            refunded = total - adjusted

        items: list[Item] | None = None
        item_name = _first(row, plan.item)
        if item_name is not None:
            sku = _first(row, plan.sku)
            item_id = _first(row, plan.item_id)
            items = [Item(name=item_name, quantity=quantity, price=price, sku=sku, id=item_id)]
        item_list = _first(row, plan.item_list)
        if item_list is not None:
            items = (items or []) + parse_item_list(item_list, european=plan.european)

        name = _first(row, plan.name)
        if name is None and (plan.first_name or plan.last_name):
            parts = (_first(row, plan.first_name), _first(row, plan.last_name))
            name = " ".join(part for part in parts if part) or None
        status = _first(row, plan.status)
        return _Row(
            group=group,
            key=key,
            ref=ref or "",
            date=date,
            name=name,
            email=email,
            phone=_first(row, plan.phone),
            total=total,
            refunded=refunded,
            currency=currency,
            currency_sure=sure,
            status=clean_status(status) if status is not None else None,
            cancelled=_first(row, plan.cancelled) is not None,
            refund_flag=flagged,
            items=items,
        )

    def _date(self, row: list[str], bad: list[str]) -> datetime | None:
        """The row's date (with its time of day from a column of its own, if the
        export has one); a problem in ``bad`` when it is not a date."""
        plan = self._plan
        if not plan.date:
            return None
        for index in plan.date:
            text = row[index].strip()
            if text:
                break
        else:
            return None
        time = _first(row, plan.time)
        try:
            return parse_date(f"{text} {time}" if time else text, day_first=plan.european)
        except ValueError:
            bad.append(f"{plan.labels[index]} is not a date")
            return None

    def _problem(self, line: int, messages: list[str]) -> None:
        self.report.problems.append(RowProblem(str(self.report.path), line, "; ".join(messages)))

    def _not_decodable(self) -> InputFileError:
        name = str(self.report.path)
        line = _line_of_bad_byte(self.report.path, self._codec, self._skip)
        if line is None:
            line = self._rows.line_num + 1
        return InputFileError(_not_text(f"{name}:{line}", self.report.encoding))


# -- the columns of one export ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    """The column indexes of every field in one file (a field's columns in the order
    they are tried), and what is known of the file as a whole."""

    width: int
    labels: tuple[str, ...]  # the header as written, for messages
    european: bool  # semicolon-separated: 1.234,50 and day-first dates
    header_currency: str | None  # the currency the total's header names: "Sale Price ($)"
    ref: tuple[int, ...] = ()
    key: tuple[int, ...] = ()
    group: tuple[int, ...] = ()
    date: tuple[int, ...] = ()
    time: tuple[int, ...] = ()
    name: tuple[int, ...] = ()
    first_name: tuple[int, ...] = ()
    last_name: tuple[int, ...] = ()
    email: tuple[int, ...] = ()
    phone: tuple[int, ...] = ()
    total: tuple[int, ...] = ()
    refunded: tuple[int, ...] = ()
    adjusted: tuple[int, ...] = ()
    currency: tuple[int, ...] = ()
    status: tuple[int, ...] = ()
    cancelled: tuple[int, ...] = ()
    refund_flag: tuple[int, ...] = ()
    item: tuple[int, ...] = ()
    quantity: tuple[int, ...] = ()
    price: tuple[int, ...] = ()
    sku: tuple[int, ...] = ()
    item_id: tuple[int, ...] = ()
    item_list: tuple[int, ...] = ()
    totals_marker: tuple[int, ...] = ()

    def label(self, row: list[str], indexes: tuple[int, ...]) -> str:
        """The header of the column a field was read from in this row."""
        index = next((i for i in indexes if row[i].strip()), indexes[0])
        return self.labels[index]


def _plan(
    header: list[str],
    name: str,
    platform: str | None,
    mapping: Mapping[str, str] | None,
    *,
    european: bool,
) -> tuple[Format, _Plan, tuple[str, ...]]:
    """Which export a header row is, and where each field is in it."""
    labels = tuple(cell.strip() or f"column {number}" for number, cell in enumerate(header, 1))
    index: dict[str, int] = {}
    for position, cell in enumerate(header):
        index.setdefault(header_key(cell), position)
    keys = index.keys()
    if platform is None:
        export = formats.detect(keys)
    elif platform == "csv":
        export = None
    else:
        export = formats.for_platform(platform, keys)
    if export is None:
        if not mapping:
            if platform is None:
                raise InputFileError(
                    f"{name}: its header row matches no export recover knows "
                    f"({KNOWN_EXPORTS}). Name its columns with --map, e.g. {MAP_EXAMPLE}."
                )
            raise _no_reference(name)
        export = formats.MAPPED
    columns = {
        field_name: tuple(index[key] for key in keys_ if key in index)
        for field_name, keys_ in export.columns.items()
    }
    columns.update(_mapped_columns(mapping or {}, index, labels, name))
    columns["refund_flag"] = columns.get("refund_flag", ())[:1]
    columns["key"] = columns.get("key") or columns.get("ref", ())
    columns["group"] = columns.get("group") or columns["key"]
    if not (columns["key"] or columns.get("email")):
        raise _no_reference(name)
    total = columns.get("total", ())
    plan = _Plan(
        width=len(header),
        labels=labels,
        european=european,
        header_currency=header_currency(header[total[0]]) if total else None,
        **columns,
    )
    has = {field_name for field_name, found in columns.items() if found}
    if "first_name" in has or "last_name" in has:
        has.add("name")
    missing = tuple(
        shown
        for shown in formats.SHOWN_FIELDS
        if shown not in has and shown not in export.elsewhere
    )
    return export, plan, missing


def _mapped_columns(
    mapping: Mapping[str, str], index: dict[str, int], labels: tuple[str, ...], name: str
) -> dict[str, tuple[int, ...]]:
    """The columns a ``--map`` names, by field; raises InputFileError for a field
    recover does not know or a column the file does not have."""
    mapping = {column: field_name.strip().lower() for column, field_name in mapping.items()}
    unknown = sorted(set(mapping.values()) - set(MAP_FIELDS))
    if unknown:
        raise InputFileError(
            f"{name}: --map names {_quoted(unknown)}, which recover does not know; "
            f"the fields are {', '.join(MAP_FIELDS)}"
        )
    exact = {label: position for position, label in reversed(list(enumerate(labels)))}
    absent = []
    columns: dict[str, tuple[int, ...]] = {}
    for column, field_name in mapping.items():
        position = exact.get(column.strip(), index.get(header_key(column)))
        if position is None:
            absent.append(column)
        else:
            columns[field_name] = (position,)
    if absent:
        noun = "a column" if len(absent) == 1 else "columns"
        raise InputFileError(f"{name} has no {noun} named {_quoted(absent)} (given with --map)")
    return columns


def _quoted(names: list[str]) -> str:
    return ", ".join(repr(one) for one in names)


def _no_reference(name: str) -> InputFileError:
    return InputFileError(
        f"{name} has no order reference or email column; name one with --map, "
        "e.g. --map 'Order=ref'"
    )


# -- one order, as its rows are read ------------------------------------------------


@dataclass(slots=True)
class _Row:
    """The values of one row, read and checked."""

    group: str | None
    key: str | None
    ref: str
    date: datetime | None
    name: str | None
    email: str | None
    phone: str | None
    total: Decimal | None
    refunded: Decimal | None
    currency: str | None
    currency_sure: bool  # from a currency column or a code, not a lone "$"
    status: str | None
    cancelled: bool
    refund_flag: bool
    items: list[Item] | None


class _Draft:
    """An order whose rows are still being read."""

    __slots__ = ("cancelled", "currency_sure", "group", "record", "refund_rows", "rows", "status")

    def __init__(self, platform: str, row: _Row) -> None:
        self.group = row.group
        self.record = OrderRecord(
            platform=platform,
            key=row.key or "",
            ref=row.ref,
            date=row.date,
            name=row.name,
            email=row.email,
            phone=row.phone,
            total=row.total,
            refunded=row.refunded,
            currency=row.currency,
            items=row.items,
        )
        self.status = row.status
        self.cancelled = row.cancelled
        self.currency_sure = row.currency_sure
        self.refund_rows = int(row.refund_flag)
        self.rows = 1

    def add(self, row: _Row, *, sum_totals: bool) -> None:
        """Another row of the order: its items join the order's; its order-level
        cells fill what the first rows left empty (or, ``sum_totals``, add up)."""
        record = self.record
        self.rows += 1
        self.refund_rows += row.refund_flag
        self.cancelled = self.cancelled or row.cancelled
        if row.items:
            record.items = (record.items or []) + row.items
        if sum_totals:
            record.total = _plus(record.total, row.total)
            record.refunded = _plus(record.refunded, row.refunded)
        else:
            record.total = record.total if record.total is not None else row.total
            record.refunded = record.refunded if record.refunded is not None else row.refunded
        record.ref = record.ref or row.ref
        record.date = record.date or row.date
        record.name = record.name or row.name
        record.email = record.email or row.email
        record.phone = record.phone or row.phone
        self.status = self.status or row.status
        if row.currency is not None and (
            record.currency is None or (row.currency_sure and not self.currency_sure)
        ):
            record.currency, self.currency_sure = row.currency, row.currency_sure

    def finish(self, default_status: str | None, header_currency: str | None) -> OrderRecord:
        """The record, its status and currency worked out from all its rows."""
        record = self.record
        if not self.currency_sure and header_currency is not None:
            record.currency = header_currency
        record.status = self._status(default_status)
        return record

    def _status(self, default: str | None) -> str | None:
        record = self.record
        if self.cancelled:
            return "cancelled"
        if self.refund_rows:
            return "refunded" if self.refund_rows == self.rows else "partially refunded"
        status = self.status or default
        refunded = record.refunded
        if refunded is not None and refunded > 0 and (status is None or status in _PAID):
            whole = record.total is not None and refunded >= record.total
            return "refunded" if whole else "partially refunded"
        return status


def _plus(one: Decimal | None, other: Decimal | None) -> Decimal | None:
    if one is None:
        return other
    return one if other is None else one + other


# -- cells --------------------------------------------------------------------------


def _first(row: list[str], indexes: tuple[int, ...]) -> str | None:
    """The first filled cell of a field's columns, stripped. A cell beginning with
    ``=``, ``+``, ``-`` or ``@`` is data like any other and is kept as written:
    making it inert is the job of whatever writes it out to a spreadsheet."""
    for index in indexes:
        text = row[index].strip()
        if text:
            return text
    return None


def _amount_of(
    row: list[str], indexes: tuple[int, ...], plan: _Plan, bad: list[str]
) -> tuple[Decimal | None, str | None]:
    """An amount and the text it was read from; a problem in ``bad`` when the cell
    is not an amount."""
    for index in indexes:
        text = row[index].strip()
        if text:
            try:
                return parse_amount(text, european=plan.european), text
            except ValueError:
                bad.append(f"{plan.labels[index]} is not an amount")
                return None, None
    return None, None


def _says_totals(row: list[str], indexes: tuple[int, ...]) -> bool:
    return row[0].strip().lower() == "totals" or any(
        row[index].strip().lower() == "totals" for index in indexes
    )


# -- the file -----------------------------------------------------------------------


def _open_binary(path: Path, name: str) -> BinaryIO:
    try:
        binary = open(path, "rb")  # noqa: SIM115 (closed by the reader)
    except FileNotFoundError:
        raise InputFileError(f"{name} does not exist") from None
    except IsADirectoryError:
        raise InputFileError(f"{name} is a folder, not an export file") from None
    except PermissionError:
        raise InputFileError(f"{name} cannot be read: permission denied") from None
    except OSError as error:
        raise InputFileError(f"{name} cannot be read ({error.strerror})") from None
    if not binary.seekable():  # a pipe: its start is read twice (encoding, then rows)
        binary.close()
        raise InputFileError(f"{name} is a pipe, not a file: save the export as a file first")
    return binary


def _encoding(head: bytes, path: Path, name: str) -> tuple[str, str, int]:
    """(codec, the encoding's name for the report, bytes of BOM to skip), told from
    the first chunk of the file."""
    if head.startswith(codecs.BOM_UTF8):
        codec, label, skip = "utf-8", "utf-8", len(codecs.BOM_UTF8)
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        codec, label, skip = "utf-16", "utf-16", 0
    else:
        codec, label, skip = "", "", 0
    body = head[len(codecs.BOM_UTF8) :] if label == "utf-8" else head
    if not body.strip(b"\xff\xfe\x00 \t\r\n"):
        raise InputFileError(f"{name} is empty")
    if codec:
        try:
            codecs.getincrementaldecoder(codec)().decode(head[skip:], final=len(head) < _CHUNK)
        except UnicodeDecodeError:
            line = _line_of_bad_byte(path, codec, skip)
            where = f"{name}:{line}" if line is not None else name
            raise InputFileError(_not_text(where, label)) from None
        return codec, label, skip
    if head.isascii() and len(head) == _CHUNK:
        # Nothing to tell by yet: the first byte past ASCII further on decides.
        decided = _first_non_ascii(path)
        if decided == "cp1252":
            head = b""  # checked as Windows-1252 text below (every row is, as it is read)
        else:
            return "utf-8", "utf-8", 0
    else:
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < _CHUNK)
            return "utf-8", "utf-8", 0
        except UnicodeDecodeError:
            pass
    try:
        head.decode("cp1252")
    except UnicodeDecodeError:
        raise InputFileError(
            f"{name} is not UTF-8 and not Windows-1252 text; save it as UTF-8 and import again"
        ) from None
    return "cp1252", "cp1252", 0


def _first_non_ascii(path: Path) -> str | None:
    """How the first bytes past ASCII in the file decode: ``utf-8`` when they are a
    UTF-8 sequence, else ``cp1252``; None for a file that is ASCII throughout (one
    pass over the file, a megabyte at a time)."""
    with open(path, "rb") as binary:
        while True:
            chunk = binary.read(1 << 20)
            if not chunk:
                return None
            if chunk.isascii():
                continue
            start = next(i for i, byte in enumerate(chunk) if byte >= 0x80)
            piece = chunk[start : start + 4] + binary.read(4)
            try:
                codecs.getincrementaldecoder("utf-8")().decode(piece[:4], final=False)
            except UnicodeDecodeError:
                return "cp1252"
            return "utf-8"


def _not_text(where: str, encoding: str) -> str:
    named = {"utf-8": "UTF-8", "utf-16": "UTF-16", "cp1252": "Windows-1252"}[encoding]
    return (
        f"{where}: not {named} text, though the file is {named} before it; "
        "save it as UTF-8 and import again"
    )


def _line_of_bad_byte(path: Path, codec: str, skip: int) -> int | None:
    """The line the first byte ``codec`` cannot decode is on (None for UTF-16, whose
    lines are not counted in bytes)."""
    if codec == "utf-16":
        return None
    decoder = codecs.getincrementaldecoder(codec)()
    with open(path, "rb") as binary:
        binary.seek(skip)
        read = skip
        while True:
            chunk = binary.read(_CHUNK)
            held = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                return _lines_before(path, skip, read - held + error.start) + 1
            if not chunk:
                return None
            read += len(chunk)


def _lines_before(path: Path, start: int, end: int) -> int:
    """Line breaks between two offsets of a file (``\\n``, ``\\r\\n`` or a lone ``\\r``)."""
    breaks = 0
    with open(path, "rb") as binary:
        binary.seek(start)
        while start < end:
            data = binary.read(min(_CHUNK, end - start))
            if not data:
                break
            if data.endswith(b"\r") and start + len(data) < end:
                data += binary.read(1)  # keep a \r\n in one piece
            breaks += data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")
            start += len(data)
    return breaks


def _delimiter(head: bytes, codec: str) -> str:
    """The delimiter of the header line: whichever of ``,`` ``;`` and tab it holds
    most of outside quotes (a comma when it holds none)."""
    text = codecs.getincrementaldecoder(codec)("replace").decode(head, final=False)
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    started = False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif char in "\r\n":
            if started:
                break
        else:
            started = True
            if char in counts:
                counts[char] += 1
    best = max(_DELIMITERS, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def _header(rows: _CsvReader, name: str) -> list[str]:
    """The header row (the first row with a filled cell)."""
    try:
        for row in rows:
            if any(cell.strip() for cell in row):
                if row[0].startswith("\ufeff"):
                    row[0] = row[0][1:]
                return row
    except csv.Error as error:
        raise InputFileError(
            f"{name}: its header row is not CSV that can be read ({error})"
        ) from None
    raise InputFileError(f"{name} is empty")
