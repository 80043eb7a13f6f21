"""Conflict copies: a second version of a case file, left beside it.

A home kept in a folder that Dropbox, Syncthing or iCloud syncs meets a case changed on
two machines before they synced. Those services never merge: they keep one version
under the case's name and the other under a name of their own. The merge driver
(:mod:`recovery_cli.sync.driver`) does the same with a version it cannot read. These
are the names, for case ``17``:

* Syncthing: ``17.sync-conflict-20261201-101500-ABCDEFG.json``;
* Dropbox: ``17 (conflicted copy 2026-12-01).json``, ``17 (Dana's conflicted copy
  2026-12-01).json``;
* iCloud: ``17 2.json``, ``17 3.json``;
* the merge driver: ``17.conflict-1a2b3c4d.json``.

:func:`copy_of` tells which case a name is a copy of, :func:`find_copies` lists the
copies in a cases folder, and :func:`fold` merges one into its case (no base: the copy
plays the other side), losing nothing of either. ``recover doctor`` does the rest,
holding the case's lock: it writes the result durably, then removes the copy; a copy
that cannot be folded is left where it is, with the case, and reported.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

from ..fileio import is_temp_file
from .ids import ID

_COPY_NAMES = (
    # Syncthing: <name>.sync-conflict-<date>-<time>-<device>.<ext> (older: no device).
    re.compile(rf"^({ID})\.sync-conflict-[0-9]{{8}}-[0-9]{{6}}(?:-[A-Za-z0-9]+)?\.json$"),
    # Dropbox: <name> ([<who>'s ]conflicted copy[ <date>][ (<n>)]).<ext>
    re.compile(
        rf"^({ID}) \((?:[^()]*['’]s )?conflicted copy(?: [^()]*?)?(?: \([0-9]+\))?\)\.json$"
    ),
    # iCloud: <name> <n>.<ext>, from 2.
    re.compile(rf"^({ID}) (?:[2-9]|[1-9][0-9]+)\.json$"),
    # The merge driver: <id>.conflict-<start of sha256>.json
    re.compile(rf"^({ID})\.conflict-[0-9a-f]{{8}}\.json$"),
)

OTHER = "the conflict copy"


def copy_of(name: str) -> str | None:
    """The id of the case whose conflict copy the file ``name`` (in the cases folder)
    is, else None: never for a case file itself (``17.json``) or a save's temporary
    file (``.17.json.x1y2.tmp``)."""
    if name.startswith(".") or is_temp_file(name):
        return None
    for pattern in _COPY_NAMES:
        match = pattern.match(name)
        if match:
            return match.group(1)
    return None


def find_copies(folder: Path) -> list[tuple[str, Path]]:
    """Every conflict copy in a cases folder, as (case id, path), sorted (none when
    the folder does not exist)."""
    try:
        entries = os.scandir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    found: list[tuple[str, Path]] = []
    with entries:
        for entry in entries:
            case_id = copy_of(entry.name)
            if case_id is not None and entry.is_file(follow_symlinks=False):
                found.append((case_id, folder / entry.name))
    return sorted(found)


def fold(
    case_raw: bytes | None,
    copy_raw: bytes,
    *,
    now: datetime,
    case_id: str | None = None,
) -> bytes | None:
    """The case file's new bytes with its conflict copy merged in (a two-way merge:
    no base, the copy plays the other side), or None when it cannot be done: either
    version is damaged, from a newer recover, or another case (then both files stay
    as they are, to be reported). Without the case file (``case_raw`` None) the copy,
    if it is a readable case, becomes the case as it is. ``case_id``, when given, is
    the case the copy is named for: a copy holding another case is not folded.

    ``case_raw`` itself is returned when the copy holds the same case file (nothing
    to write; the copy can go)."""
    from .merge import MergeError, decode_case, encode_case, merge_cases

    try:
        theirs = decode_case(copy_raw, side="theirs")
    except MergeError:
        return None
    if case_id is not None and theirs.get("id") != case_id:
        return None
    if case_raw is None:
        return copy_raw
    try:
        ours = decode_case(case_raw, side="ours")
        merged = merge_cases(None, ours, theirs, now=now, other=OTHER)
    except MergeError:
        return None
    if merged.data == ours:
        return case_raw
    return encode_case(merged.data)
