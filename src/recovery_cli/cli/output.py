"""Consoles and small formatting helpers shared by the commands.

Rich markup is off everywhere: customer and playbook text is printed literally, and
styling is applied with :class:`rich.text.Text` spans. Rich itself drops colour when
the output is not a terminal and honours ``NO_COLOR``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console, RenderableType
    from rich.segment import Segment

    from ..store import Store

_C1 = re.compile("[\x80-\x9f]")


# Piped output is for other programs: lay tables out as wide as their content, so no
# cell is ever wrapped or cut; a person's terminal gets its own width.
PIPE_WIDTH = 100_000


def console(*, stderr: bool = False) -> Console:
    """A console that never interprets markup, emoji codes or 'highlights' data, and
    never lets a control character through (see :func:`safe_console_class`)."""
    safe = safe_console_class()
    out = safe(stderr=stderr, markup=False, emoji=False, highlight=False)
    if not out.is_terminal:
        out = safe(stderr=stderr, markup=False, emoji=False, highlight=False, width=PIPE_WIDTH)
    return out


def safe_console_class() -> type[Console]:
    """A Rich console that drops control characters from all text it writes.

    Customer text can hold escape sequences (from a pasted email, an imported case)
    that would recolour the terminal, set its title or write to the clipboard. Rich
    passes ESC through, so every text segment is cleaned on its way out; Rich's own
    styling and cursor control (progress bars) are applied after, untouched.
    """
    global _SAFE_CONSOLE
    if _SAFE_CONSOLE is None:
        from rich.console import Console
        from rich.segment import Segment

        from ..render import clean_text

        class SafeConsole(Console):
            def _render_buffer(self, buffer: Iterable[Segment]) -> str:
                return super()._render_buffer(
                    segment if segment.control else Segment(clean_text(segment.text), segment.style)
                    for segment in buffer
                )

        _SAFE_CONSOLE = SafeConsole
    return _SAFE_CONSOLE


_SAFE_CONSOLE: type[Console] | None = None


def heading(out: Console, title: str, *, style: str = "rule.line") -> RenderableType:
    """A rule with a title on a terminal; the bare title when piped."""
    from rich.rule import Rule
    from rich.text import Text

    if out.is_terminal:
        return Rule(Text(title), align="left", style=style)
    return Text(title, style="bold")


def print_json(data: object) -> None:
    """Plain JSON on stdout: no colour, no wrapping, keys in a stable order."""
    import json

    import typer

    # JSON escapes C0 controls itself; C1 ones (8-bit escapes to some terminals) too here.
    text = json.dumps(data, indent=2, ensure_ascii=False)
    typer.echo(_C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


def age(then: datetime, now: datetime | None = None) -> str:
    """``5m``, ``3h``, ``2d``, ``6w``: how long ago, short enough for a table cell."""
    seconds = max(0, int(((now or datetime.now(UTC)) - then).total_seconds()))
    for size, unit in ((7 * 86400, "w"), (86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return "now"


def local_time(moment: datetime) -> str:
    """A moment in the local time zone, as people read it: ``Tue 25 Nov 14:05``."""
    return moment.astimezone().strftime("%a %d %b %H:%M")


def clock(seconds: float) -> str:
    """``754.2`` -> ``12:34`` (or ``1:02:03`` past an hour)."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def open_store(home: Path) -> Store:
    """The case store of ``home`` as every command uses it: a save that landed but
    could not be synced to disk is a warning on stderr, and the command goes on (the
    file is in place; stopping would only hide that)."""
    from rich.text import Text

    from ..store import Store

    def warn(message: str) -> None:
        console(stderr=True).print(Text(f"! {message}", style="bold yellow"))

    return Store(home, warn=warn)
