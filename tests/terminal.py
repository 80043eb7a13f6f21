"""Running the real ``recover`` in its own process: in a pseudo-terminal, typed into
like a person would, or without a terminal, like a script."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pexpect

# Seconds: only ever a net for a child that hangs, never a measure of speed.
SAFETY = 30


def spawn(home: Path, *args: str, timeout: float = SAFETY) -> pexpect.spawn:
    """``recover ARGS`` in a fresh 40x120 pseudo-terminal, no colour, typed into as fast
    as it reads; everything it prints is kept in ``child.logfile_read``."""
    env = {
        "RECOVER_HOME": str(home),
        "RECOVER_CACHE_DIR": os.environ["RECOVER_CACHE_DIR"],
        "RECOVER_STATE_DIR": os.environ["RECOVER_STATE_DIR"],
        "NO_COLOR": "1",
        "TERM": "xterm",
        "COLUMNS": "120",
        "LINES": "40",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }
    child = pexpect.spawn(
        sys.executable,
        ["-m", "recovery_cli", *args],
        env=env,
        encoding="utf-8",
        timeout=timeout,
        dimensions=(40, 120),
    )
    child.delaybeforesend = None  # the tests wait for each prompt before typing
    child.logfile_read = io.StringIO()
    return child


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``recover ARGS`` in its own process, without a terminal (standard input closed)."""
    env = {**os.environ, "RECOVER_HOME": str(home), "NO_COLOR": "1", "COLUMNS": "120"}
    return subprocess.run(
        [sys.executable, "-m", "recovery_cli", *args],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=SAFETY,
        check=False,
    )
