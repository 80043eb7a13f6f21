"""A home in a Dropbox, Syncthing or iCloud folder, without git: the conflict copies
those services make of a case file are never listed as cases, ``recover doctor`` finds
them, and ``recover doctor --fix`` merges each into its case with nothing lost."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from recovery_cli.case import Outcome
from recovery_cli.store import Store, encode
from tests.conftest import NOW, Run, sample_builder

NAMES = [
    "1.sync-conflict-20261201-101500-ABCDEFG.json",  # Syncthing
    "1 (conflicted copy 2026-12-01).json",  # Dropbox
    "1 (Sam's conflicted copy 2026-12-01).json",  # Dropbox, another account
    "1 2.json",  # iCloud
]


def doctor(run: Run, *args: str) -> tuple[int, dict[str, object]]:
    result = run("doctor", "--json", *args)
    data: dict[str, object] = json.loads(result.stdout)
    return result.exit_code, data


def two_versions(home: Path, name: str) -> Path:
    """Case 1 as this machine has it (closed), and as the other machine had it (a
    follow-up recorded), the other's saved by the sync service as a copy."""
    with Store(home) as store:
        case = store.create(sample_builder(name="Dana Reyes"))
        case.add_follow_up(NOW + timedelta(days=1), "Check the link works", NOW)
        store.save(case)
        theirs = case.model_copy(deep=True)
        theirs.record_follow_up(
            1, reached=True, happy="yes", note="fine now", now=NOW + timedelta(hours=2)
        )
        theirs.revision += 1
        case.set_outcome(Outcome(result="kept", satisfaction=5), NOW + timedelta(hours=3))
        store.save(case)
        store.release(case.id)
    copy = home / "cases" / name
    copy.write_bytes(encode(theirs))
    return copy


@pytest.mark.parametrize("name", NAMES)
def test_a_conflict_copy_is_found_never_listed_and_merged_by_fix(
    run: Run, home: Path, name: str
) -> None:
    copy = two_versions(home, name)
    listed = run("list", "--json", "--all")
    assert [c["id"] for c in json.loads(listed.stdout)] == ["1"]
    code, data = doctor(run)
    assert code == 1
    found = [f for f in data["findings"] if f["check"] == "conflict-copies"]  # type: ignore[union-attr,index]
    assert [(f["severity"], f["path"], f["fixable"]) for f in found] == [
        ("warning", str(copy), True)
    ]
    assert "Dana" not in json.dumps(found)
    code, data = doctor(run, "--fix")
    assert f"merged {copy} into case 1" in data["fixed"]  # type: ignore[operator]
    assert code == 0, data
    assert not copy.exists()
    case = json.loads((home / "cases" / "1.json").read_text())
    assert case["outcome"]["result"] == "kept" and case["outcome"]["satisfaction"] == 5
    assert case["follow_ups"][0]["note"] == "fine now" and case["follow_ups"][0]["happy"] == "yes"
    assert any(e["event"] == "merged" for e in case["log"])
    shown = run("show", "1", "--json")
    assert shown.exit_code == 0 and json.loads(shown.stdout)["revision"] == case["revision"]


def test_a_damaged_copy_is_named_with_its_case_and_both_are_kept(run: Run, home: Path) -> None:
    copy = two_versions(home, NAMES[0])
    copy.write_bytes(b'{"half a case')
    before = (home / "cases" / "1.json").read_bytes()
    code, data = doctor(run, "--fix")
    assert code == 1
    found = [f for f in data["findings"] if f["check"] == "conflict-copies"]  # type: ignore[union-attr,index]
    assert len(found) == 1 and found[0]["severity"] == "error" and not found[0]["fixable"]
    assert (
        str(copy) in found[0]["message"] and str(home / "cases" / "1.json") in found[0]["message"]
    )
    assert copy.exists() and (home / "cases" / "1.json").read_bytes() == before
