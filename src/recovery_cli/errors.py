"""The one error hierarchy of recover, and the exit codes it maps to.

Core code raises these; the CLI turns them into ``Error: ...`` on stderr and the
exit code below. Messages never carry customer data: they name files, ids and fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ExitStatus(IntEnum):
    """Every exit code recover uses (documented in README.md; keep the two in step)."""

    SUCCESS = 0
    ERROR = 1  # something needs attention, or a storage or settings failure
    USAGE = 2  # called in a way it cannot work
    PLAYBOOK = 3  # a playbook does not load (or an edit was discarded)
    NOT_FOUND = 4  # an id that names nothing
    DAMAGED = 5  # a case file that cannot be read
    BUSY = 6  # the case is open in another terminal
    BAD_INPUT = 7  # an input file (an order export) that cannot be read as asked
    SYNC = 8  # a sync that could not finish (remote unreachable, a conflict); local work kept
    HANGUP = 129  # the terminal closed
    INTERRUPTED = 130  # Ctrl-C or end of input
    TERMINATED = 143  # SIGTERM


class RecoverError(Exception):
    """Base of every error a user can meet; ``str(err)`` is the message shown."""

    exit_code: int = ExitStatus.ERROR
    prefix = "Error: "

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(RecoverError):
    """The command was called in a way it cannot work (e.g. no terminal to prompt on)."""

    exit_code: int = ExitStatus.USAGE


class NotFoundError(RecoverError):
    """An id (case or playbook) that names nothing."""

    exit_code: int = ExitStatus.NOT_FOUND


class StorageError(RecoverError):
    """Reading or writing the home directory failed (disk full, permissions...)."""

    exit_code: int = ExitStatus.ERROR


class NotDurableError(StorageError):
    """The new file is in place, but its folder could not be synced to disk: it is
    what every reader sees now, though a power cut could still take it back."""


class DamagedCaseError(RecoverError):
    """A case file that cannot be read: damaged, foreign, or from a newer version."""

    exit_code: int = ExitStatus.DAMAGED

    def __init__(self, message: str, *, hint: str | None = None, newer: bool = False) -> None:
        super().__init__(message, hint=hint)
        self.newer = newer  # written by a newer version of recover, not broken


class CaseBusyError(RecoverError):
    """The case is open in another terminal, or was changed by one since it was read."""

    exit_code: int = ExitStatus.BUSY


class InputFileError(RecoverError):
    """A file given to read (an order export) is not in a shape recover can read:
    an unknown header, a missing column, an encoding it cannot tell. Nothing of it
    was imported."""

    exit_code: int = ExitStatus.BAD_INPUT


class ConfigError(RecoverError):
    """config.toml is unreadable, or a setting was given a bad value."""

    exit_code: int = ExitStatus.ERROR


@dataclass(frozen=True)
class Problem:
    """One finding in a playbook file, positioned for an editor."""

    path: str
    line: int
    column: int
    field: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.column}"
        if self.severity != "error":
            where += f": {self.severity}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )

    def as_dict(self) -> dict[str, object]:
        """The problem as JSON-ready data (for ``--json`` output)."""
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
            "field": self.field,
            "message": self.message,
        }


class PlaybookError(RecoverError):
    """One or more playbook files failed to load; every problem is listed."""

    exit_code: int = ExitStatus.PLAYBOOK

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        count = len(problems)
        files = sorted({p.path for p in problems})
        head = (
            f"{files[0]} is not a valid playbook"
            if len(files) == 1
            else f"{len(files)} playbooks are not valid"
        )
        noun = "problem" if count == 1 else "problems"
        body = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{head} ({count} {noun}):\n{body}")


class WalkInterrupted(RecoverError):
    """The walk was stopped by Ctrl-C, end of input or a signal; the case is saved."""

    exit_code: int = ExitStatus.INTERRUPTED
    prefix = ""  # stopping a walk is the operator's choice, not a failure

    def __init__(
        self, message: str, *, exit_code: int = ExitStatus.INTERRUPTED, hint: str | None = None
    ):
        super().__init__(message, hint=hint)
        self.exit_code = exit_code


class Reported(RecoverError):
    """What went wrong is on screen already (a list of problems, a doctor's report):
    only the exit status is left to give, with no message and no traceback (not even
    under --debug)."""

    prefix = ""

    def __init__(self, status: ExitStatus) -> None:
        super().__init__("")
        self.exit_code = status
