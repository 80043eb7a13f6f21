"""Several terminals at once: creating cases, saving the same case, locks.

Contract (DESIGN.md, "Cases" and "Contract with the user"; README.md, "During a walk",
"Where things live" and "Exit codes"): ids are unique even when terminals create
cases at the same moment; a case is walked in one terminal at a time (a second one
is refused with exit 6) and a save never overwrites a change made behind its back;
a lock is released however its process ends and lock files are never deleted.

Every "other terminal" here is a separate process. Timeouts are safety nets only.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest

from recovery_cli.case import Case, PlaybookRef
from recovery_cli.errors import CaseBusyError, ExitStatus
from recovery_cli.playbooks.catalog import load_catalog
from recovery_cli.store import Store
from tests.conftest import NOW, lock_file, locks_of, read_case, sample_builder, sample_case
from tests.contract.test_interrupt import (
    HEADING,
    SAFETY,
    finish,
    seen,
    spawn,
    wait_reading,
)
from tests.terminal import run

HEARD_TITLE = "HEARD: Hear, Empathize, Apologize, Resolve, Diagnose"
BUSY = "Error: case 1 is open in another terminal"
DETAILS = {
    "Name: ": "Dana Reyes",
    "Email: ": "dana@example.com",
    "Order reference: ": "A-1042",
    "Order value (USD): ": "29",
    "Channel (phone, email, chat...): ": "phone",
}


# -- helpers -------------------------------------------------------------------------------
def heard_ref(home: Path) -> PlaybookRef:
    playbook = load_catalog(home).get("heard")
    assert playbook is not None
    return PlaybookRef(id=playbook.id, title=playbook.title, hash=playbook.digest)


def unfinished_case(home: Path) -> str:
    """Case 1: a walk of ``heard`` not yet started, with a follow-up to do; no lock held."""
    ref = heard_ref(home)

    def build(case_id: str) -> Case:
        case = sample_case(case_id, playbook=ref, name="Dana Reyes")
        case.schedule_follow_up(None, NOW, "Checking in")
        return case

    store = Store(home)
    case = store.create(build)
    store.release(case.id)
    return case.id


def case_path(home: Path, case_id: str = "1") -> Path:
    return home / "cases" / f"{case_id}.json"


# A process that holds a case the way a walk in another terminal does.
HOLD = """
import sys
from pathlib import Path
from recovery_cli.store import Store
store = Store(Path(sys.argv[1]))
with store.session(sys.argv[2]):
    print("holding", flush=True)
    sys.stdin.readline()
"""


@contextlib.contextmanager
def held(home: Path, case_id: str = "1") -> Iterator[subprocess.Popen[str]]:
    """Case ``case_id`` held open by another process until the block ends."""
    with subprocess.Popen(
        [sys.executable, "-c", HOLD, str(home), case_id],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        line = proc.stdout.readline()
        try:
            assert line == "holding\n", line + proc.stdout.read()
            yield proc
        finally:
            if proc.poll() is None:
                proc.stdin.write("\n")
                proc.stdin.flush()
            proc.wait(timeout=SAFETY)


def refused(result: subprocess.CompletedProcess[str]) -> None:
    """The one clear message of a case open elsewhere, exit 6, nothing else."""
    assert result.returncode == ExitStatus.BUSY, result.stderr
    assert result.stderr == f"{BUSY}\nFinish or pause it there first.\n"
    assert "Traceback" not in result.stdout + result.stderr


def give_details(walk: pexpect.spawn, details: dict[str, str]) -> None:
    """Type the customer details; leave the walk at step 1's prompt."""
    for prompt, answer in details.items():
        walk.expect_exact(prompt)
        walk.sendline(answer)
    walk.expect_exact("What went wrong, in their words?: ")


def lock_inodes(home: Path) -> dict[str, int]:
    """The case lock files of the home on this machine (outside the home), by name."""
    folder = lock_file(home, "1").parent
    return {p.name: p.stat().st_ino for p in folder.glob("case-*.lock")}


# -- creating cases at the same moment -----------------------------------------------------
def _create_cases(
    home: str,
    worker: int,
    count: int,
    start: Any,
    results: Any,
) -> None:
    """One terminal: wait for the others, then create ``count`` cases, one at a time,
    letting each go as ``recover new`` does when it ends."""
    store = Store(Path(home))
    start.wait(timeout=SAFETY)
    made = []
    for seq in range(count):
        case = store.create(sample_builder(name=f"worker {worker} case {seq}"))
        store.release(case.id)
        made.append((case.id, case.customer.name))
    results.put((worker, made))


def _create_at_once(home: Path, workers: int, count: int) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(workers)
    results = context.Queue()
    procs = [
        context.Process(target=_create_cases, args=(str(home), w, count, start, results))
        for w in range(workers)
    ]
    for proc in procs:
        proc.start()
    made = dict(results.get(timeout=SAFETY * 4) for _ in procs)
    for proc in procs:
        proc.join(timeout=SAFETY)
        assert proc.exitcode == 0

    total = workers * count
    ids = [case_id for w in range(workers) for case_id, _ in made[w]]
    assert len(set(ids)) == len(ids) == total
    assert sorted(int(i) for i in ids) == list(range(1, total + 1))  # unique and dense
    creator = {case_id: name for w in range(workers) for case_id, name in made[w]}
    for w in range(workers):  # each worker made its own cases, in order
        assert [name for _, name in made[w]] == [f"worker {w} case {s}" for s in range(count)]
        assert [int(i) for i, _ in made[w]] == sorted(int(i) for i, _ in made[w])
    store = Store(home)
    for case_id, name in creator.items():
        case = store.load(case_id)  # parses
        assert case.customer.name == name  # and was never overwritten by another worker
        assert case.revision == 1
    names = sorted(p.name for p in (home / "cases").iterdir())
    assert len([n for n in names if n.endswith(".json")]) == total
    assert not [n for n in names if n.endswith(".tmp")]
    assert {f"case-{i}.lock" for i in ids} <= set(locks_of(home))  # every lock is still there


@pytest.mark.parametrize("workers", [2, 4])
def test_cases_created_at_the_same_moment_all_land(tmp_path: Path, workers: int) -> None:
    _create_at_once(tmp_path / "home", workers, 100)


@pytest.mark.soak
@pytest.mark.parametrize("workers", [8])
def test_cases_created_at_the_same_moment_all_land_soak(tmp_path: Path, workers: int) -> None:
    _create_at_once(tmp_path / "home", workers, 250)


NEW_QUICK = [sys.executable, "-m", "recovery_cli", "new", "--answers"]


def _new_in_terminals(home: Path, tmp_path: Path, terminals: int) -> None:
    answers = tmp_path / "quick.toml"
    answers.write_text('playbook = "heard"\n', encoding="utf-8")
    env = {**os.environ, "RECOVER_HOME": str(home), "NO_COLOR": "1"}
    procs = [
        subprocess.Popen(
            [*NEW_QUICK, str(answers), "--no-input", "--name", f"terminal {n}"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(terminals)
    ]
    printed = {}
    for n, proc in enumerate(procs):
        out, err = proc.communicate(timeout=SAFETY)
        assert proc.returncode == 0, err
        printed[out.strip()] = f"terminal {n}"
    assert sorted(int(i) for i in printed) == list(range(1, terminals + 1))
    for case_id, name in printed.items():
        case = read_case(home, case_id)
        assert case["id"] == case_id and case["customer"]["name"] == name


def test_recover_new_in_several_terminals_at_once_prints_distinct_ids(tmp_path: Path) -> None:
    _new_in_terminals(tmp_path / "home", tmp_path, 6)


@pytest.mark.soak
def test_recover_new_in_many_terminals_at_once_soak(tmp_path: Path) -> None:
    _new_in_terminals(tmp_path / "home", tmp_path, 24)


# -- two terminals, one case ---------------------------------------------------------------
OUTCOME_KEPT = ["--outcome", "kept", "--satisfaction", "5", "--cause", "courier", "--tag", "ship"]
OUTCOME_KEPT += ["--prevention", "new courier"]
COMMANDS = {
    "resume": ["resume", "1"],
    "followup": ["followup", "1", "--no-input", "--reached", "--happy", "yes", "--note", "ok"],
    "followup-add": ["followup", "add", "1", "--in", "3d"],
    "close": ["close", "1", "--no-input", *OUTCOME_KEPT],
}


@pytest.mark.parametrize(
    "command", [pytest.param(c, marks=pytest.mark.pty) if c == "resume" else c for c in COMMANDS]
)
def test_a_case_open_in_another_terminal_is_refused(tmp_path: Path, command: str) -> None:
    home = tmp_path / "home"
    unfinished_case(home)
    before = case_path(home).read_bytes()
    with held(home):
        refused(run(home, *COMMANDS[command]))
        assert case_path(home).read_bytes() == before
    # Once the other terminal lets go, the same command goes through.
    if command == "resume":
        child = spawn(home, "resume", "1")
        child.expect_exact(f"Resuming case 1 · {HEARD_TITLE}")
        child.expect_exact("What went wrong, in their words?: ")
        child.sendline(":pause")
        finish(child)
    else:
        done = run(home, *COMMANDS[command])
        assert done.returncode == 0, done.stderr
    assert read_case(home)["revision"] > json.loads(before)["revision"]


@pytest.mark.pty
def test_a_second_terminal_cannot_take_a_case_being_walked(tmp_path: Path) -> None:
    home = tmp_path / "home"
    walk = spawn(home, "new", "-p", "heard")
    give_details(walk, DETAILS)
    walk.sendline("It never arrived")
    walk.expect_exact("Note (optional): ")
    before = case_path(home).read_bytes()
    for command in (COMMANDS["resume"], COMMANDS["close"], COMMANDS["followup-add"]):
        refused(run(home, *command))
    assert case_path(home).read_bytes() == before
    # The first terminal goes on as if nothing happened.
    walk.sendline("felt for them")
    walk.expect_exact("Note (optional): ")
    walk.sendline(":pause")
    walk.expect_exact("Paused. Case 1 is saved.")
    finish(walk)
    case = read_case(home)
    assert [(r["id"], r["answer"] or r["note"]) for r in case["steps"]] == [
        ("hear", "It never arrived"),
        ("empathize", "felt for them"),
    ]
    assert case["customer"]["name"] == "Dana Reyes"


_SAVE_WITH_SESSION = """
import sys
from pathlib import Path
from recovery_cli.store import Store
store = Store(Path(sys.argv[1]))
with store.session("1"):
    case = store.load("1")
    case.customer.order = "B-2"
    store.save(case)
"""


def test_a_stale_copy_is_refused_and_the_other_change_kept(tmp_path: Path) -> None:
    home = tmp_path / "home"
    unfinished_case(home)
    mine = Store(home)
    stale = mine.load("1")
    other = subprocess.run(
        [sys.executable, "-c", _SAVE_WITH_SESSION, str(home)],
        capture_output=True,
        text=True,
        timeout=SAFETY,
        check=False,
    )
    assert other.returncode == 0, other.stderr
    theirs = case_path(home).read_bytes()
    stale.customer.channel = "chat"
    with pytest.raises(CaseBusyError) as refusal:
        mine.save(stale)
    assert refusal.value.exit_code == ExitStatus.BUSY == 6
    assert "was changed elsewhere since it was opened here" in refusal.value.message
    assert case_path(home).read_bytes() == theirs  # no lost update
    assert read_case(home)["customer"]["order"] == "B-2"
    with pytest.raises(CaseBusyError):  # and trying again does not sneak it through
        mine.save(stale)
    assert case_path(home).read_bytes() == theirs


@pytest.mark.pty
def test_a_walk_whose_case_changed_behind_its_back_stops_with_exit_6(tmp_path: Path) -> None:
    home = tmp_path / "home"
    walk = spawn(home, "new", "-p", "heard", "--name", "Dana Reyes")
    give_details(walk, dict.fromkeys(list(DETAILS)[1:], ""))
    walk.sendline("It never arrived")
    walk.expect_exact("Note (optional): ")
    wait_reading(walk)  # the walk sits at step 2, its copy of the case in memory
    # Meanwhile the case file is replaced by a newer version of it from elsewhere (a
    # synced folder, a restored backup, a tool that does not take the lock).
    newer = read_case(home)
    newer["customer"]["order"] = "B-2"
    newer["revision"] += 1
    scratch = home / "cases" / ".1.json.elsewhere.tmp"
    scratch.write_text(json.dumps(newer, indent=2), encoding="utf-8")
    os.replace(scratch, case_path(home))
    theirs = case_path(home).read_bytes()
    walk.sendline("felt for them")
    walk.expect(pexpect.EOF)
    walk.close()
    output = seen(walk)
    assert (walk.exitstatus, walk.signalstatus) == (ExitStatus.BUSY, None), output[-1000:]
    assert (
        "Error: case 1 was changed elsewhere since it was opened here; this change was not saved"
        in output
    )
    assert "Nothing on disk was overwritten. See it with: recover show 1" in output
    assert "Traceback" not in output
    assert case_path(home).read_bytes() == theirs  # the other change is kept
    # The refused answer can be given again: resume opens at that step.
    resumed = spawn(home, "resume", "1")
    resumed.expect(HEADING)
    assert resumed.match is not None and resumed.match.group(1) == "2"
    resumed.expect_exact("Note (optional): ")
    resumed.sendline("felt for them")
    resumed.expect(HEADING)
    assert resumed.match is not None and resumed.match.group(3) == "A: Apologize"
    resumed.expect_exact("Note (optional): ")
    resumed.sendline(":pause")
    finish(resumed)
    case = read_case(home)
    assert case["customer"]["order"] == "B-2"
    assert [(r["id"], r["answer"] or r["note"]) for r in case["steps"]] == [
        ("hear", "It never arrived"),
        ("empathize", "felt for them"),
    ]


def _update(home: str, worker: int, count: int, start: Any, results: Any, lock: bool) -> None:
    """One terminal: ``count`` times, read case 1, add an event, save it; a refused save
    (the case is open elsewhere, or changed since it was read) is tried again afresh."""
    store = Store(Path(home))
    start.wait(timeout=SAFETY)
    saved = []
    attempts = 0
    for seq in range(count):
        event = f"worker {worker} update {seq}"
        while True:
            attempts += 1
            if attempts > 100_000:  # safety net against a livelock
                results.put((worker, saved, "gave up"))
                return
            try:
                with store.session("1") if lock else contextlib.nullcontext():
                    case = store.load("1")
                    case.add_event(NOW, event)
                    store.save(case)
            except CaseBusyError:
                continue
            saved.append(event)
            break
    results.put((worker, saved, "done"))


def _update_at_once(home: Path, workers: int, count: int, *, lock: bool) -> None:
    store = Store(home)
    store.release(store.create(sample_builder(name="Ann")).id)
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(workers)
    results = context.Queue()
    procs = [
        context.Process(target=_update, args=(str(home), w, count, start, results, lock))
        for w in range(workers)
    ]
    for proc in procs:
        proc.start()
    reports = [results.get(timeout=SAFETY * 4) for _ in procs]
    for proc in procs:
        proc.join(timeout=SAFETY)
        assert proc.exitcode == 0
    assert all(state == "done" for _, _, state in reports)
    saved = [event for _, events, _ in reports for event in events]
    case = read_case(home)
    on_disk = [e["event"] for e in case["log"]]
    lost = [event for event in saved if event not in on_disk]
    assert not lost, f"{len(lost)} of {len(saved)} saves that reported success were overwritten"
    assert sorted(on_disk) == sorted(["created", *saved])
    assert case["revision"] == 1 + workers * count


def test_terminals_taking_turns_on_one_case_never_lose_an_update(tmp_path: Path) -> None:
    _update_at_once(tmp_path / "home", 4, 25, lock=True)


def test_saves_of_stale_copies_racing_never_lose_an_update(tmp_path: Path) -> None:
    """Store.save checks the revision on disk, then replaces the file: two writers
    that do not hold the case's lock can both pass the check and the second replace
    silently drops the first one's change (see the report: the check is not atomic)."""
    _update_at_once(tmp_path / "home", 4, 25, lock=False)


# -- locks ---------------------------------------------------------------------------------
@pytest.mark.pty
def test_a_lock_held_by_a_killed_walk_does_not_block_the_next_run(tmp_path: Path) -> None:
    home = tmp_path / "home"
    walk = spawn(home, "new", "-p", "heard")
    give_details(walk, DETAILS)
    walk.sendline("It never arrived")
    walk.expect_exact("Note (optional): ")
    walk.sendline("")
    walk.expect_exact("Note (optional): ")
    wait_reading(walk)
    locks = lock_inodes(home)
    assert "case-1.lock" in locks
    refused(run(home, "resume", "1"))  # held right now
    os.kill(walk.pid, signal.SIGKILL)
    walk.expect(pexpect.EOF)
    walk.close()
    assert walk.signalstatus == signal.SIGKILL
    doctor = run(home, "doctor", "--json")
    assert doctor.returncode == 0, doctor.stdout
    assert not [f for f in json.loads(doctor.stdout)["findings"] if f["check"] == "locks"]
    resumed = spawn(home, "resume", "1")
    resumed.expect_exact(f"Resuming case 1 · {HEARD_TITLE}")
    resumed.expect(HEADING)
    assert resumed.match is not None
    assert (resumed.match.group(1), resumed.match.group(3)) == ("3", "A: Apologize")
    resumed.expect_exact("Note (optional): ")
    resumed.sendline("said sorry")
    resumed.expect_exact("What did you tell them went wrong?: ")
    resumed.sendline(":pause")
    finish(resumed)
    case = read_case(home)
    assert [r["id"] for r in case["steps"]] == ["hear", "empathize", "apologize"]
    assert lock_inodes(home) == locks  # the same lock file, never deleted and re-made


def test_a_case_held_by_a_killed_process_is_free_again(tmp_path: Path) -> None:
    home = tmp_path / "home"
    unfinished_case(home)
    with held(home) as holder:
        refused(run(home, *COMMANDS["close"]))
        holder.kill()
        assert holder.wait(timeout=SAFETY) == -signal.SIGKILL
        closed = run(home, *COMMANDS["close"])
    assert closed.returncode == 0, closed.stderr
    assert read_case(home)["outcome"]["result"] == "kept"
    assert lock_file(home, "1").exists()


@pytest.mark.pty
def test_lock_files_are_never_deleted(tmp_path: Path) -> None:
    home = tmp_path / "home"
    answers = tmp_path / "quick.toml"
    answers.write_text('playbook = "heard"\n[answers]\nresolve = ["fix"]\n', encoding="utf-8")
    made = run(home, "new", "--answers", str(answers), "--no-input", "--name", "Ann")
    assert (made.returncode, made.stdout) == (0, "1\n"), made.stderr
    walk = spawn(home, "new", "-p", "heard", "--name", "Bo")
    walk.expect_exact("Email: ")
    walk.sendline(":pause")
    walk.expect_exact("Paused. Case 2 is saved.")
    finish(walk)
    locks = lock_inodes(home)
    assert {"case-1.lock", "case-2.lock"} <= set(locks)

    def still_there(what: str) -> None:
        now = lock_inodes(home)
        assert {name: now.get(name) for name in locks} == locks, f"after {what}"

    resumed = spawn(home, "resume", "2")
    resumed.expect_exact("What went wrong, in their words?: ")
    resumed.sendline(":pause")
    finish(resumed)
    still_there("resume")
    for command in (
        ["followup", "1", "--no-input", "--reached", "--happy", "not-yet", "--note", "x"],
        ["followup", "add", "1", "--in", "2d"],
        COMMANDS["close"],
        ["close", "2", "--no-input", "--outcome", "lost", *OUTCOME_KEPT[2:]],
        ["prevent", "done", "1"],
        ["list", "--all"],
        ["export", "-f", "jsonl"],
    ):
        result = run(home, *command)
        assert result.returncode == 0, (command, result.stderr)
        still_there(" ".join(command))
    leftover = home / "cases" / ".1.json.cutshort.tmp"
    leftover.write_text("{half", encoding="utf-8")
    leftover.chmod(0o600)
    fixed = run(home, "doctor", "--fix")
    assert f"Fixed: removed {leftover}" in fixed.stdout, fixed.stdout
    assert not leftover.exists()
    still_there("doctor --fix")
    checked = run(home, "doctor")
    assert checked.returncode == 0, checked.stdout
    still_there("doctor")


def test_doctor_reports_an_open_case_as_information_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    unfinished_case(home)
    in_flight = home / "cases" / ".1.json.saving.tmp"
    with held(home):
        # A save of the held case may be under way: its temporary file is not touched.
        in_flight.write_text("{half", encoding="utf-8")
        in_flight.chmod(0o600)
        text = run(home, "doctor")
        assert text.returncode == 0, text.stdout
        assert "info: case 1 is open in another terminal right now" in text.stdout
        assert "Nothing needs attention." in text.stdout
        report = run(home, "doctor", "--json", "--fix")
        assert report.returncode == 0, report.stdout
        data = json.loads(report.stdout)
        assert data["needs_attention"] is False and data["fixed"] == []
        assert [(f["check"], f["severity"]) for f in data["findings"]] == [("locks", "info")]
        assert data["findings"][0]["message"] == "case 1 is open in another terminal right now"
        assert in_flight.exists()
        refused(run(home, *COMMANDS["close"]))  # looking did not break the lock
    after = json.loads(run(home, "doctor", "--json").stdout)
    assert not [f for f in after["findings"] if f["check"] == "locks"]
    # Now nobody holds the case, the temporary file is a leftover, and --fix removes it.
    assert [f["check"] for f in after["findings"]] == ["temp-files"]
    assert run(home, "doctor", "--fix").returncode == 0
    assert not in_flight.exists() and lock_file(home, "1").exists()
