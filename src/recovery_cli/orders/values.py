"""The cells of a shop export, read into values: amounts, dates, quantities,
emails, currencies, statuses, item lists, and the loose form of a header name.

Every parser here is strict about what it returns and lenient about how it is
written: ``$1,234.50``, ``1.234,50``, ``1 234,50 €`` and ``(12.00)`` are all
amounts, and an amount is always a :class:`~decimal.Decimal` kept at the places it
was written with. A cell that cannot be read raises ValueError (the reader turns
that into a row problem naming the column, never the cell). An empty cell is None.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from .records import Item

# -- amounts ------------------------------------------------------------------------

_PLAIN_AMOUNT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
# A sign, a currency code or a currency symbol at either end of an amount.
_FRONT_MARK = re.compile(r"([-−+]|[A-Za-z]{3}(?![A-Za-z])|[A-Za-z]{0,2}\$|[€£¥₹])\s*")
_BACK_MARK = re.compile(r"\s*([-−]|(?<![A-Za-z])[A-Za-z]{3}|[A-Za-z]{0,2}\$|[€£¥₹])$")
_NUMBER = re.compile(r"[0-9][0-9.,' \u00a0\u202f]*|[.,][0-9]+")
_GROUP_SPACES = " \u00a0\u202f'"  # space, no-break space, narrow no-break space, apostrophe

# Currency marks and the ISO code each one stands for. A "weak" mark is shared by
# several currencies ($ is also the Canadian, Australian... dollar): it only fills a
# currency when nothing better is known.
_SYMBOLS = {
    "€": "EUR",
    "£": "GBP",
    "₹": "INR",
    "US$": "USD",
    "C$": "CAD",
    "CA$": "CAD",
    "A$": "AUD",
    "AU$": "AUD",
    "NZ$": "NZD",
    "HK$": "HKD",
}
_WEAK_SYMBOLS = {"$": "USD", "¥": "JPY"}


def _marks(text: str) -> tuple[bool, str, list[str]]:
    """Split an amount into (negative, the number as written, currency marks)."""
    core = text.strip()
    negative = False
    marks: list[str] = []
    if core.startswith("(") and core.endswith(")"):
        negative = True
        core = core[1:-1].strip()
    for _ in range(3):
        match = _FRONT_MARK.match(core)
        if not match:
            break
        mark = match.group(1)
        core = core[match.end() :]
        if mark in "-−":
            if negative:
                raise ValueError("not an amount")
            negative = True
        elif mark != "+":
            marks.append(mark)
    for _ in range(3):
        match = _BACK_MARK.search(core)
        if not match or match.start() == 0:
            break
        mark = match.group(1)
        core = core[: match.start()]
        if mark in "-−":
            if negative:
                raise ValueError("not an amount")
            negative = True
        else:
            marks.append(mark)
    return negative, core, marks


def parse_amount(text: str, *, european: bool = False) -> Decimal | None:
    """An amount as a shop export writes it, kept at the places it was written with.

    ``european`` is the convention of the file (semicolon-separated files write
    ``1.234,50``). Both separators present: the last one is the decimal point. One
    separator, once: the decimal point, unless it is the convention's thousands
    separator followed by exactly three digits (``1,234`` is 1234 in a comma file;
    ``1.234`` is 1234 in a semicolon file; ``12,50`` is 12.50 in either). Spaces,
    no-break spaces and apostrophes only ever group thousands. A currency code or
    symbol at either end, a minus at either end or parentheses are allowed.

    Empty text is None; anything else that is not an amount raises ValueError.
    """
    text = text.strip()
    if not text:
        return None
    if _PLAIN_AMOUNT.fullmatch(text) and not (european and "." in text):
        return Decimal(text)
    negative, core, _ = _marks(text)
    if not _NUMBER.fullmatch(core) or not core[-1].isdigit():
        raise ValueError("not an amount")
    whole, fraction = _split_decimal(core, european)
    if not whole:
        whole = "0"
    sign = "-" if negative else ""
    return Decimal(f"{sign}{whole}.{fraction}" if fraction is not None else f"{sign}{whole}")


def _split_decimal(core: str, european: bool) -> tuple[str, str | None]:
    """The digits before and after the decimal point of a written number, the
    thousands separators taken out (and checked to group by three)."""
    dots, commas = core.count("."), core.count(",")
    spaced = any(char in core for char in _GROUP_SPACES)
    point: str | None
    if dots and commas:
        point = "." if core.rfind(".") > core.rfind(",") else ","
    elif dots > 1 or commas > 1:
        point = None
    elif dots or commas:
        point = "." if dots else ","
        before, after = core.split(point)
        thousands = "." if european else ","
        if (
            not spaced
            and point == thousands
            and len(after) == 3
            and 1 <= len(before) <= 3
            and not before.startswith("0")
        ):
            point = None
    else:
        point = None
    if point is not None:
        if core.count(point) > 1:
            raise ValueError("not an amount")
        whole, fraction = core.split(point)
        if not fraction.isdigit():
            raise ValueError("not an amount")
    else:
        whole, fraction = core, None
    grouped = whole
    for separator in ".,' \u00a0\u202f":
        grouped = grouped.replace(separator, "\0")
    if "\0" in grouped:
        groups = grouped.split("\0")
        separators = {char for char in whole if not char.isdigit()}
        if (
            len(separators) > 1
            or not 1 <= len(groups[0]) <= 3
            or any(len(group) != 3 for group in groups[1:])
        ):
            raise ValueError("not an amount")
        whole = "".join(groups)
    return whole, fraction


def currency_in_amount(text: str) -> tuple[str | None, bool]:
    """The currency an amount's own marks name, and whether the mark is certain:
    ``("EUR", True)`` for ``€12`` or ``12 EUR``, ``("USD", False)`` for ``$12`` (a
    dollar could be another country's), ``(None, False)`` for a bare number."""
    try:
        _, _, marks = _marks(text)
    except ValueError:
        return None, False
    weak: str | None = None
    for mark in marks:
        if mark in _SYMBOLS:
            return _SYMBOLS[mark], True
        if mark.isalpha() and len(mark) == 3 and mark.isascii():
            return mark.upper(), True
        weak = weak or _WEAK_SYMBOLS.get(mark)
    return weak, False


# -- dates --------------------------------------------------------------------------

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_MONTH_NAMES = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "sept",
    "october",
    "november",
    "december",
]
_DATE = r"""
    (?:[A-Za-z]{3,9}\.?,?\s+)??                                   # a weekday, if any
    (?:
        (?P<iy>[0-9]{4})[-/.](?P<im>[0-9]{1,2})[-/.](?P<id>[0-9]{1,2})
      | (?P<a>[0-9]{1,2})(?P<sep>[-/.])(?P<b>[0-9]{1,2})(?P=sep)(?P<c>[0-9]{4}|[0-9]{2})
      | (?P<td>[0-9]{1,2})(?:st|nd|rd|th)?\.?[\s-]+(?P<tm>[A-Za-z]{3,9})\.?,?[\s-]+(?P<ty>[0-9]{4})
      | (?P<um>[A-Za-z]{3,9})\.?\s+(?P<ud>[0-9]{1,2})(?:st|nd|rd|th)?,?\s+(?P<uy>[0-9]{4})
    )
    (?:
        (?:[T\s]+|,\s*|\s+at\s+)
        (?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})
        (?::(?P<second>[0-9]{2})(?:[.,](?P<fraction>[0-9]{1,6})[0-9]*)?)?
        \s*(?P<half>[AaPp]\.?[Mm]\.?)?
        \s*(?P<zone>Z|UTC|GMT|(?:UTC|GMT)?[+-][0-9]{1,2}(?::?[0-9]{2})?)?
    )?
    \s*
"""


# Compiled on first use: most dates are ISO, read without it.
@functools.cache
def _date_pattern() -> re.Pattern[str]:
    return re.compile(_DATE, re.VERBOSE | re.IGNORECASE)


def parse_date(text: str, *, day_first: bool = False) -> datetime | None:
    """A date or a moment as an export writes it, as an aware datetime in UTC.

    ISO forms (with an offset, ``Z``, ``UTC`` or none), ``03/05/25`` and
    ``03/05/2025`` (month first, as US exports write them, unless ``day_first`` or
    the first number is above 12), ``05.03.2025`` (always day first), ``5 Mar 2025``
    and ``Mar 5, 2025``, each with a time or not. A time without a zone is taken as
    UTC; a date alone is midnight UTC. Two-digit years are 2000-2069 and 1970-1999.

    Empty text is None; anything else that is not a date raises ValueError.
    """
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        if text.endswith((" UTC", " GMT")):
            return parse_date(text[:-4], day_first=day_first)
        try:
            moment = _parse_written_date(text, day_first)
        except ValueError:  # also a day or a month out of range
            raise ValueError("not a date") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01 with a positive offset, 9999-12-31 with a negative
        raise ValueError("not a date") from None


def _parse_written_date(text: str, day_first: bool) -> datetime:
    match = _date_pattern().fullmatch(text)
    if not match:
        raise ValueError("not a date")
    part = match.group
    if part("iy"):
        year, month, day = int(part("iy")), int(part("im")), int(part("id"))
    elif part("a"):
        first, second, year = int(part("a")), int(part("b")), _full_year(part("c"))
        if part("sep") == "." or first > 12 or (day_first and second <= 12):
            day, month = first, second
        else:
            month, day = first, second
    elif part("td"):
        day, month, year = int(part("td")), _month(part("tm")), int(part("ty"))
    else:
        month, day, year = _month(part("um")), int(part("ud")), int(part("uy"))
    hour = int(part("hour") or 0)
    if part("half"):
        if not 1 <= hour <= 12:
            raise ValueError("not a date")
        hour = hour % 12 + (12 if part("half")[0] in "Pp" else 0)
    microsecond = int((part("fraction") or "0").ljust(6, "0"))
    return datetime(
        year,
        month,
        day,
        hour,
        int(part("minute") or 0),
        int(part("second") or 0),
        microsecond,
        tzinfo=_zone(part("zone")),
    )


def _full_year(digits: str) -> int:
    year = int(digits)
    if len(digits) == 2:
        year += 2000 if year < 70 else 1900
    return year


def _month(word: str) -> int:
    word = word.lower().rstrip(".")
    number = _MONTHS.get(word[:3])
    if number is None or not any(name.startswith(word) for name in _MONTH_NAMES):
        raise ValueError("not a date")
    return number


def _zone(text: str | None) -> timezone | None:
    if text is None:
        return None
    text = text.upper()
    for prefix in ("UTC", "GMT", "Z"):
        text = text.removeprefix(prefix)
    if not text:
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = (digits[:-2], digits[-2:]) if len(digits) > 2 else (digits, "0")
    offset = timedelta(hours=int(hours), minutes=int(minutes))
    if offset >= timedelta(hours=24):
        raise ValueError("not a date")
    return timezone(sign * offset)


# -- other cells --------------------------------------------------------------------

_YES = frozenset({"1", "true", "yes", "y"})
_STATUS_WORDS = {
    "canceled": "cancelled",
    "pending payment": "pending",
    "void": "voided",
    "succeeded": "paid",
}


# More of one item than any order holds: a cell past this is not a quantity.
MAX_QUANTITY = 10**9


def parse_quantity(text: str) -> int | None:
    """A count of items: ``2``, ``2.0``. Empty text is None; raises ValueError else."""
    text = text.strip()
    if not text:
        return None
    try:
        number = int(text) if text.isdigit() and len(text) < 12 else parse_amount(text)
    except ValueError:
        raise ValueError("not a quantity") from None
    if number is None or not 0 <= number <= MAX_QUANTITY or number != int(number):
        raise ValueError("not a quantity")
    return int(number)


def clean_email(text: str) -> str | None:
    """An email address as a look-up key: stripped and lower-cased."""
    text = text.strip().lower()
    return text or None


def clean_currency(text: str) -> str | None:
    """An ISO 4217 code (``usd`` -> ``USD``), or None when the cell is not one."""
    text = text.strip().upper()
    return text if len(text) == 3 and text.isascii() and text.isalpha() else None


def clean_status(text: str) -> str | None:
    """A platform's status as lower-case words: ``partially_refunded`` ->
    ``partially refunded``, ``wc-on-hold`` -> ``on hold``, ``Canceled`` ->
    ``cancelled``."""
    words = " ".join(text.lower().removeprefix("wc-").replace("_", " ").replace("-", " ").split())
    return _STATUS_WORDS.get(words, words) or None


def is_yes(text: str) -> bool:
    """Whether a flag cell says yes (``1``, ``true``, ``yes``, any case)."""
    return text.strip().lower() in _YES


# -- item lists (WooCommerce) -------------------------------------------------------

_QUANTITY_AFTER = re.compile(r"(?P<name>.+?)(?:\s+x\s*|\s*×\s*)(?P<quantity>[0-9]+)")
_QUANTITY_BEFORE = re.compile(r"(?P<quantity>[0-9]+)\s*(?:×\s*|x\s+)(?P<name>.+)")
_ITEM_KEYS = {
    "name": "name",
    "product_name": "name",
    "item_name": "name",
    "quantity": "quantity",
    "qty": "quantity",
    "total": "total",
    "line_total": "total",
    "price": "price",
    "item_price": "price",
    "cost": "price",
    "sku": "sku",
    "id": "id",
    "item_id": "id",
}


def parse_item_list(text: str, *, european: bool = False) -> list[Item]:
    """The items of one order written in one cell, read loosely.

    Two shapes: WooCommerce's ``name:Blue Mug|quantity:2|total:24.00;name:Red Cup|...``
    (items split by ``;`` or line breaks, fields by ``|``; a unit price is the
    ``price`` field, else the line total divided by the quantity when it divides
    exactly), and the written list ``Blue Mug x 2, Red Cup`` or ``2× Blue Mug, Red
    Cup``. A part that cannot be read is taken as an item name, never an error.
    """
    text = text.strip()
    if not text:
        return []
    if "|" in text and ":" in text:
        return [
            item
            for part in re.split(r"[;\n]", text)
            if (item := _structured_item(part, european)) is not None
        ]
    separator = "\n" if "\n" in text else ("," if "," in text else ";")
    items = []
    for part in text.split(separator):
        part = part.strip()
        if not part:
            continue
        quantity = 1
        match = _QUANTITY_AFTER.fullmatch(part) or _QUANTITY_BEFORE.fullmatch(part)
        if match:
            part, quantity = match.group("name").strip(), int(match.group("quantity"))
        items.append(Item(name=part, quantity=quantity))
    return items


def _structured_item(text: str, european: bool) -> Item | None:
    fields: dict[str, str] = {}
    for pair in text.split("|"):
        key, _, value = pair.partition(":")
        field = _ITEM_KEYS.get(key.strip().lower())
        if field and value.strip():
            fields.setdefault(field, value.strip())
    name = fields.get("name")
    if not name:
        return None
    try:
        quantity = parse_quantity(fields.get("quantity", "")) or 1
    except ValueError:
        quantity = 1
    price = _loose_amount(fields.get("price", ""), european)
    total = _loose_amount(fields.get("total", ""), european)
    if price is None and total is not None and quantity > 0:
        unit = total / quantity
        exact = unit.quantize(Decimal(1).scaleb(min(_places(total), 0)))
        price = exact if exact == unit else None
    return Item(
        name=name, quantity=quantity, price=price, sku=fields.get("sku"), id=fields.get("id")
    )


def _loose_amount(text: str, european: bool) -> Decimal | None:
    try:
        return parse_amount(text, european=european)
    except ValueError:
        return None


def _places(amount: Decimal) -> int:
    exponent = amount.as_tuple().exponent
    return exponent if isinstance(exponent, int) else 0


# -- headers ------------------------------------------------------------------------

_HEADER_ZONE = re.compile(r"\(\s*(?:utc|gmt)[^)]*\)", re.IGNORECASE)
_HEADER_CURRENCY = re.compile(r"\(\s*([A-Za-z]{3}|[$€£¥])\s*\)")


def header_key(text: str) -> str:
    """A header name in its loose form, the one formats are matched on: lower case,
    letters and digits only, a time-zone or currency suffix dropped. ``Created date
    (UTC)`` -> ``createddate``, ``Sale Price ($)`` -> ``saleprice``, ``Order #`` ->
    ``order``, ``order_id (metadata)`` -> ``orderidmetadata``."""
    text = _HEADER_CURRENCY.sub("", _HEADER_ZONE.sub("", text)).lower()
    return "".join(char for char in text if char.isalnum())


def header_currency(text: str) -> str | None:
    """The currency a header names for its column: ``Sale Price ($)`` -> ``USD``,
    ``Total (EUR)`` -> ``EUR``."""
    match = _HEADER_CURRENCY.search(text)
    if not match:
        return None
    mark = match.group(1)
    return _SYMBOLS.get(mark) or _WEAK_SYMBOLS.get(mark) or clean_currency(mark)
