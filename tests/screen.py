"""The real ``recover`` in a pseudo-terminal, read off the screen: every byte it writes
goes through pyte, a VT100 emulator, so a test sees the rows and columns a person would
(a wide character takes two cells, a redraw replaces what was there, an escape sequence
moves the cursor instead of showing up as text).

The screen is tall (50 rows unless told otherwise) so that nothing a test looks at has
scrolled away; what has scrolled off the top is gone. pyte keeps a wide character in one
cell and leaves the next cell empty (its data is ``""``), and joins a combining accent
to the character before it, normalized to NFC: positions on screen are counted in cells
(``cells``, ``column``), never as indexes into a row's text.
"""

from __future__ import annotations

import os
import platform
import re
import sys
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import pexpect
import pyte
import pytest

from tests.terminal import SAFETY

# Keys, as a terminal sends them.
CTRL_A = "\x01"
CTRL_E = "\x05"
CTRL_U = "\x15"
CTRL_W = "\x17"
LEFT = "\x1b[D"
RIGHT = "\x1b[C"
UP = "\x1b[A"
DOWN = "\x1b[B"
HOME = "\x1b[H"
END = "\x1b[F"
ENTER = "\r"
# What a terminal wraps a paste in once the program has turned bracketed paste on.
PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"

# What readline writes each time it starts to read a line (bracketed paste on).
READING = b"\x1b[?2004h"

# The system calls readline waits for a key in (select, pselect6), by machine; elsewhere
# ``wait_reading`` can only wait for the output to stop.
_SELECT_CALLS = {"x86_64": {"23", "270"}, "aarch64": {"72"}}.get(platform.machine())


class Screen:
    """``recover ARGS`` in a pseudo-terminal of ``cols`` x ``rows``, and what it shows.

    Output is read only when a method pumps it (``wait_for``, ``settle``,
    ``wait_reading``, ``finish``): the screen is what had arrived by then. ``raw`` keeps
    every byte the program wrote, for assertions about the bytes themselves.
    """

    def __init__(
        self,
        home: Path,
        *args: str,
        cols: int = 64,
        rows: int = 50,
        env: dict[str, str] | None = None,
        piped: Path | None = None,
    ) -> None:
        """``env``: more environment variables; ``piped``: a file whose bytes come on
        standard input through a pipe (as a mail client pipes a message), the
        terminal still being the program's controlling terminal."""
        environment = {
            "RECOVER_HOME": str(home),
            "RECOVER_CACHE_DIR": os.environ["RECOVER_CACHE_DIR"],
            "RECOVER_STATE_DIR": os.environ["RECOVER_STATE_DIR"],
            "NO_COLOR": "1",
            "TERM": "xterm",
            "COLUMNS": str(cols),
            "LINES": str(rows),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            # So that readline and wcwidth agree with the emulator about wide characters.
            "LANG": "C.UTF-8",
            **(env or {}),
        }
        program, argv = sys.executable, ["-m", "recovery_cli", *args]
        if piped is not None:
            # The program replaces the shell (its pid is the one watched for reads),
            # with a pipe from cat on its standard input.
            shell = 'exec "$2" -m recovery_cli "${@:3}" < <(cat "$1")'
            program, argv = "/bin/bash", ["-c", shell, "bash", str(piped), sys.executable, *args]
        self.child = pexpect.spawn(
            program,
            argv,
            env=environment,
            timeout=SAFETY,
            dimensions=(rows, cols),
        )
        self.child.delaybeforesend = None  # the tests wait for the screen before typing
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        self.ended = False

    def __enter__(self) -> Screen:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """End the program if it still runs (a test that failed half-way)."""
        if not self.child.closed:
            self.child.close(force=True)

    # -- what is on screen -------------------------------------------------------------
    @property
    def display(self) -> list[str]:
        """The screen's rows as text, right-stripped (a wide character is one string
        index but two cells)."""
        return [line.rstrip() for line in self.screen.display]

    def text(self) -> str:
        """The whole screen, its rows joined by newlines, without trailing blank rows."""
        return "\n".join(self.display).rstrip("\n")

    def row(self, number: int) -> str:
        """Row ``number`` (from 0 at the top) as text, right-stripped."""
        return "".join(self.cells(number)).rstrip()

    def cells(self, number: int) -> list[str]:
        """Row ``number`` cell by cell: what each of the ``cols`` cells holds, ``""`` for
        the right half of a wide character."""
        line = self.screen.buffer[number]
        return [line[x].data for x in range(self.screen.columns)]

    def span(self, number: int, start: int = 0, end: int | None = None) -> str:
        """What cells ``start`` to ``end`` (not included) of row ``number`` show, as
        text, right-stripped."""
        return "".join(self.cells(number)[start:end]).rstrip()

    def column(self, text: str, number: int) -> int | None:
        """The cell where ``text`` (NFC-normalized, as pyte keeps it) first starts in
        row ``number``; None when it is not there."""
        starts: list[int] = []
        joined = ""
        for x, data in enumerate(self.cells(number)):
            starts += [x] * len(data)
            joined += data
        index = joined.find(unicodedata.normalize("NFC", text))
        return None if index < 0 else starts[index]

    @property
    def cursor(self) -> tuple[int, int]:
        """Where the cursor is: (row, column), from (0, 0) at the top left."""
        return self.screen.cursor.y, self.screen.cursor.x

    def prompt_row(self, question: str) -> int:
        """The last row starting with ``question`` (else the last holding it); the test
        fails if no row does."""
        rows = self.screen.display  # not stripped: "Name: " is found at a row's end
        for test in (str.startswith, str.__contains__):
            found = [n for n, line in enumerate(rows) if test(line, question)]
            if found:
                return found[-1]
        pytest.fail(f"{question!r} is on no row\n{self.dump('the screen')}")

    def find(self, text: str | re.Pattern[str]) -> int | None:
        """The last row holding ``text``, or where its last match on the whole screen
        ends (text over several rows); None when it is not on screen. A row is searched
        right-stripped (``$`` is the end of what it shows) and at its full width (blank
        cells are spaces: ``"Name: "`` is found at the end of a row)."""
        if isinstance(text, str):
            text = re.compile(re.escape(unicodedata.normalize("NFC", text)))
        found = [
            n
            for n, line in enumerate(self.screen.display)
            if text.search(line.rstrip()) or text.search(line)
        ]
        if found:
            return found[-1]
        rows = self.display
        matches = list(text.finditer("\n".join(rows)))
        if matches:
            return "\n".join(rows)[: matches[-1].end()].count("\n")
        return None

    def dump(self, title: str = "screen") -> str:
        """The screen framed, down to its last written row, with the cursor: for a
        failure message or a report."""
        rows = ["".join(self.cells(n)) for n in range(self.screen.lines)]  # full width
        last = max([n for n, line in enumerate(rows) if line.strip()] + [self.cursor[0]])
        width = self.screen.columns
        top = f"+-- {title} (cursor at row {self.cursor[0]}, column {self.cursor[1]}) "
        lines = [top.ljust(width + 1, "-") + "+"]
        lines += [f"|{line}|" for line in rows[: last + 1]]
        lines.append("+" + "-" * width + "+")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.dump()

    # -- reading the program's output --------------------------------------------------
    def pump(self, timeout: float) -> bool:
        """Feed the emulator what the program wrote within ``timeout`` seconds; whether
        anything came (False at the end of the output too)."""
        if self.ended:
            return False
        try:
            data = self.child.read_nonblocking(65536, timeout=timeout)
        except pexpect.TIMEOUT:
            return False
        except pexpect.EOF:
            self.ended = True
            return False
        self.raw += data
        self.stream.feed(data)
        return True

    def drain(self) -> None:
        """Feed the emulator all that is already written, without waiting for more."""
        while self.pump(0):
            pass

    def wait_for(self, text: str | re.Pattern[str], timeout: float = SAFETY) -> int:
        """Pump output until ``text`` is on screen (in a row, or across rows); return the
        last row holding it. The test fails, showing the screen, if it never comes."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.find(text)
            if found is not None:
                return found
            left = deadline - time.monotonic()
            if left <= 0 or self.ended:
                why = "the output ended" if self.ended else f"{timeout}s passed"
                pytest.fail(f"{text!r} never showed ({why})\n{self.dump('the screen')}")
            self.pump(min(left, 0.1))

    def wait_until(self, check: Callable[[], bool], what: str, timeout: float = SAFETY) -> None:
        """Pump output until ``check()`` holds; the test fails, showing the screen and
        ``what`` was awaited, if it never does."""
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline or self.ended:
                pytest.fail(f"never: {what}\n{self.dump('the screen')}")
            self.pump(0.02)

    @property
    def prompts(self) -> int:
        """How many times a line was asked for so far: readline turns bracketed paste on
        each time it starts to read a line."""
        return self.raw.count(READING)

    def wait_prompt(self, number: int) -> int:
        """Wait until the ``number``-th prompt is up and waiting for a key, all drawn;
        the row the cursor is on (the prompt's last row)."""
        self.wait_until(lambda: self.prompts >= number, f"prompt {number} showed")
        self.wait_reading()
        return self.cursor[0]

    def settle(self, quiet: float = 0.15) -> None:
        """Pump until no output comes for ``quiet`` seconds (after a key whose effect is
        a redraw: there is no text to wait for)."""
        deadline = time.monotonic() + SAFETY
        while self.pump(quiet):
            if time.monotonic() > deadline:
                pytest.fail(f"the output never stopped\n{self.dump('the screen')}")

    def wait_reading(self) -> None:
        """Wait until the program is blocked waiting for a key (readline sleeping in
        select() on standard input), with all it wrote before on screen. The terminal
        mode says nothing: it may stay out of canonical mode for the whole walk."""
        if _SELECT_CALLS is None:
            self.settle()
            return
        deadline = time.monotonic() + SAFETY
        while not self._blocked_reading():
            if self.ended or time.monotonic() > deadline:
                pytest.fail(f"the program never waited for a key\n{self.dump('the screen')}")
            self.pump(0.002)
        self.drain()

    def reading(self) -> bool:
        """Whether the program is waiting for a key right now."""
        return self._blocked_reading() if _SELECT_CALLS is not None else True

    def _blocked_reading(self) -> bool:
        """Whether the process sleeps in select() on standard input (readline's wait)."""
        assert _SELECT_CALLS is not None
        try:
            fields = Path(f"/proc/{self.child.pid}/syscall").read_text().split()
        except OSError:
            return True
        return len(fields) > 1 and fields[0] in _SELECT_CALLS and fields[1] == "0x1"

    # -- typing ------------------------------------------------------------------------
    def send(self, keys: str) -> None:
        """Type ``keys`` as they are (``ENTER`` and the other key constants included)."""
        self.child.send(keys.encode("utf-8"))

    def paste(self, text: str) -> None:
        """Paste ``text`` as a terminal does once bracketed paste is on."""
        self.send(PASTE_START + text + PASTE_END)

    def finish(self) -> int:
        """Pump output until the program ends; its exit status (minus the signal number
        when a signal ended it)."""
        deadline = time.monotonic() + SAFETY
        while not self.ended:
            if time.monotonic() > deadline:
                self.close()
                pytest.fail(f"the program did not end\n{self.dump('the screen')}")
            self.pump(0.1)
        self.child.close()
        if self.child.signalstatus is not None:
            return -int(self.child.signalstatus)
        return int(self.child.exitstatus or 0)


def open_screen(
    home: Path,
    *args: str,
    cols: int = 64,
    rows: int = 50,
    env: dict[str, str] | None = None,
    piped: Path | None = None,
) -> Screen:
    """``recover ARGS`` in a fresh ``cols`` x ``rows`` pseudo-terminal, read through a
    VT100 emulator (use it as a context manager to end it however the test goes)."""
    return Screen(home, *args, cols=cols, rows=rows, env=env, piped=piped)
