"""Real-terminal tests: `recover` in a pseudo-terminal, typed into like a person would."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pexpect
import pytest

from tests.conftest import answer_for, read_case, sample_case
from tests.terminal import spawn

pytestmark = pytest.mark.pty

# A prompt, from where readline starts the line (it turns bracketed paste on, so the
# echo of an answer holding ": " is never taken for one), and what is already on its
# line (an earlier answer, to edit).
PROMPT = r"\x1b\[\?2004h[^\r\n]*: (\x1b\[0m)?[^\r\n\x1b]*$"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def drive(child: pexpect.spawn, *, stop_after: int | None = None) -> list[str]:
    """Answer prompts until the program ends (the walk, then the outcome offered at
    its end), or until ``stop_after`` answers were acknowledged by the next screen.
    Returns the prompts seen."""
    seen: list[str] = []
    while True:
        index = child.expect([PROMPT, pexpect.EOF])
        if index == 1:
            return seen
        prompt = ANSI.sub("", child.after.rsplit("\x1b[0m", 1)[0]).strip() + " "
        if stop_after is not None and len(seen) >= stop_after:
            return seen
        seen.append(prompt)
        # Ctrl-U first: the answer replaces whatever the line started with.
        child.sendline("\x15" + answer_for(prompt, len(seen), "not-delivered"))
        assert len(seen) < 200, "the walk does not end"


def test_full_walk_of_a_default_playbook(tmp_path: Path) -> None:
    child = spawn(tmp_path, "new")
    child.expect("Which playbook fits this call?")
    seen = drive(child)
    child.close()
    assert child.exitstatus == 0
    assert seen[0].startswith("Playbook number")
    case = read_case(tmp_path)
    assert case["customer"]["name"] == "Dana Reyes"
    assert case["playbook"]["id"] == "not-delivered"
    assert case["walk_completed_at"] is not None
    assert case["steps"] and case["follow_ups"]
    # The outcome offered at the end of the walk was taken, and asked on the terminal.
    assert seen[-6].startswith("Record the outcome now")
    assert case["outcome"]["result"] == "kept" and case["outcome"]["satisfaction"] == 4
    assert case["outcome"]["root_cause"] == f"typed {len(seen) - 2}"
    assert case["status"] == "awaiting_follow_up"


def test_ctrl_c_then_resume_loses_nothing(tmp_path: Path) -> None:
    child = spawn(tmp_path, "new", "-p", "not-delivered")
    child.expect("Customer details")
    # Five details, then three steps; press Ctrl-C at the fourth step's prompt.
    seen = drive(child, stop_after=8)
    child.sendintr()
    child.expect("Resume with: recover resume 1")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert "Traceback" not in (child.before or "")
    before = read_case(tmp_path)
    answered = [s["id"] for s in before["steps"]]
    assert len(answered) == len(seen) - 5  # five customer details, the rest are steps
    resumed = spawn(tmp_path, "resume")
    resumed.expect("Resuming case 1")
    drive(resumed)
    resumed.close()
    assert resumed.exitstatus == 0
    after = read_case(tmp_path)
    assert after["walk_completed_at"] is not None
    for record in before["steps"]:
        assert next(s for s in after["steps"] if s["id"] == record["id"]) == record


def test_sigkill_mid_walk_leaves_every_acknowledged_answer(tmp_path: Path) -> None:
    child = spawn(tmp_path, "new", "-p", "not-delivered")
    child.expect("Customer details")
    seen = drive(child, stop_after=7)  # the 7th prompt is on screen: 6 answers acknowledged
    os.kill(child.pid, signal.SIGKILL)
    child.expect(pexpect.EOF)
    child.close()
    assert child.signalstatus == signal.SIGKILL
    case = read_case(tmp_path)
    assert len(case["steps"]) == len(seen) - 5
    assert all(s["status"] in ("answered", "noted", "done") for s in case["steps"])
    assert case["customer"]["email"] == "dana@example.com"
    assert not [p for p in (tmp_path / "cases").iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(
    ("how", "code", "reason"),
    [("close", 129, "hangup"), ("SIGHUP", 129, "hangup"), ("SIGTERM", 143, "terminate")],
)
def test_terminal_closed_or_process_stopped_saves_the_case(
    tmp_path: Path, how: str, code: int, reason: str
) -> None:
    child = spawn(tmp_path, "new", "-p", "not-delivered")
    child.expect("Customer details")
    drive(child, stop_after=6)
    if how == "close":
        child.ptyproc.delayafterclose = 3.0  # time to save and exit before any nudge
        child.close(force=False)  # the terminal window goes away: its master side closes
    else:
        child.kill(getattr(signal, how))
        child.expect(pexpect.EOF)
        assert "Traceback" not in (child.before or "")
        child.close()
    assert child.exitstatus == code
    case = read_case(tmp_path)
    assert case["log"][-1]["event"] == f"interrupted ({reason})"
    assert len(case["steps"]) == 1  # five details and one step were answered


def test_a_long_export_to_a_terminal_shows_progress_on_stderr(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from recovery_cli.store import encode

    cases = tmp_path / "cases"
    cases.mkdir(parents=True)
    now = datetime(2026, 11, 2, tzinfo=UTC)
    for n in range(1, 1201):
        case = sample_case(str(n), now=now, name="Ann")
        (cases / f"{n}.json").write_bytes(encode(case))
    out = tmp_path / "all.csv"
    child = spawn(tmp_path, "export", "-o", str(out))
    child.expect("Exporting")
    child.expect("Exported 1200 cases to")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert len(out.read_text().splitlines()) == 1201
