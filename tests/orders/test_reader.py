"""Reading shop exports: each platform's shape from a hand-written fixture, the
encodings and layouts files come in, rows that cannot be read (all of them listed,
with their lines), and files that cannot be read at all (with messages that never
carry a customer's data)."""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import fields
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from recovery_cli.errors import ExitStatus, InputFileError
from recovery_cli.orders import formats
from recovery_cli.orders.reader import FileReport, RowProblem, _Plan, open_export
from recovery_cli.orders.records import Item, OrderRecord

FIXTURES = Path(__file__).parent / "fixtures"

CUSTOM_MAP = {
    "Order": "ref",
    "Placed": "date",
    "First": "first_name",
    "Last": "last_name",
    "E-mail": "email",
    "Product": "item",
    "Qty": "quantity",
    "Each": "price",
    "Amount": "total",
}


def read(
    path: Path, *, platform: str | None = None, mapping: dict[str, str] | None = None
) -> tuple[dict[str, OrderRecord], FileReport]:
    """Every record of an export, by key, and the report after reading them."""
    with open_export(path, platform=platform, mapping=mapping) as reader:
        records = list(reader.records())
        keys = [record.key for record in records]
        assert len(keys) == len(set(keys))  # each key comes out once, complete
        return {record.key: record for record in records}, reader.report


def error_of(
    path: Path, *, platform: str | None = None, mapping: dict[str, str] | None = None
) -> str:
    """The message of the InputFileError that opening or reading an export raises."""
    with (
        pytest.raises(InputFileError) as caught,
        open_export(path, platform=platform, mapping=mapping) as reader,
    ):
        list(reader.records())
    assert caught.value.exit_code == ExitStatus.BAD_INPUT
    return caught.value.message


def write(tmp_path: Path, data: bytes, name: str = "orders.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# -- the platforms ------------------------------------------------------------------


def test_a_shopify_export() -> None:
    orders, report = read(FIXTURES / "shopify_orders_export.csv")
    assert (report.platform, report.label) == ("shopify", "Shopify orders export")
    assert (report.encoding, report.delimiter) == ("utf-8", ",")
    assert (report.rows, report.orders, report.missing) == (9, 6, ())
    assert report.skipped == {} and report.problems == []
    assert list(orders) == [
        "5123456001",
        "5123456002",
        "5123456003",
        "5123456004",
        "5123456005",
        "#1006",  # no Id: the Name is the key
    ]
    first = orders["5123456001"]
    assert first == OrderRecord(
        platform="shopify",
        key="5123456001",
        ref="#1001",
        date=at(2025, 3, 5, 19, 22, 10),
        name="Zoë Adams",
        email="zoe.adams@example.com",
        phone="+1 555 0100",
        total=Decimal("41.00"),
        refunded=Decimal("0.00"),
        currency="USD",
        status="paid",
        items=[
            Item("Blue Mug", 2, Decimal("12.00"), "MUG-BLUE"),
            Item("Red Cup", 1, Decimal("12.00"), "CUP-RED"),
        ],
    )


def test_shopify_statuses_currencies_and_names() -> None:
    orders, _ = read(FIXTURES / "shopify_orders_export.csv")
    refunded = orders["5123456002"]  # its Notes run over three lines
    assert (refunded.status, refunded.refunded, refunded.currency) == (
        "partially refunded",
        Decimal("10.00"),
        "EUR",
    )
    assert refunded.name == "Jonas Müller"  # no Billing Name: the Shipping Name
    assert refunded.date == at(2025, 3, 6, 7, 59, 30)
    assert orders["5123456003"].status == "cancelled"  # Cancelled at beats "voided"
    assert orders["5123456003"].currency == "GBP"
    yen = orders["5123456004"]
    assert (yen.total, yen.currency) == (Decimal("3600"), "JPY")
    assert [item.name for item in yen.items or []] == ["Matcha Bowl", "Whisk", "Scoop"]
    assert orders["5123456005"].status == "refunded"
    assert orders["5123456005"].items == [Item("Mug, large", 1, Decimal("15.50"))]


def test_cells_that_look_like_formulas_are_kept_as_data() -> None:
    orders, _ = read(FIXTURES / "shopify_orders_export.csv")
    odd = orders["#1006"]
    assert odd.name == '=HYPERLINK("http://x")'
    assert odd.phone == "+15550199"
    assert odd.email is None
    assert odd.items == [Item("=Gift Card", 1, Decimal("9.00"))]
    custom, _ = read(FIXTURES / "custom_orders.csv", mapping=CUSTOM_MAP)
    assert custom["A-101"].name == "+Plus Sign"


def test_no_address_is_read() -> None:
    for name in ("shopify_orders_export.csv", "woocommerce_orders.csv", "gumroad_sales.csv"):
        orders, _ = read(FIXTURES / name)
        for record in orders.values():
            text = repr(record)
            for street in ("Elm Street", "Pine Rd", "Via Roma", "Springfield", "Illinois"):
                assert street not in text


def test_the_etsy_pair() -> None:
    sold, report = read(FIXTURES / "EtsySoldOrders2025.csv")
    assert (report.platform, report.label, report.missing) == (
        "etsy",
        "Etsy Sold Orders",
        ("email",),
    )
    assert sold["3012345678"] == OrderRecord(
        platform="etsy",
        key="3012345678",
        ref="3012345678",
        date=at(2025, 3, 5),
        name="Rosa Diaz",
        total=Decimal("48.00"),
        currency="USD",
    )
    refunded = sold["3012345679"]  # no Full Name; Adjusted Order Total after a refund
    assert (refunded.name, refunded.refunded, refunded.status, refunded.currency) == (
        "Oliver Smith",
        Decimal("5.00"),
        "partially refunded",
        "GBP",
    )
    assert sold["3012345680"].status == "cancelled"  # Etsy writes "Canceled"

    items, report = read(FIXTURES / "EtsySoldOrderItems2025.csv")
    assert (report.label, report.missing, report.rows, report.orders) == (
        "Etsy Sold Order Items",
        ("email",),
        3,
        2,
    )
    # Its rows are not in order: they are grouped by Order ID all the same.
    assert items["3012345678"] == OrderRecord(
        platform="etsy",
        key="3012345678",
        ref="3012345678",
        date=at(2025, 3, 5),
        currency="USD",
        items=[
            Item("Hand-thrown mug", 2, Decimal("14.00"), "MUG-H", "4100000001"),
            Item("Saucer", 1, Decimal("14.00"), None, "4100000003"),
        ],
    )
    assert items["3012345679"].name is None  # Ship Name is a shipping name, not taken
    assert items["3012345679"].total is None  # the Sold Orders file carries it
    assert set(items) == set(sold) - {"3012345680"}


def test_gumroad_sales() -> None:
    orders, report = read(FIXTURES / "gumroad_sales.csv")
    assert (report.label, report.rows, report.orders) == ("Gumroad sales", 5, 3)
    assert report.skipped == {"the Totals row": 1}
    assert report.problems == []
    both = orders["524001"]  # two purchases of one order
    assert both == OrderRecord(
        platform="gumroad",
        key="524001",
        ref="524001",
        date=at(2025, 3, 5, 14, 22, 10),
        name="Mia Wong",
        email="mia@example.com",  # the Purchase Email over the Buyer Email
        total=Decimal("20"),
        currency="USD",  # "Sale Price ($)"
        status="paid",
        items=[
            Item("Watercolour Brushes (PDF)", 1, Decimal("15"), None, "AbC123=="),
            Item("Sketch Pack", 1, Decimal("5"), None, "AbC124=="),
        ],
    )
    refunded = orders["524002"]
    assert (refunded.status, refunded.refunded, refunded.email) == (
        "refunded",
        Decimal("15"),
        "sam@example.com",
    )
    partly = orders["Qrs777=="]  # no Order Number: the Purchase ID
    assert (partly.ref, partly.status, partly.refunded) == (
        "Qrs777==",
        "partially refunded",
        Decimal("10"),
    )
    assert partly.items == [Item("Course", 1, Decimal("40"), "course-basic", "Qrs777==")]


def test_a_gumroad_totals_row_named_so(tmp_path: Path) -> None:
    text = (
        "Purchase ID,Item Name,Purchase Email,Purchase Date,Sale Price ($),Order Number\n"
        "P1,Book,a@example.com,2025-03-05,10,\n"
        ",,,,,\n"  # a blank row in the middle is no Totals row
        ",Book,,2025-03-05,5,\n"
        "Totals,,,,15,\n"
    )
    orders, report = read(write(tmp_path, text.encode()))
    assert list(orders) == ["P1"]
    assert report.skipped == {"no order reference or email": 1, "the Totals row": 1}
    assert report.rows == 3


def test_an_older_gumroad_export_with_one_refund_flag(tmp_path: Path) -> None:
    text = (
        "Purchase ID,Item Name,Purchase Email,Purchase Date,Sale Price ($),Refunded?\n"
        "P1,Book,a@example.com,2025-03-05,10,1\n"
        "P2,Book,b@example.com,2025-03-05,10,0\n"
    )
    orders, _ = read(write(tmp_path, text.encode()))
    assert (orders["P1"].status, orders["P1"].refunded) == ("refunded", Decimal("10"))
    assert (orders["P2"].status, orders["P2"].refunded) == ("paid", None)


def test_a_woocommerce_plugin_export() -> None:
    orders, report = read(FIXTURES / "woocommerce_orders.csv")
    assert (report.platform, report.label, report.missing) == (
        "woocommerce",
        "WooCommerce orders export",
        (),
    )
    assert orders["812"] == OrderRecord(
        platform="woocommerce",
        key="812",
        ref="WC-812",
        date=at(2025, 3, 5, 14, 22, 10),
        name="Hana Kim",
        email="hana@example.com",
        phone="555-0101",
        total=Decimal("33.50"),
        currency="USD",
        status="completed",
        items=[Item("Blue Mug", 2, Decimal("12.00")), Item("Red Cup", 1, Decimal("9.50"))],
    )
    assert orders["813"].ref == "813"  # no order_number
    assert orders["813"].status == "refunded"
    assert orders["813"].items == [Item("Blue Mug", 2), Item("Red Cup", 1)]
    assert (orders["814"].status, orders["814"].name, orders["814"].items) == (
        "on hold",
        "Ann",
        None,
    )


def test_an_advanced_order_export_with_a_row_per_item() -> None:
    orders, report = read(FIXTURES / "woocommerce_advanced_export.csv")
    assert (report.label, report.rows, report.orders) == ("WooCommerce orders export", 3, 2)
    eva = orders["1201"]
    assert (eva.name, eva.email, eva.phone, eva.total, eva.currency, eva.status) == (
        "Eva Novak",
        "eva@example.cz",
        "+420 555 010",
        Decimal("46.00"),  # each row repeats the order's total: not added up
        "EUR",
        "processing",
    )
    assert eva.items == [
        Item("Blue Mug", 2, Decimal("12.00"), "MUG-B"),
        Item("Teapot", 1, Decimal("22.00"), "POT"),
    ]
    assert orders["1202"].status == "cancelled"


def test_woocommerce_analytics_orders() -> None:
    orders, report = read(FIXTURES / "woocommerce_analytics_orders.csv")
    assert (report.label, report.missing) == ("WooCommerce Analytics orders", ("email",))
    hana = orders["812"]
    assert (hana.name, hana.email, hana.total, hana.currency, hana.status) == (
        "Hana Kim",
        None,
        Decimal("33.50"),
        "USD",  # from "$33.50"
        "completed",
    )
    assert hana.items == [Item("Blue Mug", 2), Item("Red Cup", 1)]
    assert orders["813"].currency == "EUR"
    assert (orders["815"].status, orders["815"].currency) == ("pending", None)


def test_an_older_stripe_export() -> None:
    orders, report = read(FIXTURES / "stripe_payments_old.csv")
    assert (report.platform, report.label) == ("stripe", "Stripe payments export")
    assert orders["ch_1A"] == OrderRecord(
        platform="stripe",
        key="ch_1A",
        ref="ch_1A",
        date=at(2019, 3, 5, 14, 22),
        name="O Nordmann",  # the Card Name before the Customer Description
        email="ola@example.no",
        total=Decimal("45.00"),
        refunded=Decimal("0.00"),
        currency="USD",
        status="paid",
        items=[Item("Pottery class", 1, Decimal("45.00"))],
    )
    refunded = orders["ch_1B"]  # "Paid", but refunded in full
    assert (refunded.status, refunded.name, refunded.items) == ("refunded", "Kai Weber", None)
    assert orders["ch_1C"].status == "failed"


def test_a_stripe_export_with_the_shops_order_number() -> None:
    orders, report = read(FIXTURES / "stripe_unified_payments.csv")
    assert report.missing == ()
    assert [(o.key, o.ref) for o in orders.values()] == [
        ("py_3N1", "WC-901"),
        ("py_3N2", "WC-902"),
        ("py_3N3", "py_3N3"),
    ]
    assert orders["py_3N2"].status == "partially refunded"
    assert (orders["py_3N3"].total, orders["py_3N3"].currency) == (Decimal("1500"), "JPY")
    assert orders["py_3N3"].status == "refunded"


def test_a_mapped_csv() -> None:
    orders, report = read(FIXTURES / "custom_orders.csv", mapping=CUSTOM_MAP)
    assert (report.platform, report.label, report.missing) == (
        "csv",
        "CSV export (mapped columns)",
        (),
    )
    assert orders["A-100"] == OrderRecord(
        platform="csv",
        key="A-100",
        ref="A-100",
        date=at(2025, 3, 5),
        name="Noor Haddad",
        email="noor@example.com",
        total=Decimal("16.00"),
        currency="GBP",  # from "£16.00"
        items=[Item("Candle", 2, Decimal("8.00")), Item("Matches", 1, Decimal("1.00"))],
    )
    # A row with an email and no order reference is an order of its own.
    (alone,) = (o for o in orders.values() if o.email == "only@example.com")
    assert (alone.ref, alone.date, alone.total) == ("", at(2025, 3, 7), Decimal("8.00"))


def test_a_mapping_on_a_known_export_adds_and_overrides_columns() -> None:
    mapping = {"Customer Description": "name", "Card Brand": "sku"}
    orders, report = read(FIXTURES / "stripe_payments_old.csv", mapping=mapping)
    assert report.label == "Stripe payments export"
    assert orders["ch_1A"].name == "Ola Nordmann"


def test_a_named_platform_applies_its_rules_to_a_partial_header(tmp_path: Path) -> None:
    path = write(tmp_path, b"Name,Email,Total,Currency\n#1,a@example.com,5.00,usd\n")
    assert "matches no export" in error_of(path)
    orders, report = read(path, platform="shopify")
    assert (report.platform, report.label) == ("shopify", "Shopify orders export")
    assert orders["#1"].total == Decimal("5.00")
    assert orders["#1"].currency == "USD"


def test_a_named_platform_with_a_mapping_of_its_own(tmp_path: Path) -> None:
    path = write(tmp_path, b"Ref,Mail\nX1,a@example.com\n")
    orders, report = read(path, platform="gumroad", mapping={"Ref": "ref", "Mail": "email"})
    assert (report.platform, report.label) == ("gumroad", "CSV export (mapped columns)")
    assert orders["X1"].email == "a@example.com"


def test_csv_as_the_platform_reads_a_known_export_by_its_mapping() -> None:
    orders, report = read(
        FIXTURES / "shopify_bad_rows.csv", platform="csv", mapping={"Email": "email"}
    )
    assert (report.platform, report.label) == ("csv", "CSV export (mapped columns)")
    assert all(record.ref == "" for record in orders.values())


# -- encodings and layouts ----------------------------------------------------------

SMALL_HEADER = "Name,Email,Financial Status,Total,Currency,Created at,Lineitem name,Billing Name"


def test_windows_1252(tmp_path: Path) -> None:
    text = f"{SMALL_HEADER}\n#1,zoe@example.com,paid,12.00,EUR,2025-03-05,Café crème,Zoë Adams\n"
    path = write(tmp_path, text.encode("cp1252"))
    orders, report = read(path)
    assert report.encoding == "cp1252"
    assert orders["#1"].name == "Zoë Adams"
    assert orders["#1"].items == [Item("Café crème")]


def test_utf8_is_never_read_as_windows_1252(tmp_path: Path) -> None:
    text = f"{SMALL_HEADER}\n#1,zoe@example.com,paid,12.00,EUR,2025-03-05,Mug,Zoë Adams\n"
    orders, report = read(write(tmp_path, text.encode()))
    assert report.encoding == "utf-8"
    assert orders["#1"].name == "Zoë Adams"


def test_a_bom_and_crlf_line_endings(tmp_path: Path) -> None:
    text = (
        f"{SMALL_HEADER}\r\n"
        "#1,a@example.com,paid,12.00,EUR,2025-03-05,Mug,Zoë Adams\r\n"
        '#2,b@example.com,paid,bad,EUR,2025-03-05,Mug,"Two\r\nLines"\r\n'
        "#3,c@example.com,paid,oops,EUR,2025-03-05,Mug,Cy\r\n"
    )
    orders, report = read(write(tmp_path, codecs.BOM_UTF8 + text.encode()))
    assert report.encoding == "utf-8"
    assert orders["#1"].ref == "#1"  # the BOM is not part of the first header
    assert orders["#1"].name == "Zoë Adams"
    assert [problem.line for problem in report.problems] == [3, 5]


def test_utf16_with_its_bom(tmp_path: Path) -> None:
    text = f"{SMALL_HEADER}\r\n#1,a@example.com,paid,12.00,EUR,2025-03-05,Mug,Zoë\r\n"
    orders, report = read(write(tmp_path, text.encode("utf-16")))
    assert report.encoding == "utf-16"
    assert orders["#1"].name == "Zoë"


def test_tab_separated(tmp_path: Path) -> None:
    text = (
        "id\tCreated (UTC)\tAmount\tCurrency\tCustomer Email\n"
        "ch_1\t2025-03-05 10:00\t1,234.50\tusd\tA@B.com\n"
    )
    orders, report = read(write(tmp_path, text.encode()))
    assert (report.delimiter, report.label) == ("\t", "Stripe payments export")
    assert orders["ch_1"].total == Decimal("1234.50")


def test_a_semicolon_file_with_european_amounts_and_dates() -> None:
    orders, report = read(FIXTURES / "woocommerce_de.csv")
    assert (report.delimiter, report.label) == (";", "WooCommerce orders export")
    assert orders["5001"].total == Decimal("1234.50")
    assert orders["5001"].date == at(2025, 3, 5, 14, 22)
    assert orders["5001"].name == "Jürgen Groß"
    assert orders["5002"].total == Decimal("12.90")
    assert orders["5002"].currency == "EUR"  # from "12,90 €"
    assert orders["5002"].items == [Item("Tasse", 3, Decimal("4.30"))]
    assert orders["5003"].total == Decimal("1234")  # "1.234" in a semicolon file


def test_header_names_are_matched_loosely(tmp_path: Path) -> None:
    text = "ID,created DATE (utc),AMOUNT,amount_refunded,currency\nch_9,2025-03-05,5.00,0,usd\n"
    orders, report = read(write(tmp_path, text.encode()))
    assert report.label == "Stripe payments export"
    assert orders["ch_9"].date == at(2025, 3, 5)


def test_a_header_only_file_has_no_rows(tmp_path: Path) -> None:
    orders, report = read(write(tmp_path, f"{SMALL_HEADER}\n".encode()))
    assert orders == {}
    assert (report.rows, report.orders, report.label) == (0, 0, "Shopify orders export")


def test_short_rows_and_blank_lines(tmp_path: Path) -> None:
    text = f"\n{SMALL_HEADER}\n\n#1,a@example.com,paid\n\n#2,b@example.com\n"
    orders, report = read(write(tmp_path, text.encode()))
    assert list(orders) == ["#1", "#2"]
    assert report.rows == 2


# -- rows that cannot be read -------------------------------------------------------


def test_every_bad_row_is_listed_with_its_line() -> None:
    orders, report = read(FIXTURES / "shopify_bad_rows.csv")
    path = str(FIXTURES / "shopify_bad_rows.csv")
    assert report.problems == [
        RowProblem(path, 3, "Total is not an amount"),
        RowProblem(path, 7, "Created at is not a date"),  # after a three-line row
        RowProblem(path, 9, "Created at is not a date; Total is not an amount"),
        RowProblem(path, 11, "Lineitem quantity is not a quantity"),
    ]
    assert str(report.problems[0]) == f"{path}:3: Total is not an amount"
    assert report.skipped == {
        "a bad amount or date": 3,
        "a bad quantity": 1,
        "no order reference or email": 1,
        "of an order with a bad row": 1,
    }
    assert (report.rows, report.orders) == (9, 3)
    # An order with a bad row is skipped whole: its good second row (#2004's Saucer)
    # too, so that a corrected export brings the order once, never beside a half.
    assert list(orders) == ["#2001", "#2003", "#2007"]


def test_problems_never_carry_a_cell() -> None:
    _, report = read(FIXTURES / "shopify_bad_rows.csv")
    text = "\n".join(str(problem) for problem in report.problems)
    for value in ("ten dollars", "fourth", "1,2,3", "31/31", "two", "Ben", "b@example"):
        assert value not in text


# -- files that cannot be read ------------------------------------------------------


def test_an_empty_file(tmp_path: Path) -> None:
    assert error_of(write(tmp_path, b"")) == f"{tmp_path / 'orders.csv'} is empty"
    assert error_of(write(tmp_path, codecs.BOM_UTF8 + b"\r\n\r\n")).endswith("is empty")


def test_a_file_that_is_not_there(tmp_path: Path) -> None:
    assert error_of(tmp_path / "gone.csv").endswith("gone.csv does not exist")
    assert "is a folder" in error_of(tmp_path)


def test_an_unknown_header() -> None:
    path = FIXTURES / "unknown_header.csv"
    message = error_of(path)
    assert message == (
        f"{path}: its header row matches no export recover knows (Shopify orders, Etsy "
        "Sold Orders and Sold Order Items, Gumroad sales, WooCommerce, Stripe payments). "
        "Name its columns with --map, e.g. --map 'Order=ref' --map 'E-mail=email' "
        "--map 'Total=total' --map 'Date=date'."
    )
    assert "Zoë" not in message and "12,00" not in message


def test_no_order_reference_or_email_column() -> None:
    path = FIXTURES / "unknown_header.csv"
    message = error_of(path, mapping={"Betrag": "total", "Kunde": "name"})
    assert message == (
        f"{path} has no order reference or email column; name one with --map, "
        "e.g. --map 'Order=ref'"
    )
    # Etsy's file has none of Shopify's order columns.
    assert "no order reference or email column" in error_of(
        FIXTURES / "EtsySoldOrders2025.csv", platform="shopify"
    )


def test_a_mapping_naming_what_is_not_there() -> None:
    path = FIXTURES / "unknown_header.csv"
    message = error_of(path, mapping={"Kunde": "customer", "Betrag": "totl"})
    assert "'customer', 'totl'" in message and "ref, date, name" in message
    message = error_of(path, mapping={"Kunde": "name", "Order": "ref", "Mail": "email"})
    assert message == f"{path} has no columns named 'Order', 'Mail' (given with --map)"


def test_an_unknown_platform() -> None:
    assert "'amazon' is not a platform" in error_of(
        FIXTURES / "custom_orders.csv", platform="amazon"
    )


def test_bytes_that_are_neither_utf8_nor_windows_1252(tmp_path: Path) -> None:
    path = write(tmp_path, SMALL_HEADER.encode() + b"\n#1,a@example.com,paid,1,EUR,,\x81\x8d,\n")
    assert error_of(path) == (
        f"{path} is not UTF-8 and not Windows-1252 text; save it as UTF-8 and import again"
    )


def test_a_utf8_file_that_stops_being_utf8_names_the_line(tmp_path: Path) -> None:
    good = "#{n},a{n}@example.com,paid,12.00,EUR,2025-03-05,Mug,Zoë Adams\n"
    rows = "".join(good.format(n=n) for n in range(1, 1201))  # past the first 64 KiB
    late = "#9999,z@example.com,paid,1.00,EUR,2025-03-05,Mug,Zoë\n".encode("cp1252")
    path = write(tmp_path, f"{SMALL_HEADER}\n{rows}".encode() + late)
    assert path.stat().st_size > 64 * 1024
    with open_export(path) as reader:
        assert reader.report.encoding == "utf-8"
        with pytest.raises(InputFileError) as caught:
            list(reader.records())
    assert caught.value.message == (
        f"{path}:1202: not UTF-8 text, though the file is UTF-8 before it; "
        "save it as UTF-8 and import again"
    )


def test_a_windows_1252_file_with_an_undefined_byte_later_names_the_line(
    tmp_path: Path,
) -> None:
    good = "#{n},a{n}@example.com,paid,12.00,EUR,2025-03-05,Café,Zoë Adams\n"
    rows = "".join(good.format(n=n) for n in range(1, 1201))
    bad = b"#9999,z@example.com,paid,1,EUR,,\x90,\n"
    path = write(tmp_path, f"{SMALL_HEADER}\n{rows}".encode("cp1252") + bad)
    with open_export(path) as reader:
        assert reader.report.encoding == "cp1252"
        with pytest.raises(InputFileError, match=r":1202: not Windows-1252 text"):
            list(reader.records())


def test_a_bom_on_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    data = codecs.BOM_UTF8 + f"{SMALL_HEADER}\n#1,a@example.com\n".encode() + b"#2,Zo\xeb\n"
    path = write(tmp_path, data)
    assert error_of(path) == (
        f"{path}:3: not UTF-8 text, though the file is UTF-8 before it; "
        "save it as UTF-8 and import again"
    )


def test_records_are_read_once() -> None:
    with open_export(FIXTURES / "gumroad_sales.csv") as reader:
        list(reader.records())
        with pytest.raises(RuntimeError):
            list(reader.records())


# -- streaming ----------------------------------------------------------------------


def many_rows(tmp_path: Path, count: int) -> Path:
    rows = "".join(
        f"#{n},c{n}@example.com,paid,12.00,USD,2025-03-05 10:00:00 -0500,Mug,Customer\n"
        for n in range(count)
    )
    return write(tmp_path, f"{SMALL_HEADER}\n{rows}".encode())


def test_records_stream_and_progress_is_told(tmp_path: Path) -> None:
    path = many_rows(tmp_path, 2500)
    told: list[int] = []
    progress: Callable[[int], None] = told.append
    with open_export(path) as reader:
        records = reader.records(progress)
        first = next(records)
        assert first.ref == "#0"
        assert reader.report.rows < 2500  # read as it goes, not all at once
        rest = list(records)
    assert len(rest) == 2499
    assert len(told) >= 3 and told == sorted(told)
    assert told[-1] == path.stat().st_size


def test_the_formats_name_only_fields_the_reader_reads() -> None:
    plan_fields = {f.name for f in fields(_Plan)} - {
        "width",
        "labels",
        "european",
        "header_currency",
    }
    assert plan_fields == set(formats.FIELDS)
    for known in formats.KNOWN:
        assert set(known.columns) <= set(formats.FIELDS), known.label
    assert formats.detect([]) is None


# -- edges found in review ---------------------------------------------------------------
MAPPED = {"Order": "ref", "Email": "email", "Total": "total", "Date": "date", "Qty": "quantity"}


def test_a_windows_1252_byte_far_into_an_ascii_file_is_windows_1252(tmp_path: Path) -> None:
    rows = [f"A-{n},c{n}@example.com,1.00,2025-01-01,1" for n in range(3000)]  # > 64 KiB
    rows.append("A-9999,zoe@example.com,2.00,2025-01-02,1")
    path = tmp_path / "late.csv"
    text = "Order,Email,Total,Date,Qty,Note\r\n" + "\r\n".join(f"{r}," for r in rows)
    path.write_bytes(
        text.encode("ascii")
        + "\r\nA-10000,z@example.com,3.00,2025-01-03,1,Zoë\r\n".encode("cp1252")
    )
    assert path.stat().st_size > 64 * 1024
    with open_export(path, mapping={**MAPPED, "Note": "item"}) as reader:
        records = list(reader.records())
        assert reader.report.encoding == "cp1252"
    assert records[-1].items == [Item("Zoë", 1)]  # no price column mapped


def test_dates_and_quantities_out_of_range_are_row_problems(tmp_path: Path) -> None:
    path = tmp_path / "edges.csv"
    path.write_text(
        "Order,Email,Total,Date,Qty\r\n"
        "A-1,a@example.com,1.00,0001-01-01T00:00:00+05:00,1\r\n"
        "A-2,b@example.com,1.00,9999-12-31T23:00:00-05:00,1\r\n"
        "A-3,c@example.com,1.00,2025-01-01,99999999999999999999999\r\n"
        "A-4,d@example.com,1.00,2025-01-01,-2\r\n"
        "A-5,e@example.com,1.00,2025-01-01,2\r\n",
        "utf-8",
    )
    orders, report = read(path, mapping=MAPPED)
    assert list(orders) == ["A-5"]
    assert [(p.line, p.message) for p in report.problems] == [
        (2, "Date is not a date"),
        (3, "Date is not a date"),
        (4, "Qty is not a quantity"),
        (5, "Qty is not a quantity"),
    ]


def test_a_pipe_is_refused_with_one_message(tmp_path: Path) -> None:
    import os

    read_end, write_end = os.pipe()
    os.close(write_end)
    with pytest.raises(InputFileError, match="is a pipe, not a file"):
        open_export(Path(f"/dev/fd/{read_end}"))
    os.close(read_end)
