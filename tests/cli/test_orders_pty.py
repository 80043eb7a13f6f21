"""The order look-up in a real terminal: ``recover new`` in a pseudo-terminal, read off
the screen through a VT100 emulator. An order number fills the card, which is shown
literally and confirmed with Enter; the first step's lines use the order's items."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import read_case
from tests.orders.exports import SHOPIFY_ROWS, write_etsy, write_shopify
from tests.screen import ENTER, open_screen
from tests.terminal import run

pytestmark = pytest.mark.pty


def imported(home: Path, tmp_path: Path, rows: list[str] | None = None) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    paths = [write_shopify(exports, rows), *write_etsy(exports)]
    done = run(home, "orders", "import", *map(str, paths))
    assert done.returncode == 0, done.stderr


def test_an_order_number_fills_the_card_on_screen(tmp_path: Path) -> None:
    home = tmp_path / "home"
    imported(home, tmp_path)
    with open_screen(home, "new", "-p", "wrong-item", cols=100) as screen:
        screen.wait_prompt(1)
        assert screen.find("Name, email or order: ") is not None, screen.dump()
        screen.send("#1042" + ENTER)
        screen.wait_prompt(2)
        card = screen.text()
        assert "Order #1042 · Shopify" in card
        for row in ("Customer  Dana Reyes", "Email     dana@example.com", "Value     48.00 USD",
                    "Date      10 Jun 2025", "Items     2 × Blue Mug, Tea Towel"):  # fmt: skip
            assert any(line.strip() == row for line in screen.display), screen.dump(row)
        assert screen.find("Use these details? (Enter: yes · n: type them): ") is not None
        screen.send(ENTER)
        screen.wait_prompt(3)
        assert screen.find("Channel (phone, email, chat...): ") is not None, screen.dump()
        screen.send("phone" + ENTER)
        screen.wait_prompt(4)
        text = " ".join(screen.text().split())
        assert "Returning customer: 3 orders since Mar 2025, 114.00 USD in all" in text
        assert (
            "Pull up order #1042 (Blue Mug and Tea Towel, ordered 10 Jun 2025 on Shopify)" in text
        ), screen.dump()
        screen.send(":pause" + ENTER)
        assert screen.finish() == 0
    customer = read_case(home)["customer"]
    assert customer["name"] == "Dana Reyes" and customer["platform"] == "Shopify"


def test_customer_text_from_an_export_is_shown_literally(tmp_path: Path) -> None:
    home = tmp_path / "home"
    hostile = SHOPIFY_ROWS[1].replace("Dana Reyes", "[bold]Dana[/bold] \x1b[2J\x1b[31mRed", 1)
    imported(home, tmp_path, [hostile, SHOPIFY_ROWS[2]])
    with open_screen(home, "new", "-p", "wrong-item", cols=100) as screen:
        screen.wait_prompt(1)
        screen.send("dana@example.com" + ENTER)
        screen.wait_prompt(2)
        assert "Use these details?" in screen.text(), screen.dump()
        assert "[bold]Dana[/bold]" in screen.text()  # markup shown, not applied
        assert "Order #1042" in screen.text()  # the escape did not clear the screen
        screen.send(ENTER)
        screen.wait_prompt(3)
        screen.send(":pause" + ENTER)
        assert screen.finish() == 0
    # Cleaned like a typed answer: the escape character is dropped, the rest is text.
    assert read_case(home)["customer"]["name"] == "[bold]Dana[/bold] [2J[31mRed"
