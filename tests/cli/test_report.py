"""``recover report`` on the command line: where the page goes, which period it covers,
``--open``, and every way it can be asked wrongly. (What the page says is told in
tests/test_report.py; how it renders, in tests/report/, in a real browser.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Clock, Run, mode
from tests.test_report import KNOWN, NOW, Page, json_at, write_store


@pytest.fixture
def shop(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, freeze: Clock) -> Path:
    """The known store, today 3 Dec 2026 in UTC, the current folder an empty one."""
    import time

    monkeypatch.setenv("TZ", "UTC0")
    time.tzset()
    write_store(home, KNOWN)
    freeze(NOW)
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    yield here
    monkeypatch.delenv("TZ")
    time.tzset()


def test_the_default_is_last_month_in_the_current_folder(run: Run, shop: Path) -> None:
    result = run("report")
    assert result.exit_code == 0, result.output
    assert result.stdout == "report-2026-11.html\n"
    page = shop / "report-2026-11.html"
    assert mode(page) == 0o600
    assert "Recoveries, November 2026" in Page(page.read_bytes()).text
    assert [p.name for p in shop.iterdir()] == ["report-2026-11.html"]  # no temp file left


def test_the_numbers_are_those_of_stats_for_the_same_month(run: Run, shop: Path) -> None:
    assert run("report", "--month", "2026-11").exit_code == 0
    stats = json.loads(
        run("stats", "--json", "--since", "2026-11-01", "--until", "2026-11-30").stdout
    )
    page = Page((shop / "report-2026-11.html").read_bytes())
    assert len(page.numbers) > 60
    for path, value in page.numbers:
        assert json.loads(value) == json_at(stats, path), path


def test_another_month_a_file_named_and_a_file_replaced(run: Run, shop: Path) -> None:
    target = shop / "october.html"
    target.write_text("old")
    target.chmod(0o644)
    result = run("report", "--month", "2026-10", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{target}\n"
    assert mode(target) == 0o600 and "Recoveries, October 2026" in target.read_text()


def test_dates_from_and_to(run: Run, shop: Path) -> None:
    result = run("report", "--since", "2026-10-15", "--until", "2026-11-06")
    assert result.exit_code == 0, result.output
    assert result.stdout == "report-2026-10-15-to-2026-11-06.html\n"
    text = Page((shop / "report-2026-10-15-to-2026-11-06.html").read_bytes()).text
    assert "Recoveries, 15 Oct 2026 to 6 Nov 2026" in text


def test_to_standard_output(run: Run, shop: Path) -> None:
    result = run("report", "-o", "-")
    assert result.exit_code == 0
    assert result.stdout.startswith("<!DOCTYPE html>") and result.stdout.rstrip().endswith(
        "</html>"
    )
    assert list(shop.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--month", "2026-13"), "a month is written YYYY-MM"),
        (("--month", "<script>"), "a month is written YYYY-MM"),
        (("--month", "2026-11", "--since", "2026-11-01"), "not both"),
        (("--since", "2026-11-20", "--until", "2026-11-02"), "is after --until"),
        (("--since", "yesterday"), "Invalid value for '--since'"),
        (("--month", "9999-12"), "a report covers the years 1000 to 9998"),
        (("--since", "2027-01-01"), "(2027-01-01) is after today"),
        (("-o", ""), "give a file name, or - for standard output"),
        (("-o", "-", "--open"), "a page sent to standard output cannot be opened"),
    ],
)
def test_a_period_asked_wrongly_is_a_usage_error(
    run: Run, shop: Path, args: tuple[str, ...], says: str
) -> None:
    result = run("report", *args)
    assert result.exit_code == 2, result.output
    assert says in result.output and "Traceback" not in result.output
    assert "<script>" not in result.output
    assert list(shop.iterdir()) == []


def test_a_folder_that_does_not_exist(run: Run, shop: Path) -> None:
    result = run("report", "-o", str(shop / "missing" / "r.html"))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot write") and "Traceback" not in result.output
    assert list(shop.iterdir()) == []


def test_a_folder_given_for_the_file_is_a_usage_error(run: Run, shop: Path) -> None:
    (shop / "reports").mkdir()
    result = run("report", "-o", str(shop / "reports"))
    assert result.exit_code == 2 and "is a directory" in result.output
    assert list((shop / "reports").iterdir()) == []


def test_a_damaged_case_is_named_and_the_rest_reported(run: Run, shop: Path, home: Path) -> None:
    (home / "cases" / "3.json").write_text("{not json")
    result = run("report")
    assert result.exit_code == 0, result.output
    assert "Warning:" in result.stderr and "3.json" in result.stderr
    assert (home / "cases" / "3.json").read_text() == "{not json"
    assert "Recoveries, November 2026" in (shop / "report-2026-11.html").read_text()


def process(home: Path, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "recovery_cli", "report", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
        env={
            "RECOVER_HOME": str(home),
            "RECOVER_CACHE_DIR": os.environ["RECOVER_CACHE_DIR"],
            "RECOVER_STATE_DIR": os.environ["RECOVER_STATE_DIR"],
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "TZ": "UTC",
            **env,
        },
    )


def test_open_hands_the_page_to_the_default_browser(home: Path, shop: Path, tmp_path: Path) -> None:
    seen = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {seen}\n')
    browser.chmod(0o755)
    result = process(home, shop, "--month", "2026-11", "--open", BROWSER=f"{browser} %s")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "report-2026-11.html\n"
    for _ in range(100):  # the browser is started, not waited for
        if seen.exists() and seen.read_text():
            break
        import time

        time.sleep(0.05)
    assert seen.read_text() == (shop / "report-2026-11.html").as_uri()


def test_open_with_no_browser_to_start_still_writes_the_page(
    home: Path, shop: Path, tmp_path: Path
) -> None:
    # Nothing on the PATH either: no text-mode browser or xdg-open to fall back on.
    (tmp_path / "bin").mkdir()
    result = process(
        home,
        shop,
        "--open",
        BROWSER="/nonexistent/browser %s",
        DISPLAY="",
        PATH=str(tmp_path / "bin"),
    )
    assert result.returncode == 0, result.stderr
    assert "no browser could be started; open report-2026-11.html yourself" in result.stderr
    assert (shop / "report-2026-11.html").exists()
