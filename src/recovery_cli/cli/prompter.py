"""The one seam that reads input from the user.

Two prompters exist: :class:`TerminalPrompter` reads lines from a real terminal, and
:class:`ScriptedPrompter` answers from a list (tests, and later answers files). A
scripted prompter that meets a prompt it has no answer for raises, so a test never
hangs or silently accepts an unexpected question.

Ctrl-C, end of input (Ctrl-D, a closed stdin) and the terminal closing (SIGHUP) or a
polite kill (SIGTERM) all become :class:`Interrupted`. Signals that arrive while the
program is *not* waiting for input (say, during a save) are held until the next
prompt, so a save is never cut in half by our own handler.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from types import FrameType
from typing import Any, Protocol

from rich.console import Console
from rich.text import Text

from ..errors import ExitStatus, RecoverError, UsageError
from ..text import replace_surrogates

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

    def ask(self, prompt: str) -> str:
        """Show ``prompt`` and return the line typed (without the newline)."""
        ...

    def signals(self) -> AbstractContextManager[None]:
        """A context in which interruptions surface as :class:`Interrupted`."""
        ...


class ScriptedPrompter:
    """Answers prompts from a list, in order; records every prompt it was shown."""

    def __init__(self, answers: Iterable[str]) -> None:
        self.answers = deque(answers)
        self.asked: list[str] = []

    def ask(self, prompt: str) -> str:
        """Return the next scripted answer; ``"^C"`` and ``"^D"`` simulate Ctrl-C and
        end of input."""
        self.asked.append(prompt)
        if not self.answers:
            raise UnscriptedPrompt(f"no scripted answer for the prompt {prompt!r}")
        answer = self.answers.popleft()
        if answer == "^C":
            raise Interrupted("interrupt")
        if answer == "^D":
            raise Interrupted("eof")
        return answer

    @contextmanager
    def signals(self) -> Iterator[None]:
        """Scripted input needs no signal handling."""
        yield


_SIGNALS: dict[int, str] = {signal.SIGINT: "interrupt", signal.SIGTERM: "terminate"}
if hasattr(signal, "SIGHUP"):
    _SIGNALS[signal.SIGHUP] = "hangup"


class TerminalPrompter:
    """Reads lines from the terminal with line editing (readline)."""

    def __init__(self, console: Console) -> None:
        with contextlib.suppress(ImportError):  # not every platform has it
            import readline  # noqa: F401  (imported for its side effect: arrow keys, history)

        self.console = console
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
        """Route Ctrl-C, SIGTERM and SIGHUP through :class:`Interrupted` while active."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in _SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                if sig == getattr(signal, "SIGHUP", None) and self._hung_up:
                    # The terminal is gone and its SIGHUP may still be on the way: it
                    # must not kill us while we report and exit.
                    handler = signal.SIG_IGN
                signal.signal(sig, handler)

    def ask(self, prompt: str) -> str:
        """Read one line; raise Interrupted for Ctrl-C, Ctrl-D or a signal."""
        if self._pending is not None:
            reason, self._pending = self._pending, None
            raise Interrupted(reason)
        self._waiting = True
        ticking = _tick_while_waiting()
        try:
            # A terminal that sends bytes that are not UTF-8 must not stop the save.
            return replace_surrogates(self.console.input(Text(prompt, style="bold")))
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
