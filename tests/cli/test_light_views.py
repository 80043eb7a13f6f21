"""The everyday views build no case model: ``list``, ``show``, ``followups``,
``customer``, ``prevent``, ``stats`` and ``config`` answer from the index's rows and
files it vouches for, in a process that never imports Pydantic, the case models or
Rich's console (each costs about as much as Typer's whole import), nor Jinja2, which
only ``recover report`` pays for.

Each is run as a real process on a store whose index is up to date, and what it
imported is read from ``sys.modules`` as it exits. What they print is asserted here and
in the view tests; a file changed behind the index's back is read again, and then,
only then, is the case checked with the models.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from recovery_cli.store import encode
from tests.store.test_index_rules import corpus

# What an everyday view must never import: the models, Pydantic, Rich's console.
HEAVY = (
    "pydantic",
    "recovery_cli.case",
    "recovery_cli.casework",
    "recovery_cli.walk",
    "recovery_cli.playbooks.model",
    "rich.console",
    "rich.table",
    # The monthly report's: only `recover report` imports them (see below).
    "jinja2",
    "markupsafe",
    "recovery_cli.reportpage",
)
PROBE = (
    "import sys; sys.argv = ['recover', *sys.argv[1:]]\n"
    "from recovery_cli.entry import main\n"
    "try:\n    main()\nexcept SystemExit as done:\n    code = done.code\nelse:\n    code = 0\n"
    f"heavy = sorted(m for m in sys.modules if m in {HEAVY!r})\n"
    "sys.stdout.flush()\n"
    "print('HEAVY', heavy, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def recover(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``recover ARGS`` as its own process, reporting what it imported on stderr."""
    return subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={
            "RECOVER_HOME": str(home),
            "RECOVER_CACHE_DIR": os.environ["RECOVER_CACHE_DIR"],
            "RECOVER_STATE_DIR": os.environ["RECOVER_STATE_DIR"],
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "NO_COLOR": "1",
            "TZ": "UTC",
        },
    )


def imported(result: subprocess.CompletedProcess[str]) -> list[str]:
    line = next(x for x in result.stderr.splitlines() if x.startswith("HEAVY "))
    names: list[str] = json.loads(line.removeprefix("HEAVY ").replace("'", '"'))
    return names


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """Three cases with every part a row is made of, and an index that has read them."""
    cases = tmp_path / "cases"
    cases.mkdir(parents=True)
    for case in corpus():
        (cases / f"{case.id}.json").write_bytes(encode(case))
    first = recover(tmp_path, "list")
    assert first.returncode == 0, first.stderr
    assert "pydantic" in imported(first), "the first look reads every file into the index"
    return tmp_path


@pytest.mark.parametrize(
    ("args", "shows"),
    [
        (("list",), "Dana Reyes"),
        (("list", "--status", "closed", "--limit", "1"), "closed"),
        (("list", "--json"), '"remedy_total": "29.00"'),
        (("show", "1"), "Check the link (open)"),
        (("show", "2"), "Zoë Ünal"),
        (("show", "3", "--json"), '"schema_version": 1'),
        (("followups", "--all"), "Is it working now?"),
        (("followups", "--json", "--all"), '"message": "Is it working now?"'),
        (("customer", "dana"), "Remedies given in all: 29.00 USD"),
        (("customer", "=1+1", "--json"), '"order": "=1+1"'),
        (("prevent", "--all"), "Check the link"),
        (("prevent", "--json"), '"prevention": "Check the link"'),
        (("show", "4"), "reply to kim@example.com: sent"),
        (("stats",), "Cases          4"),
        (("stats", "--json"), '"cases": 4'),
        (("config",), "mail.order_pattern  (not set)"),
    ],
)
def test_an_everyday_view_builds_no_case_model(
    store: Path, args: tuple[str, ...], shows: str
) -> None:
    result = recover(store, *args)
    assert result.returncode == 0, result.stderr
    assert shows in result.stdout, result.stdout
    assert imported(result) == [], result.stderr


def test_a_file_changed_behind_the_index_is_read_again_and_only_it(store: Path) -> None:
    path = store / "cases" / "1.json"
    data = json.loads(path.read_text())
    data["customer"]["name"] = "Dana Reyes-Okafor"
    path.write_text(json.dumps(data, indent=2))  # in place: the folder's mtime stays
    listed = recover(store, "list")
    assert listed.returncode == 0, listed.stderr
    assert "Dana Reyes-Okafor" in listed.stdout
    assert "pydantic" in imported(listed), "the changed file was checked with the models"
    again = recover(store, "list")
    assert "Dana Reyes-Okafor" in again.stdout and imported(again) == []
    shown = recover(store, "show", "1")
    assert "Dana Reyes-Okafor" in shown.stdout and imported(shown) == []


def test_show_checks_a_file_the_index_has_not_read(store: Path) -> None:
    path = store / "cases" / "2.json"
    data = json.loads(path.read_text())
    data["customer"]["name"] = "Zoë Ünal-Berg"
    path.write_text(json.dumps(data))
    shown = recover(store, "show", "2")
    assert shown.returncode == 0, shown.stderr
    assert "Zoë Ünal-Berg" in shown.stdout
    assert "recovery_cli.case" in imported(shown), "a file the index does not vouch for is checked"


def test_show_of_a_damaged_file_is_one_message_and_exit_5(store: Path) -> None:
    (store / "cases" / "2.json").write_text('{"schema_version": 1, "id": "2"}')
    shown = recover(store, "show", "2")
    assert shown.returncode == 5
    assert shown.stderr.startswith("Error: ") and "is not a valid case file" in shown.stderr
    assert "Traceback" not in shown.stderr
    listed = recover(store, "list")
    assert listed.returncode == 0
    assert "is not a valid case file" in listed.stderr and "Dana Reyes" in listed.stdout


def test_show_of_a_sound_file_not_written_as_recover_writes_it(store: Path) -> None:
    """The models accept a time given as a number of seconds; the page is then made
    from what the models read, not from the file's own JSON."""
    path = store / "cases" / "2.json"
    data = json.loads(path.read_text())
    data["created_at"] = 1781482000  # 2026-06-15 00:06:40 UTC
    path.write_text(json.dumps(data, indent=2))
    assert recover(store, "list").returncode == 0  # the index has read it, and vouches
    shown = recover(store, "show", "2")
    assert shown.returncode == 0, shown.stderr
    assert "Opened       Mon 15 Jun 00:06" in shown.stdout and "Zoë Ünal" in shown.stdout
    assert "recovery_cli.case" in imported(shown)


def test_the_order_views_build_no_case_model(store: Path, tmp_path: Path) -> None:
    from recovery_cli.orders.importing import import_files
    from tests.orders.exports import write_shopify

    exports = tmp_path / "exports"
    exports.mkdir()
    import_files(store, [write_shopify(exports)])
    for args, shows in (
        (("orders", "list"), "2 × Blue Mug, Tea Towel"),
        (("orders", "list", "--json"), '"ref": "#1042"'),
        (("orders", "show", "#1042"), "Order #1042 · Shopify"),
        (("customer", "dana"), "Orders: 3 orders since Mar 2025"),
        (("stats", "--json"), '"bought_again": {'),
    ):
        result = recover(store, *args)
        assert result.returncode == 0, result.stderr
        assert shows in result.stdout, result.stdout
        assert imported(result) == [], (args, result.stderr)


def test_without_orders_no_view_imports_the_order_book(store: Path) -> None:
    """With no order imported, what a view pays for orders is one directory listing:
    the order book's modules (and orjson) are never imported."""
    probe = PROBE.replace(repr(HEAVY), repr(("recovery_cli.orders.book", "orjson")))
    for args in (("stats",), ("customer", "dana"), ("list",), ("show", "1")):
        result = subprocess.run(
            [sys.executable, "-c", probe, *args],
            capture_output=True, text=True, timeout=60, check=False,
            env={"RECOVER_HOME": str(store), "RECOVER_CACHE_DIR": os.environ["RECOVER_CACHE_DIR"],
                 "RECOVER_STATE_DIR": os.environ["RECOVER_STATE_DIR"],
                 "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "NO_COLOR": "1"},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert imported(result) == [], (args, result.stderr)


def test_only_the_report_imports_jinja2_and_it_builds_no_case_model(store: Path) -> None:
    page = store / "r.html"
    result = recover(store, "report", "--month", "2026-06", "-o", str(page))
    assert result.returncode == 0, result.stderr
    assert "<!DOCTYPE html>" in page.read_text()
    assert imported(result) == ["jinja2", "markupsafe", "recovery_cli.reportpage"], result.stderr
    for args in (("--help",), ("report", "--help"), ("stats",), ("list",)):
        other = recover(store, *args)
        assert other.returncode == 0, other.stderr
        assert imported(other) == [], (args, other.stderr)
