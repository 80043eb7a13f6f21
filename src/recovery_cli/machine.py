"""This machine's own folder for what must not travel with the home: caches that are
rebuilt from the home's files (the playbook cache, the order look-up table).

``$RECOVER_CACHE_DIR`` (for tests, or a machine that wants it elsewhere), else the
platform's per-machine cache folder (``platformdirs.user_cache_path``, like
``~/.cache/recover`` on Linux). Each home has its own files there, named by a hash of
the home's absolute path. Never inside the home, which may be synced: a cache folder
there means no cache.
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
    key = sha256_hex(os.path.abspath(home).encode("utf-8", "surrogatepass"))
    return where / f"{key[:24]}{suffix}"


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
