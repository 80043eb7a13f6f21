"""Conflict copies that Dropbox, Syncthing, iCloud and the merge driver leave beside a
case file: recognised by name, listed, and folded into their case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recovery_cli.case import Case
from recovery_cli.sync.copies import copy_of, find_copies, fold
from recovery_cli.sync.merge import encode_case
from tests.sync import answer, at, events, fork, js, started, steps_of, walked

NOW = at(24 * 60)


@pytest.mark.parametrize(
    ("name", "case_id"),
    [
        ("17.sync-conflict-20261201-101500-ABCDEFG.json", "17"),
        ("B17.sync-conflict-20261201-101500-7QX2PLM.json", "B17"),
        ("17.sync-conflict-20261201-101500.json", "17"),
        ("17 (conflicted copy 2026-12-01).json", "17"),
        ("17 (Dana's conflicted copy 2026-12-01).json", "17"),
        ("AB305 (Dana’s conflicted copy 2026-12-01 (1)).json", "AB305"),
        ("17 (conflicted copy).json", "17"),
        ("17 2.json", "17"),
        ("17 3.json", "17"),
        ("C4 12.json", "C4"),
        ("17.conflict-1a2b3c4d.json", "17"),
        ("B17.conflict-00ff00ff.json", "B17"),
    ],
)
def test_a_conflict_copy_is_known_by_its_name(name: str, case_id: str) -> None:
    assert copy_of(name) == case_id


@pytest.mark.parametrize(
    "name",
    [
        "17.json",
        "B17.json",
        "AB305.json",
        ".17.json.x1y2.tmp",
        ".17 2.json",
        ".B17.json.abc.tmp",
        "17 1.json",
        "17 0.json",
        "017 2.json",
        "A17 2.json",
        "b17 2.json",
        "ABC17 2.json",
        "17 2.json.tmp",
        "17.conflict-1A2B3C4D.json",
        "17.conflict-1a2b3c.json",
        "17.sync-conflict-2026-ABCDEFG.json",
        "17 (copy).json",
        "notes 2.json",
        "17 2.txt",
        "17.lock",
        "case-17.lock",
    ],
)
def test_no_other_name_is_a_conflict_copy(name: str) -> None:
    assert copy_of(name) is None


def test_the_copies_of_a_folder_are_listed_in_order(tmp_path: Path) -> None:
    folder = tmp_path / "cases"
    folder.mkdir()
    names = [
        "17.json",
        "17 2.json",
        "B17.json",
        "B17.sync-conflict-20261201-101500-ABCDEFG.json",
        "2 (conflicted copy 2026-12-01).json",
        ".17.json.x1.tmp",
        "17.conflict-1a2b3c4d.json",
    ]
    for name in names:
        (folder / name).write_text("{}")
    (folder / "3 2.json").mkdir()  # a folder, not a copy

    assert find_copies(folder) == [
        ("17", folder / "17 2.json"),
        ("17", folder / "17.conflict-1a2b3c4d.json"),
        ("2", folder / "2 (conflicted copy 2026-12-01).json"),
        ("B17", folder / "B17.sync-conflict-20261201-101500-ABCDEFG.json"),
    ]
    assert find_copies(tmp_path / "missing") == []


def test_a_copy_is_folded_into_its_case_with_nothing_lost() -> None:
    base = walked()
    case, copy = fork(base), fork(base)
    answer(case, "explain", "Told her the link expires in a day", at(30))
    copy.record_follow_up(1, reached=True, happy="yes", note="Works now", now=at(40))

    raw = fold(encode_case(js(case)), encode_case(js(copy)), now=NOW)

    assert raw is not None
    data = json.loads(raw)
    Case.model_validate(data)
    assert steps_of(data)["explain"] == "Told her the link expires in a day"
    assert data["follow_ups"][0]["note"] == "Works now"
    assert raw == encode_case(data)
    (detail,) = events(data, "merged")
    assert "the conflict copy" in detail


def test_a_copy_of_the_same_case_file_changes_nothing() -> None:
    raw = encode_case(js(walked()))
    assert fold(raw, raw, now=NOW) is raw
    assert fold(raw, json.dumps(json.loads(raw)).encode(), now=NOW) is raw


def test_a_copy_without_its_case_becomes_the_case() -> None:
    copy = encode_case(js(walked()))
    assert fold(None, copy, now=NOW) == copy
    assert fold(None, copy, now=NOW, case_id="17") == copy
    assert fold(None, copy, now=NOW, case_id="B17") is None
    assert fold(None, b"not json", now=NOW) is None


@pytest.mark.parametrize("damaged", ["case", "copy"])
def test_a_damaged_side_is_not_folded(damaged: str) -> None:
    good = encode_case(js(walked()))
    bad = good[:100]
    case_raw, copy_raw = (bad, good) if damaged == "case" else (good, bad)
    assert fold(case_raw, copy_raw, now=NOW) is None


def test_a_copy_of_another_case_or_a_newer_recover_is_not_folded() -> None:
    case = encode_case(js(started("17")))
    assert fold(case, encode_case(js(started("B17"))), now=NOW) is None
    newer = js(started("17"))
    newer["schema_version"] = 99
    assert fold(case, encode_case(newer), now=NOW) is None
