"""Consoles, the store as commands open it, and small formatting helpers.

Rich markup is off everywhere: customer and playbook text is printed literally, and
styling is applied with :class:`rich.text.Text` spans. Rich itself drops colour when
the output is not a terminal and honours ``NO_COLOR``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

import typer
from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.rule import Rule
from rich.segment import Segment
from rich.text import Text

from ..store import Store
from ..text import strip_controls

if TYPE_CHECKING:
    from pathlib import Path

_C1 = re.compile("[\x80-\x9f]")


# Piped output is for other programs: lay tables out as wide as their content, so no
# cell is ever wrapped or cut; a person's terminal gets its own width.
PIPE_WIDTH = 100_000


def console(*, stderr: bool = False) -> Console:
    """A console that never interprets markup, emoji codes or 'highlights' data, and
    never lets a control character through (see :class:`SafeConsole`)."""
    safe = SafeConsole
    out = safe(stderr=stderr, markup=False, emoji=False, highlight=False)
    if not out.is_terminal:
        out = safe(stderr=stderr, markup=False, emoji=False, highlight=False, width=PIPE_WIDTH)
    return out


class SafeConsole(Console):
    """A Rich console that drops control characters from all text it writes.

    Customer text can hold escape sequences (from a pasted email, an imported case)
    that would recolour the terminal, set its title or write to the clipboard. Rich
    passes ESC through, so every text segment is cleaned on its way out; Rich's own
    styling and cursor control (progress bars) are applied after, untouched.
    """

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        return super()._render_buffer(
            segment if segment.control else Segment(strip_controls(segment.text), segment.style)
            for segment in buffer
        )


def heading(out: Console, title: str, *, style: str = "rule.line") -> RenderableType:
    """A rule with a title on a terminal; the bare title when piped."""
    if out.is_terminal:
        return Rule(Text(title), align="left", style=style)
    return Text(title, style="bold")


def heading_beside(out: Console, title: str, aside: str, *, style: str) -> RenderableType:
    """A heading with a short note beside it (the walk's timer): on one rule where
    both fit, else the title wrapped by words and the note on its own line, so a
    narrow terminal never cuts either."""
    line = f"{title}   {aside}"
    if not out.is_terminal:
        return Text(line, style="bold")
    if cell_len(line) + 6 <= out.width:
        return Rule(Text(line), align="left", style=style)
    return Group(Rule(style=style), Text(title, style="bold"), Text(aside, style="dim"))


def print_json(data: object) -> None:
    """Plain JSON on stdout: no colour, no wrapping, keys in a stable order."""
    # JSON escapes C0 controls itself; C1 ones (8-bit escapes to some terminals) too here.
    text = json.dumps(data, indent=2, ensure_ascii=False)
    typer.echo(_C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


def age(then: datetime, now: datetime) -> str:
    """``5m``, ``3h``, ``2d``, ``6w``: how long ago, short enough for a table cell."""
    seconds = max(0, int((now - then).total_seconds()))
    for size, unit in ((7 * 86400, "w"), (86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return "now"


def stopwatch(seconds: float) -> str:
    """``754.2`` -> ``12:34`` (or ``1:02:03`` past an hour)."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def warn(message: str) -> None:
    """A warning that does not stop the command, on stderr: ``! message``."""
    console(stderr=True).print(Text(f"! {message}", style="bold yellow"))


def open_store(home: Path) -> Store:
    """The case store of ``home`` as every command opens it (``with open_store(home)
    as store``): a save that landed but could not be synced to disk, and a long
    catch-up of the index, are told on stderr, and the command goes on."""
    return Store(home, warn=warn)
