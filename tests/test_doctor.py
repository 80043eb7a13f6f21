"""`recover doctor`: every finding, what it advises, --fix, --json, and exit codes."""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from recovery_cli.case import PlaybookRef
from recovery_cli.store import Store, encode
from tests.conftest import NOW, Run, lock_file, mode, sample_builder, sample_case

build = sample_builder(name="Ann")


@pytest.fixture
def store(home: Path) -> Store:
    """A home with two healthy cases, private as recover leaves it."""
    store = Store(home)
    store.create(build)
    store.release("1")
    store.create(build)
    store.release("2")
    return store


def snapshot(home: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under the home but the summary index (a cache that any command may
    bring up to date): its bytes and mode."""
    return {
        str(p.relative_to(home)): (p.read_bytes(), mode(p))
        for p in sorted(home.rglob("*"))
        if p.is_file() and not p.name.startswith("index.sqlite3")
    }


def doctor_json(run: Run, *args: str) -> tuple[int, dict[str, Any]]:
    result = run("doctor", "--json", *args)
    return result.exit_code, json.loads(result.stdout)


def test_a_healthy_home_needs_nothing(run: Run, store: Store) -> None:
    result = run("doctor")
    assert result.exit_code == 0, result.output
    assert "2 case files, 8 playbooks in use." in result.stdout
    assert result.stdout.endswith("Nothing needs attention.\n")
    code, data = doctor_json(run)
    assert code == 0
    assert data["needs_attention"] is False and data["findings"] == [] and data["fixed"] == []


def test_a_home_that_does_not_exist_yet(run: Run, home: Path) -> None:
    result = run("doctor")
    assert result.exit_code == 0
    assert "does not exist yet" in result.stdout
    assert not home.exists()  # looking never creates it


def test_permissions_are_reported_then_fixed(run: Run, store: Store, home: Path) -> None:
    os.chmod(home, 0o755)
    os.chmod(store.path_for("1"), 0o644)
    result = run("doctor")
    assert result.exit_code == 1
    assert f"warning: {home} is 0755: others on this machine can read this folder" in result.stdout
    assert f"{store.path_for('1')} is 0644" in result.stdout
    assert "2 of these can be fixed safely with: recover doctor --fix" in result.stdout
    assert mode(home) == 0o755  # reported, not changed
    fixed = run("doctor", "--fix")
    assert fixed.exit_code == 0, fixed.output
    assert f"Fixed: made {home} private" in fixed.stdout
    assert mode(home) == 0o700 and mode(store.path_for("1")) == 0o600


def test_leftover_temp_files_are_removed_only_when_no_save_can_own_them(
    run: Run, store: Store, home: Path
) -> None:
    cases = home / "cases"
    orphan = cases / ".1.json.abc123.tmp"  # case 1 is not open anywhere
    orphan.write_bytes(b'{"half')
    mine = cases / ".2.json.def456.tmp"  # case 2 is being saved right now
    mine.write_bytes(b'{"half')
    old_config = home / ".config.toml.x.tmp"
    old_config.write_text("seller =")
    past = time.time() - 3600
    os.utime(old_config, (past, past))
    fresh_config = home / ".config.toml.y.tmp"
    fresh_config.write_text("seller =")
    assert store.create(build).id == "3"  # temp files are never read as cases
    store.release("3")
    holder = os.open(lock_file(store.home, "2"), os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        code, data = doctor_json(run)
        found = {f["path"] for f in data["findings"] if f["check"] == "temp-files"}
        assert found == {str(orphan), str(old_config)}
        assert code == 1
        code, data = doctor_json(run, "--fix")
        assert data["fixed"] == [f"removed {old_config}", f"removed {orphan}"]
        assert not orphan.exists() and not old_config.exists()
        assert mine.exists() and fresh_config.exists()
    finally:
        os.close(holder)
    assert code == 0  # case 2 was open in another terminal: information, not attention
    assert {f["check"] for f in data["findings"]} == {"locks"}


def test_open_case_is_information_and_a_killed_holder_leaves_nothing_stale(
    run: Run, store: Store
) -> None:
    pid = os.fork()
    if pid == 0:  # a walk that holds case 1 and is then killed
        fd = os.open(lock_file(store.home, "1"), os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX)
        time.sleep(30)
        os._exit(0)
    try:
        for _ in range(100):
            busy = run("doctor")
            if "case 1 is open in another terminal" in busy.stdout:
                break
            time.sleep(0.05)
        assert "info: case 1 is open in another terminal right now" in busy.stdout
        assert busy.exit_code == 0
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    after = run("doctor")
    assert "open in another terminal" not in after.stdout
    assert lock_file(store.home, "1").exists()  # locks are never deleted


@pytest.mark.parametrize(
    ("content", "severity", "fragment"),
    [
        (b"\x00" * 32, "error", "is damaged (not JSON)"),
        (b"[]", "error", "is not a case file"),
        (b'{"schema_version": 99, "id": "1"}', "warning", "newer version of recover"),
    ],
)
def test_damaged_and_newer_case_files_are_reported_never_touched(
    run: Run, store: Store, content: bytes, severity: str, fragment: str
) -> None:
    path = store.path_for("1")
    path.write_bytes(content)
    os.chmod(path, 0o600)
    before = snapshot(store.home)
    code, data = doctor_json(run, "--fix")
    assert code == 1
    (finding,) = data["findings"]
    assert finding["severity"] == severity and fragment in finding["message"]
    assert finding["path"] == str(path) and finding["fixable"] is False
    assert finding["advice"]
    assert snapshot(store.home) == before


def test_broken_playbooks_and_cases_whose_playbook_is_gone(
    run: Run, store: Store, home: Path
) -> None:
    folder = home / "playbooks"
    folder.mkdir(mode=0o700)
    broken = folder / "mine.toml"
    broken.write_text('id = "mine"\ntitle = "Mine"\n[[steps]]\nid = "a"\nsay = "Hi $nobody"\n')
    os.chmod(broken, 0o600)
    gone = PlaybookRef(id="retired", title="Retired", hash="sha256:" + "1" * 64)
    for number, finished in ((3, False), (4, True)):
        case = sample_case(str(number), playbook=gone)
        case.revision = 1
        if finished:
            case.complete_walk(NOW)
        path = store.path_for(str(number))
        path.write_bytes(encode(case))
        os.chmod(path, 0o600)
    result = run("doctor")
    assert result.exit_code == 1
    out = result.stdout
    assert f"error: {broken}:5:" in out and "unknown placeholder $nobody" in out
    assert "recover playbook edit" in out
    assert "warning: case 3 is unfinished and its playbook 'retired' is gone" in out
    assert "recover close 3" in out
    assert "info: case 4 was walked with playbook 'retired', which is gone" in out


def test_a_broken_config_is_reported(run: Run, store: Store, home: Path) -> None:
    (home / "config.toml").write_text("currency = 5\n")
    os.chmod(home / "config.toml", 0o600)
    result = run("doctor")
    assert result.exit_code == 1
    assert "error:" in result.stdout and "config.toml" in result.stdout
    assert "Traceback" not in result.output


def test_everything_recover_writes_is_private_under_umask_022(
    run: Run, home: Path, umask_022: None, tmp_path: Path
) -> None:
    assert run("config", "set", "seller", "Sam").exit_code == 0
    answers = tmp_path / "a.toml"
    answers.write_text('playbook = "general"\n[customer]\nname = "Ann"\n')
    assert run("new", "--answers", str(answers), "--no-input").exit_code == 0
    assert run("followup", "add", "1", "--in", "2d").exit_code == 0
    out = tmp_path / "out.csv"
    assert run("export", "-o", str(out)).exit_code == 0
    ics = tmp_path / "f.ics"
    assert run("followups", "--all", "--ics", str(ics)).exit_code == 0
    assert run("playbook", "new", "mine").exit_code == 0
    assert run("close", "1", "--outcome", "kept", "--no-input").exit_code == 0  # a replace
    assert mode(home) == 0o700
    for path in home.rglob("*"):
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path
    assert mode(out) == 0o600 and mode(ics) == 0o600
    code, data = doctor_json(run)
    assert (code, data["findings"]) == (0, [])


def test_old_temp_files_in_the_cases_folder_are_reported_whoever_holds_the_case(
    run: Run, store: Store, home: Path
) -> None:
    cases = home / "cases"
    stray = cases / ".notes.txt.q1w2.tmp"  # no case's at all: left by some other write
    stray.write_text("half")
    held_old = cases / ".2.json.e4r5.tmp"  # case 2 is held, but no save lasts an hour
    held_old.write_bytes(b'{"half')
    held_new = cases / ".2.json.t6y7.tmp"  # case 2's save in progress right now
    held_new.write_bytes(b'{"half')
    past = time.time() - 3600
    for path in (stray, held_old):
        os.utime(path, (past, past))
    holder = os.open(lock_file(cases.parent, "2"), os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        code, data = doctor_json(run)
        found = {f["path"] for f in data["findings"] if f["check"] == "temp-files"}
        assert found == {str(stray), str(held_old)}
        assert code == 1
        assert run("doctor", "--fix").exit_code == 0
        assert not stray.exists() and not held_old.exists()
        assert held_new.exists()
    finally:
        os.close(holder)
