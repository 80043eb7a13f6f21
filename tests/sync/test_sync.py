"""recover sync between machines: two or three homes, each with its own cache and
state folders, and a bare git repository on local disk as the remote. Everything is
the real thing: the recover command in its own process, and git."""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from recovery_cli.store.files import parse
from tests.sync.machines import Machine, add_sample, no_markers, shop

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def joined(tmp_path: Path, *names: str) -> tuple[Path, list[Machine]]:
    """A shop whose machines have all joined the remote, in order."""
    remote, machines = shop(tmp_path, *names)
    for machine in machines:
        add_sample(machine)
        done = machine.run("sync", "init", str(remote))
        assert done.code == 0, done.output
    return remote, machines


def every_file_valid(machine: Machine) -> None:
    for path in (machine.home / "cases").iterdir():
        if path.name.endswith(".json"):
            parse(path, path.read_bytes())  # raises if damaged


# -- init -------------------------------------------------------------------------------
def test_init_makes_the_home_a_repository_that_keeps_this_machine_files_out(
    tmp_path: Path,
) -> None:
    remote, (one,) = shop(tmp_path, "one")
    done = one.run("sync", "init", str(remote))
    assert done.code == 0, done.output
    assert "This machine's letter: A; its new cases are 1, 2, … (no letter)" in done.out
    assert f"Joined {remote}." in done.out
    home = one.home
    assert (home / ".git").is_dir()
    assert "cases/*.json merge=recover-case" in (home / ".gitattributes").read_text()
    assert ".*.tmp" in (home / ".gitignore").read_text()
    assert "(?d).*.tmp" in (home / ".stignore").read_text()
    assert "recovery_cli.cli.gitmerge case" in one.git("config", "merge.recover-case.driver")
    assert json.loads((home / "machines" / "A.json").read_text())["machine"]
    # What was committed went to the remote.
    pushed = subprocess.run(
        ["git", "--git-dir", str(remote), "ls-tree", "-r", "--name-only", "main"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert {".gitattributes", ".gitignore", "machines/A.json"} <= set(pushed)
    # The index and locks are never in the home, nor in git.
    assert not any(
        p.suffix in (".sqlite3", ".lock") for p in home.rglob("*") if ".git" not in p.parts
    )


def test_the_second_machine_gets_its_own_letter_and_the_remote_cases(tmp_path: Path) -> None:
    remote, (a, b) = shop(tmp_path, "a", "b")
    assert a.run("sync", "init", str(remote)).code == 0
    add_sample(a)
    first = a.new_case()
    assert first == "1"
    assert a.run("sync").code == 0
    done = b.run("sync", "init", str(remote))
    assert done.code == 0, done.output
    assert "This machine's letter: B; its new cases are B1, B2, …" in done.out
    assert "From the remote: 1 case." in done.out
    assert b.case_files() == ["1"]
    assert b.new_case() == "B1"
    assert b.listed() == ["1", "B1"]


def test_a_home_with_cases_cannot_join_a_remote_with_the_same_ids(tmp_path: Path) -> None:
    remote, (a, b) = shop(tmp_path, "a", "b")
    assert a.run("sync", "init", str(remote)).code == 0
    a.make_cases(2)
    assert a.run("sync").code == 0
    b.make_cases(1)  # a shop of its own, made apart: its case 1 is another case
    done = b.run("sync", "init", str(remote))
    assert done.code == 8, done.output
    assert "this home has cases of its own (1), made apart from the remote's" in done.err
    assert "Traceback" not in done.output
    assert b.case_files() == ["1"] and b.case("1")["customer"]["name"] == "b 0"  # type: ignore[index]
    assert not (b.home / ".git").exists()  # left as it was


# -- many cases, offline, on two machines ----------------------------------------------------
@pytest.mark.parametrize(("first", "each"), [("a", 500), ("b", 200)])
def test_two_machines_make_cases_offline_and_sync_in_either_order(
    tmp_path: Path, first: str, each: int
) -> None:
    _, (a, b) = joined(tmp_path, "a", "b")
    made_a = a.make_cases(each)
    made_b = b.make_cases(each)
    assert made_a[:2] == ["1", "2"] and made_b[:2] == ["B1", "B2"]
    order = [a, b, a] if first == "a" else [b, a, b]
    for machine in order:
        done = machine.run("sync")
        assert done.code == 0, done.output
    for machine in (a, b):
        files = machine.case_files()
        assert len(files) == 2 * each and len(set(files)) == 2 * each
        assert set(files) == set(made_a) | set(made_b)
        every_file_valid(machine)
    assert a.listed() == b.listed() == sorted(made_a + made_b)
    assert a.git("rev-parse", "HEAD") == b.git("rev-parse", "HEAD")


# -- the same case on both machines ----------------------------------------------------------
def test_the_same_case_edited_on_both_machines_keeps_every_answer(tmp_path: Path) -> None:
    _, (seller, assistant) = joined(tmp_path, "seller", "assistant")
    case_id = seller.new_case()
    assert seller.run("sync").code == 0
    assert assistant.run("sync").code == 0
    # The assistant records the follow-up while the seller closes the case.
    record = assistant.run(
        "followup", "record", case_id, "--reached", "--happy", "yes",
        "--note", "called back, all good", "--no-input",
    )  # fmt: skip
    assert record.code == 0, record.output
    close = seller.run(
        "close", case_id, "--outcome", "kept", "--satisfaction", "5", "--cause", "spam filter",
        "--tag", "email", "--prevention", "send from our own domain", "--no-input",
    )  # fmt: skip
    assert close.code == 0, close.output
    assert seller.run("sync").code == 0
    merged = assistant.run("sync")
    assert merged.code == 0, merged.output
    assert f"changed on both machines and merged: {case_id}" in merged.out
    assert seller.run("sync").code == 0
    for machine in (seller, assistant):
        case = machine.case(case_id)
        follow = case["follow_ups"][0]  # type: ignore[index]
        assert follow["note"] == "called back, all good" and follow["happy"] == "yes"
        outcome = case["outcome"]
        assert outcome["result"] == "kept" and outcome["satisfaction"] == 5  # type: ignore[index]
        assert outcome["prevention"] == "send from our own domain"  # type: ignore[index]
        assert any(e["event"] == "merged" for e in case["log"])  # type: ignore[union-attr]
        assert no_markers(machine.home) == []
    assert seller.case(case_id) == assistant.case(case_id)
    history = seller.run("log", case_id)
    assert history.code == 0, history.output
    assert "follow-up done" in history.out and "outcome recorded" in history.out
    assert "sync: merged" in seller.run("log").out


# -- each command is one commit ------------------------------------------------------------------
def test_each_command_that_changes_something_is_one_commit(tmp_path: Path) -> None:
    _, (a,) = joined(tmp_path, "a")
    case_id = a.new_case()
    assert a.git("log", "-1", "--format=%s").strip() == f"case {case_id}: created; walk completed"
    assert a.git("status", "--porcelain") == ""
    before = a.git("rev-list", "--count", "HEAD")
    assert a.run("list").code == 0 and a.run("show", case_id).code == 0
    assert a.git("rev-list", "--count", "HEAD") == before  # views commit nothing
    assert a.run("config", "set", "seller", "Sam").code == 0
    assert a.git("log", "-1", "--format=%s").strip() == "recover config"
    assert "config.toml" in a.git("show", "--name-only", "--format=", "HEAD")
    history = a.run("log")
    assert f"case {case_id}: created; walk completed" in history.out


# -- faults ---------------------------------------------------------------------------------
def test_an_unreachable_remote_keeps_local_work_committed(tmp_path: Path) -> None:
    remote, (a,) = joined(tmp_path, "a")
    case_id = a.new_case()
    shutil.move(remote, tmp_path / "unplugged.git")  # the USB stick is out
    done = a.run("sync")
    assert done.code == 8, done.output
    assert "Out: 1 commit pending: the remote could not be reached or read" in done.err
    assert "Traceback" not in done.output and "Dana" not in done.output
    assert a.git("status", "--porcelain") == ""
    assert f"case {case_id}: created" in a.git("log", "-1", "--format=%s")
    shutil.move(tmp_path / "unplugged.git", remote)
    again = a.run("sync")
    assert again.code == 0 and "Out: 1 commit sent" in again.out, again.output


def test_a_damaged_remote_is_named_and_nothing_local_is_lost(tmp_path: Path) -> None:
    remote, (a,) = joined(tmp_path, "a")
    a.new_case()
    (remote / "HEAD").write_text("garbage\n")
    shutil.rmtree(remote / "objects")
    done = a.run("sync")
    assert done.code == 8, done.output
    assert "the remote could not be reached or read" in done.err
    assert "Traceback" not in done.output
    assert a.case_files() == ["1"] and a.git("status", "--porcelain") == ""


def test_git_missing_is_one_clear_message(tmp_path: Path) -> None:
    _, (a,) = shop(tmp_path, "a")
    env = a.env()
    bare = tmp_path / "bin"
    bare.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "recovery_cli", "sync", "init"],
        env={**env, "PATH": str(bare)}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("Error: git is not installed")
    assert "Traceback" not in done.stderr
    # An old git is named with the version it needs.
    old = bare / "git"
    old.write_text("#!/bin/sh\necho 'git version 2.1.4'\n")
    old.chmod(0o755)
    done = subprocess.run(
        [sys.executable, "-m", "recovery_cli", "sync", "init"],
        env={**env, "PATH": str(bare)}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "git 2.1.4 is too old for recover sync (it needs 2.25 or newer)" in done.stderr


def test_sync_before_init_says_how_to_start(tmp_path: Path) -> None:
    _, (a,) = shop(tmp_path, "a")
    a.make_cases(1)
    done = a.run("sync")
    assert done.code == 2
    assert "is not synced yet" in done.err and "recover sync init" in done.err


def test_a_playbook_changed_on_both_machines_stops_the_sync_cleanly(tmp_path: Path) -> None:
    _, (a, b) = joined(tmp_path, "a", "b")
    assert a.run("sync").code == 0 and b.run("sync").code == 0
    path = "playbooks/sample.toml"
    for machine, title in ((a, "Mine"), (b, "Theirs")):
        file = machine.home / path
        file.write_text(file.read_text().replace('title = "Sample recovery"', f'title = "{title}"'))
    assert a.run("sync").code == 0
    done = b.run("sync")
    assert done.code == 8, done.output
    assert f"{path} changed on this machine and on the other in the same lines" in done.err
    assert f"recover sync --keep {path}" in done.err
    assert no_markers(b.home) == []
    assert 'title = "Theirs"' in (b.home / path).read_text()
    assert 'title = "Mine"' in (b.home / f"{path}.theirs").read_text()
    assert not (b.home / ".git" / "MERGE_HEAD").exists()
    assert b.git("status", "--porcelain") == ""  # .theirs is ignored: git is clean
    assert b.run("playbook", "check").code == 0  # the next walk loads it
    kept = b.run("sync", "--keep", path)
    assert kept.code == 0, kept.output
    assert not (b.home / f"{path}.theirs").exists()
    assert a.run("sync").code == 0
    assert 'title = "Theirs"' in (a.home / path).read_text()


def test_a_playbook_changed_apart_on_both_machines_merges_as_text(tmp_path: Path) -> None:
    _, (a, b) = joined(tmp_path, "a", "b")
    assert a.run("sync").code == 0 and b.run("sync").code == 0
    path = "playbooks/sample.toml"
    one = a.home / path
    one.write_text(one.read_text().replace('goodwill_limit = "25.00"', 'goodwill_limit = "30.00"'))
    two = b.home / path
    two.write_text(
        two.read_text().replace('do = "Let them talk."', 'do = "Let them talk, all of it."')
    )
    assert a.run("sync").code == 0
    done = b.run("sync")
    assert done.code == 0, done.output
    text = two.read_text()
    assert 'goodwill_limit = "30.00"' in text and "all of it" in text


def test_a_case_open_in_a_walk_here_is_deferred_and_never_overwritten(tmp_path: Path) -> None:
    import fcntl

    _, (a, b) = joined(tmp_path, "a", "b")
    case_id = a.new_case()
    assert a.run("sync").code == 0 and b.run("sync").code == 0
    record = b.run("followup", "record", case_id, "--not-reached", "--no-input")
    assert record.code == 0, record.output
    assert b.run("sync").code == 0
    with a.inside() as store:
        lock = store.files.lock_path(f"case-{case_id}")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a walk of the case, in another terminal of a
    try:
        before = (a.home / "cases" / f"{case_id}.json").read_bytes()
        done = a.run("sync")
        assert done.code == 8, done.output
        assert f"Deferred: {case_id} open in a walk on this machine" in done.err
        assert (a.home / "cases" / f"{case_id}.json").read_bytes() == before
    finally:
        os.close(fd)
    done = a.run("sync")
    assert done.code == 0, done.output
    assert a.case(case_id)["follow_ups"][0]["result"] == "not_reached"  # type: ignore[index]


def _kill_runs(tmp_path: Path, rounds: int, seed: int) -> None:
    """Sync killed (SIGKILL) at random moments, with changes on both sides each round:
    the next sync completes, and loses nothing."""
    rng = random.Random(seed)
    _, (a, b) = joined(tmp_path, "a", "b")
    shared = a.make_cases(3, label="shared ")
    assert a.run("sync").code == 0 and b.run("sync").code == 0
    expected = set(shared)
    timed = time.monotonic()
    assert a.run("sync").code == 0
    span = max(0.2, (time.monotonic() - timed) * 2.5)
    for turn in range(rounds):
        expected |= set(b.make_cases(2, label=f"round {turn} "))
        assert b.run("sync").code == 0
        expected |= set(a.make_cases(2, label=f"round {turn} "))
        with a.inside() as store:  # the same case changed here too: a merge by the driver
            case = store.load(shared[turn % 3])
            with store.session(case.id):
                case.add_event(case.updated_at, "note", f"round {turn}")
                store.save(case)
        # Every other round the whole process group dies (git and its children too, as
        # when a terminal closes); else recover alone, its git left to run on.
        group = turn % 2 == 1
        killed = subprocess.Popen(
            [sys.executable, "-m", "recovery_cli", "sync"],
            env=a.env(), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=group,
        )  # fmt: skip
        time.sleep(rng.uniform(0, span))
        if group:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(killed.pid, signal.SIGKILL)
        else:
            killed.send_signal(signal.SIGKILL)
        killed.wait()
        assert no_markers(a.home) == [], f"round {turn}"
        done = a.run("sync")
        stale = re.search(r"locked by a push that did not finish \((\S+)\)", done.err)
        if done.code == 8 and stale is not None:
            # The whole group died inside the remote's own git (the remote is on this
            # disk): git leaves its lock there, and the message says what to do.
            Path(stale.group(1)).unlink()
            done = a.run("sync")
        assert done.code == 0, f"round {turn}: {done.output}"
        assert set(a.case_files()) == expected, f"round {turn}"
        assert a.git("status", "--porcelain") == "", f"round {turn}"
        notes = [e["detail"] for e in a.case(shared[turn % 3])["log"] if e["event"] == "note"]  # type: ignore[union-attr,index]
        assert f"round {turn}" in notes, f"round {turn}"
    assert b.run("sync").code == 0
    assert set(b.case_files()) == expected
    every_file_valid(a)
    every_file_valid(b)


def test_sync_killed_at_random_moments_loses_nothing(tmp_path: Path) -> None:
    _kill_runs(tmp_path, 10, seed=17)


@pytest.mark.soak
def test_soak_sync_killed_at_50_random_moments(tmp_path: Path) -> None:
    _kill_runs(tmp_path, 50, seed=1701)


def test_a_damaged_case_on_one_machine_keeps_both_versions_and_doctor_names_both(
    tmp_path: Path,
) -> None:
    _, (a, b) = joined(tmp_path, "a", "b")
    case_id = a.new_case()
    assert a.run("sync").code == 0 and b.run("sync").code == 0
    assert b.run("followup", "record", case_id, "--not-reached", "--no-input").code == 0
    assert b.run("sync").code == 0
    damaged = a.home / "cases" / f"{case_id}.json"
    damaged.write_bytes(damaged.read_bytes()[:40])  # a disk that cut it short, here
    done = a.run("sync")
    assert done.code == 0, done.output
    assert "Traceback" not in done.output and "Dana" not in done.output
    copies = sorted((a.home / "cases").glob(f"{case_id}.conflict-*.json"))
    assert len(copies) == 1
    assert f"case {case_id}: the two versions could not be merged" in done.err
    assert str(copies[0]) in done.err  # told by the sync, naming both files
    # The readable version is the case; the damaged one is kept beside it.
    assert a.case(case_id)["follow_ups"][0]["result"] == "not_reached"  # type: ignore[index]
    assert len(copies[0].read_bytes()) == 40  # the damaged bytes, unchanged
    doctor = a.run("doctor", "--json")
    found = [f for f in json.loads(doctor.out)["findings"] if f["check"] == "conflict-copies"]
    assert len(found) == 1 and found[0]["severity"] == "error"
    assert str(copies[0]) in found[0]["message"] and str(damaged) in found[0]["message"]
    assert a.listed() == [case_id]


def test_three_machines_joining_at_once_get_three_letters(tmp_path: Path) -> None:
    remote, machines = shop(tmp_path, "a", "b", "c")
    first = machines[0]
    add_sample(first)
    assert first.run("sync", "init", str(remote)).code == 0
    joining = [
        subprocess.Popen(
            [sys.executable, "-m", "recovery_cli", "sync", "init", str(remote)],
            env=m.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for m in machines[1:]
    ]
    for proc in joining:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, out + err
    for machine in machines:
        assert machine.run("sync").code == 0
    for machine in machines:
        assert machine.run("sync").code == 0
    claims = (first.home / "machines").glob("*.json")
    letters = {json.loads(p.read_text())["machine"]: p.stem for p in claims}
    assert sorted(letters.values()) == ["A", "B", "C"]
    made = [m.new_case() for m in machines]
    assert made[0] == "1" and sorted(made[1:]) == ["B1", "C1"]
    for machine in machines:
        assert machine.run("sync").code == 0
    for machine in machines:
        assert machine.run("sync").code == 0
    assert machines[0].listed() == machines[1].listed() == machines[2].listed() == sorted(made)


def test_sync_json_and_a_new_remote(tmp_path: Path) -> None:
    remote, (a,) = joined(tmp_path, "a")
    a.new_case()
    done = a.run("sync", "--json")
    assert done.code == 0, done.output
    report = json.loads(done.out)
    assert report["pushed"] is True and report["out"] == 1 and report["pending"] is None
    assert report["remote"] == str(remote)
    moved = tmp_path / "nas.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(remote), str(moved)], check=True)
    changed = a.run("sync", "remote", str(moved))
    assert changed.code == 0 and f"(was {remote})" in changed.out
    a.new_case()
    assert a.run("sync").code == 0
    log = subprocess.run(
        ["git", "--git-dir", str(moved), "log", "-1", "--format=%s", "main"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert log.stdout.strip() == "case 2: created; walk completed"


def test_log_of_a_home_not_synced_says_how_to_start(tmp_path: Path) -> None:
    _, (a,) = shop(tmp_path, "a")
    a.make_cases(1)
    done = a.run("log")
    assert done.code == 2 and "not synced with git" in done.err


def test_joining_an_unreachable_remote_changes_nothing_and_takes_no_letter(
    tmp_path: Path,
) -> None:
    _, (a,) = shop(tmp_path, "a")
    done = a.run("sync", "init", str(tmp_path / "unplugged.git"))
    assert done.code == 8, done.output
    assert "could not be reached" in done.err and "Nothing was changed" in done.err
    assert not (a.home / ".git").exists() and not (a.home / "machines").exists()


def test_a_remote_started_apart_is_refused(tmp_path: Path) -> None:
    remote, (a,) = joined(tmp_path, "a")
    other, (c,) = shop(tmp_path / "other", "c")
    assert c.run("sync", "init", str(other)).code == 0
    c.make_cases(1)
    assert c.run("sync").code == 0
    done = a.run("sync", "remote", str(other))
    assert done.code == 8, done.output
    assert "started apart" in done.err
    assert a.git("remote", "get-url", "origin").strip() == str(remote)
    assert a.run("sync").code == 0


def test_a_home_whose_files_differ_from_the_remote_cannot_join_and_is_left_as_it_was(
    tmp_path: Path,
) -> None:
    remote, (a, b) = shop(tmp_path, "a", "b")
    assert a.run("sync", "init", str(remote)).code == 0
    assert a.run("config", "set", "seller", "Sam").code == 0
    assert a.run("sync").code == 0
    assert b.run("config", "set", "seller", "Robin").code == 0
    done = b.run("sync", "init", str(remote))
    assert done.code == 8, done.output
    assert "config.toml" in done.err and "Traceback" not in done.output
    assert not (b.home / ".git").exists()
    assert "Robin" in (b.home / "config.toml").read_text()


def test_the_users_own_git_settings_do_not_stop_a_sync(tmp_path: Path) -> None:
    remote, (a, b) = shop(tmp_path, "a", "b")
    for machine in (a, b):
        (machine.root / machine.name / ".gitconfig").write_text(
            "[commit]\n\tgpgsign = true\n[merge]\n\tff = only\n[init]\n\tdefaultBranch = trunk\n"
            "[pull]\n\trebase = true\n[user]\n\tname = Sam\n\temail = sam@example.com\n"
        )
        add_sample(machine)
        assert machine.run("sync", "init", str(remote)).code == 0
    case_id = a.new_case()
    assert a.run("sync").code == 0 and b.run("sync").code == 0
    assert b.run("followup", "record", case_id, "--not-reached", "--no-input").code == 0
    assert a.run("followup", "add", case_id, "--in", "5d").code == 0
    assert b.run("sync").code == 0
    done = a.run("sync")
    assert done.code == 0, done.output
    follow_ups = a.case(case_id)["follow_ups"]
    assert len(follow_ups) == 2 and follow_ups[0]["result"] == "not_reached"  # type: ignore[arg-type,index]
    assert "Sam" in a.git("log", "-1", "--format=%an")  # their identity, kept


def test_a_home_not_on_main_is_told_what_to_do(tmp_path: Path) -> None:
    _, (a,) = joined(tmp_path, "a")
    a.new_case()
    a.new_case()
    a.git("checkout", "-q", "HEAD~1")
    done = a.run("sync")
    assert done.code == 8, done.output
    assert "detached HEAD" in done.err and "checkout main" in done.err


def test_a_merge_left_half_made_under_later_changes_loses_nothing(tmp_path: Path) -> None:
    _, (a, b) = joined(tmp_path, "a", "b")
    case_id = a.new_case()
    assert a.run("sync").code == 0 and b.run("sync").code == 0
    assert (
        b.run("followup", "record", case_id, "--reached", "--happy", "yes", "--no-input").code == 0
    )
    assert b.run("sync").code == 0
    close = a.run("close", case_id, "--outcome", "kept", "--satisfaction", "4", "--no-input")
    assert close.code == 0, close.output
    # A sync cut short in the middle of its merge, as a kill leaves it...
    a.git("fetch", "-q", "origin")
    subprocess.run(
        ["git", "-c", "merge.recover-case.driver=false", "merge", "--no-commit", "--no-ff",
         "origin/main"],
        cwd=a.home, env=a.env(), capture_output=True, check=False,
    )  # fmt: skip
    assert (a.home / ".git" / "MERGE_HEAD").exists()
    # ...then more work here, on the same case, before the next sync.
    assert a.run("followup", "add", case_id, "--in", "5d").code == 0
    done = a.run("sync")
    assert done.code == 0, done.output
    assert not (a.home / ".git" / "MERGE_HEAD").exists()
    assert a.git("status", "--porcelain") == ""
    case = a.case(case_id)
    assert case["follow_ups"][0]["happy"] == "yes"  # type: ignore[index]
    # B's answer, this machine's outcome, and the follow-up planned during the merge.
    assert len(case["follow_ups"]) == 2 and case["outcome"]["satisfaction"] == 4  # type: ignore[arg-type,index]
    assert no_markers(a.home) == []
    assert b.run("sync").code == 0 and b.case(case_id) == a.case(case_id)


def test_a_token_in_a_remote_url_is_never_shown(tmp_path: Path) -> None:
    _, (a,) = joined(tmp_path, "a")
    done = a.run("sync", "remote", "https://sam:ghp_S3CRET@127.0.0.1:9/shop.git")
    assert done.code == 0, done.output
    assert "ghp_S3CRET" not in done.output and "https://127.0.0.1:9/shop.git" in done.out
    synced = a.run("sync", "--json")
    assert "ghp_S3CRET" not in synced.output
    assert json.loads(synced.out)["pending"].startswith("the remote could not be reached")


def test_a_push_cut_short_on_the_remote_is_named_with_what_to_do(tmp_path: Path) -> None:
    remote, (a,) = joined(tmp_path, "a")
    a.new_case()
    lock = remote / "refs" / "heads" / "main.lock"
    lock.write_text("")  # left by a push whose process died on the remote's side
    done = a.run("sync")
    assert done.code == 8, done.output
    assert f"the remote is locked by a push that did not finish ({lock})" in done.err
    assert "remove that file" in done.err and a.git("status", "--porcelain") == ""
    lock.unlink()
    assert a.run("sync").code == 0
