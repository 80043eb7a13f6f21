"""``recover doctor``: look over a home and say what needs attention.

Every check reads; nothing is changed unless :func:`fix` is asked to, and then only
what is safe to change without a person's judgement: permissions, and temporary
files that no save can still be using. Damaged case files, broken playbooks and
locks are reported, never touched (deleting a lock another process may hold would
break it; a lock left by a killed process is already free).
"""

from __future__ import annotations

import os
import re
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .fileio import TMP_SUFFIX

Severity = Literal["error", "warning", "info"]

# A temporary file this old belongs to no save still in progress.
STALE_TMP_SECONDS = 60
_CASE_TMP = re.compile(r"^\.([1-9][0-9]{0,8})\.json\..*\.tmp$")
_LOCK = re.compile(r"^\.([1-9][0-9]{0,8})\.lock$")


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

    @property
    def needs_attention(self) -> bool:
        """Whether any finding is more than information."""
        return any(f.severity != "info" for f in self.findings)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _private_paths(home: Path) -> Iterator[tuple[Path, int]]:
    """The folders (0700) and files (0600) of a home that hold private data."""
    yield home, 0o700
    for name in ("cases", "playbooks"):
        folder = home / name
        if folder.is_dir() and not folder.is_symlink():
            yield folder, 0o700
            for entry in os.scandir(folder):
                leftover = entry.name.endswith(TMP_SUFFIX)  # reported as such instead
                if entry.is_file(follow_symlinks=False) and not leftover:
                    yield Path(entry.path), 0o600
    for name in ("config.toml", "index.sqlite3", "index.sqlite3-wal", "index.sqlite3-shm"):
        path = home / name
        if path.is_file() and not path.is_symlink():
            yield path, 0o600


def check_permissions(home: Path) -> list[Finding]:
    """Folders and files that others on this machine could read."""
    found = []
    for path, wanted in _private_paths(home):
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


def _lock_is_free(folder: Path, case_number: str) -> bool:
    """Whether no process holds the case's lock right now (without creating one)."""
    from .store import Store

    return Store(folder.parent).lock_is_free(case_number)


def stale_temp_files(home: Path, now: float | None = None) -> list[Path]:
    """Temporary files left by a save that was cut short: in ``cases/``, those whose
    case no process holds; elsewhere in the home, those older than a minute."""
    moment = time.time() if now is None else now
    found = []
    for folder in (home, home / "cases", home / "playbooks"):
        if not folder.is_dir():
            continue
        for entry in os.scandir(folder):
            if not (entry.name.startswith(".") and entry.name.endswith(TMP_SUFFIX)):
                continue
            if not entry.is_file(follow_symlinks=False):
                continue
            match = _CASE_TMP.match(entry.name)
            old = moment - entry.stat(follow_symlinks=False).st_mtime > STALE_TMP_SECONDS
            if (match and folder.name == "cases" and _lock_is_free(folder, match.group(1))) or old:
                found.append(Path(entry.path))
    return sorted(found)


def check_temp_files(home: Path) -> list[Finding]:
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
        for path in stale_temp_files(home)
    ]


def check_cases(home: Path, playbook_ids: set[str]) -> tuple[list[Finding], int]:
    """Damaged or newer case files, and cases whose playbook is gone."""
    from .case import Case
    from .store import Store

    found = []
    count = 0
    for item in Store(home).iter_newest():
        count += 1
        if not isinstance(item, Case):
            newer = "newer version" in item.reason
            found.append(
                Finding(
                    "case-files",
                    "warning" if newer else "error",
                    item.reason,
                    advice="Upgrade recover to read it."
                    if newer
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
                    path=Store(home).path_for(item.id),
                )
            )
        else:
            found.append(
                Finding(
                    "playbook-gone",
                    "info",
                    f"case {item.id} was walked with playbook {item.playbook.id!r}, "
                    "which is gone (the case still shows and exports)",
                    path=Store(home).path_for(item.id),
                )
            )
    return found, count


def check_locks(home: Path) -> list[Finding]:
    """Cases open in a terminal right now (a lock left by a killed process is free
    already, so nothing is ever stale)."""
    folder = home / "cases"
    if not folder.is_dir():
        return []
    found = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        match = _LOCK.match(entry.name)
        if match and not _lock_is_free(folder, match.group(1)):
            found.append(
                Finding(
                    "locks",
                    "info",
                    f"case {match.group(1)} is open in another terminal right now",
                    path=Path(entry.path),
                )
            )
    return found


def check_playbooks(home: Path) -> tuple[list[Finding], set[str], int]:
    """Playbooks that no longer load; and the ids of those that do."""
    from .playbook import load_catalog

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


def check_index(home: Path) -> list[Finding]:
    """Rows of the summary index that disagree with their case files (a file edited in
    place by hand, a save cut short). Read only: an index that does not exist yet is
    built by the first command that needs it."""
    import sqlite3

    from .index import FILE_NAME, Index
    from .store import Store

    path = home / FILE_NAME
    if not path.exists() or not (home / "cases").is_dir():
        return []
    index = Index(Store(home))
    try:
        wrong = index.disagreements(read_only=True)
    except sqlite3.Error:
        wrong = None
    finally:
        index.close()
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
            f"the summary index {path} {what}",
            advice="Rebuild it from the case files (recover doctor --fix, or --reindex); "
            "the case files themselves are fine.",
            path=path,
            fixable=True,
        )
    ]


def check_config(home: Path) -> list[Finding]:
    """Settings that do not load."""
    from .config import load_settings
    from .errors import RecoverError

    try:
        load_settings(home)
    except RecoverError as error:
        return [
            Finding(
                "config",
                "error",
                error.message,
                advice="Fix it in a text editor, or set it again: recover config set KEY VALUE",
                path=home / "config.toml",
            )
        ]
    return []


def examine(home: Path) -> Report:
    """Run every check over ``home``; change nothing."""
    report = Report(home)
    if not home.exists():
        report.findings.append(
            Finding("home", "info", f"{home} does not exist yet (no case was saved)", path=home)
        )
        return report
    report.findings += check_permissions(home)
    report.findings += check_temp_files(home)
    report.findings += check_config(home)
    playbook_findings, ids, report.playbooks = check_playbooks(home)
    report.findings += playbook_findings
    case_findings, report.cases = check_cases(home, ids)
    report.findings += case_findings
    report.findings += check_locks(home)
    report.findings += check_index(home)
    return report


def reindex(home: Path) -> int:
    """Rebuild the summary index from the case files; returns how many it holds."""
    from .index import Index
    from .store import Store

    index = Index(Store(home))
    try:
        return index.rebuild()
    finally:
        index.close()


def fix(report: Report) -> Report:
    """Fix what is safe (permissions, leftover temp files), then look again."""
    done = []
    for finding in report.findings:
        if not finding.fixable or finding.path is None:
            continue
        path = finding.path
        try:
            if finding.check == "permissions":
                os.chmod(path, 0o700 if path.is_dir() else 0o600)
                done.append(f"made {path} private")
            elif finding.check == "temp-files" and path in stale_temp_files(report.home):
                # Looked at again just before: a save may have started since.
                path.unlink()
                done.append(f"removed {path}")
            elif finding.check == "index":
                count = reindex(report.home)
                done.append(f"rebuilt the summary index ({count} cases)")
        except FileNotFoundError:
            continue
        except OSError as exc:
            done.append(f"could not fix {path}: {exc.strerror or exc}")
    again = examine(report.home)
    again.fixed = done
    return again
