"""This machine's own folders for what must not travel with the home.

* The cache folder holds what is rebuilt from the home's files (the summary index, the
  playbook cache, the order look-up table) and the locks of the processes working in
  a home: ``$RECOVER_CACHE_DIR`` (for tests, or a machine that wants it elsewhere),
  else the platform's per-machine cache folder (``platformdirs.user_cache_path``, like
  ``~/.cache/recover`` on Linux).
* The state folder holds this machine's own id, which names it in the homes it makes
  cases in (see :mod:`recovery_cli.sync.ids`): ``$RECOVER_STATE_DIR``, else the
  platform's (``~/.local/state/recover``).

Each home has its own files there, named by a hash of the home's real path. Never
inside the home, which may be synced by git, Dropbox, Syncthing or iCloud: SQLite
warns against synced folders, and a lock protects nothing on another machine. A cache
folder inside the home means no cache.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

CACHE_ENV = "RECOVER_CACHE_DIR"
STATE_ENV = "RECOVER_STATE_DIR"


def _sha256_maker() -> Callable[[bytes], Any]:
    """SHA-256 as CPython builds it in (``_sha2`` since 3.12, ``_sha256`` before),
    which loads in a tenth of the time of hashlib's OpenSSL, on every start; the
    digests are the same (hashlib's where neither is there)."""
    for name in ("_sha2", "_sha256") if sys.version_info >= (3, 12) else ("_sha256",):
        with contextlib.suppress(ImportError, AttributeError):
            found: Callable[[bytes], Any] = importlib.import_module(name).sha256
            return found
    import hashlib

    return hashlib.sha256


_sha256 = _sha256_maker()


def sha256_hex(data: bytes) -> str:
    """The hex SHA-256 of ``data`` (as ``hashlib.sha256(data).hexdigest()``)."""
    return str(_sha256(data).hexdigest())


def cache_dir() -> Path:
    """The per-machine cache folder: ``$RECOVER_CACHE_DIR``, else the platform's."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_path

    return user_cache_path("recover", appauthor=False)


def home_file(home: Path, folder: str, suffix: str) -> Path | None:
    """Where ``home`` keeps a cache file of this machine, in ``folder`` of the cache
    folder; None where that would be inside the home (or cannot be told apart)."""
    where = cache_dir() / folder
    try:
        inside = _within(where.resolve(), home.resolve())
    except (OSError, RuntimeError):
        return None
    if inside:
        return None
    return where / f"{home_key(home)}{suffix}"


def home_key(home: Path) -> str:
    """The name of a home's files in this machine's folders: a hash of its real path
    (two paths to one home, through a link, share their locks)."""
    return sha256_hex(os.path.realpath(home).encode("utf-8", "surrogatepass"))[:24]


def locks_dir(home: Path) -> Path | None:
    """The folder of ``home``'s locks on this machine (made, 0700), or None where it
    cannot be had outside the home."""
    where = home_file(home, "locks", "")
    if where is None:
        return None
    try:
        private_dir(where)
    except OSError:
        return None
    return where


def state_dir() -> Path:
    """The per-machine state folder: ``$RECOVER_STATE_DIR``, else the platform's."""
    env = os.environ.get(STATE_ENV)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_state_path

    return user_state_path("recover", appauthor=False)


def machine_id(home: Path | None = None, *, create: bool = True) -> str | None:
    """This machine's id (32 hex digits, made once and kept in the state folder); None
    when it has none and ``create`` is off. OSError or StorageError when it cannot
    be kept. Never inside ``home``, which may travel to another machine (on macOS and
    Windows the platform's state folder is the default home itself): then in the
    cache folder."""
    path = state_dir() / "machine-id"
    if home is not None and _inside(path, home):
        path = cache_dir() / "machine-id"
        if _inside(path, home):
            raise OSError("no folder for this machine's id outside the home")
    try:
        found = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        found = ""
    except (OSError, UnicodeDecodeError):
        found = ""
    if len(found) == 32 and all(c in "0123456789abcdef" for c in found):
        return found
    if not create:
        return None
    from .fileio import write_atomic

    private_dir(path.parent)
    made = os.urandom(16).hex()
    try:
        write_atomic(path, f"{made}\n".encode("ascii"), exclusive=True)
    except FileExistsError:  # another process made it first: that one counts
        return machine_id(home, create=False) or made
    return made


def _inside(path: Path, home: Path) -> bool:
    try:
        return _within(path.parent.resolve(), home.resolve())
    except (OSError, RuntimeError):
        return True


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def private(found: os.stat_result) -> bool:
    """Owned by this user, and writable by nobody else."""
    getuid = getattr(os, "getuid", None)
    return (getuid is None or found.st_uid == getuid()) and not found.st_mode & 0o022


def private_dir(folder: Path) -> None:
    """A cache's own folder, made 0700 if it is new (and its parent); OSError when it
    is not this user's alone, so that nothing private is cached there."""
    for made in (folder.parent, folder):
        if not made.is_dir():
            made.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(made, 0o700)  # mkdir's mode is filtered by the umask
    found = folder.lstat()
    if not (stat.S_ISDIR(found.st_mode) and private(found)):
        raise OSError("the cache folder is not private")
    if stat.S_IMODE(found.st_mode) != 0o700:
        os.chmod(folder, 0o700)
