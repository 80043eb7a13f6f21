"""`recover resume`, `list`, `show` and `config` through the CLI."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from recovery_cli.cli import prompter
from tests.conftest import SAMPLE, Run, read_case

REAL_PROMPTER = prompter.open_prompter

DETAILS = ["Dana Reyes", "dana@example.com", "A-1001", "40", "phone"]


@pytest.fixture
def sample(user_playbook: Callable[[str, str], Path]) -> Path:
    return user_playbook("sample", SAMPLE)


def paused_case(run: Run, *extra: str) -> None:
    result = run("new", "-p", "sample", answers=[*DETAILS, "never came", *extra, ":pause"])
    assert result.exit_code == 0, result.output


def test_resume_continues_at_the_first_unanswered_step(run: Run, home: Path, sample: Path) -> None:
    paused_case(run, "")
    result = run("resume", "1", answers=["yes", "1", "", "n"])
    assert result.exit_code == 0, result.output
    assert "Resuming case 1 · Sample recovery" in result.stdout
    assert result.stdout.endswith("Later: recover close 1\n")
    assert "Step 3 of 7 · Check it arrived" in result.stdout
    assert "Step 1 of 7" not in result.stdout
    case = read_case(home, "1")
    assert case["steps"][0]["answer"] == "never came"
    assert case["walk_completed_at"] is not None
    assert [e["event"] for e in case["log"]] == [
        "created",
        "paused",
        "resumed",
        "walk completed",
    ]


def test_resume_without_id_takes_the_latest_unfinished(run: Run, home: Path, sample: Path) -> None:
    paused_case(run)
    paused_case(run)
    result = run("resume", answers=[":pause"])
    assert result.exit_code == 0
    assert "Resuming case 2" in result.stdout


def test_resume_after_the_playbook_changed(
    run: Run, home: Path, sample: Path, user_playbook: Callable[[str, str], Path]
) -> None:
    paused_case(run, "")
    user_playbook("sample", SAMPLE.replace('id = "sorry"', 'id = "apology"'))
    result = run("resume", "1", answers=["", ":pause"])
    assert result.exit_code == 0, result.output
    assert "The playbook changed since this case started" in result.stdout
    assert "Step 'sorry' is no longer in the playbook" in result.stdout
    assert "Step 2 of 7 · Apologize" in result.stdout
    case = read_case(home, "1")
    assert [s["id"] for s in case["steps"]] == ["listen", "apology", "sorry"]
    assert case["log"][-2]["detail"].startswith("playbook sha256:")


def test_resume_errors(run: Run, home: Path, sample: Path) -> None:
    result = run("resume")
    assert result.exit_code == 4 and "Error: no unfinished case to resume" in result.stderr
    result = run("resume", "12")
    assert result.exit_code == 4 and "Error: no case 12" in result.stderr
    result = run("resume", "../etc")
    assert result.exit_code == 2 and "is not a case id" in result.stderr


def test_resume_a_finished_case_says_so(run: Run, home: Path, sample: Path) -> None:
    walked = run("new", "-p", "sample", answers=[*DETAILS, "never came", "", "yes", "1", "", "n"])
    assert walked.exit_code == 0, walked.output
    result = run("resume", "1", answers=[])
    assert result.exit_code == 0
    assert "already walked to the end" in result.stdout


def test_resume_when_the_playbook_is_gone(run: Run, home: Path, sample: Path) -> None:
    paused_case(run)
    sample.unlink()
    result = run("resume", "1", answers=[])
    assert result.exit_code == 4
    assert "playbook 'sample', which is not available" in result.stderr


def test_list_newest_first_with_damaged_files_reported(run: Run, home: Path, sample: Path) -> None:
    assert "No cases yet" in run("list").stdout
    paused_case(run)
    run(
        "new", "-p", "sample", "--name", "[red]Zed", answers=["", "", "", "", "x", "", "y", "1", ""]
    )
    (home / "cases" / "3.json").write_text("{not json")
    result = run("list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "Status", "Customer", "Playbook", "Walk", "Remedies", "Age"]
    assert lines[1].split()[:6] == ["2", "awaiting", "follow-up", "[red]Zed", "sample", "done"]
    assert lines[2].split()[:6] == ["1", "open", "Dana", "Reyes", "sample", "step"]
    assert "3.json is damaged (not JSON); it was left untouched" in result.stderr
    assert (home / "cases" / "3.json").read_text() == "{not json"
    only_open = run("list", "--status", "open")
    assert "Zed" not in only_open.stdout and "Dana" in only_open.stdout
    assert run("list", "--status", "nope").exit_code == 2
    assert len(run("list", "--limit", "1").stdout.splitlines()) == 2


def test_show_prints_the_whole_case(run: Run, home: Path, sample: Path) -> None:
    run("new", "-p", "sample", answers=[*DETAILS, "never came", "", "no", "2", "", "T-1", ""])
    result = run("show", "#1")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for fragment in (
        "Case 1 · awaiting follow-up",
        "Dana Reyes",
        "dana@example.com",
        "40.00 USD",
        "Sample recovery (sample, sha256:",
        "never came",
        "Full refund",
        "T-1",
        "Is everything working now, Dana?",
    ):
        assert fragment in out, fragment


def test_show_errors(run: Run, home: Path) -> None:
    assert run("show", "3").exit_code == 4
    (home / "cases").mkdir(parents=True)
    (home / "cases" / "3.json").write_bytes(b"\x00\x00")
    result = run("show", "3")
    assert result.exit_code == 5 and "damaged" in result.stderr
    assert "Traceback" not in result.output


def test_config_set_and_show(run: Run, home: Path) -> None:
    assert run("config", "set", "seller", "Sam").stdout == "seller = Sam\n"
    assert run("config", "set", "currency", "eur").stdout == "currency = EUR\n"
    shown = run("config").stdout
    assert "Sam" in shown and "EUR" in shown and "(not set)" in shown
    assert (home / "config.toml").read_text() == 'seller = "Sam"\nbusiness = ""\ncurrency = "EUR"\n'
    assert stat.S_IMODE(os.stat(home / "config.toml").st_mode) == 0o600
    bad = run("config", "set", "currency", "euros")
    assert bad.exit_code == 1 and "three-letter code" in bad.stderr
    assert run("config", "set", "colour", "x").exit_code == 1


def test_settings_fill_placeholders(
    run: Run, home: Path, user_playbook: Callable[[str, str], Path]
) -> None:
    run("config", "set", "seller", "Sam")
    run("config", "set", "currency", "EUR")
    user_playbook(
        "hi",
        'id = "hi"\ntitle = "Hi"\n[[steps]]\nid = "a"\nsay = "This is $seller at $business."\n',
    )
    result = run("new", "-p", "hi", answers=["", "", "", "12", "", ""])
    assert "This is Sam at ‹business›." in result.stdout
    assert read_case(home, "1")["currency"] == "EUR"


def test_broken_config_is_reported(run: Run, home: Path) -> None:
    home.mkdir()
    (home / "config.toml").write_text("seller = \n")
    result = run("config")
    assert result.exit_code == 1 and "config.toml is not valid TOML" in result.stderr


def test_resume_when_the_playbook_is_now_broken(run: Run, home: Path, sample: Path) -> None:
    paused_case(run)
    before = (home / "cases" / "1.json").read_bytes()
    sample.write_text('id = "sample"\n')
    result = run("resume", "1", answers=[])
    assert result.exit_code == 3
    assert f"{sample}:1:1: title: missing required key" in result.stderr
    assert (home / "cases" / "1.json").read_bytes() == before


def test_resume_of_a_finished_walk_needs_no_settings(run: Run, home: Path, sample: Path) -> None:
    paused_case(run, "")
    finished = run("resume", "1", answers=["yes", "1", "", "n"])
    assert finished.exit_code == 0, finished.output
    (home / "config.toml").write_text("seller = [broken", encoding="utf-8")
    before = (home / "cases" / "1.json").read_bytes()
    result = run("resume", "1")
    assert result.exit_code == 0, result.output
    assert "Case 1 was already walked to the end. Details: recover show 1" in result.stdout
    assert (home / "cases" / "1.json").read_bytes() == before


def test_resume_without_a_terminal_says_so_and_records_nothing(
    run: Run, home: Path, sample: Path
) -> None:
    paused_case(run)
    before = (home / "cases" / "1.json").read_bytes()
    run.monkeypatch.setattr(prompter, "open_prompter", REAL_PROMPTER)  # CliRunner's stdin
    result = run("resume", "1")
    assert result.exit_code == 2, result.output
    assert "Error: recover resume asks its questions on a terminal" in result.stderr
    assert (home / "cases" / "1.json").read_bytes() == before
