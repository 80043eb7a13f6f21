"""The playbook cache: each file's verdict kept by the sha256 of its bytes, in the
per-machine cache folder, never trusted when missing, damaged, foreign or from
another version, and never a reason for a command to fail."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from recovery_cli.errors import PlaybookError
from recovery_cli.machine import CACHE_ENV
from recovery_cli.playbooks import cache, check
from recovery_cli.playbooks.cache import cache_file, load_listing, rebuild
from recovery_cli.playbooks.catalog import default_dir, load_catalog, load_file, playbook_files
from tests.conftest import SAMPLE, mode, umask

SHIPPED = sorted(p.stem for p in playbook_files(default_dir()))
BROKEN = 'id = "broken"\ntitle = "Broken"\n[[steps]]\nid = "a"\nsya = "x"\nsay = "Hi $nobody"\n'


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    (path / "playbooks").mkdir(parents=True)
    return path


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The cache folder in force ($RECOVER_CACHE_DIR)."""
    path = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(path))
    return path


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The labels of every file parse_playbook checks from now on."""
    seen: list[str] = []
    real = check.parse_playbook

    def counting(raw: bytes, label: str, *, stem: str | None = None) -> Any:
        seen.append(Path(label).stem)
        return real(raw, label, stem=stem)

    monkeypatch.setattr(check, "parse_playbook", counting)
    return seen


def write(home: Path, name: str, text: str) -> Path:
    path = home / "playbooks" / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def the_file(home: Path) -> Path:
    found = cache_file(home)
    assert found is not None
    return found


def shown(home: Path) -> tuple[list[tuple[str, str, str, int, str, str, str]], list[str]]:
    """What the listing says, and every problem of the files that do not load."""
    listing = load_listing(home)
    rows = [
        (p.id, p.title, p.summary, p.steps, listing.origin_label(p), p.source, p.digest)
        for p in listing.ordered()
    ]
    return rows, [str(problem) for error in listing.broken for problem in error.problems]


def signed(records: dict[str, Any], stamp: str | None = None) -> bytes:
    """A cache file as the cache writes one, around ``records``."""
    body = json.dumps({"files": records}).encode()
    header = {
        "format": cache.FORMAT,
        "stamp": stamp or cache._stamp(),
        "sum": hashlib.sha256(body).hexdigest(),
    }
    return json.dumps(header).encode() + b"\n" + body


def records(home: Path) -> dict[str, Any]:
    data = the_file(home).read_bytes().partition(b"\n")[2]
    files: dict[str, Any] = json.loads(data)["files"]
    return files


# -- the cache is used -----------------------------------------------------------------------
def test_the_second_load_checks_nothing_and_gives_the_same_playbooks(
    home: Path, folder: Path, parsed: list[str]
) -> None:
    write(home, "sample", SAMPLE)
    first = shown(home)
    assert sorted(parsed) == sorted([*SHIPPED, "sample"])
    parsed.clear()
    assert shown(home) == first
    catalog = load_catalog(home)
    assert parsed == []
    assert [p.id for p in catalog.ordered()] == [row[0] for row in first[0]]


def test_a_rebuilt_playbook_is_the_checked_one(home: Path, folder: Path) -> None:
    write(home, "sample", SAMPLE)
    load_listing(home)  # the cache is written
    catalog = load_catalog(home)  # and read
    for playbook_id, rebuilt in catalog.playbooks.items():
        origin = "default" if rebuilt.source.startswith(str(default_dir())) else "user"
        fresh = load_file(Path(rebuilt.source), origin=origin)
        assert rebuilt.model_dump() == fresh.model_dump(), playbook_id
        assert (rebuilt.id, rebuilt.source, rebuilt.digest, rebuilt.origin) == (
            fresh.id,
            fresh.source,
            fresh.digest,
            fresh.origin,
        )
        assert rebuilt._positions == fresh._positions
        assert rebuilt.position("steps", 1, "title") == fresh.position("steps", 1, "title")
    assert catalog.get("sample") is not None and catalog.get("sample").origin == "user"  # type: ignore[union-attr]
    assert catalog.overridden == set()


def test_a_changed_file_is_checked_again_even_with_the_same_size_and_time(
    home: Path, folder: Path, parsed: list[str]
) -> None:
    path = write(home, "sample", SAMPLE)
    before = path.stat()
    load_listing(home)
    parsed.clear()
    path.write_text(SAMPLE.replace("Sample recovery", "Sample RECOVERY"), encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    listing = load_listing(home)
    assert parsed == ["sample"]
    assert listing.get("sample").title == "Sample RECOVERY"  # type: ignore[union-attr]
    entry = listing.get("sample")
    assert (
        entry is not None
        and entry.digest == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    )


def test_a_new_file_is_read_and_a_removed_one_leaves_the_cache(
    home: Path, folder: Path, parsed: list[str]
) -> None:
    load_listing(home)
    parsed.clear()
    path = write(home, "sample", SAMPLE)
    assert load_listing(home).get("sample") is not None and parsed == ["sample"]
    assert str(path) in records(home)
    path.unlink()
    parsed.clear()
    assert load_listing(home).get("sample") is None and parsed == []
    assert str(path) not in records(home)


def test_a_user_playbook_over_a_shipped_one(home: Path, folder: Path) -> None:
    text = (default_dir() / "heard.toml").read_text().replace('title = "HEARD', 'title = "My HEARD')
    write(home, "heard", text)
    for _ in range(2):
        listing = load_listing(home)
        heard = listing.get("heard")
        assert heard is not None and heard.title.startswith("My HEARD")
        assert listing.origin_label(heard) == "yours, overrides shipped"


# -- files that do not load ------------------------------------------------------------------
def test_a_broken_file_reports_the_same_problems_from_the_cache(
    home: Path, folder: Path, parsed: list[str]
) -> None:
    path = write(home, "broken", BROKEN)
    with pytest.raises(PlaybookError) as fresh:
        load_file(path)
    first = load_listing(home)
    parsed.clear()
    again = load_listing(home)
    assert parsed == []
    for listing in (first, again):
        (error,) = listing.broken
        assert error.problems == fresh.value.problems
        assert str(error) == str(fresh.value)
        assert listing.error_for("broken") is error and listing.get("broken") is None
    with pytest.raises(PlaybookError) as found:
        again.find("broken")
    assert str(found.value) == str(fresh.value)


def test_a_broken_user_file_still_hides_the_shipped_one_it_replaces(
    home: Path, folder: Path
) -> None:
    write(home, "heard", 'id = "heard"\n')
    for _ in range(2):
        listing = load_listing(home)
        assert listing.get("heard") is None and listing.error_for("heard") is not None
        assert "heard" in listing.overridden


def test_an_unreadable_file_is_reported_and_never_cached(
    home: Path, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(home, "sample", SAMPLE)
    real = Path.read_bytes

    def refuse(self: Path) -> bytes:
        if self == path:
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    listing = load_listing(home)
    (error,) = listing.broken
    assert [str(p) for p in error.problems] == [f"{path}:1:1: cannot read: Permission denied"]
    assert str(path) not in records(home)


# -- a cache not to be trusted ---------------------------------------------------------------
def _garbage(home: Path) -> bytes:
    return b"\x00\xffnot json at all"


def _truncated(home: Path) -> bytes:
    return the_file(home).read_bytes()[:-40]


def _wrong_shape(home: Path) -> bytes:
    return json.dumps(["a", "list"]).encode() + b"\n" + b"[]"


def _sum_off(home: Path) -> bytes:
    data = the_file(home).read_bytes()
    return data.replace(b'"Sample recovery"', b'"Sample hijacked"')


def _record_of_another_shape(home: Path) -> bytes:
    found = records(home)
    for record in found.values():
        record["playbook"] = {"id": 7} if "playbook" in record else record.get("playbook")
        record["problems"] = "many" if "problems" in record else record.get("problems")
    return signed({k: {x: y for x, y in v.items() if y is not None} for k, v in found.items()})


def _another_version(home: Path) -> bytes:
    data = the_file(home).read_bytes().replace(b"Sample recovery", b"Sample hijacked")
    return signed(json.loads(data.partition(b"\n")[2])["files"], stamp="0" * 64)


def _another_format(home: Path) -> bytes:
    head, _, body = the_file(home).read_bytes().replace(b"Sample recovery", b"X").partition(b"\n")
    header = json.loads(head)
    header["format"] = cache.FORMAT + 1
    header["sum"] = hashlib.sha256(body).hexdigest()
    return json.dumps(header).encode() + b"\n" + body


@pytest.mark.parametrize(
    "damage",
    [
        _garbage,
        _truncated,
        _wrong_shape,
        _sum_off,
        _record_of_another_shape,
        _another_version,
        _another_format,
    ],
)
def test_a_cache_that_cannot_be_trusted_is_rebuilt(
    home: Path, folder: Path, parsed: list[str], damage: Callable[[Path], bytes]
) -> None:
    write(home, "sample", SAMPLE)
    write(home, "broken", BROKEN)
    fresh = shown(home)
    the_file(home).write_bytes(damage(home))
    parsed.clear()
    assert shown(home) == fresh
    assert sorted(parsed) == sorted([*SHIPPED, "sample", "broken"])
    parsed.clear()
    assert shown(home) == fresh and parsed == []  # and rewritten whole


def test_a_new_version_of_recover_rebuilds_the_cache(
    home: Path, folder: Path, parsed: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    load_listing(home)
    parsed.clear()
    monkeypatch.setattr(cache, "__version__", "99.0")
    load_listing(home)
    assert sorted(parsed) == SHIPPED


def test_an_edit_of_the_checking_code_rebuilds_the_cache(
    home: Path, folder: Path, parsed: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_listing(home)
    parsed.clear()
    package = tmp_path / "package"
    for name in cache._CHECKER:
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_bytes((cache._PACKAGE / name).read_bytes())
    monkeypatch.setattr(cache, "_PACKAGE", package)
    load_listing(home)
    assert parsed == []  # the same code
    with (package / "playbooks" / "check.py").open("a") as code:
        code.write("\n# a new check\n")
    load_listing(home)
    assert sorted(parsed) == SHIPPED


def test_a_cache_file_others_could_write_is_ignored_and_replaced(
    home: Path, folder: Path, parsed: list[str]
) -> None:
    load_listing(home)
    path = the_file(home)
    path.chmod(0o666)
    parsed.clear()
    load_listing(home)
    assert sorted(parsed) == SHIPPED
    assert mode(path) == 0o600


def test_a_record_whose_dump_does_not_validate_is_rebuilt_from_the_file(
    home: Path, folder: Path
) -> None:
    path = write(home, "sample", SAMPLE)
    load_listing(home)
    found = records(home)
    dump = json.loads(found[str(path)]["playbook"])
    dump["steps"][0]["pick"] = "all of them"
    found[str(path)]["playbook"] = json.dumps(dump)
    found[str(path)]["positions"] = '[["not", "a position"]]'
    the_file(home).write_bytes(signed(found))
    entry = load_listing(home).get("sample")
    assert entry is not None
    playbook = rebuild(entry)
    assert playbook.model_dump() == load_file(path).model_dump()
    assert playbook.digest == entry.digest and playbook.origin == "user"


# -- where it lives --------------------------------------------------------------------------
@pytest.fixture
def private_umask() -> Iterator[None]:
    with umask(0o022):
        yield


def test_the_cache_is_private(home: Path, folder: Path, private_umask: None) -> None:
    load_listing(home)
    path = the_file(home)
    assert path.parent == folder / "playbooks"
    assert mode(folder) == 0o700 and mode(path.parent) == 0o700 and mode(path) == 0o600
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_one_cache_file_per_home(tmp_path: Path, folder: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for home in (one, two):
        (home / "playbooks").mkdir(parents=True)
    write(two, "sample", SAMPLE)
    load_listing(one)
    load_listing(two)
    assert the_file(one) != the_file(two)
    assert load_listing(one).get("sample") is None
    assert load_listing(two).get("sample") is not None


def test_the_platform_cache_folder_by_default(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    load_listing(home)
    path = the_file(home)
    assert path.is_file()
    if sys.platform.startswith("linux"):
        assert path.parent == tmp_path / "xdg" / "recover" / "playbooks"


@pytest.mark.parametrize("where", ["home", "home/cache", "home/playbooks"])
def test_the_cache_is_never_written_inside_the_home(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parsed: list[str], where: str
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / where))
    write(home, "sample", SAMPLE)
    before = sorted(p.relative_to(home) for p in home.rglob("*"))
    assert cache_file(home) is None
    for _ in range(2):
        assert load_listing(home).get("sample") is not None
    assert sorted(p.relative_to(home) for p in home.rglob("*")) == before
    assert parsed.count("sample") == 2  # no cache: checked each time


def test_a_home_inside_the_cache_folder_is_fine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    home = tmp_path / "elsewhere" / "home"
    (home / "playbooks").mkdir(parents=True)
    load_listing(home)
    assert the_file(home).is_file() and not str(the_file(home)).startswith(str(home))


@pytest.mark.parametrize("blocker", ["file", "file-inside"])
def test_a_cache_folder_that_cannot_be_written_means_no_cache(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parsed: list[str], blocker: str
) -> None:
    (tmp_path / "plain-file").write_text("not a folder")
    target = tmp_path / "plain-file" if blocker == "file" else tmp_path / "plain-file" / "sub"
    monkeypatch.setenv(CACHE_ENV, str(target))
    write(home, "sample", SAMPLE)
    write(home, "broken", BROKEN)
    for _ in range(2):
        listing = load_listing(home)
        assert listing.get("sample") is not None and len(listing.broken) == 1
    assert parsed.count("sample") == 2
    assert (tmp_path / "plain-file").read_text() == "not a folder"


def test_a_cache_folder_taken_by_a_file_means_no_cache(
    home: Path, folder: Path, parsed: list[str]
) -> None:
    folder.mkdir()
    (folder / "playbooks").write_text("in the way")
    for _ in range(2):
        assert load_listing(home).get("heard") is not None
    assert parsed.count("heard") == 2


def test_a_cache_folder_others_can_write_is_never_read_nor_written(
    home: Path, folder: Path, parsed: list[str]
) -> None:
    (folder / "playbooks").mkdir(parents=True)
    (folder / "playbooks").chmod(0o777)
    for _ in range(2):
        assert load_listing(home).get("heard") is not None
    assert parsed.count("heard") == 2
    assert list((folder / "playbooks").iterdir()) == []
    assert mode(folder / "playbooks") == 0o777  # someone else's doing: left alone


def test_the_cache_digest_is_the_one_a_case_records(home: Path, folder: Path) -> None:
    for data in (b"", b"abc", SAMPLE.encode() * 50):
        assert cache.sha256_hex(data) == hashlib.sha256(data).hexdigest()
    path = write(home, "sample", SAMPLE)
    entry = load_listing(home).get("sample")
    assert entry is not None and entry.digest == load_file(path).digest


def test_damaged_positions_alone_are_rebuilt_from_the_file(home: Path, folder: Path) -> None:
    path = write(home, "sample", SAMPLE)
    load_listing(home)
    found = records(home)
    found[str(path)]["positions"] = "{not json"
    the_file(home).write_bytes(signed(found))
    entry = load_listing(home).get("sample")
    assert entry is not None
    assert rebuild(entry)._positions == load_file(path)._positions
