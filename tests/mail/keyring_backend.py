"""Keyring backends for tests: the developer's own keyring is never read or written.

* ``MemoryKeyring``: passwords in a dict, for the life of the backend object.
* ``FileKeyring``: passwords in a JSON file named by ``RECOVER_TEST_KEYRING``, so
  that a password kept by one process is found by the next (CLI subprocesses).
* ``FailingKeyring``: every operation fails as when no keyring is installed.
* The ``test_keyring`` fixture installs a fresh ``MemoryKeyring`` for one test (and
  ``failing_keyring`` a ``FailingKeyring``), then puts the previous backend back.

In a subprocess, pick the backend through keyring's own environment variable; the
project root must be importable (``PYTHONPATH``), as ``tests`` is a package there::

    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PYTHON_KEYRING_BACKEND": "tests.mail.keyring_backend.FileKeyring",
        "RECOVER_TEST_KEYRING": str(tmp_path / "keyring.json"),
    }

(``tests.mail.keyring_backend.MemoryKeyring`` works there too, but forgets with the
process.)
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import keyring
import keyring.core
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import PasswordDeleteError

FILE_ENV = "RECOVER_TEST_KEYRING"
B = TypeVar("B", bound=KeyringBackend)


class MemoryKeyring(KeyringBackend):
    """Passwords in a dict: ``(service, username) -> password``."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        """The password kept, or None."""
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        """Keep (or replace) a password."""
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        """Forget a password (PasswordDeleteError if none was kept)."""
        try:
            del self.passwords[(service, username)]
        except KeyError:
            raise PasswordDeleteError("no such password") from None


class FileKeyring(KeyringBackend):
    """Passwords in the JSON file named by ``RECOVER_TEST_KEYRING`` (an object of
    ``"service username": password``), read and written on every call."""

    priority = 1  # type: ignore[assignment]

    @staticmethod
    def path() -> Path:
        """The file, from the environment (a test that forgot it fails loudly)."""
        return Path(os.environ[FILE_ENV])

    def _load(self) -> dict[str, str]:
        try:
            data = json.loads(self.path().read_text("utf-8"))
        except FileNotFoundError:
            return {}
        return {str(k): str(v) for k, v in data.items()}

    def get_password(self, service: str, username: str) -> str | None:
        """The password kept, or None."""
        return self._load().get(f"{service} {username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        """Keep (or replace) a password."""
        data = self._load()
        data[f"{service} {username}"] = password
        self.path().write_text(json.dumps(data), "utf-8")

    def delete_password(self, service: str, username: str) -> None:
        """Forget a password (PasswordDeleteError if none was kept)."""
        data = self._load()
        if data.pop(f"{service} {username}", None) is None:
            raise PasswordDeleteError("no such password")
        self.path().write_text(json.dumps(data), "utf-8")


class FailingKeyring(fail.Keyring):
    """Every operation raises ``NoKeyringError``, as with no keyring installed."""


@pytest.fixture
def test_keyring() -> Iterator[MemoryKeyring]:
    """A fresh ``MemoryKeyring`` as the keyring for one test; the previous backend
    (or none chosen yet) comes back after."""
    with _backend(MemoryKeyring()) as backend:
        yield backend


@pytest.fixture
def failing_keyring() -> Iterator[FailingKeyring]:
    """A ``FailingKeyring`` as the keyring for one test."""
    with _backend(FailingKeyring()) as backend:
        yield backend


@contextlib.contextmanager
def _backend(backend: B) -> Iterator[B]:
    """Install ``backend``; put back what keyring had before, without making it
    choose one (which would look at the system's keyring) when it had none yet."""
    previous = getattr(keyring.core, "_keyring_backend", None)
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        if previous is not None:
            keyring.set_keyring(previous)
        else:
            keyring.core._keyring_backend = None  # type: ignore[attr-defined]
