"""Case ids that never collide between machines, and stay the same for ever.

An id is the number of the case on the machine that made it, after that machine's
letter: ``17`` on the first machine of a shop, ``B17`` on the second, ``C4`` on the
third. Each machine counts its own cases, from 1, so an id is at most six characters
for the first 99,999 cases of each machine, and two machines working offline can never
make the same id: neither ever makes an id with the other's letter. Ids made before
there were letters are the first machine's, and keep working unchanged.

A machine takes its letter the first time it makes a case in a home (or when it joins
one with ``recover sync init``) by creating ``machines/<LETTER>.json`` in the home,
which travels with the cases: that file names the machine (a random id kept in this
machine's state folder) and can be made only once. Letters run ``A`` (no prefix), ``B``
to ``Z``, then two letters.

Inside the index a case is a number (:func:`key_of`), so that its rows sort and join
as machine integers: the letter's rank above bit 32, the case number below.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path

from ..errors import StorageError, UsageError

MACHINES = "machines"
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# A machine's prefix: none (the first machine), one letter B-Z, or two letters.
PREFIX = r"(?:[B-Z]|[A-Z]{2})"
ID = rf"{PREFIX}?[1-9][0-9]{{0,8}}"
_ID_INPUT = re.compile(r"^\s*(?:#|case[ -]?)?([A-Za-z]{0,2})0*([1-9][0-9]{0,8})\s*$", re.IGNORECASE)
_ID = re.compile(rf"^({PREFIX}?)([1-9][0-9]{{0,8}})$")
ID_FILE = re.compile(rf"^({PREFIX}?)([1-9][0-9]{{0,8}})\.json$")
_CLAIM_FILE = re.compile(rf"^(A|{PREFIX})\.json$")
_SHIFT = 32
_NUMBER_MASK = (1 << _SHIFT) - 1


def parse_case_id(text: str) -> str:
    """Normalise an id as typed (``17``, ``#17``, ``case 17``, ``b17``) or raise
    UsageError. The pattern is checked before any path is built from it."""
    match = _ID_INPUT.match(text)
    prefix = match.group(1).upper() if match else ""
    if not match or prefix == "A" or (len(prefix) == 1 and prefix not in _LETTERS[1:]):
        raise UsageError(f"{text[:40]!r} is not a case id: use the id shown, like 17 or B17")
    return f"{prefix}{match.group(2)}"


def is_case_id(text: str) -> bool:
    """Whether ``text`` is an id exactly as recover writes it (``17``, ``B17``)."""
    return _ID.match(text) is not None


def rank(prefix: str) -> int:
    """The rank of a machine's prefix: 0 for none (``A``), 1 for ``B`` ... 25 for
    ``Z``, then 26 on for two letters."""
    if not prefix or prefix == "A":
        return 0
    if len(prefix) == 1:
        return _LETTERS.index(prefix)
    return 26 + _LETTERS.index(prefix[0]) * 26 + _LETTERS.index(prefix[1])


def prefix_of_rank(value: int) -> str:
    """The prefix of a rank (the inverse of :func:`rank`)."""
    if value == 0:
        return ""
    if value < 26:
        return _LETTERS[value]
    first, second = divmod(value - 26, 26)
    return _LETTERS[first] + _LETTERS[second]


def key_of(case_id: str) -> int:
    """The integer a case is known by inside the index (and its sort order there)."""
    match = _ID.match(case_id)
    if match is None:
        raise ValueError(f"not a case id: {case_id[:40]!r}")
    return rank(match.group(1)) << _SHIFT | int(match.group(2))


def id_of(key: int) -> str:
    """The case id of an index key (the inverse of :func:`key_of`)."""
    return f"{prefix_of_rank(key >> _SHIFT)}{key & _NUMBER_MASK}"


def split(case_id: str) -> tuple[str, int]:
    """An id's machine prefix and number: ``B17`` -> ("B", 17)."""
    match = _ID.match(case_id)
    if match is None:
        raise ValueError(f"not a case id: {case_id[:40]!r}")
    return match.group(1), int(match.group(2))


# -- which letter this machine has -----------------------------------------------------
def letter_name(prefix: str) -> str:
    """The letter of a prefix as the machines folder names it (``A`` for none)."""
    return prefix or "A"


def claims(home: Path) -> dict[str, str]:
    """The letters taken in this home: letter -> the machine that took it (files that
    cannot be read are left out, their letter still counted as taken)."""
    found: dict[str, str] = {}
    try:
        entries = list(os.scandir(home / MACHINES))
    except FileNotFoundError:
        return found
    except OSError as exc:
        raise StorageError(f"cannot read {home / MACHINES}: {exc.strerror or exc}") from None
    for entry in entries:
        match = _CLAIM_FILE.match(entry.name)
        if match is None:
            continue
        machine = ""
        with contextlib.suppress(OSError, ValueError, RecursionError):
            data = json.loads(Path(entry.path).read_bytes())
            if isinstance(data, dict) and isinstance(data.get("machine"), str):
                machine = data["machine"]
        found[match.group(1)] = machine
    return found


def letter_of(home: Path, machine: str) -> str | None:
    """This machine's letter in ``home`` (``A`` for plain numbers), or None if it has
    none yet."""
    mine = sorted(
        (rank(letter), letter) for letter, owner in claims(home).items() if owner == machine
    )
    return mine[0][1] if mine else None


def free_letters(taken: set[str]) -> list[str]:
    """Letters not taken yet, in the order they are given out."""
    out = []
    for value in range(26 + 26 * 26):
        letter = letter_name(prefix_of_rank(value))
        if letter not in taken:
            out.append(letter)
    return out


def claim(home: Path, machine: str, name: str) -> str:
    """Give this machine the first free letter of ``home`` (or return the one it has),
    by creating its file in the machines folder, which only one process can do."""
    from ..fileio import ensure_private_dir, write_atomic

    folder = home / MACHINES
    for _ in range(3):
        taken = claims(home)
        have = letter_of(home, machine)
        if have is not None:
            return have
        ensure_private_dir(folder)
        data = json.dumps({"machine": machine, "name": name}, ensure_ascii=False, indent=2)
        for letter in free_letters(set(taken)):
            try:
                write_atomic(folder / f"{letter}.json", (data + "\n").encode(), exclusive=True)
            except FileExistsError:
                if claims(home).get(letter) == machine:
                    return letter  # another process of this machine took it just now
                continue
            return letter
    raise StorageError(f"no machine letter could be taken in {folder}")
