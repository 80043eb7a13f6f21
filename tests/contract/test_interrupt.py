"""Stopping a live walk at every prompt, in every way a call can be cut short.

Contract (DESIGN.md, "Contract with the user"; README.md, "During a walk" and "Exit
codes"): Ctrl-C, Ctrl-D, SIGTERM and a terminal that goes away leave every answered
step on disk and the case resumable; where a terminal remains the resume hint is
printed; the exit code is 130 / 130 / 143 / 129; never a traceback.

The playbook walked is ``heard``, the shortest shipped one (15 steps). One walk with a
happy customer shows 14 of them (``not-happy-yet`` needs an unhappy one, covered by a
second path), after 5 customer details; the outcome offer follows the walk. That is
21 prompts in all, and 5 ways to stop at each (Ctrl-C, Ctrl-D, SIGTERM, SIGHUP sent
to the process, and the terminal's master side closed).

Every test here goes through a real pseudo-terminal. No assertion is about time: the
timeouts are safety nets for a child that hangs.
"""

from __future__ import annotations

import io
import platform
import re
import shutil
import signal
import subprocess
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pexpect
import pytest

from recovery_cli.playbooks.catalog import default_dir, load_catalog
from tests.conftest import read_case
from tests.terminal import SAFETY, run, spawn

pytestmark = pytest.mark.pty

PLAYBOOK = "heard"
TITLE = "HEARD: Hear, Empathize, Apologize, Resolve, Diagnose"
TOTAL = 15
HEADING = re.compile(r"Step (\d+) of (\d+) · (.+?) {3}⏱")
NOTE = "Note (optional): "
PICK = "Pick (numbers, like 1,3): "
OUTCOME_PROMPT = (
    "Record the outcome now (kept / refunded / lost / escalated, root cause, prevention)? (Y/n): "
)


@dataclass(frozen=True)
class Prompt:
    """One prompt of the walk: what is shown, what the operator types, and what must
    then be on disk."""

    name: str
    text: str
    typed: str
    field: str = ""  # a customer detail: its field, and its value as stored
    stored: Any = None
    step: str = ""  # a step: its id, number, title and the record it leaves
    number: int = 0
    title: str = ""
    status: str = ""
    answer: Any = None
    note: str = ""


def _detail(name: str, text: str, typed: str, field: str, stored: str) -> Prompt:
    return Prompt(name, text, typed, field=field, stored=stored)


def _step(
    step_id: str,
    number: int,
    title: str,
    text: str,
    typed: str,
    status: str,
    answer: Any = None,
    note: str = "",
) -> Prompt:
    return Prompt(
        step_id,
        text,
        typed,
        step=step_id,
        number=number,
        title=title,
        status=status,
        answer=answer,
        note=note,
    )


DETAILS = [
    _detail("name", "Name: ", "Dana Reyes", "name", "Dana Reyes"),
    _detail("email", "Email: ", "dana@example.com", "email", "dana@example.com"),
    _detail("order", "Order reference: ", "A-1042", "order", "A-1042"),
    _detail("order-value", "Order value (USD): ", "29", "order_value", "29.00"),
    _detail("channel", "Channel (phone, email, chat...): ", "phone", "channel", "phone"),
]
HAPPY = _step(
    "happy-now",
    12,
    "Follow-up: are they happy?",
    "Did they end the call happy? (y/n): ",
    "y",
    "answered",
    True,
)
STEPS = [
    _step(
        "hear",
        1,
        "H: Hear",
        "What went wrong, in their words?: ",
        "It never arrived",
        "answered",
        "It never arrived",
    ),
    _step("empathize", 2, "E: Empathize", NOTE, "", "done"),
    _step("apologize", 3, "A: Apologize", NOTE, "said sorry", "noted", note="said sorry"),
    _step(
        "apologize-explain",
        4,
        "A: Explain what went wrong",
        "What did you tell them went wrong?: ",
        "courier lost it",
        "answered",
        "courier lost it",
    ),
    _step(
        "resolve-ask",
        5,
        "R: Resolve, ask what they want",
        "What did they ask for?: ",
        "a refund and a fix",
        "answered",
        "a refund and a fix",
    ),
    _step("resolve", 6, "R: Resolve, offer choices", PICK, "1,3", "answered", ["fix", "refund"]),
    _step("resolve-refund", 7, "R: Refund now, with grace", NOTE, "", "done"),
    _step(
        "resolve-update",
        8,
        "R: Keep them informed while you fix it",
        NOTE,
        "told them Friday",
        "noted",
        note="told them Friday",
    ),
    _step("resolve-extra", 9, "R: Go beyond", PICK, "2", "answered", ["support"]),
    _step(
        "diagnose",
        10,
        "D: Diagnose the root cause",
        "What really caused this?: ",
        "label printer jammed",
        "answered",
        "label printer jammed",
    ),
    _step(
        "diagnose-prevent",
        11,
        "D: Diagnose, prevent a repeat",
        "What will you change so it never happens again?: ",
        "check labels daily",
        "answered",
        "check labels daily",
    ),
    HAPPY,
    _step("follow-up", 13, "Follow-up: check in until they're a fan", NOTE, "", "done"),
    _step("follow-up-review", 14, "Follow-up: invite them to tell others", NOTE, "", "done"),
]
NOT_HAPPY_YET = _step("not-happy-yet", 15, "Not happy yet: keep following up", NOTE, "", "done")
OUTCOME = Prompt("outcome-offer", OUTCOME_PROMPT, "n")

HAPPY_PATH = [*DETAILS, *STEPS, OUTCOME]
UNHAPPY_PATH = [
    *DETAILS,
    *STEPS[:11],
    replace(HAPPY, typed="n", answer=False),
    STEPS[12],
    NOT_HAPPY_YET,
    OUTCOME,
]
# Every prompt once: the happy walk's 20, and the one only an unhappy customer meets.
POSITIONS: list[tuple[list[Prompt], int]] = [(HAPPY_PATH, i) for i in range(len(HAPPY_PATH))]
POSITIONS.append((UNHAPPY_PATH, UNHAPPY_PATH.index(NOT_HAPPY_YET)))


@dataclass(frozen=True)
class Way:
    """One way a walk gets cut short, and what the README promises for it."""

    name: str
    code: int
    reason: str
    terminal_remains: bool = True


CTRL_C = Way("ctrl-c", 130, "interrupt")
WAYS = [
    CTRL_C,
    Way("ctrl-d", 130, "eof"),
    Way("sigterm", 143, "terminate"),
    Way("sighup", 129, "hangup"),
    Way("terminal-closed", 129, "hangup", terminal_remains=False),
]
# The default run stops at every prompt with Ctrl-C, and with each other way at a
# spread of prompts: a customer detail, and steps asking for text, a note, a pick from
# offers, a yes/no, the last step of each branch and the outcome offer. The rest of
# the matrix runs under the soak marker.
SPREAD = {
    "ctrl-d": {"name", "hear", "resolve", "happy-now", "not-happy-yet", "outcome-offer"},
    "sigterm": {"email", "empathize", "resolve-extra", "follow-up-review", "outcome-offer"},
    "sighup": {"order-value", "apologize-explain", "resolve-refund", "diagnose", "outcome-offer"},
    "terminal-closed": {"channel", "apologize", "resolve-update", "follow-up", "outcome-offer"},
}


def _matrix(*, soak: bool) -> list[Any]:
    cases = []
    for way in WAYS:
        for path, index in POSITIONS:
            name = path[index].name
            default = way is CTRL_C or name in SPREAD[way.name]
            if default != soak:
                cases.append(pytest.param(way, path, index, id=f"{way.name}-at-{name}"))
    return cases


# -- driving the terminal ------------------------------------------------------------------
def seen(child: pexpect.spawn) -> str:
    """Everything the terminal has shown so far."""
    log = child.logfile_read
    assert isinstance(log, io.StringIO)
    return log.getvalue()


# The system calls readline waits in (select, pselect6), by machine; elsewhere
# ``wait_reading`` can only watch the terminal mode.
_SELECT_CALLS = {"x86_64": {"23", "270"}, "aarch64": {"72"}}.get(platform.machine())


def _blocked_reading(pid: int) -> bool:
    """Whether the process sleeps in select() on standard input (readline's wait)."""
    if _SELECT_CALLS is None:
        return True
    try:
        fields = Path(f"/proc/{pid}/syscall").read_text().split()
    except OSError:
        return True
    return len(fields) > 1 and fields[0] in _SELECT_CALLS and fields[1] == "0x1"


def wait_reading(child: pexpect.spawn) -> None:
    """Wait until the child is blocked reading the line: readline has switched the
    terminal out of canonical mode (so Ctrl-D reaches readline, not the mode switch)
    and sleeps in select(). A signal sent a moment earlier can be lost until the next
    key (see test_a_signal_as_the_prompt_starts_waiting_is_not_ignored): the matrix
    keeps clear of that window, and that test aims right at it."""
    deadline = time.monotonic() + SAFETY
    while termios.tcgetattr(child.child_fd)[3] & termios.ICANON or not _blocked_reading(child.pid):
        assert time.monotonic() < deadline, "the prompt never started reading"
        time.sleep(0.002)


def expect_prompt(child: pexpect.spawn, prompt: Prompt) -> None:
    """The screen of ``prompt`` is up: its step heading (for a step) and its prompt."""
    if prompt.step:
        child.expect(HEADING)
        match = child.match
        assert match is not None
        assert (int(match.group(1)), int(match.group(2)), match.group(3)) == (
            prompt.number,
            TOTAL,
            prompt.title,
        )
    elif prompt is OUTCOME:
        child.expect_exact("walk complete")
    child.expect_exact(prompt.text)


def walk_to(child: pexpect.spawn, path: list[Prompt], index: int) -> None:
    """Answer the prompts before ``index``; stop with prompt ``index`` waiting for input.
    The customer details come first (the case is written with the first one typed, or
    at a stop), and the case is said to be started before its first step."""
    child.expect_exact("Customer details")
    for number, prompt in enumerate(path[: index + 1]):
        if prompt.step and prompt.number == 1:
            child.expect_exact(f"Case 1 started · {TITLE}")
        expect_prompt(child, prompt)
        if number < index:
            child.sendline(prompt.typed)
    wait_reading(child)


def wait_exit(child: pexpect.spawn) -> None:
    """Wait for a child whose terminal is gone (nothing can be read from it)."""
    deadline = time.monotonic() + SAFETY
    while child.isalive():
        if time.monotonic() > deadline:
            child.ptyproc.kill(signal.SIGKILL)
            pytest.fail("recover did not exit after its terminal closed")
        time.sleep(0.005)


def stop(child: pexpect.spawn, way: Way) -> str | None:
    """Cut the walk short ``way``; return what the terminal showed after that (None
    when the terminal itself is gone) once the process has ended."""
    shown = len(seen(child))
    if way.name == "ctrl-c":
        child.sendintr()
    elif way.name == "ctrl-d":
        child.sendeof()
    elif way.name == "sigterm":
        child.kill(signal.SIGTERM)
    elif way.name == "sighup":
        child.kill(signal.SIGHUP)
    else:
        child.ptyproc.delayafterclose = 0
        child.ptyproc.fileobj.close()  # the terminal window goes away
        wait_exit(child)
        child.close()
        assert (child.exitstatus, child.signalstatus) == (way.code, None)
        return None
    child.expect(pexpect.EOF)
    child.close()
    assert (child.exitstatus, child.signalstatus) == (way.code, None)
    return seen(child)[shown:]


def finish(child: pexpect.spawn) -> str:
    """Wait for the end of a child; it must exit 0. Returns everything it showed."""
    child.expect(pexpect.EOF)
    child.close()
    output = seen(child)
    assert (child.exitstatus, child.signalstatus) == (0, None), output[-2000:]
    return output


# -- what is on disk -----------------------------------------------------------------------
def records(case: dict[str, Any]) -> list[tuple[str, str, Any, str]]:
    return [(r["id"], r["status"], r["answer"], r["note"]) for r in case["steps"]]


def expected_records(prompts: list[Prompt]) -> list[tuple[str, str, Any, str]]:
    return [(p.step, p.status, p.answer, p.note) for p in prompts if p.step]


def expected_customer(prompts: list[Prompt]) -> dict[str, Any]:
    customer: dict[str, Any] = {
        "name": "",
        "email": "",
        "order": "",
        "order_value": None,
        "channel": "",
    }
    customer.update({p.field: p.stored for p in prompts if p.field})
    return customer


def no_temp_files(home: Path) -> bool:
    return not [p.name for p in (home / "cases").iterdir() if p.name.endswith(".tmp")]


def events(case: dict[str, Any]) -> list[str]:
    return [e["event"] for e in case["log"]]


# -- the matrix ----------------------------------------------------------------------------
def test_the_matrix_walks_every_prompt_of_the_shortest_shipped_playbook(tmp_path: Path) -> None:
    catalog = load_catalog(tmp_path)
    shipped = {p.stem for p in default_dir().glob("*.toml")}
    lengths = {pid: len(catalog.get(pid).steps) for pid in shipped}  # type: ignore[union-attr]
    assert lengths[PLAYBOOK] == min(lengths.values())
    playbook = catalog.get(PLAYBOOK)
    assert playbook is not None and len(playbook.steps) == TOTAL
    walked = {p.step: p for p in [*HAPPY_PATH, *UNHAPPY_PATH] if p.step}
    assert set(walked) == {s.id for s in playbook.steps}
    for number, step in enumerate(playbook.steps, start=1):
        assert (walked[step.id].number, walked[step.id].title) == (number, step.title)
    assert len(POSITIONS) == len(DETAILS) + TOTAL + 1 == 21
    default, soak = _matrix(soak=False), _matrix(soak=True)
    assert len(default) + len(soak) == len(POSITIONS) * len(WAYS)


def _interrupt_and_resume(tmp_path: Path, way: Way, path: list[Prompt], index: int) -> None:
    home = tmp_path / "home"
    child = spawn(home, "new", "-p", PLAYBOOK)
    walk_to(child, path, index)
    before_stop = seen(child)
    after = stop(child, way)

    # What the user sees: the resume hint (where a terminal remains), never a traceback.
    assert "Traceback" not in before_stop
    at_outcome = path[index] is OUTCOME
    if after is not None:
        assert "Traceback" not in after
        if at_outcome:
            assert "Stopped; case 1 is saved, its outcome not recorded." in after
            assert "Record it with: recover close 1" in after
        else:
            assert "Stopped. Case 1 is saved with every answered step." in after
            assert "Resume with: recover resume 1" in after

    # What is on disk: every answer typed before the stop, nothing else, no leftovers.
    answered = path[:index]
    case = read_case(home)
    assert case["customer"] == expected_customer(answered)
    assert records(case) == expected_records(answered)
    assert no_temp_files(home)
    if at_outcome:
        assert case["walk_completed_at"] is not None and case["outcome"] is None
        assert events(case) == ["created", "walk completed"]
        closed = run(
            home,
            "close",
            "1",
            "--no-input",
            "--outcome",
            "kept",
            "--satisfaction",
            "4",
            "--cause",
            "courier",
            "--tag",
            "shipping",
            "--prevention",
            "new courier",
        )
        assert closed.returncode == 0, closed.stderr
        assert read_case(home)["outcome"]["result"] == "kept"
        return
    assert case["walk_completed_at"] is None and case["status"] == "open"
    assert events(case) == ["created", f"interrupted ({way.reason})"]

    # Resumable: `recover resume` carries on at the first unanswered step and walks
    # the rest; what was recorded before the stop is kept exactly.
    resumed = spawn(home, "resume", "1")
    resumed.expect_exact(f"Resuming case 1 · {TITLE}")
    rest = [p for p in path[index:] if p.step]
    for prompt in rest:
        expect_prompt(resumed, prompt)
        resumed.sendline(prompt.typed)
    expect_prompt(resumed, OUTCOME)
    resumed.sendline("n")
    resumed.expect_exact("Later: recover close 1")
    output = finish(resumed)
    assert "Traceback" not in output
    assert "The playbook changed" not in output
    done = read_case(home)
    walked = [p for p in path if p.step]
    assert records(done) == expected_records(walked)
    kept = {r["id"]: r for r in case["steps"]}
    assert [r for r in done["steps"] if r["id"] in kept] == list(kept.values())
    assert done["customer"] == case["customer"]
    assert done["walk_completed_at"] is not None
    assert events(done) == ["created", f"interrupted ({way.reason})", "resumed", "walk completed"]
    assert sorted(r["offer"] for r in done["remedies"]) == ["fix", "refund", "support"]


@pytest.mark.parametrize(("way", "path", "index"), _matrix(soak=False))
def test_stopping_at_a_prompt_keeps_every_answer_and_the_case_resumable(
    tmp_path: Path, way: Way, path: list[Prompt], index: int
) -> None:
    _interrupt_and_resume(tmp_path, way, path, index)


@pytest.mark.soak
@pytest.mark.parametrize(("way", "path", "index"), _matrix(soak=True))
def test_stopping_at_a_prompt_full_matrix(
    tmp_path: Path, way: Way, path: list[Prompt], index: int
) -> None:
    _interrupt_and_resume(tmp_path, way, path, index)


@pytest.mark.parametrize("way", WAYS, ids=[w.name for w in WAYS])
def test_stopping_at_the_playbook_menu_creates_no_case(tmp_path: Path, way: Way) -> None:
    """Before the case exists every way out says so and exits with its code. (The menu
    is read outside the prompter's signal handling, so SIGTERM and SIGHUP there kill
    the process by the signal: no message, and a wait status of "killed", not 143/129.)"""
    home = tmp_path / "home"
    child = spawn(home, "new")
    child.expect_exact("Which playbook fits this call?")
    child.expect_exact("Playbook number (1-8): ")
    wait_reading(child)
    after = stop(child, way)
    if after is not None:
        assert "Stopped before a case was started; nothing needed saving." in after
        assert "recover resume" not in after
        assert "Traceback" not in after
    cases = home / "cases"
    assert not cases.exists() or not [p for p in cases.iterdir() if p.suffix == ".json"]


# -- a signal at the instant the prompt starts waiting ------------------------------------
def signal_as_select_is_called(child: pexpect.spawn, signum: signal.Signals) -> None:
    """Deliver ``signum`` at the instant readline next calls select() to wait for a key,
    after its previous wait ended: a debugger stops it on the way in, delivers the
    signal (the interpreter's C handler runs and notes it), and lets it go on into
    select(). Without a debugger this happens by chance, when a signal lands in the
    microseconds between readline taking a key (or preparing the terminal) and waiting
    for the next one; it was seen so in the matrix on a busy machine."""
    gdb = shutil.which("gdb")
    if gdb is None:
        pytest.skip("needs gdb to place the signal at that instant")
    command = [gdb, "-p", str(child.pid), "-batch", "-nx", "-q", "-ex", "break select"]
    command += ["-ex", "continue", "-ex", f"signal {signum.name}", "-ex", "detach"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as debugger:
        assert debugger.stdout is not None
        lines = []
        for line in debugger.stdout:
            lines.append(line)
            if line.startswith("Breakpoint 1 at"):
                break
        else:
            pytest.skip("gdb could not stop recover at select(): " + "".join(lines)[-300:])
        # One key: readline echoes it and goes back to select(), where gdb stops it.
        child.send("x")
        rest, _ = debugger.communicate(timeout=SAFETY)
    assert "detached" in rest, "".join(lines) + rest


def _signal_as_the_prompt_starts_waiting(tmp_path: Path, way: Way, signum: signal.Signals) -> None:
    home = tmp_path / "home"
    child = spawn(home, "new", "-p", PLAYBOOK, "--name", "Dana Reyes", "--email", "d@x.io")
    child.expect_exact("Order reference: ")
    child.sendline("A-1042")
    child.expect_exact("Order value (USD): ")
    wait_reading(child)
    signal_as_select_is_called(child, signum)
    ended = child.expect([pexpect.EOF, pexpect.TIMEOUT], timeout=SAFETY / 3)
    if ended == 1:
        child.sendline("")  # the next key: only now is the signal acted on
        child.expect(pexpect.EOF)
    child.close()
    assert (child.exitstatus, child.signalstatus) == (way.code, None)
    assert ended == 0, (
        f"{signum.name} arrived as the prompt began to wait and was ignored until the next "
        "key press: recover sat at the prompt instead of saving and exiting"
    )
    assert "Resume with: recover resume 1" in seen(child)
    case = read_case(home)
    assert case["customer"]["order"] == "A-1042"
    assert events(case)[-1] == f"interrupted ({way.reason})"


SIGNALLED = {
    signal.SIGTERM: Way("sigterm", 143, "terminate"),
    signal.SIGINT: Way("sigint", 130, "interrupt"),
    signal.SIGHUP: Way("sighup", 129, "hangup"),
}


def test_a_signal_as_the_prompt_starts_waiting_is_not_ignored(tmp_path: Path) -> None:
    _signal_as_the_prompt_starts_waiting(tmp_path, SIGNALLED[signal.SIGTERM], signal.SIGTERM)


@pytest.mark.soak
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGHUP], ids=["sigint", "sighup"])
def test_a_signal_as_the_prompt_starts_waiting_is_not_ignored_soak(
    tmp_path: Path, signum: signal.Signals
) -> None:
    _signal_as_the_prompt_starts_waiting(tmp_path, SIGNALLED[signum], signum)


# -- resuming after the playbook was edited ------------------------------------------------
def shipped_heard() -> str:
    return (default_dir() / f"{PLAYBOOK}.toml").read_text("utf-8")


def edit_steps(text: str, change: Callable[[dict[str, str]], list[str]]) -> str:
    """Rewrite a playbook's ``[[steps]]`` blocks: ``change`` gets them by id and returns
    the new list of blocks, in order."""
    head, *blocks = text.split("\n[[steps]]\n")
    by_id = {}
    for block in blocks:
        match = re.match(r'id = "([^"]+)"', block)
        assert match is not None
        by_id[match.group(1)] = block
    return head + "".join(f"\n[[steps]]\n{block.rstrip()}\n" for block in change(by_id))


def interrupted_after_four_steps(home: Path) -> dict[str, Any]:
    """A case stopped with Ctrl-C at step 5, steps 1-4 answered; its file."""
    child = spawn(home, "new", "-p", PLAYBOOK)
    index = HAPPY_PATH.index(STEPS[4])
    walk_to(child, HAPPY_PATH, index)
    stop(child, CTRL_C)
    case = read_case(home)
    assert [r["id"] for r in case["steps"]] == [p.step for p in STEPS[:4]]
    return case


def resume_shows(home: Path, number: int, total: int, title: str) -> pexpect.spawn:
    """``recover resume 1``, checked to open at step ``number`` of ``total``."""
    child = spawn(home, "resume", "1")
    child.expect_exact(f"Resuming case 1 · {TITLE}")
    child.expect(HEADING)
    match = child.match
    assert match is not None
    assert (int(match.group(1)), int(match.group(2)), match.group(3)) == (number, total, title)
    return child


def pause(child: pexpect.spawn, prompt: str | None) -> str:
    """Type :pause at ``prompt`` (None: at the prompt on screen now); the walk's output."""
    if prompt is not None:
        child.expect_exact(prompt)
    child.sendline(":pause")
    child.expect_exact("Paused. Case 1 is saved.")
    return finish(child)


def by_id(case: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in case["steps"]}


GENERIC_NOTE = "! The playbook changed since this case started; answers stay on their own steps."


def assert_version_recorded(before: dict[str, Any], after: dict[str, Any], digest: str) -> None:
    assert after["playbook"]["hash"] == digest != before["playbook"]["hash"]
    assert after["playbook"]["history"] == [before["playbook"]["hash"]]
    resumed = [e for e in after["log"] if e["event"] == "resumed"]
    assert resumed[0]["detail"] == f"playbook {before['playbook']['hash']} -> {digest}"


def test_resume_after_a_step_was_removed(
    tmp_path: Path, user_playbook: Callable[[str, str], Path], home: Path
) -> None:
    before = interrupted_after_four_steps(home)
    edited = edit_steps(shipped_heard(), lambda s: [b for i, b in s.items() if i != "apologize"])
    path = user_playbook(PLAYBOOK, edited)
    digest = load_catalog(home).get(PLAYBOOK).digest  # type: ignore[union-attr]
    assert path.exists()
    child = resume_shows(home, 4, TOTAL - 1, "R: Resolve, ask what they want")
    child.expect_exact("What did they ask for?: ")  # typed sooner, it would wait unsent
    child.sendline("a refund and a fix")
    output = pause(child, PICK)
    assert GENERIC_NOTE in output
    assert (
        "! Step 'apologize' is no longer in the playbook; its answer stays in the case." in output
    )
    after = read_case(home)
    kept = by_id(after)
    assert kept["apologize"] == by_id(before)["apologize"]  # the removed step's note stays
    for record in before["steps"]:
        assert kept[record["id"]] == record
    assert kept["resolve-ask"]["answer"] == "a refund and a fix"
    assert_version_recorded(before, after, digest)


def test_resume_after_a_step_was_renamed(
    tmp_path: Path, user_playbook: Callable[[str, str], Path], home: Path
) -> None:
    before = interrupted_after_four_steps(home)
    edited = shipped_heard().replace('id = "apologize-explain"', 'id = "explain-honestly"')
    user_playbook(PLAYBOOK, edited)
    digest = load_catalog(home).get(PLAYBOOK).digest  # type: ignore[union-attr]
    # The renamed step has no answer of its own: it is asked (by its new id) first.
    child = resume_shows(home, 4, TOTAL, "A: Explain what went wrong")
    child.expect_exact("What did you tell them went wrong?: ")
    child.sendline("lost in the post")
    child.expect(HEADING)
    assert child.match is not None and child.match.group(3) == "R: Resolve, ask what they want"
    output = pause(child, "What did they ask for?: ")
    assert GENERIC_NOTE in output
    assert (
        "! Step 'apologize-explain' is no longer in the playbook; its answer stays in the case."
        in output
    )
    after = read_case(home)
    kept = by_id(after)
    assert kept["apologize-explain"] == by_id(before)["apologize-explain"]
    assert kept["apologize-explain"]["answer"] == "courier lost it"
    assert kept["explain-honestly"]["answer"] == "lost in the post"
    for record in before["steps"]:
        assert kept[record["id"]] == record
    assert_version_recorded(before, after, digest)


def test_resume_after_the_steps_were_reordered(
    tmp_path: Path, user_playbook: Callable[[str, str], Path], home: Path
) -> None:
    before = interrupted_after_four_steps(home)

    def reorder(steps: dict[str, str]) -> list[str]:
        order = ["diagnose", "hear", "apologize", "empathize", "apologize-explain"]
        return [steps[i] for i in order] + [b for i, b in steps.items() if i not in order]

    user_playbook(PLAYBOOK, edit_steps(shipped_heard(), reorder))
    digest = load_catalog(home).get(PLAYBOOK).digest  # type: ignore[union-attr]
    # The first unanswered step is now the first step of the playbook.
    child = resume_shows(home, 1, TOTAL, "D: Diagnose the root cause")
    child.expect_exact("What really caused this?: ")
    child.sendline("label printer jammed")
    child.expect(HEADING)  # whichever step the walk shows next, pause there
    wait_reading(child)
    output = pause(child, None)
    assert GENERIC_NOTE in output
    assert "no longer in the playbook" not in output
    after = read_case(home)
    kept = by_id(after)
    for record in before["steps"]:
        assert kept[record["id"]] == record  # every answer on its own step id
    assert kept["diagnose"]["answer"] == "label printer jammed"
    assert_version_recorded(before, after, digest)
    # A second resume (same playbook now) opens at the next unanswered step, no warning.
    again = resume_shows(home, 6, TOTAL, "R: Resolve, ask what they want")
    output = pause(again, "What did they ask for?: ")
    assert "The playbook changed" not in output
    assert by_id(read_case(home)) == kept
