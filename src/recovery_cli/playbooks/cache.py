"""The playbooks in use, as they were last checked, kept on this machine: the menu of
``recover new`` and ``recover playbook list`` read them as plain JSON, without
importing Pydantic or the models (which costs about as much as Typer's import).

What is kept, per file: the sha256 of its bytes (the digest a case records, see
:func:`~recovery_cli.playbooks.check.parse_playbook`) and what checking those bytes
found: the fields the menu and the list show, with the checked playbook as Pydantic
dumps it and its key positions (JSON text, read only to walk it: :func:`rebuild`),
or every problem of a file that does not load. A file whose bytes hash differently (changed,
or new) is always checked again; a result is only ever used for the exact bytes it
was made from, read again on every call.

Where: ``$RECOVER_CACHE_DIR`` (for tests, or a machine that wants it elsewhere),
else the platform's per-machine cache folder (``platformdirs.user_cache_path``, like
``~/.cache/recover`` on Linux), in ``playbooks/``, one file per home (named by a
hash of the home's absolute path). Never inside the home, which may be synced: a
cache folder there means no cache.

Trust: the file starts with a header line naming the cache format, the version of
recover and a digest of the code that checks playbooks, and the sha256 of the rest.
A cache that is missing, damaged (not JSON, the wrong shape, a sum that does not
match), from another version or another checker, or not private to this user is
ignored and rebuilt; a cache folder that cannot be written means no cache, never an
error. Writes are atomic (a private temporary file renamed into place; not fsynced:
a cache lost in a power cut is rebuilt), the folder 0700 and the file 0600.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from .. import __version__
from ..errors import NotFoundError, PlaybookError, Problem
from ..machine import home_file, private, private_dir, sha256_hex
from .folders import default_dir, playbook_files, user_dir

if TYPE_CHECKING:
    from .model import Playbook

# Bump when what a cache file holds changes shape.
FORMAT = 1
# The code whose verdict the cache keeps: a change to any of these (an edited check
# in a source checkout, where the version stays the same) rebuilds it.
_CHECKER = (
    "playbooks/cache.py",
    "playbooks/check.py",
    "playbooks/model.py",
    "playbooks/placeholders.py",
    "playbooks/toml_positions.py",
    "values.py",
    "text.py",
)
_PACKAGE = Path(__file__).resolve().parents[1]


def cache_file(home: Path) -> Path | None:
    """Where the playbooks of ``home`` are cached; None where that would be inside
    the home (or cannot be told apart from it)."""
    return home_file(home, "playbooks", ".json")


# -- what the menu and the list show -----------------------------------------------------
class Entry:
    """A playbook that loads, as the menu and ``playbook list`` show it, with what
    rebuilds its model for a walk (:func:`rebuild`). (A plain class: a dataclass of
    this size costs a millisecond of start-up to define.)"""

    __slots__ = (
        "digest",
        "dump",
        "id",
        "origin",
        "positions",
        "source",
        "steps",
        "summary",
        "title",
    )

    def __init__(
        self,
        id: str,
        title: str,
        summary: str,
        steps: int,
        origin: str,
        source: str,
        digest: str,
        dump: str,
        positions: str,
    ) -> None:
        self.id = id
        self.title = title
        self.summary = summary
        self.steps = steps  # how many
        self.origin = origin  # "default" (shipped) or "user"
        self.source = source  # the file, named as its problems and `playbook list` name it
        self.digest = digest  # sha256:<hex> of the bytes checked
        self.dump = dump  # the checked playbook, as ``model_dump_json()`` wrote it
        self.positions = positions  # its key positions, JSON: [[key path], [line, column]]

    def __repr__(self) -> str:
        return f"Entry({self.id!r}, {self.origin}, {self.source!r})"


class Shown(Protocol):
    """What a listing needs of a playbook: an :class:`Entry` or the model itself."""

    @property
    def id(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def origin(self) -> str: ...


P = TypeVar("P", bound=Shown)


class Listing(Generic[P]):
    """Every playbook in use, by id, plus the files that failed to load, and the ids
    of shipped playbooks the seller's own replace (or, broken, hide)."""

    def __init__(
        self,
        playbooks: dict[str, P],
        broken: list[PlaybookError],
        overridden: set[str] | None = None,
    ) -> None:
        self.playbooks = playbooks
        self.broken = broken
        self.overridden = overridden if overridden is not None else set()

    def get(self, playbook_id: str) -> P | None:
        """The playbook in use with this id (the user's own wins over a default)."""
        return self.playbooks.get(playbook_id)

    def error_for(self, playbook_id: str) -> PlaybookError | None:
        """Why a playbook with this id (its file name) failed to load, if it did."""
        return next(
            (e for e in self.broken if e.problems and Path(e.problems[0].path).stem == playbook_id),
            None,
        )

    def ordered(self) -> list[P]:
        """Playbooks in menu order: by title."""
        return sorted(self.playbooks.values(), key=lambda p: (p.title.lower(), p.id))

    def find(self, wanted: str) -> P:
        """The playbook in use with this id; its load error, or NotFoundError."""
        found = self.get(wanted)
        if found is not None:
            return found
        broken = self.error_for(wanted)
        if broken is not None:
            raise broken
        known = ", ".join(p.id for p in self.ordered()) or "none"
        raise NotFoundError(f"no playbook {wanted!r}", hint=f"Playbooks: {known}")

    def origin_label(self, playbook: Shown) -> str:
        """Where a playbook comes from, in words: shipped, yours, or yours in place of
        a shipped one."""
        if playbook.origin == "default":
            return "shipped"
        return "yours, overrides shipped" if playbook.id in self.overridden else "yours"


def load_listing(home: Path) -> Listing[Entry]:
    """The playbooks of ``home``: the defaults, then the user's folder over them, each
    file read and hashed, and checked only when the cache has no verdict on exactly
    those bytes."""
    cache = _Cache.open(cache_file(home))
    listing = merged(home, cache.entry)
    cache.save()
    return listing


def merged(home: Path, load: Callable[[Path, str], P]) -> Listing[P]:
    """The defaults, then the user's folder over them, each file loaded by ``load``
    (which raises PlaybookError for a file that does not load)."""
    found: dict[str, P] = {}
    broken: list[PlaybookError] = []
    shipped = playbook_files(default_dir())
    defaults = {p.stem for p in shipped}
    for paths, origin in ((shipped, "default"), (playbook_files(user_dir(home)), "user")):
        for path in paths:
            try:
                playbook = load(path, origin)
            except PlaybookError as exc:
                broken.append(exc)
                # A broken user file must not let the default it meant to override
                # silently take its place on a call.
                found.pop(path.stem, None)
                continue
            found[playbook.id] = playbook
    overridden = {pid for pid, p in found.items() if p.origin == "user" and pid in defaults} | {
        Path(e.problems[0].path).stem for e in broken if e.problems
    } & defaults
    return Listing(found, broken, overridden)


def rebuild(entry: Entry) -> Playbook:
    """The model of a listed playbook, for a walk: its checked dump validated again
    (quick: no TOML, no cross-checks), with where it came from. The entry's digest
    names the bytes that dump was made from, even if the file changed since."""
    from pydantic import ValidationError

    from .model import Playbook

    try:
        playbook = Playbook.model_validate_json(entry.dump)
        positions = _positions(json.loads(entry.positions))
    except (ValidationError, TypeError, ValueError):
        # Only a record damaged in a way its sum did not catch: check the file again.
        from .check import parse_playbook

        path = Path(entry.source)
        playbook = parse_playbook(read_file(path), entry.source, stem=path.stem)
        playbook._origin = entry.origin
        return playbook
    playbook._source = entry.source
    playbook._digest = entry.digest
    playbook._origin = entry.origin
    playbook._positions = positions
    return playbook


# -- the cache file ----------------------------------------------------------------------
def _stamp() -> str:
    """This version of recover and of the code that checks playbooks."""
    parts = [f"{FORMAT}:{__version__}".encode()]
    for name in _CHECKER:
        try:
            parts.append(sha256_hex((_PACKAGE / name).read_bytes()).encode())
        except OSError:
            parts.append(b"-")
    return sha256_hex(b"\n".join(parts))


def read_file(path: Path) -> bytes:
    """A playbook file's bytes; PlaybookError (one problem) when it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise PlaybookError(
            [Problem(str(path), 1, 1, "", f"cannot read: {exc.strerror or exc}")]
        ) from None


class _Cache:
    """One home's cache file: the records read from it, and those of this load."""

    def __init__(self, path: Path | None, stamp: str, records: dict[str, Any]) -> None:
        self.path = path
        self.stamp = stamp
        self.old = records
        self.new: dict[str, Any] = {}

    @classmethod
    def open(cls, path: Path | None) -> _Cache:
        """The cache at ``path``, or an empty one when it is missing or not to be
        trusted."""
        stamp = _stamp()
        records: dict[str, Any] = {}
        if path is not None:
            with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
                records = _records(path, stamp)
        return cls(path, stamp, records)

    def entry(self, path: Path, origin: str) -> Entry:
        """The listing of one file: from the cache when it holds the verdict on these
        very bytes, else checked now (and kept). Raises PlaybookError for a file
        that does not load."""
        raw = read_file(path)
        label = str(path)
        digest = "sha256:" + sha256_hex(raw)
        record = self.old.get(label)
        if not (isinstance(record, dict) and record.get("digest") == digest):
            record = None
        found = _verdict(record, label, origin) if record is not None else None
        if found is None:
            record = _check(raw, label, path.stem, digest)
            found = _verdict(record, label, origin)
            assert found is not None
        self.new[label] = record
        if isinstance(found, PlaybookError):
            raise found
        return found

    def save(self) -> None:
        """Write the records of this load, if they differ from the file's; a folder
        that cannot be written just means no cache."""
        if self.path is None or self.new == self.old:
            return
        body = json.dumps({"files": self.new}, ensure_ascii=False, separators=(",", ":"))
        data = body.encode("utf-8", "surrogatepass")
        header = {"format": FORMAT, "stamp": self.stamp, "sum": sha256_hex(data)}
        with contextlib.suppress(OSError):
            private_dir(self.path.parent)
            _replace(self.path, json.dumps(header).encode() + b"\n" + data)


def _replace(path: Path, data: bytes) -> None:
    """Put ``data`` at ``path`` atomically (a private temporary file beside it, then a
    rename), so a reader sees the old cache or the new one. Not through fileio, whose
    writes are fsynced for the seller's data: a cache lost in a power cut is rebuilt,
    and its writes stay out of that seam."""
    import tempfile  # only when there is something to write

    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise


def _records(path: Path, stamp: str) -> dict[str, Any]:
    """The records of a cache file that can be trusted; {} for one that cannot."""
    folder = path.parent.lstat()
    if not (stat.S_ISDIR(folder.st_mode) and private(folder)):
        return {}
    with open(path, "rb") as handle:
        if not private(os.fstat(handle.fileno())):
            return {}
        data = handle.read()
    head, _, body = data.partition(b"\n")
    header = json.loads(head)
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        return {}
    if header.get("stamp") != stamp or header.get("sum") != sha256_hex(body):
        return {}
    files = json.loads(body).get("files")
    return files if isinstance(files, dict) else {}


def _check(raw: bytes, label: str, stem: str, digest: str) -> dict[str, Any]:
    """Check one file's bytes (Pydantic and the models are imported here, on a miss)
    and make the record kept for them."""
    from .check import parse_playbook

    try:
        playbook = parse_playbook(raw, label, stem=stem)
    except PlaybookError as error:
        problems = [[p.line, p.column, p.field, p.message, p.severity] for p in error.problems]
        return {"digest": digest, "problems": problems}
    positions = [[list(path), list(at)] for path, at in playbook._positions.items()]
    return {
        "digest": digest,
        "id": playbook.id,
        "title": playbook.title,
        "summary": playbook.summary,
        "steps": len(playbook.steps),
        # As text: a listing reads the few fields above, and only a walk these.
        "playbook": playbook.model_dump_json(),
        "positions": json.dumps(positions, separators=(",", ":")),
    }


def _verdict(record: dict[str, Any], label: str, origin: str) -> Entry | PlaybookError | None:
    """A record made into what it says; None when it is not of the shape a check
    leaves (a damaged or foreign record: the file is checked again)."""
    if "problems" in record:
        return _problems(record["problems"], label)
    pid, title, summary, steps, dump, positions = (
        record.get(k) for k in ("id", "title", "summary", "steps", "playbook", "positions")
    )
    if not (isinstance(pid, str) and isinstance(title, str) and isinstance(summary, str)):
        return None
    if not (_ints(steps) and isinstance(dump, str) and isinstance(positions, str)):
        return None  # (the dump and positions are checked by rebuild, their one reader)
    assert isinstance(steps, int)
    return Entry(pid, title, summary, steps, origin, label, record["digest"], dump, positions)


def _problems(items: object, label: str) -> PlaybookError | None:
    if not (isinstance(items, list) and items):
        return None
    found = []
    for item in items:
        if not (isinstance(item, list) and len(item) == 5):
            return None
        line, column, name, message, severity = item
        if not (_ints(line, column) and _strs(name, message, severity)):
            return None
        found.append(Problem(label, line, column, name, message, severity))
    return PlaybookError(found)


def _positions(items: Any) -> dict[tuple[str | int, ...], tuple[int, int]]:
    """Key positions as a check left them (``[[key path], [line, column]]`` pairs);
    ValueError for anything else."""
    found: dict[tuple[str | int, ...], tuple[int, int]] = {}
    if not isinstance(items, list):
        raise ValueError("not a list of key positions")
    for item in items:
        path, (line, column) = item
        if not (isinstance(path, list) and _ints(line, column)):
            raise ValueError("not a key position")
        if not all(isinstance(part, (str, int)) for part in path):
            raise ValueError("not a key path")
        found[tuple(path)] = (line, column)
    return found


def _ints(*values: object) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) for v in values)


def _strs(*values: object) -> bool:
    return all(isinstance(v, str) for v in values)
