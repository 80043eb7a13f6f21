"""Where each key and array element of a TOML document starts (line, column).

``tomllib`` gives values but no positions, and a playbook error must point at the
line of the offending key. This scanner runs only on text that ``tomllib`` has
already accepted, so it can be simple: it tracks table headers, dotted keys,
inline tables and arrays, and records the first position of every path such as
``("steps", 2, "offer", 0, "amount")``. Both line and column are 1-based.
"""

from __future__ import annotations

import tomllib

Path = tuple[str | int, ...]
Position = tuple[int, int]

_BARE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.line = 1
        self.line_start = 0
        self.positions: dict[Path, Position] = {}
        # Number of elements seen so far for each array of tables, by resolved path.
        self.aot_counts: dict[Path, int] = {}
        self.header_at: Position = (1, 1)

    # -- low level -------------------------------------------------------------------
    def pos(self) -> Position:
        return (self.line, self.i - self.line_start + 1)

    def peek(self, n: int = 1) -> str:
        return self.text[self.i : self.i + n]

    def advance(self, n: int = 1) -> None:
        for _ in range(n):
            if self.i >= len(self.text):
                return
            if self.text[self.i] == "\n":
                self.line += 1
                self.line_start = self.i + 1
            self.i += 1

    def skip_space(self, newlines: bool) -> None:
        """Skip blanks and comments (and newlines when ``newlines``)."""
        while self.i < len(self.text):
            ch = self.text[self.i]
            if ch in " \t\r" or (newlines and ch == "\n"):
                self.advance()
            elif ch == "#":
                while self.i < len(self.text) and self.text[self.i] != "\n":
                    self.advance()
            else:
                return

    def record(self, path: Path, at: Position) -> None:
        self.positions.setdefault(path, at)

    # -- keys ------------------------------------------------------------------------
    def read_simple_key(self) -> str:
        ch = self.peek()
        if ch in ('"', "'"):
            return self.read_string()
        start = self.i
        while self.i < len(self.text) and self.text[self.i] in _BARE:
            self.advance()
        return self.text[start : self.i]

    def read_dotted_key(self) -> list[tuple[str, Position]]:
        parts: list[tuple[str, Position]] = []
        while True:
            self.skip_space(newlines=False)
            at = self.pos()
            parts.append((self.read_simple_key(), at))
            self.skip_space(newlines=False)
            if self.peek() == ".":
                self.advance()
                continue
            return parts

    # -- values ----------------------------------------------------------------------
    def read_string(self) -> str:
        quote = self.peek()
        if self.peek(3) == quote * 3:
            self.advance(3)
            start = self.i
            while self.i < len(self.text):
                if quote == '"' and self.peek() == "\\":
                    self.advance(2)
                    continue
                if self.peek(3) == quote * 3:
                    # A closing delimiter may carry up to two extra quotes before it.
                    while self.peek(4) == quote * 4:
                        self.advance()
                    end = self.i
                    self.advance(3)
                    return self.text[start:end]
                self.advance()
            return self.text[start:]
        self.advance()
        start = self.i
        while self.i < len(self.text) and self.peek() != quote:
            if quote == '"' and self.peek() == "\\":
                self.advance(2)
                continue
            self.advance()
        end = self.i
        self.advance()
        raw = self.text[start:end]
        if quote == '"' and "\\" in raw:
            # Let TOML itself decode the escapes (the text is known to be valid).
            decoded = tomllib.loads(f'k = "{raw}"')["k"]
            return str(decoded)
        return raw

    def read_value(self, path: Path) -> None:
        ch = self.peek()
        if ch in ('"', "'"):
            self.read_string()
        elif ch == "[":
            self.read_array(path)
        elif ch == "{":
            self.read_inline_table(path)
        else:
            while self.i < len(self.text) and self.text[self.i] not in ",]}\n#":
                self.advance()

    def read_array(self, path: Path) -> None:
        self.advance()  # [
        index = 0
        while self.i < len(self.text):
            self.skip_space(newlines=True)
            if self.peek() == "]":
                self.advance()
                return
            self.record((*path, index), self.pos())
            self.read_value((*path, index))
            index += 1
            self.skip_space(newlines=True)
            if self.peek() == ",":
                self.advance()

    def read_inline_table(self, path: Path) -> None:
        self.advance()  # {
        while self.i < len(self.text):
            self.skip_space(newlines=True)
            if self.peek() == "}":
                self.advance()
                return
            self.read_key_value(path)
            self.skip_space(newlines=True)
            if self.peek() == ",":
                self.advance()

    def read_key_value(self, table: Path) -> None:
        parts = self.read_dotted_key()
        path = table
        for name, at in parts:
            path = (*path, name)
            self.record(path, at)
        self.skip_space(newlines=False)
        if self.peek() == "=":
            self.advance()
        self.skip_space(newlines=False)
        self.read_value(path)

    # -- tables ----------------------------------------------------------------------
    def resolve(self, names: list[str]) -> Path:
        """Turn a header's dotted names into a path, entering the last element of
        every array of tables met on the way (``[[steps.offer]]`` lives in the
        newest ``[[steps]]``)."""
        path: Path = ()
        for name in names:
            path = (*path, name)
            # A header like [steps.ask] creates its parents implicitly: they are
            # "defined" at this header as far as an error message is concerned.
            self.record(path, self.header_at)
            count = self.aot_counts.get(path)
            if count:
                path = (*path, count - 1)
        return path

    def read_header(self) -> Path:
        at = self.header_at = self.pos()
        array = self.peek(2) == "[["
        self.advance(2 if array else 1)
        parts = self.read_dotted_key()
        self.advance(2 if array else 1)
        names = [name for name, _ in parts]
        if array:
            parent = self.resolve(names[:-1])
            base = (*parent, names[-1])
            index = self.aot_counts.get(base, 0)
            self.aot_counts[base] = index + 1
            self.record(base, at)
            table: Path = (*base, index)
        else:
            table = self.resolve(names)
        self.record(table, at)
        return table

    def scan(self) -> dict[Path, Position]:
        table: Path = ()
        while True:
            self.skip_space(newlines=True)
            if self.i >= len(self.text):
                return self.positions
            if self.peek() == "[":
                table = self.read_header()
            else:
                self.read_key_value(table)


def key_positions(text: str) -> dict[Path, Position]:
    """Map every key path and array element in ``text`` to its (line, column)."""
    return _Scanner(text).scan()


def nearest_position(positions: dict[Path, Position], path: Path) -> Position:
    """The position of ``path``, or of its closest ancestor that has one."""
    for end in range(len(path), 0, -1):
        found = positions.get(path[:end])
        if found:
            return found
    return (1, 1)


def open_at_end(text: str, *, deeper_than: int = 64) -> tuple[Position | None, Position | None]:
    """For TOML that failed to parse: where an unterminated string or the innermost
    unclosed bracket began (None if neither is open at the end), and where nesting
    first went deeper than ``deeper_than`` (None if it never did).

    A plain lexical pass: strings, comments and brackets, nothing more.
    """
    line, line_start, i = 1, 0, 0
    stack: list[Position] = []
    deep: Position | None = None
    string: tuple[str, Position] | None = None
    n = len(text)
    while i < n:
        ch = text[i]
        at = (line, i - line_start + 1)
        if string is not None:
            quote, _ = string
            if quote in ('"', '"""') and ch == "\\":
                i += 2
                continue
            if text.startswith(quote, i):
                string = None
                i += len(quote)
                continue
            if ch == "\n" and len(quote) == 1:
                string = None  # single-line strings end at the line (tomllib said why)
        elif ch == "#":
            while i < n and text[i] != "\n":
                i += 1
            continue
        elif ch in "\"'":
            quote = ch * 3 if text.startswith(ch * 3, i) else ch
            string = (quote, at)
            i += len(quote)
            continue
        elif ch in "[{":
            stack.append(at)
            if deep is None and len(stack) > deeper_than:
                deep = at
        elif ch in "]}" and stack:
            stack.pop()
        if ch == "\n":
            line, line_start = line + 1, i + 1
        i += 1
    if string is not None:
        return string[1], deep
    return (stack[-1] if stack else None), deep
