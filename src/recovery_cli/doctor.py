"""``recover doctor``: look over a home and say what needs attention.

Every check reads; nothing is changed unless :func:`fix` is asked to, and then only
what is safe to change without a person's judgement: permissions, temporary files
that no save can still be using, and the conflict copies a file-sync service (Dropbox,
Syncthing, iCloud) made of a case, merged into the case by the same rule as the git
merge driver (every answer from both kept). Damaged case files, broken playbooks and
locks are reported, never touched (deleting a lock another process may hold would
break it; a lock left by a killed process is already free).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .config import DRAFTS, config_path, load_settings
from .errors import RecoverError, StorageError
from .fileio import is_temp_file
from .orders import book as orders_book
from .playbooks.catalog import load_catalog, user_dir
from .store import Damaged, Notify, Store

Severity = Literal["error", "warning", "info"]

# A temporary file this old belongs to no save still in progress.
STALE_TMP_SECONDS = 60


@dataclass(frozen=True)
class Finding:
    """One thing found: what, where, and what to do about it."""

    check: str
    severity: Severity
    message: str
    advice: str = ""
    path: Path | None = None
    fixable: bool = False

    def as_json(self) -> dict[str, object]:
        """The keys of ``recover doctor --json`` findings (documented in the README)."""
        return {
            "check": self.check,
            "severity": self.severity,
            "path": str(self.path) if self.path is not None else None,
            "message": self.message,
            "advice": self.advice,
            "fixable": self.fixable,
        }


@dataclass
class Report:
    """Everything doctor found (and, with --fix, what it fixed)."""

    home: Path
    findings: list[Finding] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    cases: int = 0
    playbooks: int = 0
    orders: int = 0

    @property
    def needs_attention(self) -> bool:
        """Whether any finding is more than information."""
        return any(f.severity != "info" for f in self.findings)

    def as_json(self) -> dict[str, object]:
        """The keys of ``recover doctor --json`` (documented in the README)."""
        return {
            "home": str(self.home),
            "cases": self.cases,
            "playbooks": self.playbooks,
            "orders": self.orders,
            "needs_attention": self.needs_attention,
            "findings": [finding.as_json() for finding in self.findings],
            "fixed": self.fixed,
        }


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _private_paths(home: Path, store: Store) -> Iterator[tuple[Path, int]]:
    """The folders (0700) and files (0600) of a home that hold private data."""
    yield home, 0o700
    yield from store.private_paths()
    folder = user_dir(home)
    if folder.is_dir() and not folder.is_symlink():
        yield folder, 0o700
        for entry in os.scandir(folder):
            if entry.is_file(follow_symlinks=False) and not is_temp_file(entry.name):
                yield Path(entry.path), 0o600
    path = config_path(home)
    if path.is_file() and not path.is_symlink():
        yield path, 0o600
    for folder in (orders_book.folder_of(home), home / DRAFTS):
        if folder.is_dir() and not folder.is_symlink():
            yield folder, 0o700
            for entry in os.scandir(folder):
                if entry.is_file(follow_symlinks=False) and not is_temp_file(entry.name):
                    yield Path(entry.path), 0o600


def check_permissions(home: Path, store: Store) -> list[Finding]:
    """Folders and files that others on this machine could read."""
    found = []
    for path, wanted in _private_paths(home, store):
        mode = _mode(path)
        if mode & 0o077:
            kind = "folder" if wanted == 0o700 else "file"
            found.append(
                Finding(
                    "permissions",
                    "warning",
                    f"{path} is {mode:04o}: others on this machine can "
                    f"{'read' if mode & 0o044 else 'use'} this {kind}",
                    advice=f"Make it {wanted:04o} (recover doctor --fix does).",
                    path=path,
                    fixable=True,
                )
            )
    return found


def stale_temp_files(home: Path, store: Store, now: float) -> list[Path]:
    """Temporary files left by a save that was cut short (``now``: a timestamp): in
    the cases folder, those whose case no process holds; anywhere in the home, those
    older than a minute."""
    found = list(store.leftover_temp_files(now, STALE_TMP_SECONDS))
    orders = orders_book.folder_of(home)
    pending = (orders / orders_book.JOURNAL).exists()  # its files are the commit's
    for folder in (home, user_dir(home), home / DRAFTS, *([] if pending else [orders])):
        if not folder.is_dir():
            continue
        with os.scandir(folder) as entries:
            for entry in entries:
                if not is_temp_file(entry.name) or not entry.is_file(follow_symlinks=False):
                    continue
                try:
                    moment = entry.stat(follow_symlinks=False).st_mtime
                except FileNotFoundError:
                    continue  # a save in progress just moved it into place
                if now - moment > STALE_TMP_SECONDS:
                    found.append(Path(entry.path))
    return sorted(found)


def check_temp_files(home: Path, store: Store, now: float) -> list[Finding]:
    """Leftovers of saves cut short (never read as data; safe to remove)."""
    return [
        Finding(
            "temp-files",
            "warning",
            f"{path} is left over from a save that was cut short",
            advice="It is never read as a case; remove it (recover doctor --fix does).",
            path=path,
            fixable=True,
        )
        for path in stale_temp_files(home, store, now)
    ]


def check_orders(home: Path) -> tuple[list[Finding], int]:
    """The order book: an import cut short at its commit, files or lines that are not
    orders; and how many orders it holds."""
    found: list[Finding] = []
    folder = orders_book.folder_of(home)
    journal = folder / orders_book.JOURNAL
    if journal.exists():
        found.append(
            Finding(
                "orders",
                "warning",
                "an order import was stopped in the middle of saving: some platform files "
                "are new, some old",
                advice="recover doctor --fix (or any orders command) finishes it.",
                path=journal,
                fixable=True,
            )
        )
    count = 0
    for platform, path in orders_book.book_files(home).items():
        try:
            for number, order in orders_book.read_book(path):
                if order is None:
                    found.append(
                        Finding(
                            "orders",
                            "error",
                            f"{path} line {number} is not an order",
                            advice="Import that platform's export again after "
                            f"`recover orders forget --platform {platform}`.",
                            path=path,
                        )
                    )
                else:
                    count += 1
        except RecoverError as exc:
            found.append(
                Finding(
                    "orders",
                    "error",
                    exc.message,
                    advice=f"Move it aside, then import the {platform} export again.",
                    path=path,
                )
            )
    return found, count


def check_cases(store: Store, playbook_ids: set[str]) -> tuple[list[Finding], int]:
    """Damaged or newer case files, and cases whose playbook is gone."""
    found = []
    count = 0
    for item in store.iter_newest():
        count += 1
        if isinstance(item, Damaged):
            found.append(
                Finding(
                    "case-files",
                    "warning" if item.newer else "error",
                    item.reason,
                    advice="Upgrade recover to read it."
                    if item.newer
                    else "Restore it from a backup, or move it out of the cases folder; "
                    "recover never rewrites it.",
                    path=item.path,
                )
            )
            continue
        if item.playbook.id in playbook_ids:
            continue
        if item.walk_completed_at is None:
            found.append(
                Finding(
                    "playbook-gone",
                    "warning",
                    f"case {item.id} is unfinished and its playbook {item.playbook.id!r} "
                    "is gone, so it cannot be resumed",
                    advice=f"Restore the playbook {item.playbook.id!r}, or close the case: "
                    f"recover close {item.id}",
                    path=store.path_for(item.id),
                )
            )
        else:
            found.append(
                Finding(
                    "playbook-gone",
                    "info",
                    f"case {item.id} was walked with playbook {item.playbook.id!r}, "
                    "which is gone (the case still shows and exports)",
                    path=store.path_for(item.id),
                )
            )
    return found, count


def check_copies(store: Store, now: float) -> list[Finding]:
    """Conflict copies of case files (``17 (conflicted copy 2026-12-01).json``,
    ``17.sync-conflict-….json``, ``17 2.json``, or the git merge driver's
    ``17.conflict-….json``): never listed as cases, merged by ``--fix`` when both
    versions can be read, and named with their case when one cannot."""
    from .sync.copies import find_copies

    found = []
    for case_id, path in find_copies(store.cases_dir):
        case_path = store.cases_dir / f"{case_id}.json"
        if _folded(store, case_id, path, now) is None:
            found.append(
                Finding(
                    "conflict-copies",
                    "error",
                    f"{path} is another version of case {case_id} that cannot be merged "
                    f"into {case_path} (one of the two is damaged, or another case)",
                    advice="Both files are kept. Compare them (jq . FILE), keep the right "
                    "one as the case file, and move the other out of the cases folder.",
                    path=path,
                )
            )
        else:
            found.append(
                Finding(
                    "conflict-copies",
                    "warning",
                    f"{path} is a conflict copy of case {case_id}, made by a file-sync "
                    "service or a merge",
                    advice="recover doctor --fix merges it into the case (every answer "
                    "from both is kept) and removes it.",
                    path=path,
                    fixable=True,
                )
            )
    return found


def _folded(store: Store, case_id: str, copy: Path, now: float) -> bytes | None:
    """The case file's bytes with the copy merged in (None: it cannot be merged)."""
    from datetime import UTC, datetime

    from .sync.copies import fold

    try:
        copy_raw = copy.read_bytes()
        case_raw: bytes | None = (store.cases_dir / f"{case_id}.json").read_bytes()
    except FileNotFoundError:
        case_raw = None
    except OSError:
        return None
    return fold(case_raw, copy_raw, now=datetime.fromtimestamp(now, UTC), case_id=case_id)


def fold_copy(home: Path, path: Path, now: float) -> str:
    """Merge one conflict copy into its case, under the case's lock, and remove it."""
    from .fileio import write_atomic
    from .store import parse
    from .sync.copies import copy_of

    case_id = copy_of(path.name)
    if case_id is None:
        return f"left {path}: not a conflict copy"
    with Store(home) as store, store.files.locked(case_id) as held:
        if not held:
            return f"left {path}: case {case_id} is open in another terminal"
        merged = _folded(store, case_id, path, now)
        if merged is None:
            return f"left {path}: it cannot be merged into case {case_id}"
        target = store.cases_dir / f"{case_id}.json"
        store.index.note_saving(case_id)
        write_atomic(target, merged)
        _, case = parse(target, merged)
        store.index.note_saved(case)
        path.unlink()
    return f"merged {path} into case {case_id}"


def check_locks(store: Store) -> list[Finding]:
    """Cases open in a terminal right now (a lock left by a killed process is free
    already, so nothing is ever stale)."""
    return [
        Finding(
            "locks",
            "info",
            f"case {case_id} is open in another terminal right now",
            path=path,
        )
        for case_id, path in store.open_elsewhere()
    ]


def check_playbooks(home: Path) -> tuple[list[Finding], set[str], int]:
    """Playbooks that no longer load; and the ids of those that do."""
    catalog = load_catalog(home)
    found = []
    for error in catalog.broken:
        first = error.problems[0]
        more = len(error.problems) - 1
        found.append(
            Finding(
                "playbooks",
                "error",
                f"{first}" + (f" (and {more} more)" if more else ""),
                advice="Fix it with: recover playbook edit ID (or see recover playbook check)",
                path=Path(first.path) if first.path else None,
            )
        )
    ids = {p.id for p in catalog.ordered()}
    return found, ids, len(ids)


def check_index(store: Store) -> list[Finding]:
    """Rows of the summary index that disagree with their case files (a file edited in
    place by hand, a save cut short). Read only: an index that does not exist yet is
    built by the first command that needs it."""
    wrong = store.index_disagreements()
    if wrong == []:
        return []
    what = (
        "cannot be read"
        if wrong is None
        else f"is out of date for {len(wrong)} case{'s' if len(wrong) != 1 else ''}"
    )
    return [
        Finding(
            "index",
            "warning",
            f"the summary index {store.index_path} {what}",
            advice="Rebuild it from the case files (recover doctor --fix, or --reindex); "
            "the case files themselves are fine.",
            path=store.index_path,
            fixable=True,
        )
    ]


def check_config(home: Path) -> list[Finding]:
    """Settings that do not load."""
    try:
        load_settings(home)
    except RecoverError as error:
        return [
            Finding(
                "config",
                "error",
                error.message,
                advice="Fix it in a text editor, or set it again: recover config set KEY VALUE",
                path=config_path(home),
            )
        ]
    return []


def examine(home: Path, now: float, warn: Notify | None = None) -> Report:
    """Run every check over ``home`` at ``now`` (a timestamp); change nothing (but
    what opening the store does: an index left in the home moves out, told to
    ``warn``)."""
    report = Report(home)
    if not home.exists():
        report.findings.append(
            Finding("home", "info", f"{home} does not exist yet (no case was saved)", path=home)
        )
        return report
    with Store(home, warn=warn) as store:
        report.findings += check_permissions(home, store)
        report.findings += check_temp_files(home, store, now)
        report.findings += check_config(home)
        order_findings, report.orders = check_orders(home)
        report.findings += order_findings
        playbook_findings, ids, report.playbooks = check_playbooks(home)
        report.findings += playbook_findings
        case_findings, report.cases = check_cases(store, ids)
        report.findings += case_findings
        report.findings += check_copies(store, now)
        report.findings += check_locks(store)
        report.findings += check_index(store)
    return report


def _rebuild(home: Path, warn: Notify | None = None) -> int:
    with Store(home, warn=warn) as store:
        return store.rebuild_index()


def reindex(home: Path, warn: Notify | None = None) -> int:
    """Rebuild the summary index from the case files; returns how many it holds."""
    try:
        return _rebuild(home, warn)
    except OSError as exc:
        raise StorageError(
            f"cannot rebuild the summary index in {home}: {exc.strerror or exc}",
            hint="The case files are fine; fix the home's permissions and try again.",
        ) from None


def fix(report: Report, now: float, warn: Notify | None = None) -> Report:
    """Fix what is safe (permissions, leftover temp files, the index), then look again."""
    done = []
    for finding in report.findings:
        if not finding.fixable or finding.path is None:
            continue
        path = finding.path
        try:
            if finding.check == "permissions":
                os.chmod(path, 0o700 if path.is_dir() else 0o600)
                done.append(f"made {path} private")
            elif finding.check == "temp-files" and path.parent == orders_book.folder_of(
                report.home
            ):
                # Under the book's lock, which an import holds from its first write.
                with orders_book.locked(report.home):
                    done.append(f"removed {path}")
            elif finding.check == "temp-files" and _still_stale(report.home, path, now):
                path.unlink()
                done.append(f"removed {path}")
            elif finding.check == "orders":
                with orders_book.locked(report.home):
                    done.append("finished the order import that was cut short")
            elif finding.check == "conflict-copies":
                done.append(fold_copy(report.home, path, now))
            elif finding.check == "index":
                done.append(f"rebuilt the summary index ({_rebuild(report.home, warn)} cases)")
        except FileNotFoundError:
            continue
        except OSError as exc:
            done.append(f"could not fix {path}: {exc.strerror or exc}")
    again = examine(report.home, now)
    again.fixed = done
    return again


def _still_stale(home: Path, path: Path, now: float) -> bool:
    """Looked at again just before removing it: a save may have started since."""
    with Store(home) as store:
        return path in stale_temp_files(home, store, now)


def run(
    home: Path,
    now: float,
    *,
    fix_safe: bool = False,
    rebuild: bool = False,
    warn: Notify | None = None,
) -> Report:
    """What ``recover doctor`` does at ``now`` (a timestamp): rebuild the index if
    asked, examine the home, and fix what is safe if asked. ``warn`` hears of a long
    rebuild as it starts."""
    rebuilt = None
    if rebuild and Store(home).cases_dir.is_dir():
        rebuilt = f"rebuilt the summary index ({reindex(home, warn)} cases)"
    report = examine(home, now, warn)
    if fix_safe:
        report = fix(report, now, warn)
    if rebuilt is not None:
        report.fixed.insert(0, rebuilt)
    return report
