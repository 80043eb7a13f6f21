"""Keys typed while a save was in flight, as the next prompt reads them: raw terminal
bytes turned into the line to put back, and the Enters that go unused."""

from __future__ import annotations

import pytest

from recovery_cli.cli.prompter import typed_ahead_lines


@pytest.mark.parametrize(
    ("keys", "lines", "enters"),
    [
        (b"half typed", ["half typed"], 0),
        (b"yes\rno\r", ["yes", "no"], 0),
        (b"\r\r", [], 2),
        (b"ab\x7fc\x08d", ["ad"], 0),  # Backspace (DEL or ^H) edits as it would have
        (b"wrong\x15right", ["right"], 0),  # Ctrl-U clears what came before
        (b"a\x1b[Ab\x1bOBc", ["abc"], 0),  # arrow keys are dropped whole, not as "[A"
        (b"caf\xc3\xa9 \xff!", ["café \ufffd!"], 0),  # not UTF-8: replaced, never lost
        (b"\x1b]0;title\x07x\r\n", ["x"], 0),  # an escape sequence never reaches the line
    ],
)
def test_typed_ahead_keys_become_the_line_they_would_have_made(
    keys: bytes, lines: list[str], enters: int
) -> None:
    assert typed_ahead_lines(keys) == (lines, enters)
