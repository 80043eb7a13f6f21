"""The case store: one JSON file per case in ``<home>/cases/``.

Case ids are small numbers (``17``), easy to read out on a call. A new case claims
its number by linking a complete, fsynced file into place, which fails if the name
is taken: two terminals creating cases at the same moment get different numbers
and neither file is ever overwritten or seen half-written.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from .case import SCHEMA_VERSION, Case, case_to_json
from .errors import DamagedCaseError, NotFoundError, UsageError
from .fileio import ensure_private_dir, write_atomic

_ID_INPUT = re.compile(r"^\s*(?:#|case[ -]?)?0*([1-9][0-9]{0,8})\s*$", re.IGNORECASE)
_ID_FILE = re.compile(r"^([1-9][0-9]{0,8})\.json$")


def parse_case_id(text: str) -> str:
    """Normalise an id as typed (``17``, ``#17``, ``case 17``) or raise UsageError.

    The pattern is checked before any path is built from it.
    """
    match = _ID_INPUT.match(text)
    if not match:
        raise UsageError(f"{text[:40]!r} is not a case id: use the number shown, like 17")
    return match.group(1)


@dataclass(frozen=True)
class Damaged:
    """A case file that could not be read; reported, never rewritten."""

    path: Path
    reason: str


def encode(case: Case) -> bytes:
    """The bytes of a case file: indented JSON (jq- and diff-friendly), UTF-8."""
    return (json.dumps(case_to_json(case), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


class Store:
    """Reads and writes the cases of one home."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.cases_dir = home / "cases"

    def path_for(self, case_id: str) -> Path:
        """The file of a case (the id must already be normalised)."""
        return self.cases_dir / f"{parse_case_id(case_id)}.json"

    # -- writing -----------------------------------------------------------------------
    def create(self, build: Callable[[str], Case]) -> Case:
        """Claim the next free id, write ``build(id)`` under it, and return the case."""
        ensure_private_dir(self.home)
        ensure_private_dir(self.cases_dir)
        number = max(self._numbers(), default=0) + 1
        while True:
            case = build(str(number))
            case.revision = 1
            try:
                write_atomic(self.path_for(case.id), encode(case), exclusive=True)
            except FileExistsError:
                number += 1
                continue
            return case

    def save(self, case: Case) -> None:
        """Write the case durably (after every answered step)."""
        case.revision += 1
        write_atomic(self.path_for(case.id), encode(case))

    # -- reading -----------------------------------------------------------------------
    def _numbers(self) -> list[int]:
        try:
            names = os.listdir(self.cases_dir)
        except FileNotFoundError:
            return []
        return [int(m.group(1)) for m in map(_ID_FILE.match, names) if m]

    def load(self, case_id: str) -> Case:
        """Load one case; NotFoundError or DamagedCaseError when it cannot be had."""
        case_id = parse_case_id(case_id)
        path = self.path_for(case_id)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError(
                f"no case {case_id}", hint="`recover list` shows the cases there are."
            ) from None
        except OSError as exc:
            raise DamagedCaseError(f"cannot read {path}: {exc.strerror or exc}") from None
        return self._decode(path, raw)

    @staticmethod
    def _decode(path: Path, raw: bytes) -> Case:
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise DamagedCaseError(f"{path} is damaged (not JSON); it was left untouched") from None
        if not isinstance(data, dict):
            raise DamagedCaseError(f"{path} is not a case file; it was left untouched")
        version = data.get("schema_version")
        if isinstance(version, int) and version > SCHEMA_VERSION:
            raise DamagedCaseError(
                f"{path} was written by a newer version of recover (schema {version}); "
                "it was left untouched",
                hint="Upgrade recover to work with this case.",
            )
        try:
            return Case.model_validate(data)
        except ValidationError as exc:
            fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})[:3]
            raise DamagedCaseError(
                f"{path} is not a valid case file (bad {', '.join(fields)}); it was left untouched"
            ) from None

    def iter_newest(self) -> Iterator[Case | Damaged]:
        """Every case, newest (highest id) first; unreadable files come as Damaged."""
        for number in sorted(self._numbers(), reverse=True):
            path = self.cases_dir / f"{number}.json"
            try:
                yield self._decode(path, path.read_bytes())
            except FileNotFoundError:
                continue
            except OSError as exc:
                yield Damaged(path, f"cannot read: {exc.strerror or exc}")
            except DamagedCaseError as exc:
                yield Damaged(path, exc.message)

    def latest_unfinished(self) -> Case | None:
        """The most recent case whose walk is not finished (for ``recover resume``)."""
        for item in self.iter_newest():
            if isinstance(item, Case) and item.walk_completed_at is None:
                return item
        return None
