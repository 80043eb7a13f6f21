"""`recover new` through the CLI with scripted answers: what the operator sees, and
what lands on disk."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from recovery_cli.cli import prompter
from recovery_cli.playbooks.catalog import default_dir
from tests.conftest import SAMPLE, Run, answer_for, read_case

DETAILS = ["Dana Reyes", "dana@example.com", "A-1001", "40", "phone"]


@pytest.fixture
def sample(user_playbook: Callable[[str, str], Path]) -> Path:
    return user_playbook("sample", SAMPLE)


def test_full_walk_of_the_sample(run: Run, home: Path, sample: Path) -> None:
    result = run(
        "new",
        "--playbook",
        "sample",
        answers=[*DETAILS, "Link never came", "", "no", "2,3", "Done, refunded", "T-9", "", "n"],
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Case 1 started · Sample recovery" in out
    assert "Step 2 of 7 · Apologize" in out
    assert "SAY   I'm sorry, Dana. That should not have happened." in out
    assert "2. Full refund  40.00 USD  (refund)" in out
    assert "Remedies now total 50.00 USD, above this playbook's goodwill limit of 25.00 USD" in out
    assert "Case 1 · walk complete" in out
    assert "Total: 50.00 USD (goodwill limit 25.00 USD)  above the limit" in out
    assert "Status: awaiting follow-up" in out

    case = read_case(home, "1")
    assert case["customer"] == {
        "name": "Dana Reyes",
        "email": "dana@example.com",
        "order": "A-1001",
        "order_value": "40.00",
        "channel": "phone",
    }
    assert case["playbook"]["id"] == "sample" and case["playbook"]["hash"].startswith("sha256:")
    assert [(s["id"], s["status"]) for s in case["steps"]] == [
        ("listen", "answered"),
        ("sorry", "done"),
        ("arrived", "answered"),
        ("remedy", "answered"),
        ("refund-now", "noted"),
        ("escalate", "answered"),
        ("check-in", "done"),
    ]
    assert case["steps"][0]["answer"] == "Link never came"
    assert case["steps"][2]["answer"] is False
    assert [(r["offer"], r["amount"]) for r in case["remedies"]] == [
        ("refund", "40.00"),
        ("credit", "10.00"),
    ]
    assert case["follow_ups"][0]["message"] == "Is everything working now, Dana? (Link never came)"
    assert case["status"] == "awaiting_follow_up" and case["walk_completed_at"]
    for step in case["steps"]:
        assert step["started_at"] <= step["ended_at"]


def test_playbook_menu_and_options_prefill_details(run: Run, home: Path, sample: Path) -> None:
    result = run(
        "new",
        "--name",
        "Li",
        "--value",
        "$1,200.50",
        answers=["sample", "", "", "", "x", ":pause"],
    )
    assert result.exit_code == 0, result.output
    assert "Which playbook fits this call?" in result.stdout
    assert "Sample recovery" in result.stdout
    # name and value came from options: only email, order and channel were asked.
    assert run.prompter is not None
    assert run.prompter.asked[:4] == [
        "Playbook number (1-9): ",
        "Email: ",
        "Order reference: ",
        "Channel (phone, email, chat...): ",
    ]
    case = read_case(home, "1")
    assert case["customer"]["name"] == "Li" and case["customer"]["order_value"] == "1200.50"


def test_bad_input_is_asked_again(run: Run, home: Path, sample: Path) -> None:
    result = run(
        "new",
        answers=["99", "sample", "Ann", "not-an-email", "", "", "ten", "", "", "x", ":pause"],
    )
    assert result.exit_code == 0, result.output
    assert "Type a number from 1 to" in result.stdout
    assert "That does not look like an email address" in result.stdout
    assert "not an amount" in result.stdout
    assert read_case(home, "1")["customer"]["email"] == ""


def test_back_skip_help_and_pause(run: Run, home: Path, sample: Path) -> None:
    result = run(
        "new",
        "-p",
        "sample",
        answers=[
            *DETAILS,
            "first words",
            ":back",
            "better words",
            ":skip",
            ":help",
            ":bogus",
            ":pause",
        ],
    )
    assert result.exit_code == 0, result.output
    # Back at the first step, its answer is on the line to edit.
    assert run.prompter is not None
    back_at = len(DETAILS) + 2
    assert run.prompter.asked[back_at] == "What went wrong?: "
    assert run.prompter.prefills[back_at] == "first words"
    assert ":pause   stop here" in result.stdout
    assert "Unknown command ':bogus'" in result.stdout
    assert "Paused. Case 1 is saved." in result.stderr
    assert "Resume with: recover resume 1" in result.stderr
    case = read_case(home, "1")
    assert [(s["id"], s["status"]) for s in case["steps"]] == [
        ("listen", "answered"),
        ("sorry", "skipped"),
    ]
    assert case["steps"][0]["answer"] == "better words"
    assert case["walk_completed_at"] is None
    assert case["log"][-1]["event"] == "paused"


@pytest.mark.parametrize(("key", "code", "reason"), [("^C", 130, "interrupt"), ("^D", 130, "eof")])
def test_interrupt_saves_and_tells_how_to_resume(
    run: Run, home: Path, sample: Path, key: str, code: int, reason: str
) -> None:
    result = run("new", "-p", "sample", answers=[*DETAILS, "it broke", "", key])
    assert result.exit_code == code
    assert "Stopped. Case 1 is saved with every answered step." in result.stderr
    assert "Resume with: recover resume 1" in result.stderr
    assert "Traceback" not in result.output
    case = read_case(home, "1")
    assert [s["id"] for s in case["steps"]] == ["listen", "sorry"]
    assert case["log"][-1]["event"] == f"interrupted ({reason})"


def test_interrupt_in_details_keeps_the_case(run: Run, home: Path, sample: Path) -> None:
    result = run("new", "-p", "sample", answers=["Ann", "^C"])
    assert result.exit_code == 130
    assert "Case 1 is saved" in result.stderr
    assert read_case(home, "1")["customer"]["name"] == "Ann"


def test_interrupt_at_the_menu_saves_nothing(run: Run, home: Path, sample: Path) -> None:
    result = run("new", answers=["^C"])
    assert result.exit_code == 130
    assert "nothing needed saving" in result.stderr
    assert not (home / "cases").exists() or not list((home / "cases").iterdir())


def test_markup_in_customer_text_is_shown_literally(run: Run, home: Path, sample: Path) -> None:
    result = run(
        "new",
        "-p",
        "sample",
        answers=["[red]Bob[/red] \x1b]0;pwned\x07", "", "", "", "", "[bold]x", ":pause"],
    )
    assert result.exit_code == 0, result.output
    assert "I'm sorry, [red]Bob[/red]. That should not have happened." in result.stdout
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert read_case(home, "1")["customer"]["name"] == "[red]Bob[/red] ]0;pwned"


def test_unknown_playbook_option(run: Run, sample: Path) -> None:
    result = run("new", "-p", "nope", answers=[])
    assert result.exit_code == 4
    assert "Error: no playbook 'nope'" in result.stderr
    assert "sample" in result.stderr


def test_broken_user_playbook_is_reported_not_offered(
    run: Run, user_playbook: Callable[[str, str], Path], sample: Path
) -> None:
    bad = user_playbook("bad", 'id = "bad"\ntitle = "Bad"\n[[steps]]\nid = "a"\nsya = "x"\n')
    result = run("new", answers=["^C"])
    assert f"Warning: {bad}:5:1: steps[0].sya: unknown key (did you mean 'say'?)" in result.stderr
    assert "Bad" not in result.stdout.split("Which playbook")[1]


def test_refuses_without_a_terminal(run: Run, home: Path) -> None:
    result = run("new")  # no scripted prompter: the real check runs on CliRunner's stdin
    assert result.exit_code == 2
    assert "Error: recover new asks its questions on a terminal" in result.stderr
    assert not (home / "cases").exists()


def test_bad_value_option_is_a_usage_error(run: Run) -> None:
    result = run("new", "--value", "lots")
    assert result.exit_code == 2
    assert "not an amount" in result.stderr


class AutoPrompter(prompter.ScriptedPrompter):
    """Answers whatever a playbook asks, by the shape of the prompt."""

    def __init__(self, playbook_id: str) -> None:
        super().__init__([])
        self.playbook_id = playbook_id
        self.picks = 0

    def ask(self, prompt: str, *, prefill: str = "") -> str:
        self.asked.append(prompt)
        self.prefills.append(prefill)
        if len(self.asked) > 200:
            raise AssertionError("the walk does not end")
        if prompt.startswith("Pick"):
            self.picks += 1
        # The answer is the line sent: it replaces whatever the line started with.
        return answer_for(prompt, len(self.asked), self.playbook_id)


@pytest.mark.parametrize("playbook_id", sorted(p.stem for p in default_dir().glob("*.toml")))
def test_full_walk_of_every_default_playbook(
    run: Run, home: Path, monkeypatch: pytest.MonkeyPatch, playbook_id: str
) -> None:
    auto = AutoPrompter(playbook_id)
    monkeypatch.setattr(prompter, "open_prompter", lambda console, **_: auto)
    result = run("new")
    assert result.exit_code == 0, result.output
    assert "walk complete" in result.stdout
    case = read_case(home, "1")
    assert case["walk_completed_at"] is not None
    assert case["playbook"]["id"] == playbook_id
    assert case["steps"], "no step recorded"
    assert all(s["status"] in ("answered", "noted", "done") for s in case["steps"])
    assert all(s["started_at"] <= s["ended_at"] for s in case["steps"])
    assert case["follow_ups"], "every default playbook promises a follow-up"
    assert auto.picks >= 1 and case["remedies"], "every default playbook offers remedies"
    for remedy in case["remedies"]:
        assert remedy["amount"] is None or re.fullmatch(r"\d+\.\d\d", remedy["amount"])


def test_naming_a_broken_playbook_shows_every_problem_and_exits_3(
    run: Run, user_playbook: Callable[[str, str], Path]
) -> None:
    bad = user_playbook(
        "bad", 'id = "bad"\ntitle = "Bad"\n[[steps]]\nid = "a"\nsay = "Hi $nobody"\npick = 2\n'
    )
    result = run("new", "-p", "bad", answers=[])
    assert result.exit_code == 3
    assert result.stderr.startswith(f"Error: {bad} is not a valid playbook (2 problems):\n")
    assert f"  {bad}:5:1: steps[0].say: unknown placeholder $nobody\n" in result.stderr
    assert f"  {bad}:6:1: steps[0].pick:" in result.stderr
    assert "Warning" not in result.stderr
    assert "Traceback" not in result.output


def test_walk_commands_work_at_the_customer_detail_prompts(
    run: Run, home: Path, sample: Path
) -> None:
    result = run(
        "new", "-p", "sample",
        answers=["Ann", ":skip", ":help", "A-7", ":back", ":back", ":back",
                 "", "a@b.co", "", "", "", ":pause"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert ":pause   stop here" in result.stdout
    assert run.prompter is not None
    # Going back puts each earlier detail on the line; Enter sends it unchanged.
    assert list(zip(run.prompter.asked, run.prompter.prefills, strict=True))[7:10] == [
        ("Name: ", "Ann"),
        ("Email: ", ""),
        ("Order reference: ", "A-7"),
    ]
    assert "Paused. Case 1 is saved." in result.stderr
    customer = read_case(home, "1")["customer"]
    assert customer == {
        "name": "Ann", "email": "a@b.co", "order": "A-7", "order_value": None, "channel": "",
    }  # fmt: skip


def test_a_detail_erased_on_going_back_is_blank_again(run: Run, home: Path, sample: Path) -> None:
    result = run(
        "new", "-p", "sample",
        answers=["Ann", "a@b.co", "A-7", "12", ":back", ":back", "^U", "^U", "", ":pause"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    customer = read_case(home, "1")["customer"]
    assert customer == {
        "name": "Ann", "email": "a@b.co", "order": "", "order_value": None, "channel": "",
    }  # fmt: skip


def test_options_are_cleaned_and_checked_like_typed_answers(
    run: Run, home: Path, sample: Path
) -> None:
    result = run(
        "new", "-p", "sample", "--name", "Eve\x1b]0;PWNED\x07\x1b[31m", "--email", "e@x.io",
        "--order", "A-1", "--value", "5", "--channel", "chat", answers=[":pause"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert read_case(home, "1")["customer"]["name"] == "Eve]0;PWNED[31m"
    assert "\x1b" not in run("list").stdout and "\x1b" not in run("show", "1").stdout
    bad = run("new", "-p", "sample", "--email", "not an email")
    assert bad.exit_code == 2 and "does not look like an email" in bad.stderr


def test_a_case_open_in_another_terminal_cannot_be_walked_twice(
    run: Run, home: Path, sample: Path
) -> None:
    from recovery_cli.store import Store

    run("new", "-p", "sample", answers=[*DETAILS, ":pause"])
    other_terminal = Store(home)
    with other_terminal.session("1"):
        result = run("resume", "1", answers=[])
        assert result.exit_code == 6
        assert "Error: case 1 is open in another terminal" in result.stderr
        # Without an id, resume looks for a case nobody else has open.
        assert run("resume", answers=[]).exit_code == 4
    assert run("resume", "1", answers=[":pause"]).exit_code == 0


def test_a_change_behind_the_walks_back_is_not_overwritten(
    run: Run, home: Path, sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    run("new", "-p", "sample", answers=[*DETAILS, ":pause"])
    path = home / "cases" / "1.json"

    class Meddler(prompter.ScriptedPrompter):
        def ask(self, prompt: str, *, prefill: str = "") -> str:
            data = json.loads(path.read_text())
            data["revision"] += 1
            data["customer"]["name"] = "Edited by hand"
            path.write_text(json.dumps(data))
            return "typed while someone edited the file"

    monkeypatch.setattr(prompter, "open_prompter", lambda console, **_: Meddler([]))
    result = run("resume", "1")
    assert result.exit_code == 6
    assert "case 1 was changed elsewhere since it was opened here" in result.stderr
    assert json.loads(path.read_text())["customer"]["name"] == "Edited by hand"


# -- what Enter does -------------------------------------------------------------------------
WITH_DEFAULT = SAMPLE.replace(
    'prompt = "Did it arrive now?", type = "yesno" }',
    'prompt = "Did it arrive now?", type = "yesno", default = true }',
)


def test_enter_takes_defaults_and_declines_offers_and_the_outcome_is_offered_with_yes(
    run: Run, home: Path, user_playbook: Callable[[str, str], Path]
) -> None:
    user_playbook("sample", WITH_DEFAULT)
    # Enter at every prompt but the outcome's (no answer suggests one).
    result = run(
        "new", "-p", "sample", answers=[*DETAILS, "Late", "", "", "", "", "", "1", "", "", "", ""]
    )
    assert result.exit_code == 0, result.output
    assert run.prompter is not None
    walk = run.prompter.asked[len(DETAILS) :]
    assert walk[1:5] == [
        "Note (optional): ",
        "Did it arrive now? (Y/n): ",
        "Pick (numbers, like 1,3): ",
        "Note (optional): ",
    ]
    assert walk[5].endswith("prevention)? (Y/n): ") and walk[6] == "Outcome (1-4): "
    out = result.stdout
    assert "Enter: yes · :back · :skip · :pause · :help" in out
    assert "Enter: none of these · :back · :skip · :pause · :help" in out
    assert "No remedies recorded." in out and "Declined: Put it right" in out
    case = read_case(home, "1")
    assert [(s["id"], s["status"], s["answer"]) for s in case["steps"]] == [
        ("listen", "answered", "Late"),
        ("sorry", "done", None),
        ("arrived", "answered", True),
        ("remedy", "declined", []),
        ("check-in", "done", None),
    ]
    assert case["remedies"] == [] and case["outcome"]["result"] == "kept"
    shown = run("show", "1").stdout
    assert "none of these" in shown


def test_the_outcome_form_starts_from_the_walks_root_cause_and_prevention(
    run: Run, home: Path, user_playbook: Callable[[str, str], Path]
) -> None:
    playbook = SAMPLE + (
        '\n[[steps]]\nid = "why"\nask = { key = "root_cause", prompt = "Why?" }\n'
        '\n[[steps]]\nid = "fix"\nask = { key = "prevention", prompt = "Fix?" }\n'
    )
    user_playbook("sample", playbook)
    answers = [*DETAILS, "Late", "", "y", "1", "", "Courier lost it", "Track every parcel"]
    result = run("new", "-p", "sample", answers=[*answers, "", "1", "4", "", "courier", " daily"])
    assert result.exit_code == 0, result.output
    assert run.prompter is not None
    asked = list(zip(run.prompter.asked, run.prompter.prefills, strict=True))
    assert asked[-3:] == [
        ("Root cause (what really went wrong?): ", "Courier lost it"),
        ("Cause tag (a word or two to group by, like email or packaging): ", ""),
        ("Prevention (how will you make sure it never happens again?): ", "Track every parcel"),
    ]
    outcome = read_case(home, "1")["outcome"]
    assert (outcome["root_cause"], outcome["cause_tag"]) == ("Courier lost it", "courier")
    # A line typed over what was there replaces it (the scripted answer is the line sent).
    assert outcome["prevention"] == "daily"
