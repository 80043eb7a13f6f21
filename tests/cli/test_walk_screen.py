"""The walk in a real terminal, read off the emulated screen: the question stays on
screen through any editing, every hint says what Enter does and Enter does it, earlier
answers come back to edit, a paste is one answer, and keys typed during a save never
answer a step nobody has seen yet."""

from __future__ import annotations

import os
import re
import shlex
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import pexpect
import pytest

from recovery_cli.playbooks.catalog import default_dir, load_file
from recovery_cli.playbooks.model import Playbook
from recovery_cli.store import Store
from tests.conftest import read_case
from tests.screen import (
    CTRL_A,
    CTRL_E,
    CTRL_U,
    CTRL_W,
    DOWN,
    END,
    ENTER,
    HOME,
    LEFT,
    UP,
    Screen,
    open_screen,
)
from tests.terminal import SAFETY, run

pytestmark = pytest.mark.pty

PLAYBOOKS = {p.stem: load_file(p, origin="default") for p in sorted(default_dir().glob("*.toml"))}
DETAILS = ("--name", "Dana Reyes", "--email", "dana@example.com", "--order", "A-1")
MORE = ("--value", "20", "--channel", "phone")
COMPLAINT = "What arrived, and what did they order?: "
TIMER = re.compile(r"⏱ \d\d:\d\d on call")


# -- reading a prompt off the screen ---------------------------------------------------------
class Prompt:
    """A prompt waiting for a key: the rows of its question as first drawn, and where
    the typed line starts (the cursor's row and cell then: after the question, or at
    the start of the next row when the question filled its last row)."""

    def __init__(self, screen: Screen, number: int, question: str) -> None:
        self.screen = screen
        row = screen.wait_prompt(number)
        end = question.rstrip().split()[-1]
        while row > 0 and screen.column(end, row) is None:
            row -= 1
        column = screen.column(end, row)
        assert column is not None, screen.dump(f"the prompt for {question!r}")
        self.row, self.start = row, column + len(end) + 1
        if self.start >= screen.screen.columns:
            self.row, self.start = row + 1, 0
        first = row
        while first > 0 and question.split()[0] not in screen.row(first):
            first -= 1
        self.first = first
        self.question = self.shown
        joined = " ".join(self.question)
        assert question.split()[-1] in joined, screen.dump(f"the prompt for {question!r}")

    @property
    def shown(self) -> list[str]:
        """The question's rows as they are now (the last one up to the typed line)."""
        rows = [self.screen.row(n) for n in range(self.first, self.row)]
        return [*rows, self.screen.span(self.row, 0, self.start).rstrip()]

    def line(self) -> str:
        """What is typed on the line, across the rows it wrapped onto."""
        screen = self.screen
        parts = [screen.span(self.row, self.start)]
        parts += ["".join(screen.cells(n)) for n in range(self.row + 1, screen.cursor[0] + 1)]
        return "".join(parts).rstrip()

    def wait_line(self, expected: str) -> None:
        """Wait until the line reads ``expected``; the question must still be whole."""
        self.screen.wait_until(lambda: self.line() == expected, f"the line reads {expected!r}")
        assert self.shown == self.question, self.screen.dump("the question was changed")


def walk_screen(home: Path, *args: str, cols: int = 64) -> Screen:
    """``recover new ARGS`` on a screen tall enough that nothing scrolls away."""
    return open_screen(home, "new", *args, cols=cols, rows=120)


# -- editing ---------------------------------------------------------------------------------
@pytest.mark.parametrize("cols", [40, 64, 120])
def test_editing_keys_never_erase_the_question(tmp_path: Path, cols: int) -> None:
    with walk_screen(tmp_path, "-p", "wrong-item", *DETAILS, *MORE, cols=cols) as screen:
        prompt = Prompt(screen, 1, COMPLAINT)
        long = " ".join(["the blue mug came instead of the red one"] * 4)
        screen.send(long)
        prompt.wait_line(long)
        assert screen.cursor[0] > prompt.row, "a long answer wraps under the question"
        screen.send(CTRL_U)
        prompt.wait_line("")
        screen.send("blue mug")
        prompt.wait_line("blue mug")
        screen.send(LEFT * 3 + "red ")
        prompt.wait_line("blue red mug")
        screen.send(CTRL_A + "a ")
        prompt.wait_line("a blue red mug")
        screen.send(CTRL_E + " please")
        prompt.wait_line("a blue red mug please")
        screen.send(HOME + "[" + END + "]")
        prompt.wait_line("[a blue red mug please]")
        screen.send(CTRL_W)  # the word before the cursor, back to the space
        prompt.wait_line("[a blue red mug")
        screen.send("now]")
        prompt.wait_line("[a blue red mug now]")
        screen.send(ENTER)
        Prompt(screen, 2, "Have we sent them a wrong item before? (y/N): ")
        assert read_case(tmp_path)["steps"][0]["answer"] == "[a blue red mug now]"
        screen.send(":pause" + ENTER)
        assert screen.finish() == 0


def test_up_recalls_this_walks_answers_and_never_another_customers(tmp_path: Path) -> None:
    earlier = tmp_path / "earlier.toml"
    earlier.write_text(
        'playbook = "wrong-item"\n[customer]\nname = "Ann Other"\n'
        '[answers]\ncomplaint = "Ann private words"\n'
    )
    assert run(tmp_path, "new", "--answers", str(earlier), "--no-input").returncode == 0
    with walk_screen(tmp_path, "-p", "wrong-item") as screen:
        name = Prompt(screen, 1, "Name: ")
        screen.send(UP)
        screen.settle()
        name.wait_line("")  # nothing earlier in this walk: Ann's answers are not there
        screen.send("Dana Reyes" + ENTER)
        email = Prompt(screen, 2, "Email: ")
        screen.send(UP)
        email.wait_line("Dana Reyes")
        screen.send(UP)
        screen.settle()
        email.wait_line("Dana Reyes")  # the oldest answer of this walk
        screen.send(DOWN)
        email.wait_line("")
        screen.send(ENTER)
        for number, question in ((3, "Order reference: "), (4, "Order value"), (5, "Channel")):
            Prompt(screen, number, question)
            screen.send(ENTER)
        step = Prompt(screen, 6, COMPLAINT)
        screen.send(UP)
        step.wait_line("Dana Reyes")
        screen.send(CTRL_U + "mug" + ENTER)
        yes_no = Prompt(screen, 7, "Have we sent them a wrong item before? (y/N): ")
        screen.send(UP)
        yes_no.wait_line("mug")
        screen.send(UP)
        yes_no.wait_line("Dana Reyes")
        assert "Ann" not in screen.text()
        screen.send(CTRL_U + ":pause" + ENTER)
        assert screen.finish() == 0


def test_back_puts_the_earlier_answer_on_the_line_to_edit(tmp_path: Path) -> None:
    with walk_screen(tmp_path, "-p", "wrong-item", *DETAILS, *MORE) as screen:
        Prompt(screen, 1, COMPLAINT)
        screen.send("blue mug" + ENTER)
        Prompt(screen, 2, "before? (y/N): ")
        screen.send(":back" + ENTER)
        again = Prompt(screen, 3, COMPLAINT)
        again.wait_line("blue mug")
        screen.send(" and a chipped plate")
        again.wait_line("blue mug and a chipped plate")
        screen.send(ENTER)
        Prompt(screen, 4, "before? (y/N): ")
        screen.send(ENTER)  # its default: no
        Prompt(screen, 5, ":")
        screen.send(":pause" + ENTER)
        assert screen.finish() == 0
    steps = read_case(tmp_path)["steps"]
    assert [(s["id"], s["answer"]) for s in steps] == [
        ("listen", "blue mug and a chipped plate"),
        ("history", False),
    ]


def test_a_pasted_complaint_of_several_lines_is_one_answer(tmp_path: Path) -> None:
    with walk_screen(tmp_path, "-p", "wrong-item", *DETAILS, *MORE) as screen:
        prompt = Prompt(screen, 1, COMPLAINT)
        screen.paste("The mug arrived broken.\rI ordered the red one.\r\rPlease help.")
        screen.wait_until(lambda: "Please help." in screen.text(), "the paste is on screen")
        assert screen.prompts == 1, "the paste answered nothing by itself"
        screen.send(ENTER)
        Prompt(screen, 2, "before? (y/N): ")
        assert prompt.question[-1].startswith("What arrived")
        screen.send(":pause" + ENTER)
        assert screen.finish() == 0
    steps = read_case(tmp_path)["steps"]
    assert [(s["id"], s["answer"]) for s in steps] == [
        ("listen", "The mug arrived broken. I ordered the red one. Please help."),
    ]


# -- typing at speed -------------------------------------------------------------------------
def test_keys_typed_during_a_save_wait_on_the_next_line_unsent(tmp_path: Path) -> None:
    with walk_screen(tmp_path, "-p", "wrong-item", *DETAILS, *MORE) as screen:
        Prompt(screen, 1, COMPLAINT)
        # The answer, and at once (while it is being saved) the next one with its Enter.
        screen.send("blue mug" + ENTER + "yes" + ENTER)
        second = Prompt(screen, 2, "before? (y/N): ")
        second.wait_line("yes")
        assert "Typed while saving: it is on the line, not sent. Enter sends it." in screen.text()
        assert [s["id"] for s in read_case(tmp_path)["steps"]] == ["listen"]
        screen.send(ENTER)
        Prompt(screen, 3, ":")
        assert read_case(tmp_path)["steps"][1]["answer"] is True
        # An Enter pressed twice: the second one, typed during the save, is not used.
        screen.send(ENTER + ENTER)
        Prompt(screen, 4, ":")
        assert "An Enter pressed while saving was not used." in screen.text()
        assert len(read_case(tmp_path)["steps"]) == 3
        screen.send(":pause" + ENTER)
        assert screen.finish() == 0


def test_keys_typed_while_a_slow_save_waits_are_not_echoed_and_wait_unsent(
    tmp_path: Path,
) -> None:
    """A save that has to wait (here another process holds the index, as a rebuild
    would): keys typed meanwhile do not land on the screen mid-drawing; the first line
    of them waits, unsent, on the next step's line, and what came after it is dropped
    with a note (it was meant for questions not shown yet)."""
    with walk_screen(tmp_path, "-p", "wrong-item", *DETAILS, *MORE) as screen:
        Prompt(screen, 1, COMPLAINT)
        index = sqlite3.connect(Store(tmp_path).index_path, isolation_level=None)
        index.execute("BEGIN EXCLUSIVE")
        try:
            screen.send("blue mug" + ENTER)
            screen.wait_until(lambda: not screen.reading(), "the save began")
            time.sleep(0.05)  # well into the save's wait for the index (250 ms)
            screen.send("half typed" + ENTER + "meant for later")
            screen.settle(0.1)
            assert "half typed" not in screen.text(), screen.dump("echoed during the save")
        finally:
            index.execute("COMMIT")
            index.close()
        second = Prompt(screen, 2, "Have we sent them a wrong item before? (y/N): ")
        second.wait_line("half typed")
        assert "Typed while saving: it is on the line, not sent." in screen.text()
        assert "1 more line typed while saving was not used." in screen.text()
        assert [s["id"] for s in read_case(tmp_path)["steps"]] == ["listen"]
        screen.send(CTRL_U + ":pause" + ENTER)
        assert screen.finish() == 0


def _shell(home: Path, program: str, *args: str) -> pexpect.spawn:
    env = {"RECOVER_HOME": str(home), "NO_COLOR": "1", "TERM": "xterm", "PS1": "SHELL> ",
           "RECOVER_CACHE_DIR": os.environ["RECOVER_CACHE_DIR"],
           "RECOVER_STATE_DIR": os.environ["RECOVER_STATE_DIR"],
           "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}  # fmt: skip
    return pexpect.spawn(
        program, list(args), env=env, encoding="utf-8", timeout=SAFETY, dimensions=(40, 100)
    )


WALK = shlex.join(
    [sys.executable, "-m", "recovery_cli", "new", "-p", "wrong-item", *DETAILS, *MORE]
)


def _during_a_slow_save(home: Path, shell: pexpect.spawn, key: str) -> sqlite3.Connection:
    """Answer the first step, then press ``key`` while its save waits for the index
    (held here, as a rebuild in another process would); returns the held index."""
    shell.expect_exact(COMPLAINT)
    index = sqlite3.connect(Store(home).index_path, isolation_level=None)
    index.execute("BEGIN EXCLUSIVE")
    shell.send("blue mug\r")
    time.sleep(0.1)  # the save waits up to 250 ms for the index
    shell.send(key)
    return index


def _echo_and_line_editing_on(stty: str) -> bool:
    settings = stty.split()
    return "echo" in settings and "icanon" in settings


def test_quitting_during_a_save_gives_the_terminal_back(tmp_path: Path) -> None:
    """Ctrl-\\ while a save waits: the process quits, and the shell gets its
    terminal back with echo and line editing on, as before the walk."""
    shell = _shell(tmp_path, "bash", "--norc", "--noprofile", "-c", f"{WALK}; stty -a; echo END")
    index = _during_a_slow_save(tmp_path, shell, "\x1c")
    try:
        shell.expect_exact("END")
    finally:
        index.execute("COMMIT")
        index.close()
    assert _echo_and_line_editing_on(shell.before or ""), shell.before
    shell.close(force=True)


def test_suspending_during_a_save_gives_the_terminal_back_and_fg_goes_on(
    tmp_path: Path,
) -> None:
    """Ctrl-Z while a save waits, under a shell that does not restore the terminal
    itself (dash): echo and line editing are on at its prompt; after fg the walk goes
    on where it was."""
    shell = _shell(tmp_path, "dash", "-i")
    shell.expect_exact("SHELL> ")
    shell.sendline(WALK)
    index = _during_a_slow_save(tmp_path, shell, "\x1a")
    try:
        shell.expect_exact("SHELL> ")
        shell.sendline('stty -a; echo "STTY""-DONE"')
        shell.expect_exact("STTY-DONE")
    finally:
        index.execute("COMMIT")
        index.close()
    assert _echo_and_line_editing_on(shell.before or ""), shell.before
    shell.sendline("fg")
    shell.expect_exact("(y/N): ")
    shell.send(":pause\r")
    shell.expect_exact("Paused. Case 1 is saved.")
    shell.expect_exact("SHELL> ")
    assert read_case(tmp_path)["steps"][0]["answer"] == "blue mug"
    shell.close(force=True)


# -- every prompt of every playbook ------------------------------------------------------------
STEP = re.compile(r"Step (\d+) of (\d+)")
ENTER_DOES = re.compile(r"(?:Enter: (?P<does>.+?)|Answer needed) · ")


def _words(text: str | None) -> list[str]:
    """The words of a playbook text that show as written (placeholders get filled)."""
    return [w for w in (text or "").split() if "$" not in w]


def _step_screen(screen: Screen, top: int, bottom: int, playbook: Playbook) -> tuple[str, str]:
    """The screen of one step, rows ``top`` (its heading) to ``bottom`` (its prompt):
    the heading, the timer and every text whole, no word cut across rows. Returns the
    step's id and what its hint says Enter does ("" where the hint offers no Enter)."""
    rows = [screen.row(n) for n in range(top, bottom + 1)]
    tokens = {token for row in rows for token in row.split()}
    where = screen.dump("the step")
    heading = STEP.search(rows[0])
    assert heading is not None, where
    step = playbook.steps[int(heading.group(1)) - 1]
    assert any(TIMER.search(row) for row in rows), f"the timer was cut\n{where}"
    for word in _words(step.title) + _words(step.say) + _words(step.do):
        assert word in tokens, f"{word!r} was cut\n{where}"
    hint = ENTER_DOES.search(" ".join(rows))
    assert hint is not None, where
    return step.id, (hint.group("does") or "").strip()


@pytest.mark.parametrize("cols", [40, 64])
@pytest.mark.parametrize("playbook_id", sorted(PLAYBOOKS))
def test_enter_at_every_prompt_does_what_its_hint_says(
    tmp_path: Path, playbook_id: str, cols: int
) -> None:
    """Walk a shipped playbook pressing Enter wherever the hint offers it (typing an
    answer where it does not), after typing and erasing at every prompt: Ctrl-U leaves
    the screen exactly as it was, every step's screen is whole at this width, and the
    case file shows that Enter did what each hint said."""
    playbook = PLAYBOOKS[playbook_id]
    said: list[tuple[str, str]] = []
    with open_screen(tmp_path, "new", "-p", playbook_id, cols=cols, rows=600) as screen:
        number, last = 1, 0
        while True:
            screen.wait_until(lambda n=number: screen.prompts >= n or screen.ended, "a prompt")
            if screen.prompts < number:
                break
            row = screen.wait_prompt(number)
            shown = range(last, row + 3)  # this prompt's screen, and two rows to type on

            def rows(shown: range = shown) -> list[str]:
                return [screen.row(n) for n in shown]

            before = rows()
            screen.send("zzzzzz")
            screen.wait_until(lambda: "zzzzzz" in "".join(rows()), "the typing showed")
            screen.send(CTRL_U)
            screen.wait_until(lambda b=before: rows() == b, "Ctrl-U kept the question")
            headings = [n for n in range(last, row) if STEP.search(screen.row(n))]
            question = screen.row(row)
            if headings:
                step_id, does = _step_screen(screen, headings[-1], row, playbook)
                said.append((step_id, does))
                typed = "" if does else "an answer"
            elif question.startswith("Outcome (1-4):") and "[" not in question:
                typed = "1"  # no outcome to suggest, and the prompt offers no Enter
            else:
                typed = ""
            last = row
            screen.send(typed + ENTER)
            number += 1
            assert number < 150, "the walk does not end"
        assert screen.finish() == 0, screen.dump("the end")
    case = read_case(tmp_path)
    assert case["customer"]["name"] == "" and case["walk_completed_at"]
    assert case["outcome"]["result"] == "kept"
    records = {r["id"]: r for r in case["steps"]}
    assert len(said) == len(records)
    for step_id, does in said:
        assert _did(records[step_id], does), (step_id, does, records[step_id])


def _did(record: dict[str, Any], does: str) -> bool:
    """Whether a step's record is what its hint said Enter would do there."""
    if does == "skip":
        return bool(record["status"] == "skipped")
    if does == "next":
        return bool(record["status"] == "done")
    if does == "none of these":
        return bool(record["status"] == "declined" and record["answer"] == [])
    if does in ("yes", "no"):
        return bool(record["answer"] is (does == "yes"))
    if does:  # a choice's default
        return bool(record["answer"] == does)
    return bool(record["answer"] == "an answer")
