"""The git merge driver of case files (run by git as ``python -m
recovery_cli.cli.gitmerge case %O %A %B %P``, which says on stderr what this returns).

git runs it for a case file that both sides changed (``recover sync`` registers it as
``merge.recover-case.driver`` in ``.git/config``, and ``cases/*.json
merge=recover-case`` in ``.gitattributes``). ``%O`` is the common ancestor (empty when
there is none), ``%A`` this side's version, ``%B`` the other's, ``%P`` the case file's
path. The two versions are merged (:func:`~recovery_cli.sync.merge.merge_cases`) into
``%A``, and it exits 0: git never writes conflict markers into a case file.

When a version cannot be read as a case (not JSON, not valid, written by a newer
recover, or another case altogether), no merge can be made. The readable version stays
the case (``%A``), and the other's bytes, unchanged, are kept beside it as
``cases/17.conflict-1a2b3c4d.json`` (the start of their SHA-256), which ``recover
doctor`` reports. One line, returned to be told, names both files; it never quotes a
case.

Any other failure (a file that cannot be read or written): one line to tell, status 1
and ``%A`` untouched, so git reports a conflict on the file with this side's version
in place. Never a traceback.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .merge import MergeError, Side

USAGE = "usage: python -m recovery_cli.cli.gitmerge case BASE OURS THEIRS PATH (git's %O %A %B %P)"


def conflict_name(path: Path, data: bytes) -> Path:
    """Where the version of the case file ``path`` that could not be merged is kept:
    beside it, named for the case and the start of the version's SHA-256."""
    digest = hashlib.sha256(data).hexdigest()[:8]
    return path.parent / f"{path.stem}.conflict-{digest}.json"


def merge(argv: Sequence[str]) -> tuple[int, str | None]:
    """Merge ``%A`` and ``%B`` against ``%O`` into ``%A``; the status (0 once ``%A``
    holds a case, 1 when nothing could be done and ``%A`` is untouched, 2 when called
    wrongly) and the line to tell the person syncing, if any."""
    if len(argv) != 4:
        return 2, USAGE
    base_name, ours_name, theirs_name, name = argv
    try:
        return _merge(base_name, Path(ours_name), Path(theirs_name), Path(name))
    except (Exception, KeyboardInterrupt) as exc:  # a merge driver never shows a traceback
        return 1, f"{name}: the two versions were not merged: {_reason(exc)}"


def _reason(exc: BaseException) -> str:
    """Why, in words that name files, never what a case holds."""
    from ..errors import RecoverError

    if isinstance(exc, RecoverError):
        return exc.message
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or type(exc).__name__}"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return f"unexpected {type(exc).__name__}"


def _read_base(name: str) -> dict[str, Any] | None:
    """The common ancestor, if there is one that can be read (a base that cannot be
    read only hides what changed: the two sides are then merged as if alone)."""
    from .merge import MergeError, decode_case

    if not name:
        return None
    raw = Path(name).read_bytes()
    if not raw.strip():
        return None
    try:
        return decode_case(raw)
    except MergeError:
        return None


def _merge(
    base_name: str, ours_path: Path, theirs_path: Path, path: Path
) -> tuple[int, str | None]:
    from .. import clock
    from ..fileio import write_atomic
    from .merge import MergeError, decode_case, encode_case, merge_cases

    ours_raw = ours_path.read_bytes()
    theirs_raw = theirs_path.read_bytes()
    if ours_raw == theirs_raw:
        return 0, None
    base = _read_base(base_name)
    found: dict[str, dict[str, Any]] = {}
    faults: dict[str, MergeError] = {}
    sides: tuple[tuple[Side, bytes], ...] = (("ours", ours_raw), ("theirs", theirs_raw))
    for side, raw in sides:
        try:
            found[side] = decode_case(raw, side=side)
        except MergeError as exc:
            faults[side] = exc
    problem: MergeError | None = None
    if not faults:
        try:
            merged = merge_cases(base, found["ours"], found["theirs"], now=clock.now())
        except MergeError as exc:
            problem = exc
        else:
            write_atomic(ours_path, encode_case(merged.data))
            return 0, None
    keep_theirs = "ours" in faults and "theirs" not in faults
    aside = ours_raw if keep_theirs else theirs_raw
    copy = _keep_aside(path, aside)  # before %A changes: neither version is ever lost
    if keep_theirs:
        write_atomic(ours_path, theirs_raw)
    return 0, _told(path, copy, faults, problem, keep_theirs)


def _keep_aside(path: Path, data: bytes) -> Path:
    """Write the version that could not be merged beside the case file (0600,
    atomically); the same version kept before is left as it is."""
    from ..errors import StorageError
    from ..fileio import ensure_private_dir, write_atomic

    copy = conflict_name(path, data)
    ensure_private_dir(copy.parent)
    try:
        write_atomic(copy, data, exclusive=True)
    except FileExistsError:
        if copy.read_bytes() != data:
            raise StorageError(f"{copy} exists already and holds another version") from None
    return copy


def _told(
    path: Path,
    copy: Path,
    faults: dict[str, MergeError],
    problem: MergeError | None,
    keep_theirs: bool,
) -> str:
    """The one line that says what happened, naming both files."""
    if "ours" in faults and "theirs" in faults:
        reason = (
            f"neither can be read: this machine's {faults['ours'].message}, "
            f"the other {faults['theirs'].message}"
        )
    elif "ours" in faults:
        reason = f"this machine's version {faults['ours'].message}"
    elif "theirs" in faults:
        reason = f"the other version {faults['theirs'].message}"
    else:
        reason = problem.message if problem is not None else "unknown"
    if keep_theirs:
        where = f"the other machine's is {path}, this machine's is {copy}"
    else:
        where = f"this machine's is {path}, the other is {copy}"
    return (
        f"case {path.stem}: the two versions could not be merged ({reason}); "
        f"{where}; recover doctor names both"
    )
