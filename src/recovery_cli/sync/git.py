"""The ``git`` command the user has, run in a home through :mod:`subprocess`.

recover never speaks a sync protocol of its own: git moves the files, and its own
credential helpers and ssh keep the credentials (recover never sees them). Every call
runs with a fixed, plain environment (no pager, no prompts, English messages, no
user hooks), so that what git prints can be read, and a remote that would ask for a
password fails at once instead of waiting on a terminal that is not there.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ExitStatus, RecoverError

MIN_VERSION = (2, 25)
# A remote that sends nothing for this long is given up on (git's own low-speed limit:
# a first push of a large home to a slow NAS may take long, but never stalls).
STALLED_S = 60


class GitMissingError(RecoverError):
    """git is not installed, or is older than recover needs."""

    exit_code: int = ExitStatus.ERROR


class SyncError(RecoverError):
    """A sync that could not finish: the remote cannot be reached, or a conflict needs
    a person. Local work stays committed."""

    exit_code: int = ExitStatus.SYNC


@dataclass(frozen=True)
class Done:
    """What one git command did."""

    code: int
    out: str
    err: str

    @property
    def ok(self) -> bool:
        return self.code == 0

    def first_error(self) -> str:
        """Git's own reason, one line, without its ``fatal:``/``error:`` prefix."""
        for line in self.err.splitlines():
            line = line.strip()
            bare = _unprefixed(line)
            if bare != line:
                return _plain(bare)
        lines = [line.strip() for line in self.err.splitlines() if line.strip()]
        if lines:
            return _plain(lines[-1])
        # A merge names its conflicts on stdout.
        found = [line for line in self.out.splitlines() if line.startswith("CONFLICT")]
        return _plain(found[0]) if found else f"git exited with {self.code}"


def _unprefixed(line: str) -> str:
    """A line of git's without its ``fatal:``, ``error:`` or ``remote:`` prefixes."""
    changed = True
    while changed:
        changed = False
        for prefix in ("fatal: ", "error: ", "remote: ", "hint: "):
            if line.startswith(prefix):
                line, changed = line[len(prefix) :].strip(), True
    return line


def shown_url(url: str) -> str:
    """A remote's URL as it may be shown: without a user name or token in it."""
    return _plain(url)


def _plain(text: str) -> str:
    # What git prints may quote a URL with a user's token in it: keep the host only.
    text = re.sub(r"://[^/@\s]+@", "://", text)
    return "".join(c if c.isprintable() else "?" for c in text)[:300]


def executable() -> str:
    """The path of git; GitMissingError if there is none."""
    found = shutil.which("git")
    if found is None:
        raise GitMissingError(
            "git is not installed: recover sync uses it to move the home between machines",
            hint="Install git (https://git-scm.com/downloads, or your system's package), "
            "then run the command again.",
        )
    return found


def environment() -> dict[str, str]:
    """The environment every git command runs in."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("GIT_") or key in ("GIT_SSH", "GIT_SSH_COMMAND", "GIT_ASKPASS")
    }
    env.update(
        LC_ALL="C",
        LANG="C",
        GIT_TERMINAL_PROMPT="0",
        GIT_PAGER="cat",
        PAGER="cat",
        GIT_EDITOR="true",
        GIT_MERGE_AUTOEDIT="no",
    )
    return env


class Git:
    """git in one home."""

    def __init__(self, home: Path, *, keep_fd: int | None = None) -> None:
        """``keep_fd``: a descriptor every git process inherits (the sync lock), so
        that a git left running by a killed recover still holds it."""
        self.home = home
        self._git = executable()
        self._env = environment()
        self._keep = () if keep_fd is None else (keep_fd,)

    def run(
        self,
        *args: str,
        network: bool = False,
        input: bytes | None = None,
        timeout: float | None = None,
    ) -> Done:
        """Run ``git args`` in the home and say what it did (never raises for git's
        own failure; GitMissingError when git cannot be run at all)."""
        command = [
            self._git,
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            "core.quotePath=false",
            "-c",
            "advice.detachedHead=false",
            # The user's own settings that would stop or change recover's commits and
            # merges: a signature that asks for a passphrase, fast-forward only merges.
            "-c",
            "commit.gpgSign=false",
            "-c",
            "merge.ff=true",
            "-c",
            "core.fsmonitor=false",
            "-c",
            "merge.renames=false",
            "-c",
            "http.lowSpeedLimit=1",
            "-c",
            f"http.lowSpeedTime={STALLED_S}",
            *args,
        ]
        limit = timeout
        try:
            done = subprocess.run(
                command,
                cwd=self.home,
                env=self._env,
                input=input,
                capture_output=True,
                timeout=limit,
                pass_fds=self._keep,
                check=False,
            )
        except FileNotFoundError:
            raise GitMissingError("git could not be started") from None
        except subprocess.TimeoutExpired:
            return Done(124, "", f"fatal: git {args[0]} did not finish in {limit or 0:.0f} s")
        return Done(
            done.returncode,
            done.stdout.decode("utf-8", "replace"),
            done.stderr.decode("utf-8", "replace"),
        )

    def blobs(self, shas: Sequence[str]) -> list[bytes]:
        """The contents of these objects, in order, through one ``git cat-file
        --batch`` (SyncError if one cannot be read)."""
        if not shas:
            return []
        try:
            done = subprocess.run(
                [self._git, "cat-file", "--batch"],
                cwd=self.home,
                env=self._env,
                input="".join(f"{sha}\n" for sha in shas).encode("ascii"),
                capture_output=True,
                pass_fds=self._keep,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            raise SyncError("git cat-file could not read the versions to merge") from None
        data, at, found = done.stdout, 0, []
        for _ in shas:
            end = data.find(b"\n", at)
            header = data[at:end].split()
            if end < 0 or len(header) != 3 or header[1] == b"missing":
                raise SyncError("git cat-file could not read the versions to merge")
            size = int(header[2])
            found.append(data[end + 1 : end + 1 + size])
            at = end + 1 + size + 1
        return found

    def out(self, *args: str) -> str:
        """The output of a git command that must work (SyncError naming git's reason
        otherwise)."""
        done = self.run(*args)
        if not done.ok:
            raise SyncError(f"git {args[0]} failed: {done.first_error()}")
        return done.out

    def lines(self, *args: str) -> list[str]:
        """The non-empty output lines of a git command that must work."""
        return [line for line in self.out(*args).splitlines() if line]

    def zlines(self, *args: str) -> list[str]:
        """The NUL-separated output of a git command that must work (``-z``)."""
        return [part for part in self.out(*args).split("\0") if part]


def version() -> tuple[int, ...]:
    """The version of the git installed; GitMissingError if it is missing or too old."""
    done = subprocess.run(
        [executable(), "--version"], capture_output=True, check=False, env=environment()
    )
    match = re.search(rb"(\d+)\.(\d+)(?:\.(\d+))?", done.stdout)
    if done.returncode != 0 or match is None:
        raise GitMissingError("git could not be run (`git --version` failed)")
    found = tuple(int(part) for part in match.groups(default=b"0"))
    if found[:2] < MIN_VERSION:
        raise GitMissingError(
            f"git {'.'.join(map(str, found))} is too old for recover sync "
            f"(it needs {'.'.join(map(str, MIN_VERSION))} or newer)",
            hint="Upgrade git, then run the command again.",
        )
    return found


def quote(args: Sequence[str]) -> str:
    """A command line for git's config (a merge driver), each word quoted for sh."""
    import shlex

    return " ".join(shlex.quote(a) if not a.startswith("%") else a for a in args)
