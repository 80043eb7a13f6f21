"""``recover orders`` and what imported orders change elsewhere, through the real
command: the import's detection and summary, bad input (one message each, nothing
half-imported), list, show, forget, the customer view, stats, doctor and export; and
the walk filling its card from an order reference or an email (scripted input)."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import SAMPLE, Clock, Run, read_case
from tests.orders.exports import (
    SHOPIFY_HEADER,
    SHOPIFY_ROWS,
    csv_text,
    write_etsy,
    write_shopify,
)

# The sample playbook, with a line that names the order's first item.
WITH_ITEM = SAMPLE.replace(
    'say = "I\'m sorry, $first_name. That should not have happened."',
    'say = "I\'m sorry about your $item, $first_name (ordered $order_date on $platform)."',
)


@pytest.fixture
def shop(run: Run, home: Path, tmp_path: Path) -> Path:
    """A home with the Shopify export and the Etsy pair imported."""
    exports = tmp_path / "exports"
    exports.mkdir()
    result = run("orders", "import", str(write_shopify(exports)), *map(str, write_etsy(exports)))
    assert result.exit_code == 0, result.output
    return exports


@pytest.fixture
def playbook(user_playbook: Callable[[str, str], Path]) -> Path:
    return user_playbook("sample", WITH_ITEM)


# -- import ---------------------------------------------------------------------------------
def test_import_prints_the_detection_and_a_summary(run: Run, home: Path, tmp_path: Path) -> None:
    shopify = write_shopify(tmp_path)
    etsy_orders, etsy_items = write_etsy(tmp_path)
    result = run("orders", "import", str(shopify), str(etsy_orders), str(etsy_items))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "orders.csv: Shopify orders export, 6 rows → 5 orders",
        "EtsySoldOrders2025.csv: Etsy Sold Orders, 1 row → 1 order",
        "  It has no email: the walk finds its orders by order reference.",
        "EtsySoldOrderItems2025.csv: Etsy Sold Order Items, 2 rows → 1 order",
        "  It has no email: the walk finds its orders by order reference.",
        "Imported: 6 new orders, 0 updated, 0 unchanged.",
    ]
    again = run("orders", "import", str(shopify))
    assert again.exit_code == 0
    assert again.stdout.splitlines()[-1] == "Imported: 0 new orders, 0 updated, 5 unchanged."


def test_a_dry_run_changes_nothing(run: Run, home: Path, tmp_path: Path) -> None:
    result = run("orders", "import", "--dry-run", str(write_shopify(tmp_path)))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == (
        "Would import: 5 new orders, 0 updated, 0 unchanged. Nothing was changed (--dry-run)."
    )
    assert not (home / "orders").exists() or not list((home / "orders").glob("*.jsonl"))


BAD_ROWS = [
    SHOPIFY_ROWS[0],
    SHOPIFY_ROWS[4].replace(",30.00,,0.00,Standard", ",thirty,,0.00,Standard"),  # line 3
    SHOPIFY_ROWS[5].replace("2025-07-02 08:00:00 +0200,1,Oak", "the 2nd of July,1,Oak"),  # line 4
]


def test_bad_rows_are_listed_with_file_and_line_and_the_rest_imports(
    run: Run, home: Path, tmp_path: Path
) -> None:
    path = write_shopify(tmp_path, BAD_ROWS, "bad.csv")
    result = run("orders", "import", str(path))
    assert result.exit_code == 1
    assert "Imported: 1 new order, 0 updated, 0 unchanged." in result.stdout
    assert "Skipped 2 rows: 2 a bad amount or date." in result.stdout
    assert "! 2 rows were skipped for a bad value:" in result.stderr
    assert f"{path}:3: Total is not an amount" in result.stderr
    assert f"{path}:4: Created at is not a date" in result.stderr
    assert "thirty" not in result.stderr and "July" not in result.stderr
    assert "Traceback" not in result.output


def test_strict_imports_nothing_when_a_row_is_bad(run: Run, home: Path, tmp_path: Path) -> None:
    path = write_shopify(tmp_path, BAD_ROWS, "bad.csv")
    result = run("orders", "import", "--strict", str(path))
    assert result.exit_code == 7
    assert result.stderr.startswith(
        "Error: 2 rows have a bad amount or date, so nothing was imported (--strict):"
    )
    assert f"{path}:3: Total is not an amount" in result.stderr
    assert not list((home / "orders").glob("*.jsonl"))


@pytest.mark.parametrize(
    ("content", "options", "expected"),
    [
        (b"", [], "is empty"),
        (b"Colour,Size,Price\r\nred,M,3\r\n", [], "matches no export recover knows"),
        (b"Date,Total\r\n2025-01-01,3.00\r\n", ["--platform", "shopify"], "no order reference"),
        (SHOPIFY_HEADER.encode() + b"\r\n#1,\x81\x8d\x8f@y\r\n", [], "not UTF-8"),
    ],
    ids=["empty", "unknown header", "no reference", "undecodable"],
)
def test_a_file_that_cannot_be_read_is_one_message_and_exit_7(
    run: Run, home: Path, tmp_path: Path, content: bytes, options: list[str], expected: str
) -> None:
    good = write_shopify(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    result = run("orders", "import", str(good), str(bad), *options)
    assert result.exit_code == 7, result.output
    assert result.stderr.startswith("Error: ") and expected in result.stderr
    assert "Traceback" not in result.output
    # Every file is opened before any is read: the good one was not imported either.
    assert not list((home / "orders").glob("*.jsonl"))


def test_an_unknown_header_names_the_formats_and_the_map_form(
    run: Run, home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "mine.csv"
    path.write_text("Order No,E-mail,Amount,When\r\nA-7,x@example.com,9.50,2025-01-02\r\n")
    result = run("orders", "import", str(path))
    assert result.exit_code == 7
    for name in ("Shopify", "Etsy", "Gumroad", "WooCommerce", "Stripe", "--map"):
        assert name in result.stderr
    mapped = run(
        "orders", "import", str(path), "--map", "Order No=ref,E-mail=email",
        "--map", "Amount=total", "--map", "When=date",
    )  # fmt: skip
    assert mapped.exit_code == 0, mapped.output
    assert "mine.csv: CSV export (mapped columns), 1 row → 1 order" in mapped.stdout
    shown = json.loads(run("orders", "show", "A-7", "--json").stdout)
    assert shown[0]["email"] == "x@example.com" and shown[0]["total"] == "9.50"
    assert shown[0]["platform"] == "csv"
    bad_map = run("orders", "import", str(path), "--map", "Order No=colour")
    assert bad_map.exit_code == 2 and "COLUMN=FIELD" in bad_map.output


def test_formula_cells_stay_text_and_are_neutralised_in_the_case_export(
    run: Run, home: Path, tmp_path: Path, playbook: Path
) -> None:
    row = SHOPIFY_ROWS[0].replace("Dana Reyes", '=HYPERLINK("http://x.example")', 1)
    row = row.replace("#1001", "#2001").replace(",5001,", ",6001,")
    path = tmp_path / "formula.csv"
    path.write_text(
        csv_text(SHOPIFY_HEADER, [row])
        .replace('"http', '""http')
        .replace('example")', 'example"")')
        .replace("=HYPERLINK(", '"=HYPERLINK(')
        .replace('"")', '"")"'),
        "utf-8",
    )
    assert run("orders", "import", str(path)).exit_code == 0
    order = json.loads(run("orders", "show", "#2001", "--json").stdout)[0]
    assert order["name"] == '=HYPERLINK("http://x.example")'
    result = run(
        "new", "-p", "sample", "--order", "#2001", "--answers", str(answers(tmp_path)),
        "--no-input",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    exported = run("export", "-f", "csv").stdout
    assert "'=HYPERLINK(" in exported and ",=HYPERLINK(" not in exported


# -- list, show, forget ------------------------------------------------------------------
def test_list_and_show(run: Run, home: Path, shop: Path) -> None:
    listed = run("orders", "list")
    assert listed.exit_code == 0
    rows = listed.stdout.splitlines()
    assert rows[0].split() == [
        "Date", "Order", "Platform", "Customer", "Email", "Total", "Status", "Items",
    ]  # fmt: skip
    assert [row.split()[1] for row in rows[1:-1]] == [
        "#1077", "2871234567", "#1051", "#1050", "#1042", "#1001",
    ]  # fmt: skip
    assert rows[-1] == "6 orders"
    assert "2 × Blue Mug, Tea Towel" in listed.stdout
    mine = json.loads(run("orders", "list", "--customer", "dana", "--json").stdout)
    assert [o["ref"] for o in mine] == ["#1077", "#1042", "#1001"]
    assert set(mine[0]) == {
        "platform", "ref", "key", "date", "name", "email", "phone", "total", "refunded",
        "currency", "status", "items",
    }  # fmt: skip
    recent = json.loads(run("orders", "list", "--since", "2025-08-01", "--json").stdout)
    assert [o["ref"] for o in recent] == ["#1077", "2871234567"]
    shown = run("orders", "show", "1042")
    assert shown.exit_code == 0
    assert shown.stdout.splitlines()[0] == "Order #1042 · Shopify"
    assert "Total     48.00 USD" in shown.stdout and "Blue Mug" in shown.stdout
    missing = run("orders", "show", "#9999")
    assert missing.exit_code == 4
    assert missing.stderr.startswith("Error: no imported order has that reference")


def test_forget_asks_and_deletes_for_real(run: Run, home: Path, shop: Path) -> None:
    refused = run("orders", "forget")
    assert refused.exit_code == 2 and "--yes" in refused.stderr  # no terminal to ask on
    assert len(json.loads(run("orders", "list", "--json").stdout)) == 6
    etsy = run("orders", "forget", "--platform", "etsy", "--yes")
    assert etsy.exit_code == 0 and etsy.stdout == "Forgot 1 order.\n"
    everything = run("orders", "forget", "--yes")
    assert everything.stdout == "Forgot 5 orders.\n"
    assert json.loads(run("orders", "list", "--json").stdout) == []
    assert run("orders", "list").stdout.startswith("No orders.")
    assert not list((home / "orders").glob("*.jsonl"))


# -- the customer, stats, doctor ------------------------------------------------------------
def test_customer_shows_orders_and_lifetime_value(run: Run, home: Path, shop: Path) -> None:
    result = run("customer", "dana@example.com")
    assert result.exit_code == 0
    assert "Orders: 3 orders since Mar 2025, 114.00 USD in all" in result.stdout
    data = json.loads(run("customer", "dana@example.com", "--json").stdout)
    assert [o["ref"] for o in data["orders"]] == ["#1077", "#1042", "#1001"]
    # 66 + 48 + (30 refunded in full); the voided order of Sam's is not a sale.
    assert data["lifetime"] == {
        "customers": 1,
        "orders": 3,
        "since": "2025-03-02T15:00:00Z",
        "value": {"USD": "114.00"},
    }
    sam = json.loads(run("customer", "sam", "--json").stdout)
    assert sam["lifetime"]["orders"] == 1 and sam["lifetime"]["value"] == {"EUR": "30.00"}


def answers(folder: Path, **extra: str) -> Path:
    path = folder / "answers.toml"
    body = 'playbook = "sample"\n[answers]\ncomplaint = "Chipped"\narrived = true\nremedy = []\n'
    path.write_text(body, "utf-8")
    return path


def test_stats_show_who_bought_again_after_the_case(
    run: Run, home: Path, shop: Path, playbook: Path, tmp_path: Path, freeze: Clock
) -> None:
    # Dana's case after #1001 (March): she bought again in June, within 90 days.
    # Sam's case after #1050 (1 July): only a voided order since: not bought again.
    for ref, when in (("#1001", (2025, 4, 1)), ("#1050", (2025, 7, 1, 12))):
        freeze(datetime(*when, tzinfo=UTC))  # type: ignore[misc]
        made = run(
            "new", "-p", "sample", "--order", ref, "--answers", str(answers(tmp_path)),
            "--no-input",
        )  # fmt: skip
        assert made.exit_code == 0, made.output
    freeze(datetime(2026, 11, 1, tzinfo=UTC))
    for case_id, outcome in (("1", "kept"), ("2", "lost")):
        closed = run("close", case_id, "--outcome", outcome, "--keep-follow-ups", "--no-input")
        assert closed.exit_code == 0, closed.output
    data = json.loads(run("stats", "--json").stdout)
    assert data["bought_again"] == {
        "kept": {
            "cases": 1, "bought_again": 1, "share": 1.0, "window_open": 0,
            "revenue": {"USD": "48.00"},
        },
        "refunded": {"cases": 0, "bought_again": 0, "share": None, "window_open": 0, "revenue": {}},
        "lost": {"cases": 1, "bought_again": 0, "share": 0.0, "window_open": 0, "revenue": {}},
    }  # fmt: skip
    shown = run("stats").stdout
    assert "Bought again within 90 days of the case" in shown
    assert "  kept            1 of 1   100%  48.00 USD" in shown
    assert "  lost            0 of 1     0%  —" in shown


def test_stats_without_orders_say_nothing_of_buying_again(run: Run, home: Path) -> None:
    assert json.loads(run("stats", "--json").stdout)["bought_again"] is None


def test_doctor_checks_the_order_book(run: Run, home: Path, shop: Path) -> None:
    fine = run("doctor")
    assert fine.exit_code == 0, fine.output
    assert "6 imported orders" in fine.stdout
    path = home / "orders" / "shopify.jsonl"
    path.write_bytes(path.read_bytes() + b"{oops\n")
    path.chmod(0o644)
    found = run("doctor", "--json")
    assert found.exit_code == 1
    findings = json.loads(found.stdout)["findings"]
    assert {(f["check"], f["severity"]) for f in findings} == {
        ("orders", "error"),
        ("permissions", "warning"),
    }
    assert any("shopify.jsonl line 7 is not an order" in f["message"] for f in findings)
    run("doctor", "--fix")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# -- the walk ----------------------------------------------------------------------------
def test_an_order_reference_fills_the_card_and_the_walk_uses_item(
    run: Run, home: Path, shop: Path, playbook: Path
) -> None:
    result = run("new", "-p", "sample", answers=["#1042", "", "phone", ":pause"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Name, email or order: " in run.prompter.asked[0]  # type: ignore[union-attr]
    assert "Order #1042 · Shopify" in out and "2 × Blue Mug, Tea Towel" in out
    case = read_case(home)
    assert case["customer"] == {
        "name": "Dana Reyes",
        "email": "dana@example.com",
        "order": "#1042",
        "order_value": "48.00",
        "channel": "phone",
        "order_date": "2025-06-10T14:15:00Z",
        "items": ["Blue Mug", "Tea Towel"],
        "platform": "Shopify",
    }
    assert case["currency"] == "USD"
    # The returning-customer notice counts her orders.
    assert (
        "! Returning customer: 3 orders since Mar 2025, 114.00 USD in all; no earlier case" in out
    )
    walked = run("resume", "1", answers=["Chipped", ":pause"])
    assert "I'm sorry about your Blue Mug, Dana (ordered 10 Jun 2025 on Shopify)." in walked.stdout


def test_an_email_with_several_orders_gives_a_numbered_choice_newest_first(
    run: Run, home: Path, shop: Path, playbook: Path
) -> None:
    result = run("new", "-p", "sample", answers=["DANA@example.com", "2", "", "", ":pause"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "3 orders match:" in out
    first, second, third = (out.index(f"  {n}. #") for n in (1, 2, 3))
    assert out[first:].startswith("  1. #1077") and out[second:].startswith("  2. #1042")
    assert out[third:].startswith("  3. #1001")
    case = read_case(home)
    assert case["customer"]["order"] == "#1042"


def test_a_currency_comes_with_the_order(run: Run, home: Path, shop: Path, playbook: Path) -> None:
    result = run("new", "-p", "sample", answers=["2871234567", "", "", ":pause"])
    assert result.exit_code == 0, result.output
    case = read_case(home)
    assert case["currency"] == "GBP" and case["customer"]["order_value"] == "38.00"
    assert case["customer"]["name"] == "Ana Souza" and case["customer"]["email"] == ""
    assert case["customer"]["items"] == ["Ceramic Vase", "Tile Coaster"]


def test_no_match_goes_on_as_without_orders(
    run: Run, home: Path, shop: Path, playbook: Path
) -> None:
    result = run(
        "new", "-p", "sample",
        answers=["Zoë Unknown", "zoe@example.com", "#5555", "12", "phone", ":pause"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    customer = read_case(home)["customer"]
    assert (customer["name"], customer["email"], customer["order"]) == (
        "Zoë Unknown", "zoe@example.com", "#5555",
    )  # fmt: skip
    assert "items" not in customer and "platform" not in customer  # written as before
    # An email that matches nothing, typed at the first prompt, is the email.
    # The name is asked still, then the email prompt has it on its line.
    again = run("new", "-p", "sample", answers=["new@example.com", "", "", "", "", "", ":pause"])
    assert read_case(home, "2")["customer"]["email"] == "new@example.com", again.output


def test_declining_the_card_types_the_details_by_hand(
    run: Run, home: Path, shop: Path, playbook: Path
) -> None:
    run("new", "-p", "sample", answers=["#1042", "n", "Someone Else", "", "", "", ":pause"])
    customer = read_case(home)["customer"]
    assert customer["name"] == "Someone Else" and customer["order"] == "#1042"
    assert "items" not in customer


def test_order_and_email_options_fill_the_card(
    run: Run, home: Path, shop: Path, playbook: Path, tmp_path: Path
) -> None:
    result = run("new", "-p", "sample", "--order", "#1050", answers=["", "chat", ":pause"])
    assert result.exit_code == 0, result.output
    assert read_case(home)["customer"]["name"] == "Sam Lee"
    assert read_case(home)["currency"] == "EUR"
    scripted = run(
        "new", "-p", "sample", "--email", "sam@example.com", "--order", "1051",
        "--answers", str(answers(tmp_path)), "--no-input",
    )  # fmt: skip
    assert scripted.exit_code == 0, scripted.output
    assert read_case(home, "2")["customer"]["order"] == "#1051"
    several = run(
        "new", "-p", "sample", "--email", "dana@example.com",
        "--answers", str(answers(tmp_path)), "--no-input",
    )  # fmt: skip
    assert several.exit_code == 2
    assert "matches 3 orders" in several.stderr and "--order" in several.stderr
    assert "dana@example.com" not in several.stderr
    assert not (home / "cases" / "3.json").exists()


# -- found in review ---------------------------------------------------------------------
def test_an_order_with_a_bad_row_is_skipped_whole_and_a_fix_brings_it_once(
    run: Run, home: Path, tmp_path: Path
) -> None:
    bad_first = SHOPIFY_ROWS[1].replace(",48.00,,0.00,Standard", ",forty,,0.00,Standard")
    broken = write_shopify(tmp_path, [SHOPIFY_ROWS[0], bad_first, SHOPIFY_ROWS[2]], "bad.csv")
    result = run("orders", "import", str(broken))
    assert result.exit_code == 1
    assert "1 a bad amount or date, 1 of an order with a bad row" in result.stdout
    assert run("orders", "show", "1042").exit_code == 4  # not half of it
    fixed = write_shopify(tmp_path, SHOPIFY_ROWS[:3], "fixed.csv")
    assert run("orders", "import", str(fixed)).exit_code == 0
    (order,) = json.loads(run("orders", "show", "1042", "--json").stdout)
    assert [i["name"] for i in order["items"]] == ["Blue Mug", "Tea Towel"]
    assert order["items"][0] == {"name": "Blue Mug", "quantity": 2, "price": "12.00", "sku": "BM-1"}


def test_every_bad_row_is_listed(run: Run, home: Path, tmp_path: Path) -> None:
    rows = [
        SHOPIFY_ROWS[0].replace("#1001", f"#{n}").replace(",66.00,,", ",lots,,")
        for n in range(2000, 2025)
    ]
    path = write_shopify(tmp_path, rows, "many.csv")
    result = run("orders", "import", str(path))
    assert result.exit_code == 1
    assert [line for line in result.stderr.splitlines() if "is not an amount" in line] == [
        f"  {path}:{n}: Total is not an amount" for n in range(2, 27)
    ]


def test_a_pipe_is_refused(run: Run, home: Path) -> None:
    result = run("orders", "import", "/dev/stdin")
    assert (
        result.exit_code == 7 or "is a pipe" in result.stderr or "cannot be read" in result.stderr
    )


def test_commands_work_at_the_card_and_the_choice(
    run: Run, home: Path, shop: Path, playbook: Path
) -> None:
    # :pause at the card: what was typed is saved; nothing from the order is.
    paused = run("new", "-p", "sample", answers=["#1042", ":pause"])
    assert paused.exit_code == 0 and "Paused. Case 1 is saved." in paused.output
    customer = read_case(home)["customer"]
    assert customer["order"] == "#1042" and customer["name"] == ""
    # A typo at the card asks again; :back at the choice returns to the prompt.
    result = run(
        "new", "-p", "sample",
        answers=["#1042", "maybe", "", "", ":pause"],
    )  # fmt: skip
    assert "Enter uses these details; n types them by hand." in result.stdout
    assert read_case(home, "2")["customer"]["name"] == "Dana Reyes"
    back = run(
        "new", "-p", "sample",
        answers=["dana@example.com", ":back", "Someone", "", "", "", "", ":pause"],
    )  # fmt: skip
    assert back.exit_code == 0, back.output
    assert back.stdout.count("3 orders match:") == 1
    customer = read_case(home, "3")["customer"]
    assert customer["name"] == "Someone" and customer["email"] == "dana@example.com"
    assert "items" not in customer


def test_options_given_stay_when_the_card_fills(
    run: Run, home: Path, shop: Path, playbook: Path
) -> None:
    result = run(
        "new", "-p", "sample", "--order", "1042", "--value", "20", "--name", "Dee",
        answers=["", "", ":pause"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    customer = read_case(home)["customer"]
    assert (customer["name"], customer["order_value"], customer["order"]) == (
        "Dee", "20.00", "#1042",
    )  # fmt: skip
    assert customer["email"] == "dana@example.com" and customer["items"] == [
        "Blue Mug", "Tea Towel",
    ]  # fmt: skip


def test_another_order_typed_after_the_card_drops_the_first_orders_items(
    run: Run, home: Path, shop: Path, playbook: Path
) -> None:
    # The card fills from #1042; back at the order prompt, #9999 is typed by hand.
    result = run(
        "new",
        "-p",
        "sample",
        answers=["#1042", "", ":back", ":back", "\x15#9999", "", "", ":pause"],
    )
    assert result.exit_code == 0, result.output
    customer = read_case(home)["customer"]
    assert customer["order"] == "#9999" and "items" not in customer


def test_no_input_looks_up_the_order_of_the_answers_file(
    run: Run, home: Path, shop: Path, playbook: Path, tmp_path: Path
) -> None:
    path = answers(tmp_path)
    path.write_text(
        path.read_text().replace("[answers]", '[customer]\norder = "#1050"\n\n[answers]')
    )
    result = run("new", "--answers", str(path), "--no-input")
    assert result.exit_code == 0, result.output
    case = read_case(home)
    assert case["customer"]["name"] == "Sam Lee" and case["currency"] == "EUR"


def test_a_damaged_order_book_is_named_and_the_case_views_go_on(
    run: Run, home: Path, shop: Path
) -> None:
    (home / "orders" / "shopify.jsonl").write_text("garbled\n")
    for args in (("stats",), ("customer", "dana"), ("stats", "--json"), ("orders", "list")):
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
        assert "shopify.jsonl is not an order book file" in result.stderr
    assert json.loads(run("customer", "ana", "--json").stdout)["lifetime"]["orders"] == 1


def test_customer_sums_every_order_of_the_customer_a_query_finds(
    run: Run, home: Path, shop: Path
) -> None:
    data = json.loads(run("customer", "#1042", "--json").stdout)
    assert [o["ref"] for o in data["orders"]] == ["#1077", "#1042", "#1001"]
    assert data["lifetime"]["customers"] == 1 and data["lifetime"]["value"] == {"USD": "114.00"}
    everyone = run("customer", "a")  # in every customer's name or email
    assert "Orders (of 3 customers): " in everyone.stdout
