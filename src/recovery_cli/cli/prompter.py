"""The one seam that reads input from the user.

Two prompters exist: :class:`TerminalPrompter` reads lines from a real terminal, and
:class:`ScriptedPrompter` answers from a list (tests, and later answers files). A
scripted prompter that meets a prompt it has no answer for raises, so a test never
hangs or silently accepts an unexpected question.

Ctrl-C, end of input (Ctrl-D, a closed stdin) and the terminal closing (SIGHUP) or a
polite kill (SIGTERM) all become :class:`Interrupted`. Signals that arrive while the
program is *not* waiting for input (say, during a save) are held until the next
prompt, so a save is never cut in half by our own handler.

On a terminal the line is read by GNU readline, which is given the question itself
(with its colour codes marked as invisible), so no editing key can erase it and a
long answer wraps under it. Each prompter keeps its own history: Up and Down recall
the answers of this walk, never another customer's. An earlier answer can be put on
the line to edit (``prefill``); a paste arrives as one answer (bracketed paste), its
line breaks turned to spaces. Keys typed while the program was busy (a save) are
never sent to a question the seller has not seen: they wait on the next prompt's
line, unsent, with a note saying so.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from types import FrameType
from typing import Any, Protocol

from rich.console import Console
from rich.text import Text

from ..errors import ExitStatus, RecoverError, UsageError, WalkInterrupted
from ..text import replace_surrogates, strip_controls, strip_escapes

REASONS = {
    "interrupt": ExitStatus.INTERRUPTED,
    "eof": ExitStatus.INTERRUPTED,
    "hangup": ExitStatus.HANGUP,
    "terminate": ExitStatus.TERMINATED,
}


class Interrupted(Exception):
    """Input stopped: ``reason`` is interrupt, eof, hangup or terminate."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    @property
    def exit_code(self) -> int:
        """The documented exit code for this way of stopping."""
        return REASONS[self.reason]


class UnscriptedPrompt(RecoverError):
    """A scripted prompter was asked something it had no answer for."""


class Prompter(Protocol):
    """Reads one line of input for a prompt."""

    def ask(self, prompt: str, *, prefill: str = "") -> str:
        """Show ``prompt`` with ``prefill`` on the line, ready to edit, and return the
        line as sent (without the newline)."""
        ...

    def signals(self) -> AbstractContextManager[None]:
        """A context in which interruptions surface as :class:`Interrupted`."""
        ...


class ScriptedPrompter:
    """Answers prompts from a list, in order; records every prompt it was shown, and
    what was on the line when it was shown (``prefills``)."""

    def __init__(self, answers: Iterable[str]) -> None:
        self.answers = deque(answers)
        self.asked: list[str] = []
        self.prefills: list[str] = []

    def ask(self, prompt: str, *, prefill: str = "") -> str:
        """Return the next scripted answer, as the line is sent: ``""`` is Enter on the
        line as it was shown (so it sends ``prefill``), ``"^U"`` is the line erased
        and then Enter, and ``"^C"`` and ``"^D"`` simulate Ctrl-C and end of input."""
        self.asked.append(prompt)
        self.prefills.append(prefill)
        if not self.answers:
            raise UnscriptedPrompt(f"no scripted answer for the prompt {prompt!r}")
        answer = self.answers.popleft()
        if answer == "^C":
            raise Interrupted("interrupt")
        if answer == "^D":
            raise Interrupted("eof")
        if answer == "^U":
            return ""
        return answer or prefill

    @contextmanager
    def signals(self) -> Iterator[None]:
        """Scripted input needs no signal handling."""
        yield


_SIGNALS: dict[int, str] = {signal.SIGINT: "interrupt", signal.SIGTERM: "terminate"}
if hasattr(signal, "SIGHUP"):
    _SIGNALS[signal.SIGHUP] = "hangup"


class TerminalPrompter:
    """Reads lines from the terminal with line editing (GNU readline where there is
    one) and a history of this walk's answers only."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._readline = _line_editor()
        self._history: list[str] = []
        self._quiet = _QuietTerminal()
        self._waiting = False
        self._pending: str | None = None
        self._hung_up = False

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        reason = _SIGNALS.get(signum, "terminate")
        if self._waiting:
            raise Interrupted(reason)
        self._pending = reason

    @contextmanager
    def signals(self) -> Iterator[None]:
        """Route Ctrl-C, SIGTERM and SIGHUP through :class:`Interrupted` while active,
        and keep keys typed between prompts off the screen until a prompt takes them."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in _SIGNALS}
        self._quiet.start()
        try:
            yield
        finally:
            self._quiet.stop()
            for sig, handler in previous.items():
                if sig == getattr(signal, "SIGHUP", None) and self._hung_up:
                    # The terminal is gone and its SIGHUP may still be on the way: it
                    # must not kill us while we report and exit.
                    handler = signal.SIG_IGN
                signal.signal(sig, handler)

    def ask(self, prompt: str, *, prefill: str = "") -> str:
        """Read one line; raise Interrupted for Ctrl-C, Ctrl-D or a signal."""
        if self._pending is not None:
            reason, self._pending = self._pending, None
            raise Interrupted(reason)
        start = self._typed_ahead(prefill)
        self._waiting = True
        ticking = _tick_while_waiting()
        try:
            with self._quiet.reading():
                line = self._read(prompt, start)
        except KeyboardInterrupt:
            reason = "interrupt"
        except EOFError:
            # A closed terminal also reads as end of input, before its SIGHUP arrives;
            # the difference is that the terminal is gone.
            reason = "eof" if stdin_is_terminal() else "hangup"
        except OSError:
            reason = "hangup"
        except Interrupted as stop:
            reason = stop.reason
        else:
            # A terminal that sends bytes that are not UTF-8 must not stop the save.
            line = replace_surrogates(_one_line(line))
            self._remember(line)
            return line
        finally:
            self._waiting = False
            _stop_ticking(ticking)
        if reason == "hangup" and hasattr(signal, "SIGHUP"):
            # The terminal is gone and more hangups may follow: none may cut short
            # the save and the exit that come next.
            self._hung_up = True
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
        # The cursor is still after the prompt: end that line before anything else.
        with contextlib.suppress(OSError):
            self.console.print()
        raise Interrupted(reason)

    def _typed_ahead(self, prefill: str) -> str:
        """What goes on the line: what was typed while the program was busy (a save),
        unsent, with a note saying so; else ``prefill``. Only the first line typed
        ahead is kept: the next ones were meant for questions not yet shown."""
        ahead, enters = _drain_input()
        notes = []
        if ahead:
            notes.append("Typed while saving: it is on the line, not sent. Enter sends it.")
            if prefill:
                notes.append(f"(The earlier answer was: {prefill})")
            prefill = ahead[0]
        if len(ahead) > 1:
            more = len(ahead) - 1
            notes.append(
                f"{more} more line{'s' if more > 1 else ''} typed while saving "
                f"{'were' if more > 1 else 'was'} not used."
            )
        if enters:
            notes.append("An Enter pressed while saving was not used.")
        for note in notes:
            self.console.print(Text(note, style="dim"))
        return prefill

    def _read(self, prompt: str, start: str) -> str:
        editor = self._readline
        if editor is None or not _stdio_is_terminal():
            # No line editor (or input() would not use it): an earlier answer is
            # shown, and Enter on an empty line takes it.
            shown = f"{prompt.rstrip()} [{start}] " if start else prompt
            with contextlib.suppress(OSError):
                self.console.print(Text(shown, style="bold"), end="", soft_wrap=True)
            line = input()
            return line if line.strip() or not start else start
        editor.clear_history()
        for earlier in self._history:
            editor.add_history(earlier)

        def put_on_line() -> None:
            editor.insert_text(start)
            editor.redisplay()

        editor.set_pre_input_hook(put_on_line if start else None)
        try:
            return input(self._styled(prompt))
        finally:
            editor.set_pre_input_hook(None)

    def _styled(self, prompt: str) -> str:
        """The prompt in bold, wrapped by words (readline would break a word at the
        edge), its colour codes marked as taking no room on screen: readline counts the
        rest to know where the question ends. Its last row stays short of the edge, where
        readline would redraw a stray letter of a colour code after the question."""
        question = prompt.rstrip(" ")
        with self.console.capture() as captured:
            width = max(20, self.console.width - 2)
            self.console.print(Text(question, style="bold"), end="", width=width)
        shown = captured.get()
        tail = prompt[len(question) :]
        reset = _SGR.search(shown[-8:]) if shown.endswith("m") else None
        if reset is not None:  # the space after the question keeps its style
            cut = len(shown) - 8 + reset.start()
            shown = shown[:cut] + tail + shown[cut:]
        else:
            shown += tail
        return _SGR.sub(lambda m: f"\x01{m.group()}\x02", shown)

    def _remember(self, line: str) -> None:
        """Keep an answer for Up and Down at this walk's later prompts (not commands,
        each answer once, the latest last)."""
        text = line.strip()
        if not text or text.startswith(":"):
            return
        if text in self._history:
            self._history.remove(text)
        self._history.append(text)


_SGR = re.compile(r"\x1b\[[0-9;]*m")


def _line_editor() -> Any:
    """GNU readline set up for a walk, or None where the platform has none (or has
    only libedit, which has no way to be told what a prompt's colour codes are)."""
    try:
        import readline
    except ImportError:
        return None
    if "libedit" in (readline.__doc__ or ""):
        return None
    readline.set_auto_history(False)  # the prompter keeps this walk's answers itself
    readline.set_completer(lambda text, state: None)  # Tab completes nothing
    # Python turns bracketed paste off for its own prompt; a pasted complaint must
    # arrive as one answer, so it is turned back on.
    readline.parse_and_bind("set enable-bracketed-paste on")
    return readline


def _stdio_is_terminal() -> bool:
    """Whether input() reads through readline: both ends are the terminal."""
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (ValueError, OSError, AttributeError):
        return False


def _one_line(line: str) -> str:
    """A pasted answer of several lines as one line: its line breaks become spaces."""
    if "\n" not in line and "\r" not in line:
        return line
    return " ".join(part.strip() for part in line.splitlines() if part.strip())


class _QuietTerminal:
    """While a walk runs, keys typed between prompts (during a save) are neither
    echoed onto the screen nor held back as an unfinished line: echo and line mode
    are off, so the next prompt can take them and say so. Readline echoes only if echo
    is on when it starts, so the terminal's own settings are back for each read
    (:meth:`reading`). Ctrl-\\ and Ctrl-Z give the terminal back as it was before
    they take effect (and a walk continued after Ctrl-Z goes quiet again)."""

    def __init__(self) -> None:
        self.fd = -1
        self.normal: list[Any] | None = None
        self.quiet: list[Any] | None = None
        self.depth = 0
        self._handlers: dict[int, Any] = {}

    def start(self) -> None:
        self.depth += 1
        if self.depth > 1:
            return
        try:
            import termios

            fd = sys.stdin.fileno()
            normal = termios.tcgetattr(fd)
        except (ImportError, ValueError, OSError, AttributeError):
            return
        except termios.error:
            return
        quiet = [*normal[:6], list(normal[6])]
        quiet[3] = normal[3] & ~(termios.ECHO | termios.ICANON)
        quiet[6][termios.VMIN] = 1
        quiet[6][termios.VTIME] = 0
        self.fd, self.normal, self.quiet = fd, normal, quiet
        for name in ("SIGQUIT", "SIGTSTP"):
            if hasattr(signal, name):
                number = getattr(signal, name)
                self._handlers[number] = signal.signal(number, self._give_back)
        self._set(quiet)

    def stop(self) -> None:
        self.depth -= 1
        if self.depth > 0:
            return
        if self.normal is not None:
            self._set(self.normal)
        for number, handler in self._handlers.items():
            signal.signal(number, handler)
        self._handlers.clear()
        self.normal = self.quiet = None

    def _set(self, attrs: list[Any] | None) -> None:
        if attrs is None:
            return
        import termios

        # TCSANOW, never a flush: keys already typed must stay to be read.
        with contextlib.suppress(termios.error, OSError):
            termios.tcsetattr(self.fd, termios.TCSANOW, attrs)

    def _give_back(self, signum: int, frame: FrameType | None) -> None:
        """Ctrl-\\ or Ctrl-Z: the terminal as the user had it, then the signal's own
        effect (a core, a stop); after a stop, the settings of the moment come back."""
        import termios

        try:
            now = termios.tcgetattr(self.fd)
        except (termios.error, OSError):
            now = None
        self._set(self.normal)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        # Continued (fg) after Ctrl-Z: as it was, and ready for the next one.
        signal.signal(signum, self._give_back)
        self._set(now)

    @contextmanager
    def reading(self) -> Iterator[None]:
        """The terminal as the user set it, while a line is read."""
        self._set(self.normal)
        try:
            yield
        finally:
            self._set(self.quiet)


def _drain_input() -> tuple[list[str], int]:
    """The keys waiting on standard input, as lines to put on the line (each one
    cleaned of escape sequences and control characters), and how many empty Enters
    were among them."""
    try:
        fd = sys.stdin.fileno()
        if not os.isatty(fd):
            return [], 0
        chunks = []
        while select.select([fd], [], [], 0)[0]:
            data = os.read(fd, 4096)
            if not data:
                break
            chunks.append(data)
    except (ValueError, OSError, AttributeError):
        return [], 0
    if not chunks:
        return [], 0
    return typed_ahead_lines(b"".join(chunks))


def typed_ahead_lines(data: bytes) -> tuple[list[str], int]:
    """Raw keys as typed into a terminal, as lines: Backspace and Ctrl-U edit as they
    would have, and empty lines are counted, not kept. (Readline turns bracketed paste
    off after each read, so keys that arrive between prompts come unwrapped.)"""
    text = data.decode("utf-8", "replace")
    *complete, unfinished = re.split(r"\r\n|\r|\n", text)
    lines: list[str] = []
    enters = 0
    for number, raw in enumerate([*complete, unfinished]):
        kept: list[str] = []
        for char in strip_escapes(raw):
            if char in "\x7f\x08":
                if kept:
                    kept.pop()
            elif char == "\x15":
                kept.clear()
            else:
                kept.append(char)
        line = strip_controls("".join(kept)).strip()
        if line:
            lines.append(line)
        elif number < len(complete):
            enters += 1
    return lines, enters


# While a prompt waits, a quiet timer wakes the read this often. A signal that lands
# just before the read starts to wait (readline sets the terminal up first) is noted
# but not acted on until the read wakes: without the timer, Ctrl-C or SIGTERM there
# would wait for the next key press.
_TICK_SECONDS = 0.1


def _tick_while_waiting() -> Any:
    """Start the timer (where the platform has one); returns what to restore."""
    if not hasattr(signal, "setitimer"):
        return None
    previous = signal.signal(signal.SIGALRM, _ignore_tick)
    signal.setitimer(signal.ITIMER_REAL, _TICK_SECONDS, _TICK_SECONDS)
    return previous


def _ignore_tick(signum: int, frame: FrameType | None) -> None:
    """The timer only wakes the read so that pending signals are handled."""


def _stop_ticking(previous: Any) -> None:
    if previous is not None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def stdin_is_terminal() -> bool:
    """Whether a person can answer prompts on standard input."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):
        return False


def open_prompter(
    console: Console, *, command: str = "new", hint: str = "Run it in a terminal window."
) -> TerminalPrompter:
    """The terminal prompter; refuses when standard input is not a terminal.

    Tests replace this function to drive a walk with a :class:`ScriptedPrompter`.
    """
    if not stdin_is_terminal():
        raise UsageError(
            f"recover {command} asks its questions on a terminal, and standard input is not one.",
            hint=hint,
        )
    return TerminalPrompter(console)


def read_secret(prompt: str, *, from_stdin: bool = False) -> str:
    """A secret (a password), typed without echo on the terminal, or read as the
    first line of standard input. Ctrl-C or end of input stop the command."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise UsageError("no password on standard input: nothing was kept")
        return line.rstrip("\r\n")
    if not stdin_is_terminal():
        raise UsageError(
            "the password is asked on a terminal, and standard input is not one.",
            hint="Give it on standard input with --stdin, or set RECOVER_SMTP_PASSWORD.",
        )
    import getpass

    try:
        return getpass.getpass(prompt)
    except (KeyboardInterrupt, EOFError):
        raise WalkInterrupted("Stopped; nothing was kept.") from None


def reattach_terminal() -> bool:
    """After a message was read from standard input (a mail client's pipe), read the
    answers from the terminal the command runs in: standard input becomes the
    controlling terminal. False when there is none (no one to ask)."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | getattr(os, "O_NOCTTY", 0))
    except OSError:
        return False
    try:
        os.dup2(fd, 0)
    finally:
        os.close(fd)
    with contextlib.suppress(ValueError, OSError):
        encoding, errors = getattr(sys.stdin, "encoding", None), getattr(sys.stdin, "errors", None)
        sys.stdin = open(0, encoding=encoding or "utf-8", errors=errors, closefd=False)  # noqa: SIM115
    return True
