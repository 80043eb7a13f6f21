"""``recover orders import``: exports read, merged into the order book, committed once.

Every file is opened (its encoding, layout and format told from its header) before
any row is read, so that a file recover cannot read stops the import before
anything changes. The rows are then streamed into one :class:`~.book.Importer`
under the book's lock; rows with a bad amount or date are listed, all of them, with
their file and line. Without ``strict`` the good rows are committed; with it,
nothing is. A dry run stops before the commit. The look-up table is brought up to
date after the commit (and would be by the next reader anyway).
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputFileError, RecoverError
from . import book
from .reader import ExportReader, FileReport, RowProblem, open_export

Progress = Callable[[Path, int], None]


@dataclass
class ImportReport:
    """What an import found and did."""

    files: list[FileReport]
    merged: book.Merged
    problems: list[RowProblem]
    dry_run: bool
    same_files: list[Path] = field(default_factory=list)  # given twice: read once

    @property
    def skipped(self) -> Counter[str]:
        """Rows skipped, by reason, over every file."""
        found: Counter[str] = Counter()
        for report in self.files:
            found.update(report.skipped)
        return found


def problems_text(problems: Sequence[RowProblem]) -> str:
    """The problems, one per line: every one of them, so that they can all be fixed
    in one go."""
    return "\n".join(f"  {problem}" for problem in problems)


def import_files(
    home: Path,
    paths: Sequence[Path],
    *,
    platform: str | None = None,
    mapping: Mapping[str, str] | None = None,
    dry_run: bool = False,
    strict: bool = False,
    progress: Progress | None = None,
    waiting: Callable[[], None] | None = None,
) -> ImportReport:
    """Import ``paths`` into the order book of ``home`` (see the module's note)."""
    with contextlib.ExitStack() as stack:
        readers: list[ExportReader] = []
        same: list[Path] = []
        seen: set[tuple[int, int]] = set()
        for path in paths:
            identity = _identity(path)
            if identity in seen:
                same.append(path)
                continue
            seen.add(identity)
            readers.append(
                stack.enter_context(open_export(path, platform=platform, mapping=mapping))
            )
        where = (
            stack.enter_context(book.locked(home, waiting=waiting))
            if not dry_run
            else book.folder_of(home)
        )
        importer = book.Importer(where)
        problems: list[RowProblem] = []
        for source, reader in enumerate(readers):
            path = reader.report.path
            tick = (lambda done, path=path: progress(path, done)) if progress else None
            for record in reader.records(tick):
                importer.add(record, source)
            problems += reader.report.problems
        if strict and problems:
            raise InputFileError(
                f"{len(problems)} rows have a bad amount or date, so nothing was imported "
                f"(--strict):\n{problems_text(problems)}",
                hint="Fix those rows in the export, or import without --strict to skip them.",
            )
        if not dry_run:
            importer.commit()
        report = ImportReport(
            [r.report for r in readers], importer.result(), problems, dry_run, same
        )
    if not dry_run:
        refresh_cache(home)
    return report


def refresh_cache(home: Path) -> None:
    """Bring the look-up table up to date now, rather than on the next call's first
    look-up (a table that cannot be written is no failure: the book is saved)."""
    from ..store.ordercache import OrderCache

    with contextlib.suppress(RecoverError, OSError), OrderCache(home) as cache:
        cache.fresh()


def _identity(path: Path) -> tuple[int, int]:
    try:
        found = os.stat(path)
    except OSError:
        return (-1, id(path))  # open_export names the problem
    return (found.st_dev, found.st_ino)
