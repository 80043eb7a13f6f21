"""Consoles, the store as commands open it, and small formatting helpers.

Rich markup is off everywhere: customer and playbook text is printed literally, and
styling is applied with :class:`rich.text.Text` spans. Rich itself drops colour when
the output is not a terminal and honours ``NO_COLOR``.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.rule import Rule
from rich.segment import Segment
from rich.text import Text

from ..text import strip_controls
from .common import age, open_store, print_json, warn

__all__ = [
    "PIPE_WIDTH",
    "SafeConsole",
    "age",
    "console",
    "heading",
    "heading_beside",
    "open_store",
    "print_json",
    "stopwatch",
    "warn",
]


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


def stopwatch(seconds: float) -> str:
    """``754.2`` -> ``12:34`` (or ``1:02:03`` past an hour)."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
