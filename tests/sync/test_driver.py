"""The git merge driver, run as git runs it: a process, on files, and inside a real
repository with two branches that changed the same case."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from recovery_cli.case import Case, Outcome
from recovery_cli.sync.driver import conflict_name
from recovery_cli.sync.merge import encode_case
from tests.sync import NAME, answer, at, events, fork, js, steps_of, walked

DRIVER = [sys.executable, "-m", "recovery_cli.cli.gitmerge", "case"]


def encoded(case: Case) -> bytes:
    return encode_case(js(case))


def run_driver(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*DRIVER, *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
    )


def three(tmp_path: Path, base: bytes, ours: bytes, theirs: bytes) -> tuple[str, str, str]:
    """The three versions as the temporary files git hands a driver."""
    names = []
    for name, data in (("base", base), ("ours", ours), ("theirs", theirs)):
        path = tmp_path / f".merge_file_{name}"
        path.write_bytes(data)
        names.append(str(path))
    (tmp_path / "cases").mkdir(exist_ok=True)
    return names[0], names[1], names[2]


def two_sides() -> tuple[Case, Case, Case]:
    base = walked()
    ours, theirs = fork(base), fork(base)
    answer(ours, "explain", "Told her the link expires in a day", at(30))
    ours.set_outcome(Outcome(result="kept"), at(31))
    answer(theirs, "prevent", "Make links last a week", at(40))
    return base, ours, theirs


# -- on files -------------------------------------------------------------------------
def test_the_driver_merges_into_ours(tmp_path: Path) -> None:
    base, ours, theirs = two_sides()
    b, a, o = three(tmp_path, encoded(base), encoded(ours), encoded(theirs))

    done = run_driver(tmp_path, b, a, o, "cases/17.json")

    assert (done.returncode, done.stderr) == (0, "")
    raw = Path(a).read_bytes()
    data = json.loads(raw)
    Case.model_validate(data)
    assert raw == encode_case(data)  # written as the store writes a case file
    assert steps_of(data)["explain"] == "Told her the link expires in a day"
    assert steps_of(data)["prevent"] == "Make links last a week"
    assert data["outcome"]["result"] == "kept"
    assert data["revision"] == max(ours.revision, theirs.revision) + 1
    assert len(events(data, "merged")) == 1
    assert list((tmp_path / "cases").iterdir()) == []


@pytest.mark.parametrize("empty", ["file", "argument"])
def test_without_a_base_the_driver_still_merges(tmp_path: Path, empty: str) -> None:
    _, ours, theirs = two_sides()
    b, a, o = three(tmp_path, b"", encoded(ours), encoded(theirs))

    done = run_driver(tmp_path, b if empty == "file" else "", a, o, "cases/17.json")

    assert done.returncode == 0
    assert {"explain", "prevent"} <= set(steps_of(json.loads(Path(a).read_bytes())))


def test_the_driver_keeps_unknown_fields(tmp_path: Path) -> None:
    base, ours, theirs = two_sides()
    theirs_data = js(theirs)
    theirs_data["x_future"] = {"kept": True}
    b, a, o = three(tmp_path, encoded(base), encoded(ours), encode_case(theirs_data))

    assert run_driver(tmp_path, b, a, o, "cases/17.json").returncode == 0
    assert json.loads(Path(a).read_bytes())["x_future"] == {"kept": True}


@pytest.mark.parametrize(
    "damage",
    [
        b'{\n  "schema_version": 1,\n  "id": "17",\n  "customer": {"name": "Dana Re',
        b"<<<<<<< HEAD\n",
        b"[]\n",
    ],
)
def test_a_damaged_other_side_is_kept_beside_the_case(tmp_path: Path, damage: bytes) -> None:
    base, ours, _ = two_sides()
    b, a, o = three(tmp_path, encoded(base), encoded(ours), damage)

    done = run_driver(tmp_path, b, a, o, "cases/17.json")

    assert done.returncode == 0
    assert Path(a).read_bytes() == encoded(ours)
    copy = tmp_path / "cases" / f"17.conflict-{hashlib.sha256(damage).hexdigest()[:8]}.json"
    assert copy.read_bytes() == damage
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    line = done.stderr.strip()
    assert len(done.stderr.splitlines()) == 1
    assert line.startswith("case 17: the two versions could not be merged (the other version")
    assert "this machine's is cases/17.json" in line
    assert f"the other is cases/{copy.name}" in line
    assert line.endswith("recover doctor names both")
    assert "Dana" not in done.stderr and "Traceback" not in done.stderr


def test_a_damaged_side_of_ours_gives_way_to_theirs(tmp_path: Path) -> None:
    base, _, theirs = two_sides()
    damage = encoded(base).replace(b'"listen"', b'"listen",,')
    b, a, o = three(tmp_path, encoded(base), damage, encoded(theirs))

    done = run_driver(tmp_path, b, a, o, "cases/17.json")

    assert done.returncode == 0
    assert Path(a).read_bytes() == encoded(theirs)
    copy = conflict_name(Path("cases/17.json"), damage)
    assert (tmp_path / copy).read_bytes() == damage
    assert "(this machine's version is not JSON)" in done.stderr
    assert f"the other machine's is cases/17.json, this machine's is {copy}" in done.stderr
    assert NAME not in done.stderr


def test_a_side_from_a_newer_recover_is_kept_beside_the_case(tmp_path: Path) -> None:
    base, ours, theirs = two_sides()
    newer = js(theirs)
    newer["schema_version"] = 99
    b, a, o = three(tmp_path, encoded(base), encoded(ours), encode_case(newer))

    done = run_driver(tmp_path, b, a, o, "cases/17.json")

    assert done.returncode == 0
    assert Path(a).read_bytes() == encoded(ours)
    assert "written by a newer version of recover (schema 99)" in done.stderr
    assert [p.name for p in (tmp_path / "cases").iterdir()] == [
        conflict_name(Path("17.json"), encode_case(newer)).name
    ]


def test_another_case_under_the_same_name_is_kept_beside_it(tmp_path: Path) -> None:
    base, ours, _ = two_sides()
    stranger = encoded(walked("B17"))
    b, a, o = three(tmp_path, encoded(base), encoded(ours), stranger)

    done = run_driver(tmp_path, b, a, o, "cases/17.json")

    assert done.returncode == 0
    assert Path(a).read_bytes() == encoded(ours)
    assert "(the two versions are different cases)" in done.stderr
    assert (tmp_path / conflict_name(Path("cases/17.json"), stranger)).read_bytes() == stranger


def test_the_same_version_set_aside_twice_is_kept_once(tmp_path: Path) -> None:
    base, ours, _ = two_sides()
    for _ in range(2):
        b, a, o = three(tmp_path, encoded(base), encoded(ours), b"not json")
        assert run_driver(tmp_path, b, a, o, "cases/17.json").returncode == 0
    assert len(list((tmp_path / "cases").iterdir())) == 1


def test_a_failure_leaves_ours_untouched_and_says_one_line(tmp_path: Path) -> None:
    base, ours, _ = two_sides()
    b, a, _ = three(tmp_path, encoded(base), encoded(ours), b"")

    done = run_driver(tmp_path, b, a, str(tmp_path / "gone"), "cases/17.json")

    assert done.returncode == 1
    assert Path(a).read_bytes() == encoded(ours)
    assert len(done.stderr.splitlines()) == 1
    assert "cases/17.json: the two versions were not merged" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_side_that_cannot_be_kept_beside_leaves_ours_untouched(tmp_path: Path) -> None:
    base, _, theirs = two_sides()
    b, a, o = three(tmp_path, encoded(base), b"broken", encoded(theirs))
    (tmp_path / "cases").rmdir()
    (tmp_path / "cases").write_bytes(b"a file where the folder should be")

    done = run_driver(tmp_path, b, a, o, "cases/17.json")

    assert done.returncode == 1
    assert Path(a).read_bytes() == b"broken"  # nothing changed: git shows the conflict
    assert "Traceback" not in done.stderr


def test_the_driver_is_called_with_four_arguments(tmp_path: Path) -> None:
    done = run_driver(tmp_path, "a", "b")
    assert done.returncode == 2
    assert done.stderr.startswith("usage: ")


# -- inside git -----------------------------------------------------------------------
def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
        "LC_ALL": "C",
    }
    return subprocess.run(
        ["git", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=check,
        timeout=120,
    )


def repository(tmp_path: Path, base: bytes) -> Path:
    """A home under git with the driver set up, case 17 committed on ``main``."""
    repo = tmp_path / "home"
    (repo / "cases").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    driver = " ".join(shlex.quote(part) for part in DRIVER) + " %O %A %B %P"
    git(repo, "config", "merge.recover-case.name", "recover case merge")
    git(repo, "config", "merge.recover-case.driver", driver)
    (repo / ".gitattributes").write_text("cases/*.json merge=recover-case\n")
    (repo / "cases" / "17.json").write_bytes(base)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "case 17")
    return repo


def commit_on(repo: Path, branch: str, data: bytes, *, new: bool = False) -> None:
    git(repo, "checkout", "-q", *(["-b"] if new else []), branch)
    (repo / "cases" / "17.json").write_bytes(data)
    git(repo, "commit", "-q", "-am", f"case 17 on {branch}")


def test_git_merges_two_branches_that_changed_the_case(tmp_path: Path) -> None:
    base, ours, theirs = two_sides()
    repo = repository(tmp_path, encoded(base))
    commit_on(repo, "laptop", encoded(theirs), new=True)
    commit_on(repo, "main", encoded(ours))

    done = git(repo, "merge", "--no-edit", "laptop", check=False)

    assert done.returncode == 0, done.stdout + done.stderr
    raw = (repo / "cases" / "17.json").read_bytes()
    assert b"<<<<<<<" not in raw and b">>>>>>>" not in raw
    data: dict[str, Any] = json.loads(raw)
    Case.model_validate(data)
    assert steps_of(data)["explain"] == "Told her the link expires in a day"
    assert steps_of(data)["prevent"] == "Make links last a week"
    assert len(events(data, "merged")) == 1
    assert git(repo, "status", "--porcelain").stdout == ""
    assert git(repo, "show", "HEAD:cases/17.json").stdout.encode() == raw


def test_git_keeps_a_damaged_side_beside_the_case(tmp_path: Path) -> None:
    base, ours, _ = two_sides()
    repo = repository(tmp_path, encoded(base))
    damage = encoded(base)[:200]
    commit_on(repo, "laptop", damage, new=True)
    commit_on(repo, "main", encoded(ours))

    done = git(repo, "merge", "--no-edit", "laptop", check=False)

    assert done.returncode == 0, done.stdout + done.stderr
    assert (repo / "cases" / "17.json").read_bytes() == encoded(ours)
    copy = repo / conflict_name(Path("cases/17.json"), damage)
    assert copy.read_bytes() == damage
    assert f"the other is {copy.relative_to(repo)}" in done.stderr
    assert NAME not in done.stdout + done.stderr
    assert git(repo, "status", "--porcelain").stdout == f"?? {copy.relative_to(repo)}\n"
