"""Plain output for the everyday views (``list``, ``show``, ``followups``, ``customer``,
``prevent``, ``stats``, ``config``, ``playbook list``): lines, a few styles, and tables
laid out to the terminal's width.

These commands run while a customer is talking, and importing Rich's console costs
about half of what importing Typer does: more than their whole start-up budget (see
``benchmarks/RESULTS.md``). So they write through this module, which needs only Rich's
cell-width tables (:mod:`rich.cells`, a light import) to measure wide and combining
characters the way the walk's screen does. The walk itself keeps Rich.

What reaches the terminal is what the Rich views wrote, but for long cells: a table
too wide for the terminal leaves out its empty columns, wraps the columns that may
wrap, and at last cuts the others with an ellipsis. Every piece of text passes through
:func:`~recovery_cli.text.strip_controls` (customer text can hold escape sequences);
colour only on a terminal (or with ``FORCE_COLOR``), never with ``NO_COLOR`` or
``TERM=dumb``; piped output is laid out as wide as its content, so no cell is ever
wrapped or cut for another program.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from rich.cells import cell_len, chop_cells

from ..text import strip_controls

_SGR = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "cyan": "36",
}
# Between two columns, as Rich's tables without a box put them.
GAP = "  "
# A column that wraps is never made narrower than this (or its header).
MIN_WRAP = 8


def _wants_colour(stream: TextIO, is_terminal: bool) -> bool:
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return is_terminal or bool(os.environ.get("FORCE_COLOR"))


class Output:
    """One stream (stdout, or stderr), knowing whether it is a terminal, how wide it
    is, and whether it takes colour."""

    def __init__(self, *, stderr: bool = False, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else (sys.stderr if stderr else sys.stdout)
        try:
            self.is_terminal = self.stream.isatty()
        except (AttributeError, ValueError, OSError):
            self.is_terminal = False
        self.colour = _wants_colour(self.stream, self.is_terminal)
        # None: as wide as the content (a pipe, a file).
        self.width: int | None = shutil.get_terminal_size().columns if self.is_terminal else None

    def styled(self, text: str, style: str | None) -> str:
        """``text`` in ``style`` (words of :data:`_SGR`, like ``bold red``), cleaned."""
        clean = strip_controls(text)
        if not style or not self.colour or not clean:
            return clean
        codes = ";".join(_SGR[word] for word in style.split())
        return f"\x1b[{codes}m{clean}\x1b[0m"

    def line(self, text: str = "", style: str | None = None) -> None:
        """A line of text; on a terminal, folded at spaces to its width (a word is
        never cut unless it is wider than the terminal)."""
        clean = strip_controls(text)
        if self.width is None or cell_len(clean) <= self.width:
            self.write(self.styled(clean, style) + "\n")
            return
        for part in _wrapped(clean, self.width):
            self.write(self.styled(part, style) + "\n")

    def write(self, text: str) -> None:
        """Text already cleaned and styled."""
        self.stream.write(text)

    def rule(self, title: str, style: str = "bold") -> None:
        """A heading: ``── Title ─────`` across a terminal; the bare title when piped."""
        if self.width is None:
            self.line(title, "bold")
            return
        clean = strip_controls(title)
        rest = max(0, self.width - cell_len(clean) - 4)
        line = self.styled("──", "dim") + " " + self.styled(clean, style) + " "
        self.write(line + self.styled("─" * rest, "dim") + "\n")

    def table(self, table: Table) -> None:
        """A table, fitted to the terminal's width."""
        for text in table.lines(self):
            self.write(text + "\n")

    def flush(self) -> None:
        """Push out what was written (before a slower step, or exit)."""
        self.stream.flush()


@dataclass
class Column:
    """One column: its header; whether its cells may wrap (the others never do, and
    keep their width); whether its cells are right-aligned; a style for every cell."""

    header: str = ""
    wrap: bool = False
    right: bool = False
    style: str | None = None


@dataclass
class Table:
    """Rows of cells under bold headers, two spaces between columns.

    ``indent`` spaces go before every line (a nested table). Without ``headers`` the
    table is a grid (label: value lines). Cells are plain text, shown literally; a cell
    may be ``(text, style)`` for a cell of its own style.
    """

    columns: Sequence[Column]
    title: str = ""
    title_style: str = "bold"
    headers: bool = True
    indent: int = 0
    rows: list[list[tuple[str, str | None]]] = field(default_factory=list)

    def add(self, *cells: str | tuple[str, str | None]) -> None:
        """Add a row (one cell per column)."""
        row = [cell if isinstance(cell, tuple) else (cell, None) for cell in cells]
        self.rows.append([(_cell_text(text), style) for text, style in row])

    def __len__(self) -> int:
        return len(self.rows)

    def _too_wide(self, width: int) -> bool:
        natural = self.widths(None)
        return sum(natural) + len(GAP) * (len(natural) - 1) + self.indent > width

    def widths(self, width: int | None) -> list[int]:
        """Each column's width: as wide as its content, and, where that does not fit
        in ``width``, the wrapping columns made narrower (widest first)."""
        natural = [
            max(
                [cell_len(c.header) if self.headers else 0]
                + [_longest_line(row[i][0]) for row in self.rows]
            )
            for i, c in enumerate(self.columns)
        ]
        if width is None:
            return natural
        room = width - self.indent - len(GAP) * (len(natural) - 1)
        sizes = list(natural)
        floor = [
            max(cell_len(c.header) if self.headers else 1, min(MIN_WRAP, natural[i]))
            for i, c in enumerate(self.columns)
        ]
        while sum(sizes) > room:
            shrinkable = [i for i, c in enumerate(self.columns) if c.wrap and sizes[i] > floor[i]]
            if not shrinkable:
                # Still too wide: the widest of the other columns gives way, its cells
                # cut short with an ellipsis (never below its header, or 4 cells).
                shrinkable = [
                    i
                    for i, c in enumerate(self.columns)
                    if not c.wrap and sizes[i] > max(4, cell_len(c.header))
                ]
            if not shrinkable:
                break
            widest = max(shrinkable, key=lambda i: sizes[i])
            sizes[widest] -= 1
        return sizes

    def lines(self, out: Output) -> list[str]:
        """The table as lines of text, styled for ``out``. A table too wide for the
        terminal first leaves out the columns with nothing in them."""
        empty = [i for i in range(len(self.columns)) if not any(row[i][0] for row in self.rows)]
        if self.rows and empty and out.width is not None and self._too_wide(out.width):
            keep = [i for i in range(len(self.columns)) if i not in empty]
            narrower = Table(
                [self.columns[i] for i in keep],
                self.title,
                self.title_style,
                self.headers,
                self.indent,
                [[row[i] for i in keep] for row in self.rows],
            )
            return narrower.lines(out)
        sizes = self.widths(out.width)
        pad = " " * self.indent
        lines: list[str] = []
        if self.title:
            lines.append(pad + out.styled(self.title, self.title_style))
        if self.headers:
            heads = [c.header for c in self.columns]
            lines.append(pad + _join(out, heads, ["bold"] * len(heads), sizes, self.columns))
        for row in self.rows:
            cells = [
                _wrapped(text, sizes[i])
                if column.wrap
                else [_cut(part, sizes[i]) for part in text.split("\n")]
                for i, ((text, _), column) in enumerate(zip(row, self.columns, strict=True))
            ]
            styles = [
                style or column.style for (_, style), column in zip(row, self.columns, strict=True)
            ]
            for depth in range(max(len(c) for c in cells)):
                parts = [c[depth] if depth < len(c) else "" for c in cells]
                lines.append(pad + _join(out, parts, styles, sizes, self.columns))
        return lines


def _cell_text(text: str) -> str:
    return strip_controls(text).replace("\t", " ")


def _longest_line(text: str) -> int:
    return max((cell_len(part) for part in text.split("\n")), default=0)


def _join(
    out: Output,
    parts: Sequence[str],
    styles: Sequence[str | None],
    sizes: Sequence[int],
    columns: Sequence[Column],
) -> str:
    """One line of a table: each part padded to its column (the last one unpadded)."""
    cells = []
    last = len(parts) - 1
    for i, (text, size, column) in enumerate(zip(parts, sizes, columns, strict=True)):
        space = " " * max(0, size - cell_len(text))
        styled = out.styled(text, styles[i])
        if column.right:
            cells.append(space + styled)
        elif i == last:
            cells.append(styled)
        else:
            cells.append(styled + space)
    return GAP.join(cells).rstrip()


def _cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells: cut between characters, with an ellipsis."""
    if cell_len(text) <= width:
        return text
    return chop_cells(text, max(1, width - 1))[0] + "…"


def _wrapped(text: str, width: int) -> list[str]:
    """``text`` folded at spaces into lines of at most ``width`` cells; a word longer
    than that is cut between characters (never inside one)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            if not word:
                continue
            candidate = f"{line} {word}" if line else word
            if cell_len(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            pieces = chop_cells(word, width) if cell_len(word) > width else [word]
            lines += pieces[:-1]
            line = pieces[-1]
        lines.append(line)
    return lines


def grid(rows: Iterable[tuple[str, str]], *, indent: int = 0) -> Table:
    """Label and value lines (``Customer  Dana Reyes``): bold labels, wrapping values."""
    table = Table([Column(style="bold"), Column(wrap=True)], headers=False, indent=indent)
    for label, value in rows:
        table.add(label, value)
    return table
