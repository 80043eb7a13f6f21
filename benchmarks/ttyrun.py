"""Running a program the way a seller sees it, and timing it: in a pseudo-terminal of
100 x 40 with TERM=xterm-256color (stdin, stdout and stderr all on the terminal, the
output read as fast as it comes by a thread), or with stdout and stderr on pipes that
are drained. ``Session`` drives an interactive program through pexpect and tells when a
prompt is on screen: readline writes ``\\x1b[?2004h`` (bracketed paste on) each time it
starts to read a line, and the prompt is all drawn once the program sleeps in select()
on its standard input.
"""

from __future__ import annotations

import fcntl
import os
import platform
import pty
import re
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Sequence
from pathlib import Path

COLS, ROWS = 100, 40
READING = b"\x1b[?2004h"
# The system calls readline waits for a key in (select, pselect6), by machine.
_SELECT_CALLS = {"x86_64": {"23", "270"}, "aarch64": {"72"}}.get(platform.machine())
_ESCAPE = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]")


def terminal_env(base: dict[str, str], home: Path) -> dict[str, str]:
    """What a seller's shell hands recover: a colour terminal, their home, no width
    forced by the environment (the window size says it)."""
    env = {k: v for k, v in base.items() if not k.startswith("RECOVER_")}
    for name in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES", "TERM"):
        env.pop(name, None)
    env.update(RECOVER_HOME=str(home), TERM="xterm-256color", TZ="UTC")
    env.setdefault("LANG", "C.UTF-8")
    return env


def run_in_pty(argv: Sequence[str], env: dict[str, str]) -> tuple[float, int, int]:
    """Run ``argv`` on a fresh pseudo-terminal until it ends and all it wrote is read:
    (seconds, bytes written, exit status)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    got = [0]

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every copy of the terminal's other end is closed
                return
            if not data:
                return
            got[0] += len(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    began = time.perf_counter()
    try:
        child = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env)
    finally:
        os.close(slave)
    status = child.wait()
    reader.join(60)
    elapsed = time.perf_counter() - began
    os.close(master)
    return elapsed, got[0], status


def run_piped(argv: Sequence[str], env: dict[str, str]) -> tuple[float, int, int]:
    """Run ``argv`` with stdout and stderr on pipes, both read to the end:
    (seconds, bytes of stdout, exit status)."""
    began = time.perf_counter()
    child = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    out, _ = child.communicate()
    return time.perf_counter() - began, len(out), child.returncode


def plain(data: bytes) -> str:
    """Bytes a program wrote to its terminal, without escape sequences."""
    return _ESCAPE.sub(b"", data).decode("utf-8", "replace")


class Session:
    """An interactive program in a 100 x 40 pseudo-terminal, through pexpect. ``began``
    is taken just before the spawn; ``last`` is when the latest output arrived."""

    def __init__(self, argv: Sequence[str], env: dict[str, str]) -> None:
        import pexpect

        self._pexpect = pexpect
        self.began = time.perf_counter()
        self.child = pexpect.spawn(
            argv[0], list(argv[1:]), env=env, timeout=30, dimensions=(ROWS, COLS)
        )
        self.child.delaybeforesend = None  # pexpect would wait 50 ms before each send
        self.raw = bytearray()
        self.last = self.began
        self.ended = False
        self.ended_at = 0.0

    def pump(self, timeout: float) -> bool:
        if self.ended:
            return False
        try:
            data = self.child.read_nonblocking(65536, timeout=timeout)
        except self._pexpect.TIMEOUT:
            return False
        except self._pexpect.EOF:
            self.ended = True
            self.ended_at = time.perf_counter()
            return False
        self.last = time.perf_counter()
        self.raw += data
        return True

    def _reading(self) -> bool:
        """Whether the program sleeps in select() on its standard input."""
        if _SELECT_CALLS is None:
            return not self.pump(0.1)  # no way to tell: wait for the output to stop
        try:
            fields = Path(f"/proc/{self.child.pid}/syscall").read_text().split()
        except OSError:
            return True
        return len(fields) > 1 and fields[0] in _SELECT_CALLS and fields[1] == "0x1"

    def wait_prompt(self, number: int) -> float:
        """Wait until the ``number``-th line read is asked for and its prompt is all
        drawn; when the last of it arrived."""
        deadline = time.monotonic() + 30
        while self.raw.count(READING) < number:
            if self.ended or time.monotonic() > deadline:
                raise RuntimeError(f"prompt {number} never came; the end of the output:\n"
                                   f"{plain(bytes(self.raw[-800:]))}")  # fmt: skip
            self.pump(0.05)
        while not self._reading():
            if self.ended or time.monotonic() > deadline:
                raise RuntimeError(f"prompt {number} never waited for a key")
            self.pump(0.001)
        while self.pump(0):
            pass
        return self.last

    def prompt(self) -> str:
        """The text of the latest prompt (what follows readline's last start)."""
        return plain(bytes(self.raw[self.raw.rfind(READING) :])).strip()

    def send_line(self, text: str) -> float:
        """Type ``text`` and Enter; when the keys were sent."""
        sent = time.perf_counter()
        self.child.send((text + "\r").encode("utf-8"))
        return sent

    def wait_end(self) -> float:
        """Wait for the end of the output (the program closed the terminal); when."""
        deadline = time.monotonic() + 30
        while not self.ended:
            if time.monotonic() > deadline:
                raise RuntimeError("the program did not end")
            self.pump(1)
        return self.ended_at

    def screen_row(self) -> str:
        """The row the cursor is on, as a VT100 emulator (pyte) shows the output."""
        import pyte

        screen = pyte.Screen(COLS, ROWS)
        pyte.ByteStream(screen).feed(bytes(self.raw))
        return screen.display[screen.cursor.y].rstrip()

    def close(self) -> None:
        if not self.child.closed:
            self.child.close(force=True)
