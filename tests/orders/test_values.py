"""The cell parsers of the order reader: amounts in both conventions, dates in the
shapes the platforms write, quantities, currencies, statuses, item lists, headers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recovery_cli.orders.records import Item
from recovery_cli.orders.values import (
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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.50", "12.50"),
        ("12.5", "12.5"),
        ("12", "12"),
        ("1,234.50", "1234.50"),
        ("$1,234.50", "1234.50"),
        ("1,234,567.89", "1234567.89"),
        ("1,234", "1234"),  # three digits after a lone comma: thousands
        ("12,50", "12.50"),  # two: a decimal comma
        ("1,5", "1.5"),
        ("0,123", "0.123"),
        ("1.234", "1.234"),  # a lone dot in a comma file is a decimal point
        ("1.234,50", "1234.50"),  # both separators: the last is the decimal point
        ("1 234,50 €", "1234.50"),
        ("1\u00a0234,50", "1234.50"),
        ("1\u202f234.50", "1234.50"),
        ("1'234.50", "1234.50"),
        ("-12.00", "-12.00"),
        ("−12.00", "-12.00"),
        ("(12.00)", "-12.00"),
        ("-$12.00", "-12.00"),
        ("$-12.00", "-12.00"),
        ("12.00-", "-12.00"),
        ("+12.00", "12.00"),
        ("USD 12.00", "12.00"),
        ("12.00 USD", "12.00"),
        ("eur12", "12"),
        ("€12", "12"),
        ("£8.99", "8.99"),
        ("¥1,200", "1200"),
        ("US$5", "5"),
        (".50", "0.50"),
        ("  7.25  ", "7.25"),
        ("0.00", "0.00"),
    ],
)
def test_amounts_in_a_comma_file(text: str, expected: str) -> None:
    amount = parse_amount(text)
    assert amount is not None
    assert str(amount) == expected  # the places as written, never a float


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.234,50", "1234.50"),
        ("1.234", "1234"),  # three digits after a lone dot: thousands
        ("1,5", "1.5"),
        ("1,234", "1.234"),  # the comma is the decimal point here
        ("12.50", "12.50"),  # two digits after a lone dot: still a decimal point
        ("1.234.567,89", "1234567.89"),
        ("1 234,50 €", "1234.50"),
        ("12,90 €", "12.90"),
        ("-1.234,50", "-1234.50"),
        ("12", "12"),
    ],
)
def test_amounts_in_a_semicolon_file(text: str, expected: str) -> None:
    assert str(parse_amount(text, european=True)) == expected


@pytest.mark.parametrize("text", ["", "   ", "\u00a0"])
def test_an_empty_amount_is_none(text: str) -> None:
    assert parse_amount(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "ten dollars",
        "abc",
        "N/A",
        "1e5",
        "NaN",
        "Infinity",
        "1,2,3",
        "1,23,456",
        "12.3.4",
        "12..5",
        "12.",
        "1 23",
        "1.234,567.8",
        "--5",
        "(-5)",
        "$",
        "12 34 USD EUR GBP",
        "0x10",
        "١٢",
    ],
)
def test_what_is_not_an_amount(text: str) -> None:
    with pytest.raises(ValueError, match="not an amount"):
        parse_amount(text)


@given(
    st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False),
    st.integers(min_value=0, max_value=3),
    st.sampled_from(["", "$", "€", "USD ", " EUR"]),
)
def test_formatted_amounts_read_back_in_both_conventions(
    amount: Decimal, places: int, mark: str
) -> None:
    amount = amount.quantize(Decimal(1).scaleb(-places))
    written = f"{amount:,.{places}f}"
    european = written.replace(",", "\0").replace(".", ",").replace("\0", ".")
    spaced = european.replace(".", "\u00a0")

    def marked(text: str) -> str:
        return f"{text}{mark}" if mark.startswith(" ") else f"{mark}{text}"

    assert parse_amount(marked(written)) == amount
    assert parse_amount(marked(european), european=True) == amount
    assert parse_amount(marked(spaced), european=True) == amount
    assert str(parse_amount(written)).lstrip("-") == str(abs(amount))  # places kept


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.00", (None, False)),
        ("€12", ("EUR", True)),
        ("1 234,50 €", ("EUR", True)),
        ("£8.99", ("GBP", True)),
        ("12.00 usd", ("USD", True)),
        ("JPY 1200", ("JPY", True)),
        ("CA$12", ("CAD", True)),
        ("$12", ("USD", False)),  # a dollar could be another country's
        ("¥1200", ("JPY", False)),
        ("rubbish", (None, False)),
    ],
)
def test_the_currency_an_amount_names(text: str, expected: tuple[str | None, bool]) -> None:
    assert currency_in_amount(text) == expected


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-05 14:22:10 -0500", utc(2025, 3, 5, 19, 22, 10)),  # Shopify
        ("2025-03-05 14:22:10 -05:00", utc(2025, 3, 5, 19, 22, 10)),
        ("2025-03-05T14:22:10Z", utc(2025, 3, 5, 14, 22, 10)),
        ("2025-03-05T14:22:10.250+01:00", utc(2025, 3, 5, 13, 22, 10, 250000)),
        ("2025-03-05 14:22:10 UTC", utc(2025, 3, 5, 14, 22, 10)),
        ("2025-03-05 14:22:10", utc(2025, 3, 5, 14, 22, 10)),  # Stripe: naive is UTC
        ("2025-03-05 14:22", utc(2025, 3, 5, 14, 22)),
        ("2025-03-05", utc(2025, 3, 5)),
        ("2025-3-5 9:05", utc(2025, 3, 5, 9, 5)),
        ("2025/03/05", utc(2025, 3, 5)),
        ("03/05/25", utc(2025, 3, 5)),  # Etsy: month first
        ("03/05/2025", utc(2025, 3, 5)),
        ("3/5/2025 2:22 PM", utc(2025, 3, 5, 14, 22)),
        ("12/25/2024 11:59 pm", utc(2024, 12, 25, 23, 59)),
        ("3/5/2025 12:05 AM", utc(2025, 3, 5, 0, 5)),
        ("25/12/2024", utc(2024, 12, 25)),  # the first number is no month
        ("05.03.2025", utc(2025, 3, 5)),  # dots: day first
        ("05.03.2025 14:22", utc(2025, 3, 5, 14, 22)),
        ("5 Mar 2025", utc(2025, 3, 5)),
        ("5 March 2025", utc(2025, 3, 5)),
        ("5th Sept 2025", utc(2025, 9, 5)),
        ("Mar 5, 2025", utc(2025, 3, 5)),
        ("March 5, 2025 2:22 PM", utc(2025, 3, 5, 14, 22)),
        ("Wed, 5 Mar 2025 14:22:10 +0100", utc(2025, 3, 5, 13, 22, 10)),
        ("03/05/99", utc(1999, 3, 5)),
    ],
)
def test_dates(text: str, expected: datetime) -> None:
    moment = parse_date(text)
    assert moment == expected
    assert moment is not None and moment.utcoffset() == timedelta(0)


def test_a_slashed_date_is_day_first_in_a_semicolon_file() -> None:
    assert parse_date("05/03/2025", day_first=True) == utc(2025, 3, 5)
    assert parse_date("05/03/2025") == utc(2025, 5, 3)
    assert parse_date("03/15/2025", day_first=True) == utc(2025, 3, 15)


def test_an_offset_is_kept_as_the_same_moment() -> None:
    moment = parse_date("2025-03-05 23:30:00 -0500")
    assert moment == datetime(2025, 3, 5, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert moment is not None and moment.tzinfo is UTC


@pytest.mark.parametrize("text", ["", "  "])
def test_an_empty_date_is_none(text: str) -> None:
    assert parse_date(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "the fourth of April",
        "yesterday",
        "31/31/2025",
        "2025-02-30",
        "13.13.2025",
        "5 Smarch 2025",
        "2025-03-05 25:00",
        "3/5/2025 13:00 PM",
        "12345",
        "2025-03-05 14:22 +99:00",
    ],
)
def test_what_is_not_a_date(text: str) -> None:
    with pytest.raises(ValueError, match="not a date"):
        parse_date(text)


@pytest.mark.parametrize(("text", "expected"), [("2", 2), ("2.0", 2), ("", None), ("0", 0)])
def test_quantities(text: str, expected: int | None) -> None:
    assert parse_quantity(text) == expected


@pytest.mark.parametrize("text", ["two", "1.5", "x"])
def test_what_is_not_a_quantity(text: str) -> None:
    with pytest.raises(ValueError, match="not a quantity"):
        parse_quantity(text)


def test_small_cells() -> None:
    assert clean_email("  Zoe.Adams@Example.COM ") == "zoe.adams@example.com"
    assert clean_email(" ") is None
    assert clean_currency("usd") == "USD"
    assert clean_currency(" EUR ") == "EUR"
    assert clean_currency("$") is None
    assert clean_currency("EURO") is None
    assert [is_yes(text) for text in ("1", "true", "Yes", "0", "false", "", "no")] == [
        True,
        True,
        True,
        False,
        False,
        False,
        False,
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("paid", "paid"),
        ("partially_refunded", "partially refunded"),
        ("Refunded", "refunded"),
        ("wc-completed", "completed"),
        ("on-hold", "on hold"),
        ("Canceled", "cancelled"),
        ("Pending payment", "pending"),
        ("", None),
    ],
)
def test_statuses(text: str, expected: str | None) -> None:
    assert clean_status(text) == expected


def test_a_woocommerce_item_list() -> None:
    text = (
        "name:Blue Mug|product_id:12|quantity:2|total:24.00|sku:MUG;"
        "name:Red Cup|product_id:13|quantity:3|total:10.00;"
        "name:Gift|quantity:1|price:5.00|total:4.00|id:77"
    )
    assert parse_item_list(text) == [
        Item("Blue Mug", 2, Decimal("12.00"), "MUG"),
        Item("Red Cup", 3, None),  # 10.00 / 3 is no price at two places
        Item("Gift", 1, Decimal("5.00"), None, "77"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Blue Mug x 2, Red Cup x 1", [("Blue Mug", 2), ("Red Cup", 1)]),
        ("2× Blue Mug, Red Cup", [("Blue Mug", 2), ("Red Cup", 1)]),
        ("3 x Tea Towel", [("Tea Towel", 3)]),
        ("Blue Mug × 4", [("Blue Mug", 4)]),
        ("Xbox, Model X 3", [("Xbox", 1), ("Model X 3", 1)]),
        ("One\nTwo x 2", [("One", 1), ("Two", 2)]),
        ("", []),
    ],
)
def test_a_written_item_list(text: str, expected: list[tuple[str, int]]) -> None:
    assert [(item.name, item.quantity) for item in parse_item_list(text)] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Created date (UTC)", "createddate"),
        ("Created (UTC)", "created"),
        ("Purchase Time (UTC timezone)", "purchasetime"),
        ("Sale Price ($)", "saleprice"),
        ("Sale Price (USD)", "saleprice"),
        ("Order #", "order"),
        ("Product(s)", "products"),
        ("Refunded?", "refunded"),
        ("order_id (metadata)", "orderidmetadata"),
        ("First Name (Billing)", "firstnamebilling"),
        ("  Lineitem NAME ", "lineitemname"),
    ],
)
def test_header_keys(text: str, expected: str) -> None:
    assert header_key(text) == expected


def test_the_currency_a_header_names() -> None:
    assert header_currency("Sale Price ($)") == "USD"
    assert header_currency("Total (EUR)") == "EUR"
    assert header_currency("Total (£)") == "GBP"
    assert header_currency("Total") is None
