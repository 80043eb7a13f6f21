"""Case ids across machines: the forms typed, the index keys, the letters given out,
and the per-machine folders (the index and locks out of the home)."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest

from recovery_cli.errors import UsageError
from recovery_cli.machine import home_file
from recovery_cli.store import Store
from recovery_cli.store.index import FILE_NAME
from recovery_cli.sync import ids
from tests.conftest import Run, index_file, sample_builder


@pytest.mark.parametrize(
    ("typed", "wanted"),
    [
        ("17", "17"),
        ("#17", "17"),
        ("case 17", "17"),
        ("0017", "17"),
        ("B17", "B17"),
        ("b17", "B17"),
        ("#B17", "B17"),
        ("case B17", "B17"),
        (" c4 ", "C4"),
        ("AB305", "AB305"),
        ("B0017", "B17"),
    ],
)
def test_ids_are_read_in_every_documented_form(typed: str, wanted: str) -> None:
    assert ids.parse_case_id(typed) == wanted


@pytest.mark.parametrize(
    "typed", ["", "0", "A17", "B", "17B", "B-17", "../17", "B17.json", "1" * 10, "ABC1", "é1"]
)
def test_anything_else_is_not_an_id(typed: str) -> None:
    with pytest.raises(UsageError):
        ids.parse_case_id(typed)


def test_index_keys_round_trip_and_keep_each_machine_in_its_own_range() -> None:
    for case_id in ("1", "99999", "B1", "Z99999", "AA1", "ZZ999999999"):
        assert ids.id_of(ids.key_of(case_id)) == case_id
    assert ids.key_of("17") < ids.key_of("B1") < ids.key_of("B2") < ids.key_of("C1")
    # A shop's first 100,000 cases on a machine: at most six characters each.
    assert len("B99999") == 6 and len(str(100000)) == 6


def test_letters_are_given_in_order_and_each_only_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert ids.claim(home, "m" * 32, "one") == "A"
    assert ids.claim(home, "m" * 32, "one") == "A"  # the same machine keeps its letter
    assert ids.claim(home, "n" * 32, "two") == "B"
    assert ids.claim(home, "o" * 32, "three") == "C"
    assert ids.letter_of(home, "n" * 32) == "B"
    assert ids.free_letters({"A", "B"})[:2] == ["C", "D"]
    assert ids.free_letters({chr(c) for c in range(65, 91)})[0] == "AA"


def _claim(args: tuple[str, str]) -> str:
    home, machine = args
    return ids.claim(Path(home), machine, machine[:4])


def test_machines_joining_at_the_same_moment_get_different_letters(tmp_path: Path) -> None:
    home = tmp_path / "home"
    machines = [f"{n:032x}" for n in range(8)] * 2  # each machine twice, at once
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        got = pool.map(_claim, [(str(home), m) for m in machines])
    by_machine = dict(zip(machines, got, strict=True))
    assert all(by_machine[m] == g for m, g in zip(machines, got, strict=True))  # stable
    assert len(set(by_machine.values())) == 8  # never shared


def test_a_second_machine_makes_ids_with_its_letter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("RECOVER_STATE_DIR", str(tmp_path / "state-one"))
    with Store(home) as store:
        assert [store.create(sample_builder()).id for _ in range(3)] == ["1", "2", "3"]
    monkeypatch.setenv("RECOVER_STATE_DIR", str(tmp_path / "state-two"))
    monkeypatch.setenv("RECOVER_CACHE_DIR", str(tmp_path / "cache-two"))
    with Store(home) as store:
        assert [store.create(sample_builder()).id for _ in range(2)] == ["B1", "B2"]
        listed = [card.card["id"] for card in store.list_cards()]
    assert sorted(listed) == ["1", "2", "3", "B1", "B2"]
    assert sorted(p.name for p in (home / "machines").iterdir()) == ["A.json", "B.json"]


def test_commands_take_both_kinds_of_id(
    run: Run, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store(home) as store:
        store.create(sample_builder(name="Ann"))
    monkeypatch.setenv("RECOVER_STATE_DIR", str(home.parent / "state-two"))
    with Store(home) as store:
        store.create(sample_builder(name="Bea"))
    shown = run("show", "b1", "--json")
    assert shown.exit_code == 0, shown.output
    assert '"id": "B1"' in shown.stdout and "Bea" in shown.stdout
    assert run("show", "1", "--json").exit_code == 0
    missing = run("show", "B2")
    assert missing.exit_code == 4 and missing.stderr.startswith("Error: no case B2")


# -- per-machine files --------------------------------------------------------------------
def test_the_index_and_locks_live_outside_the_home(home: Path) -> None:
    with Store(home) as store:
        case = store.create(sample_builder())
        assert store.files.holds(case.id)
        index = index_file(home)
        assert store.index_path == index and not index.is_relative_to(home)
        assert store.files.lock_folder.is_dir() and not store.files.lock_folder.is_relative_to(home)
        list(store.list_cards())
    assert index.is_file()
    assert sorted(p.name for p in home.rglob("*") if p.is_file()) == [
        ".gitignore", ".stignore", "1.json", "A.json",
    ]  # fmt: skip


def test_an_index_inside_the_home_moves_out_on_first_use_with_a_note(run: Run, home: Path) -> None:
    with Store(home) as store:
        for _ in range(3):
            store.release(store.create(sample_builder()).id)
        list(store.list_cards())
    index = index_file(home)
    # As an earlier version left it: the index inside the home, locks beside the cases.
    os.replace(index, home / FILE_NAME)
    (home / "cases" / ".2.lock").write_bytes(b"")
    (home / "cases" / ".mail.lock").write_bytes(b"")
    listed = run("list", "--json")
    assert listed.exit_code == 0, listed.output
    assert "Moved the summary index out of the home" in listed.stderr
    assert not (home / FILE_NAME).exists() and index.is_file()
    assert sorted(os.listdir(home / "cases")) == ["1.json", "2.json", "3.json"]
    assert sorted(c["id"] for c in json.loads(listed.stdout)) == ["1", "2", "3"]
    again = run("list")
    assert again.exit_code == 0 and again.stderr == ""  # once


def test_no_cache_folder_outside_the_home_means_an_index_in_memory(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECOVER_CACHE_DIR", str(home / "cache"))
    assert home_file(home, "index", ".sqlite3") is None
    with Store(home) as store:
        store.release(store.create(sample_builder()).id)
        assert [card.card["id"] for card in store.list_cards()] == ["1"]
        assert store.index_path is None
    assert not (home / "cache").exists()


def test_the_machine_id_is_never_kept_inside_the_home(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On macOS the platform's state folder is the default home itself."""
    monkeypatch.setenv("RECOVER_STATE_DIR", str(home))
    with Store(home) as store:
        assert store.create(sample_builder()).id == "1"
    assert not (home / "machine-id").exists()
    assert len((Path(os.environ["RECOVER_CACHE_DIR"]) / "machine-id").read_text().strip()) == 32
