"""Scripting: --json output, piped tables, answers files, shell completion."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from recovery_cli.errors import ExitStatus
from tests.conftest import SAMPLE, Run, read_case

ROOT = Path(__file__).resolve().parents[2]

ANSWERS = """\
playbook = "sample"

[customer]
name = "Dana Reyes"
email = "dana@example.com"
order = "A-1001"
order_value = "40"
channel = "email"

[answers]
complaint = "The link never came"
arrived = false
remedy = ["refund", "credit"]
ticket = "T-77"

[notes]
sorry = "She accepted the apology."
"""


@pytest.fixture
def sample(user_playbook: Callable[[str, str], Path]) -> Path:
    return user_playbook("sample", SAMPLE)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_no_input_creates_a_complete_case_and_prints_its_id(
    run: Run, home: Path, sample: Path, tmp_path: Path
) -> None:
    result = run("new", "--answers", str(write(tmp_path, "a.toml", ANSWERS)), "--no-input")
    assert result.exit_code == 0, result.output
    assert result.stdout == "1\n"
    case = read_case(home, "1")
    assert case["customer"]["order_value"] == "40.00"
    assert [(s["id"], s["status"]) for s in case["steps"]] == [
        ("listen", "answered"),
        ("sorry", "noted"),
        ("arrived", "answered"),
        ("remedy", "answered"),
        ("refund-now", "done"),
        ("escalate", "answered"),
        ("check-in", "done"),
    ]
    assert case["steps"][1]["note"] == "She accepted the apology."
    assert [r["amount"] for r in case["remedies"]] == ["40.00", "10.00"]
    assert case["walk_completed_at"] and case["status"] == "awaiting_follow_up"
    assert case["follow_ups"][0]["message"].startswith("Is everything working now, Dana?")


def test_json_answers_file_and_playbook_option(
    run: Run, home: Path, sample: Path, tmp_path: Path
) -> None:
    data = tomllib.loads(ANSWERS)
    del data["playbook"]
    path = write(tmp_path, "a.json", json.dumps(data))
    result = run("new", "-p", "sample", "--answers", str(path), "--no-input", "--name", "Li")
    assert result.exit_code == 0, result.output
    assert read_case(home, "1")["customer"]["name"] == "Li"  # the option wins


def test_every_problem_at_once_and_no_case_written(
    run: Run, home: Path, sample: Path, tmp_path: Path
) -> None:
    bad = write(
        tmp_path,
        "bad.toml",
        'playbook = "sample"\ncolour = "red"\n[customer]\nemail = "nope"\nage = 3\n'
        '[answers]\ncomplaint = 5\narrived = "perhaps"\nremedy = ["gold"]\nnothing = 1\n'
        'ticket = "T"\n',
    )
    result = run("new", "--answers", str(bad), "--no-input")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == f"Error: {bad}: 8 problems, no case was written:"
    for fragment in (
        "unknown key 'colour'",
        "customer.age: unknown",
        "customer.email: That does not look like an email address.",
        "answers.nothing: this playbook asks no such thing",
        "answers.complaint: give text in quotes",
        "answers.arrived: answer y or n",
        "answers.remedy: 'gold' is not on the menu",
        "answers.ticket: not used, because its step did not run",
    ):
        assert any(fragment in line for line in lines), fragment
    assert not (home / "cases").exists() or not list((home / "cases").glob("*.json"))


def test_an_answers_file_with_text_that_is_not_unicode_is_refused(
    run: Run, home: Path, sample: Path, tmp_path: Path
) -> None:
    data = tomllib.loads(ANSWERS)
    path = write(tmp_path, "a.json", json.dumps(data).replace("Dana Reyes", "Dana \\ud83d"))
    result = run("new", "--answers", str(path), "--no-input")
    assert result.exit_code == 2
    assert "holds text that is not Unicode" in result.stderr
    assert "Traceback" not in result.output
    assert not (home / "cases").exists() or not list((home / "cases").glob("*.json"))


def test_required_answers_and_missing_pieces(
    run: Run, home: Path, user_playbook: Callable[[str, str], Path], tmp_path: Path
) -> None:
    user_playbook(
        "sample", SAMPLE.replace('prompt = "What went wrong?"', 'prompt = "?", required = true')
    )
    path = write(tmp_path, "a.toml", 'playbook = "sample"\n')
    result = run("new", "--answers", str(path), "--no-input")
    assert result.exit_code == 2
    assert "answers.complaint: missing, and step 'listen' needs an answer" in result.stderr
    assert run("new", "--no-input").exit_code == 2
    nobook = write(tmp_path, "n.toml", "[answers]\n")
    assert "no playbook" in run("new", "--answers", str(nobook), "--no-input").stderr
    broken = write(tmp_path, "b.toml", "playbook = \n")
    result = run("new", "--answers", str(broken), "--no-input")
    assert result.exit_code == 2 and "not valid TOML" in result.stderr
    missing = run("new", "--answers", str(tmp_path / "none.toml"), "--no-input")
    assert missing.exit_code == 2 and "cannot read" in missing.stderr


def test_answers_prefill_the_walk_and_only_the_rest_is_asked(
    run: Run, home: Path, sample: Path, tmp_path: Path
) -> None:
    partial = write(
        tmp_path,
        "p.toml",
        'playbook = "sample"\n[customer]\nname = "Ann"\n[answers]\ncomplaint = "Late"\n'
        "arrived = true\n",
    )
    result = run("new", "--answers", str(partial), answers=["", "", "", "", "", "3", "", "n"])
    assert result.exit_code == 0, result.output
    assert run.prompter is not None
    assert run.prompter.asked == [
        "Email: ",
        "Order reference: ",
        "Order value (USD): ",
        "Channel (phone, email, chat...): ",
        "Note (optional): ",
        "Pick (numbers, like 1,3): ",
        "Note (optional): ",
        "Record the outcome now (kept / refunded / lost / escalated, root cause, prevention)? "
        "(Y/n): ",
    ]
    assert "What went wrong?: Late  (answers file)" in result.stdout
    case = read_case(home, "1")
    assert case["customer"]["name"] == "Ann"
    assert case["steps"][0]["answer"] == "Late" and case["walk_completed_at"]


def test_a_declined_offer_is_saved_and_replayed_as_declined(
    run: Run, home: Path, sample: Path, tmp_path: Path
) -> None:
    saved = tmp_path / "walk.toml"
    walked = run(
        "new", "-p", "sample", "--save-answers", str(saved),
        answers=["Ann", "", "", "", "", "Broken", "", "y", "", "", "n"],
    )  # fmt: skip
    assert walked.exit_code == 0, walked.output
    assert tomllib.loads(saved.read_text())["answers"]["remedy"] == []
    replayed = run("new", "--answers", str(saved), "--no-input")
    assert replayed.exit_code == 0, replayed.output
    for case_id in ("1", "2"):
        record = next(s for s in read_case(home, case_id)["steps"] if s["id"] == "remedy")
        assert (record["status"], record["answer"]) == ("declined", [])


def test_save_answers_replays_to_the_same_case(
    run: Run, home: Path, sample: Path, tmp_path: Path
) -> None:
    saved = tmp_path / "walk.toml"
    walked = run(
        "new",
        "-p",
        "sample",
        "--save-answers",
        str(saved),
        answers=["Ann", "a@b.co", "A-1", "25", "chat", "Broken", "said sorry", "n", "2,3", "",
                 "T-1", "", "n"],
    )  # fmt: skip
    assert walked.exit_code == 0, walked.output
    data = tomllib.loads(saved.read_text())
    assert data == {
        "playbook": "sample",
        "customer": {
            "name": "Ann", "email": "a@b.co", "order": "A-1", "order_value": "25.00",
            "channel": "chat",
        },
        "answers": {"complaint": "Broken", "arrived": False, "remedy": ["refund", "credit"],
                    "ticket": "T-1"},
        "notes": {"sorry": "said sorry"},
    }  # fmt: skip
    replayed = run("new", "--answers", str(saved), "--no-input")
    assert replayed.stdout == "2\n"
    first, second = read_case(home, "1"), read_case(home, "2")
    for key in ("customer", "remedies"):
        assert first[key] == second[key]
    strip = [{k: v for k, v in s.items() if not k.endswith("_at")} for s in first["steps"]]
    assert strip == [{k: v for k, v in s.items() if not k.endswith("_at")} for s in second["steps"]]


def test_save_answers_after_a_pause_keeps_what_was_answered(
    run: Run, home: Path, sample: Path, tmp_path: Path
) -> None:
    saved = tmp_path / "walk.json"
    run("new", "-p", "sample", "--save-answers", str(saved),
        answers=["", "", "", "", "", "Broken", ":pause"])  # fmt: skip
    assert json.loads(saved.read_text()) == {
        "playbook": "sample",
        "answers": {"complaint": "Broken"},
    }


def test_list_json(run: Run, home: Path, sample: Path, tmp_path: Path) -> None:
    assert json.loads(run("list", "--json").stdout) == []
    path = write(tmp_path, "a.toml", ANSWERS)
    run("new", "--answers", str(path), "--no-input")
    run("new", "-p", "sample", answers=["Bo", "", "", "", "", ":pause"])
    data = json.loads(run("list", "--json").stdout)
    assert [c["id"] for c in data] == ["2", "1"]
    first = data[1]
    assert set(first) == {
        "id", "status", "created_at", "updated_at", "walk_completed_at", "customer", "playbook",
        "steps_recorded", "remedy_total", "currency", "follow_ups_pending", "next_follow_up_due",
    }  # fmt: skip
    assert first["customer"] == {"name": "Dana Reyes", "email": "dana@example.com",
                                 "order": "A-1001"}  # fmt: skip
    assert (first["remedy_total"], first["follow_ups_pending"]) == ("50.00", 1)
    assert data[0]["walk_completed_at"] is None and data[0]["next_follow_up_due"] is None
    only = json.loads(run("list", "--json", "--status", "open").stdout)
    assert [c["id"] for c in only] == ["2"]
    assert len(json.loads(run("list", "--json", "--limit", "1").stdout)) == 1


def test_show_json_is_the_file_as_stored(
    run: Run, home: Path, sample: Path, tmp_path: Path
) -> None:
    run("new", "--answers", str(write(tmp_path, "a.toml", ANSWERS)), "--no-input")
    path = home / "cases" / "1.json"
    data = json.loads(path.read_text())
    data["added_by_a_newer_version"] = {"x": 1}
    path.write_text(json.dumps(data))
    shown = run("show", "1", "--json")
    assert shown.exit_code == 0 and json.loads(shown.stdout) == data


def test_config_and_playbook_show_json(run: Run, sample: Path) -> None:
    run("config", "set", "seller", "Sam")
    config = json.loads(run("config", "--json").stdout)
    assert config == {
        "seller": "Sam", "business": "", "currency": "USD", "from": "", "smtp.host": "",
        "smtp.port": None, "smtp.security": "starttls", "smtp.user": "", "smtp.timeout": None,
        "mail.order_pattern": "",
        "file": str(Path(os.environ["RECOVER_HOME"]) / "config.toml"),
    }  # fmt: skip
    playbook = json.loads(run("playbook", "show", "sample", "--json").stdout)
    assert playbook["id"] == "sample" and playbook["origin"] == "yours"
    assert playbook["hash"].startswith("sha256:") and len(playbook["steps"]) == 7
    assert playbook["steps"][3]["offer"][1] == {
        "id": "refund", "label": "Full refund", "kind": "refund", "amount": "$order_value",
    }  # fmt: skip


def test_piped_tables_never_wrap_or_cut_a_cell(run: Run, home: Path, sample: Path) -> None:
    name = "Customer " + "with a very long name " * 12
    run("new", "-p", "sample", "--name", name.strip(), answers=["", "", "", "", ":pause"])
    lines = run("list").stdout.splitlines()
    assert len(lines) == 2 and name.strip() in lines[1]
    assert "…" not in run("show", "1").stdout


def test_exit_codes_are_documented_in_one_readme_table() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Exit codes", 1)[1].split("\n\n", 2)[1]
    documented = {
        int(line.split("|")[1]) for line in table.splitlines()[2:] if line.startswith("|")
    }
    assert documented == {int(status) for status in ExitStatus}


def _complete(home: Path, words: str) -> list[str]:
    env = {
        "RECOVER_HOME": str(home),
        "RECOVER_CACHE_DIR": os.environ["RECOVER_CACHE_DIR"],
        "RECOVER_STATE_DIR": os.environ["RECOVER_STATE_DIR"],
        "PATH": "/usr/bin:/bin",
        "_RECOVER_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split(" ")) - 1),
    }
    result = subprocess.run(
        [sys.executable, "-c", "from recovery_cli.cli import main; main()"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return result.stdout.split()


def test_shell_completion_of_case_and_playbook_ids(
    run: Run, home: Path, sample: Path, tmp_path: Path
) -> None:
    path = write(tmp_path, "a.toml", ANSWERS)
    for _ in range(12):
        run("new", "--answers", str(path), "--no-input")
    assert _complete(home, "recover show 1") == ["12", "11", "10", "1"]
    assert _complete(home, "recover resume ") == [str(n) for n in range(12, 0, -1)]
    assert _complete(home, "recover new -p sa") == ["sample"]
    assert _complete(home, "recover playbook show h") == ["heard", "hostile-caller"]
    assert _complete(home, "recover export --playbook no") == ["not-delivered"]
    assert _complete(tmp_path / "nowhere", "recover show ") == []
