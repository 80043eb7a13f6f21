"""Durable, private file writes: the one place that touches bytes on disk.

Every file is written whole to a temporary file in the same folder, flushed and
fsynced, then moved into place with :func:`os.replace` (or linked, for a file that
must not exist yet), and the folder is fsynced so the move itself survives a power
cut. Readers therefore see the old file or the new one, never half of one.
Temporary names start with ``.`` and end with ``.tmp``: never mistaken for data.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from .errors import NotDurableError, StorageError

TMP_SUFFIX = ".tmp"


def is_temp_file(name: str) -> bool:
    """Whether a name is one of the temporary files of a durable write."""
    return name.startswith(".") and name.endswith(TMP_SUFFIX)


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) readable by the owner only (0700)."""
    try:
        if not path.is_dir():
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask
    except OSError as exc:
        raise StorageError(f"cannot create {path}: {exc.strerror or exc}") from None


def fsync_dir(path: Path) -> None:
    """Make a rename or link in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write ``data`` to ``path`` atomically and durably, mode 0600.

    With ``exclusive``, the file must not exist yet: FileExistsError is raised (and
    nothing is changed) if it does — two processes can race for the same name and
    exactly one wins.
    """
    tmp = stage(path, data)
    try:
        if exclusive:
            os.link(tmp, path)
            # The file is in place: a temp name that cannot be removed now (a disk
            # that just turned read-only) is a leftover for doctor, not a failed save.
            with contextlib.suppress(OSError):
                tmp.unlink()
        else:
            os.replace(tmp, path)
    except FileExistsError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise _not_saved(path, exc) from None
    _sync_after_move(path)


def _not_saved(path: Path, exc: OSError) -> StorageError:
    return StorageError(
        f"cannot save {path}: {exc.strerror or exc}",
        hint="Nothing already saved was changed. Free some space or fix permissions, "
        "then try again.",
    )


def stage(path: Path, data: bytes | Iterable[bytes]) -> Path:
    """Write ``data`` (or its pieces, one after the other) whole to a temporary file
    beside ``path`` (0600, synced) and return its name, for a caller that moves
    several files into place together (see :mod:`recovery_cli.orders.book`). On
    failure nothing is left behind."""
    try:
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(data, bytes):
                handle.write(data)
            else:
                handle.writelines(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise _not_saved(path, exc) from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return tmp


def _sync_after_move(path: Path) -> None:
    """Make the move durable; if that fails, say so truthfully: the file is in place."""
    try:
        fsync_dir(path.parent)
    except OSError as exc:
        raise NotDurableError(
            f"{path} was saved, but its folder could not be synced to disk: {exc.strerror or exc}",
            hint="Every reader sees the new version; a power cut before the disk recovers "
            "could still lose it. Check the disk.",
        ) from None


@contextlib.contextmanager
def atomic_text_writer(path: Path) -> Iterator[TextIO]:
    """A text file to stream into that appears at ``path`` (0600) only once complete;
    on any error nothing is left behind and an existing file is untouched."""
    try:
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _sync_after_move(path)
