"""Real-terminal tests: names with wide and tricky characters in the everyday views, read
off the screen of a VT100 emulator at 64 columns.

A CJK character and an emoji take two cells, a combining accent none, right-to-left
text is kept in logical order (the emulator, like the program, never reorders it), and
the invisible marks that reorder text (bidi embeddings, overrides, isolates) never
reach the terminal. Whatever the characters, the columns after a name start at the same
cell on every row, and a name is shown whole, never cut inside a character.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recovery_cli.store import encode
from tests.conftest import sample_case
from tests.screen import Screen, open_screen

pytestmark = pytest.mark.pty

COLS = 64
NAMES = {
    "cjk": "山田太郎",
    "cjk-short": "王小明",
    "emoji": "Zoë 😀 Smith",
    "combining": "Jose\u0301 Nun\u0303ez",  # two combining accents: 10 cells, 12 code points
    "ascii": "Dana Reyes",
    "hebrew": "דנה כהן",
    "arabic": "سارة",
}
# A name with a right-to-left override inside (and its pop): shown as "Noa כהן Levi".
OVERRIDE = "Noa \u202eכהן\u202c Levi"
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
SAY = "Check in"


def write_cases(home: Path, names: list[str], *, follow_up: bool = False) -> dict[str, str]:
    """One case a name, ids from 1 in the order given, opened three hours ago (three
    days ago with a follow-up, overdue since yesterday, when ``follow_up``); the names
    by case id."""
    cases = home / "cases"
    cases.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    opened = now - (timedelta(days=3) if follow_up else timedelta(hours=3))
    by_id = {}
    for number, name in enumerate(names, start=1):
        case_id = str(number)
        case = sample_case(
            case_id, now=opened, name=name, email=f"c{number}@example.com", order=f"A-{number}"
        )
        if follow_up:
            case.add_follow_up(now - timedelta(days=2), SAY, opened)
        (cases / f"{case_id}.json").write_bytes(encode(case))
        by_id[case_id] = name
    return by_id


def shown(name: str) -> str:
    """A name as the emulator keeps it: a combining accent joined to its letter."""
    return unicodedata.normalize("NFC", name)


def run_to_end(home: Path, *args: str) -> Screen:
    """``recover ARGS`` at 64 columns, run to its end (exit 0), its screen kept."""
    with open_screen(home, *args, cols=COLS) as screen:
        assert screen.finish() == 0, screen.dump(" ".join(args))
    return screen


def row_of(screen: Screen, pattern: str) -> int:
    """The last row matching ``pattern``; the test fails if none does."""
    found = screen.find(re.compile(pattern))
    assert found is not None, f"no row matches {pattern!r}\n{screen.dump()}"
    return found


def at(screen: Screen, text: str, row: int) -> int:
    """The cell where ``text`` starts in ``row``; the test fails if it is not there."""
    column = screen.column(text, row)
    assert column is not None, f"{text!r} is not on row {row}\n{screen.dump()}"
    return column


def value_start(screen: Screen, row: int, label: str) -> int:
    """The cell where the value starts on a ``Label  value`` row."""
    cells = screen.cells(row)
    assert "".join(cells[: len(label)]) == label, screen.dump()
    column = len(label)
    while column < len(cells) and cells[column] == " ":
        column += 1
    return column


def test_list_lines_up_the_columns_after_any_name(tmp_path: Path) -> None:
    names = write_cases(tmp_path, list(NAMES.values()))
    screen = run_to_end(tmp_path, "list")
    header = row_of(screen, r"^ID +Status +Customer +Playbook +Walk")
    columns = {name: at(screen, name, header) for name in ("Customer", "Playbook", "Walk")}
    for case_id, name in names.items():
        row = row_of(screen, rf"^{case_id} +open ")
        # Whole, in one row, in its column; the next columns where the header puts them.
        assert at(screen, shown(name), row) == columns["Customer"], screen.dump()
        playbook = columns["Playbook"]
        assert screen.span(row, columns["Customer"], playbook).strip() == shown(name)
        assert at(screen, "general", row) == playbook, screen.dump()
        assert at(screen, "step 1", row) == columns["Walk"], screen.dump()


def test_list_squeezed_by_long_statuses_still_lines_up(tmp_path: Path) -> None:
    # "awaiting follow-up" leaves the Customer column 7 cells: names wrap over rows.
    names = write_cases(tmp_path, list(NAMES.values()), follow_up=True)
    screen = run_to_end(tmp_path, "list")
    header = row_of(screen, r"^ID +Status +Custom")
    customer = at(screen, "Custom", header)
    playbook = at(screen, "Playbook", header)
    for case_id, name in names.items():
        row = row_of(screen, rf"^{case_id} +awaiting follow-up ")
        assert at(screen, "general", row) == playbook, screen.dump()
        # The name's rows: this one and those below it with nothing in the ID column.
        end = row + 1
        while screen.row(end).startswith(" "):
            end += 1
        for n in range(row, end):
            assert screen.span(n, playbook - 2, playbook) == "", screen.dump()  # the gutter
        text = " ".join(screen.span(n, customer, playbook).strip() for n in range(row, end))
        # Wrapped at spaces, or cut with an ellipsis after a whole character.
        cut = text.endswith("…") and shown(name).startswith(text[:-1])
        assert text == shown(name) or cut, screen.dump()


def test_show_lines_up_the_facts_whatever_the_name(tmp_path: Path) -> None:
    names = write_cases(tmp_path, list(NAMES.values()))
    for case_id, name in names.items():
        screen = run_to_end(tmp_path, "show", case_id)
        labels = ("Customer", "Email", "Order", "Playbook", "Opened", "Walk")
        rows = {label: row_of(screen, rf"^{label}  ") for label in labels}
        starts = {label: value_start(screen, row, label) for label, row in rows.items()}
        assert len(set(starts.values())) == 1, f"{starts}\n{screen.dump()}"
        value = starts["Customer"]
        assert screen.span(rows["Customer"], value) == shown(name), screen.dump()
        assert screen.span(rows["Email"], value) == f"c{case_id}@example.com"


def test_followups_line_up_whatever_the_name(tmp_path: Path) -> None:
    names = write_cases(tmp_path, list(NAMES.values()), follow_up=True)
    screen = run_to_end(tmp_path, "followups")
    row_of(screen, rf"^Overdue \({len(names)}\)")
    header = row_of(screen, r"^Due +Case +Customer +Say")
    columns = {name: at(screen, name, header) for name in ("Case", "Customer", "Say")}
    for case_id, name in names.items():
        row = row_of(screen, re.escape(shown(name)))
        assert screen.span(row, columns["Case"], columns["Customer"]).strip() == case_id
        assert at(screen, shown(name), row) == columns["Customer"], screen.dump()
        assert screen.span(row, columns["Customer"], columns["Say"]).strip() == shown(name)
        assert at(screen, SAY, row) == columns["Say"], screen.dump()


@pytest.mark.parametrize(
    ("key", "query"),
    [
        ("cjk", "山田"),
        ("emoji", "😀"),
        ("combining", "Nun\u0303ez"),  # as stored: the search compares code points
        ("hebrew", "כהן"),
        ("arabic", "سارة"),
    ],
)
def test_customer_names_the_person_whole(tmp_path: Path, key: str, query: str) -> None:
    write_cases(tmp_path, list(NAMES.values()))
    screen = run_to_end(tmp_path, "customer", query)
    row = row_of(screen, " · 1 case$")
    assert screen.span(row) == f"{shown(NAMES[key])} · 1 case", screen.dump()
    header = row_of(screen, r"^ID +Opened ")
    case_row = row_of(screen, r"^\d+ +\w{3} \d\d \w{3} ")
    assert at(screen, "open", case_row) == at(screen, "Status", header), screen.dump()


def test_customer_wraps_many_names_between_characters(tmp_path: Path) -> None:
    names = write_cases(tmp_path, list(NAMES.values()))
    screen = run_to_end(tmp_path, "customer", "example.com")
    last = row_of(screen, rf" · {len(names)} cases$")
    people = " ".join(screen.span(n) for n in range(last + 1))
    for name in names.values():
        assert shown(name) in people, screen.dump()


@pytest.mark.parametrize("key", ["hebrew", "arabic"])
def test_right_to_left_names_show_in_logical_order(tmp_path: Path, key: str) -> None:
    name = NAMES[key]
    write_cases(tmp_path, [name])
    for args in (("list",), ("show", "1")):
        screen = run_to_end(tmp_path, *args)
        row = row_of(screen, re.escape(name))
        start = at(screen, name, row)
        # One cell a letter, in the order of the string: nothing reversed them.
        assert screen.cells(row)[start : start + len(name)] == list(name), screen.dump()


# Needs strip_controls to drop the bidi controls (src/recovery_cli/text.py).
@pytest.mark.parametrize(
    "args", [("list",), ("show", "1"), ("followups",), ("customer", "Levi")], ids=" ".join
)
def test_bidi_controls_never_reach_the_terminal(tmp_path: Path, args: tuple[str, ...]) -> None:
    write_cases(tmp_path, [OVERRIDE, NAMES["ascii"]], follow_up=args == ("followups",))
    screen = run_to_end(tmp_path, *args)
    written = bytes(screen.raw).decode("utf-8")
    assert not BIDI.findall(written), [hex(ord(c)) for c in BIDI.findall(written)]
    clean = BIDI.sub("", OVERRIDE)
    row = row_of(screen, re.escape(clean))
    if args == ("list",):
        header = row_of(screen, r"^ID +Status +Customer +Playbook")
        assert at(screen, clean, row) == at(screen, "Customer", header), screen.dump()
        assert at(screen, "general", row) == at(screen, "Playbook", header), screen.dump()
