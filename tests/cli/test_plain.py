"""The plain writer of the everyday views (``cli/plain.py``): tables fitted to a
terminal's width by wrapping the columns that may wrap, never cutting a character;
piped output as wide as its content; colour only where it is wanted; customer text
cleaned of control characters on the way out."""

from __future__ import annotations

import io

import pytest
from rich.cells import cell_len

from recovery_cli.cli.plain import Column, Output, Table, grid


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def output(*, width: int | None, terminal: bool = True) -> Output:
    out = Output(stream=Terminal() if terminal else io.StringIO())
    out.width = width
    return out


def written(out: Output) -> list[str]:
    value = out.stream.getvalue()  # type: ignore[attr-defined]
    assert isinstance(value, str)
    return value.splitlines()


def customers() -> Table:
    table = Table([Column("ID"), Column("Customer", wrap=True), Column("Age", right=True)])
    table.add("1", "José Nuñez 山田太郎 and a long tail of words", "3d")
    table.add("12", "Dana", "10w")
    return table


@pytest.fixture(autouse=True)
def _no_colour_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)


def test_a_table_fits_the_terminal_by_wrapping_its_wrapping_column() -> None:
    out = output(width=30)
    out.colour = False
    out.table(customers())
    lines = written(out)
    assert lines[0].split() == ["ID", "Customer", "Age"]
    assert all(cell_len(line) <= 30 for line in lines), lines
    assert lines[1].startswith("1   José Nuñez 山田太郎") and lines[1].endswith("3d")
    # The wrapped words go on under their column; the other columns keep their place.
    assert lines[2].startswith("    ") and "long" in lines[2] + lines[3]
    assert lines[-1].startswith("12  Dana") and lines[-1].endswith("10w")
    assert " ".join(part.strip() for part in lines[1:-1]).count("山田太郎") == 1


def test_piped_output_is_as_wide_as_its_content() -> None:
    out = output(width=None, terminal=False)
    out.table(customers())
    lines = written(out)
    assert len(lines) == 3
    assert "José Nuñez 山田太郎 and a long tail of words" in lines[1]
    assert "\x1b[" not in "".join(lines)


def test_a_word_wider_than_its_column_is_cut_between_characters() -> None:
    table = Table([Column("Say", wrap=True)])
    table.add("山田太郎山田太郎")
    out = output(width=9)
    out.colour = False
    out.table(table)
    assert written(out)[1:] == ["山田太郎", "山田太郎"]


def test_a_long_line_is_folded_at_spaces_on_a_terminal() -> None:
    out = output(width=20)
    out.colour = False
    out.line("Dana Reyes, José Nuñez, 山田太郎 · 3 cases")
    assert written(out) == ["Dana Reyes, José", "Nuñez, 山田太郎 · 3", "cases"]


@pytest.mark.parametrize(
    ("environment", "terminal", "coloured"),
    [
        ({}, True, True),
        ({}, False, False),
        ({"NO_COLOR": "1"}, True, False),
        ({"TERM": "dumb"}, True, False),
        ({"FORCE_COLOR": "1"}, False, True),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, True, False),
        ({"FORCE_COLOR": "1", "TERM": "dumb"}, True, False),
    ],
)
def test_colour_only_where_it_is_wanted(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], terminal: bool, coloured: bool
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    out = Output(stream=Terminal() if terminal else io.StringIO())
    out.line("Overdue (2)", "bold red")
    text = out.stream.getvalue()  # type: ignore[attr-defined]
    assert (text == "\x1b[1;31mOverdue (2)\x1b[0m\n") is coloured
    assert text.endswith("Overdue (2)\n") or coloured


def test_customer_text_never_reaches_the_terminal_as_control_characters() -> None:
    out = output(width=80)
    out.colour = True
    out.line("\x1b]0;owned\x07Dana\x1b[2J", "bold")
    out.table(grid([("Customer", "Eve\x9b31m\u202eRe")]))
    text = out.stream.getvalue()  # type: ignore[attr-defined]
    assert "\x07" not in text and "\x9b" not in text and "\u202e" not in text
    assert "\x1b]" not in text and "\x1b[2J" not in text
    # What is left of an escape sequence is inert text, shown literally.
    plain = text.replace("\x1b[1m", "").replace("\x1b[0m", "")
    assert plain == "]0;ownedDana[2J\nCustomer  Eve31mRe\n"


def test_a_rule_spans_the_terminal_and_is_a_bare_title_when_piped() -> None:
    out = output(width=30)
    out.colour = False
    out.rule("Case 3 · open")
    assert written(out) == ["── Case 3 · open " + "─" * 13]
    piped = output(width=None, terminal=False)
    piped.rule("Case 3 · open")
    assert written(piped) == ["Case 3 · open"]


def test_a_line_break_in_a_cell_that_does_not_wrap_stays_in_its_column() -> None:
    table = Table([Column("Customer"), Column("Say", wrap=True)])
    table.add("Dana\nReyes", "Hello")
    out = output(width=None, terminal=False)
    out.table(table)
    assert written(out) == ["Customer  Say", "Dana      Hello", "Reyes"]


def test_columns_that_do_not_wrap_give_way_last_cut_with_an_ellipsis() -> None:
    table = Table([Column("Status"), Column("Customer", wrap=True), Column("Playbook")])
    table.add("awaiting follow-up", "Dana Reyes", "stopped-working")
    out = output(width=30)
    out.colour = False
    out.table(table)
    lines = written(out)
    assert all(cell_len(line) <= 30 for line in lines), lines
    assert "…" in lines[1] and lines[1].startswith("awaiting")
    assert "Dana" in lines[1]


def test_a_table_too_wide_leaves_out_its_empty_columns_first() -> None:
    table = Table([Column("ID"), Column("Remedies"), Column("Customer", wrap=True)])
    table.add("1", "", "Dana Reyes")
    wide, narrow = output(width=80), output(width=14)
    wide.colour = narrow.colour = False
    wide.table(table)
    narrow.table(table)
    assert written(wide)[0].split() == ["ID", "Remedies", "Customer"]
    assert written(narrow) == ["ID  Customer", "1   Dana Reyes"]
