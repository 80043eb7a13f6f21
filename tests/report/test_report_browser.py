"""The monthly report, as a reader's browser shows it: ``recover report`` writes the page
for a store whose cases are known (built below with the project's own models), and a
real headless Chromium (tests/browser.py) opens, measures, photographs and prints it.

November 2026 is the month looked at: eleven cases, worked out by hand below; the
months before it fill the charts of the twelve months that end with it. A second home
holds the same cases and a few more whose customer name, cause tags, root cause and
prevention action are hostile markup: that page must show them as text and run none.
Screenshots are kept for CI in the artefacts folder (``$RECOVER_ARTEFACTS``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, Literal

import pytest

from recovery_cli.case import (
    Case,
    Customer,
    MailIn,
    MailOut,
    MailThread,
    Outcome,
    OutcomeResult,
    PlaybookRef,
    Remedy,
    StepRecord,
    new_case,
)
from recovery_cli.store import Store
from tests.browser import Browser, Paper, artefacts_dir, is_blank, pdf_paper, print_to_pdf

# One worker runs the whole module: its store and its browser are made once.
pytestmark = pytest.mark.xdist_group("report-browser")

MONTH = "2026-11"
FIRST_DAY, LAST_DAY = "2026-11-01", "2026-11-30"
SECTIONS = [
    "summary",
    "kept",
    "cost",
    "remedies",
    "speed",
    "follow-ups",
    "causes",
    "customers",
    "bought-again",
]
# The sections that chart something, and so say so when there is nothing to chart.
CHARTED = ["kept", "cost", "remedies", "speed", "follow-ups", "causes", "bought-again"]
PLAIN_TABLES = ["summary", "money", "quick-slow", "returning", "prevention"]

# Days from the opening of a case to its follow-up.
CHECK_IN_DAYS = 3
# Seconds: a net for a command that hangs, never a measure of speed.
SAFETY = 60


def at(month: int, day: int, hour: int = 10, year: int = 2026) -> datetime:
    """A moment of 2026 (unless told otherwise), in UTC: the zone the CLI runs in here."""
    return datetime(year, month, day, hour, tzinfo=UTC)


@dataclass
class Spec:
    """One case, and how it went."""

    opened: datetime
    name: str
    currency: str = "USD"
    value: str | None = None
    remedies: list[tuple[str, str | None]] = field(default_factory=list)  # kind, amount
    outcome: OutcomeResult | None = None
    tag: str = ""
    root_cause: str = ""
    prevention: str = ""
    # An email case: hours from the complaint to the reply. Else a call, answered as the
    # walk started, two minutes in.
    replied_after: float | None = None
    # A follow-up promised for CHECK_IN_DAYS after opening, and when it was done: on its
    # day, a day late, never (missed), or not yet, as it is due a week after today (the
    # CLI counts by the real clock).
    follow_up: Literal["on time", "late", "missed", "to come"] | None = None
    # The outcome is recorded this many hours after opening (after any follow-up).
    closed_after: float = 2
    # Without one: the first word of the name, at example.com.
    email: str = ""

    def __post_init__(self) -> None:
        self.email = self.email or self.name.split()[0].lower() + "@example.com"


# November 2026, by hand:
# - 11 cases; 9 with an outcome: kept 1, 2, 3, 6; refunded 4, 7; lost 5, 11; escalated 8
#   (kept rate 4 of 9, 0.4444).
# - Remedy kinds of the cases with an outcome: refund, credit, bonus, discount, gift and
#   exchange (six); none of them was given nothing.
# - Cause tags: email 3, packaging 2, courier 2, sizing 1 (four causes; case 8 has none).
# - Follow-ups: on time 1, 3, 6; late 2, 8; missed 5; still to come 10.
# - USD: refunds 40 + 30 + 90 = 160.00, goodwill 10 + 5.50 + 10 + 6 + 15 = 46.50,
#   cost 206.50; EUR: refunds 80.00, goodwill 12.00, cost 92.00.
NOVEMBER = [
    Spec(  # 1
        at(11, 2, 9), "Dana Reyes", value="40", remedies=[("refund", "40.00"), ("credit", "10.00")],
        outcome="kept", tag="Email", follow_up="on time", closed_after=80,
        root_cause="The download link expired", prevention="Send links valid for 30 days",
    ),
    Spec(  # 2
        at(11, 3, 10), "Omar Haddad", value="20", remedies=[("bonus", None), ("discount", "5.50")],
        outcome="kept", tag="email", replied_after=0.5, follow_up="late", closed_after=100,
    ),
    Spec(  # 3
        at(11, 4, 11), "Lena Fischer", currency="EUR", value="50", remedies=[("gift", "12.00")],
        outcome="kept", tag="packaging", replied_after=3, follow_up="on time", closed_after=75,
        root_cause="Box too thin for the mug", prevention="Switch to double-wall boxes",
    ),
    Spec(  # 4
        at(11, 5, 12), "Kim Park", value="30", remedies=[("refund", "30.00")],
        outcome="refunded", tag="courier", replied_after=10, closed_after=20,
    ),
    Spec(  # 5
        at(11, 6, 8), "Ana Souza", value="25", remedies=[("exchange", None)],
        outcome="lost", tag="Packaging ", replied_after=40, follow_up="missed", closed_after=50,
    ),
    Spec(  # 6
        at(11, 9, 14), "Dana Reyes", value="15", remedies=[("credit", "10.00")],
        outcome="kept", tag="EMAIL", follow_up="on time", closed_after=73,
    ),
    Spec(  # 7
        at(11, 10, 9), "Ravi Nair", currency="EUR", value="80", remedies=[("refund", "80.00")],
        outcome="refunded", tag="sizing", replied_after=100, closed_after=120,
        root_cause="Size chart in inches only", prevention="Add centimetres to the size chart",
    ),
    Spec(  # 8
        at(11, 12, 16), "Jo Wright", value="60", remedies=[("discount", "6.00"), ("bonus", None)],
        outcome="escalated", follow_up="late", closed_after=200,
    ),
    Spec(at(11, 16, 10), "Mia Chen", value="35"),  # 9: nothing given, no outcome yet
    Spec(  # 10
        at(11, 20, 10), "Sam Okafor", value="45", remedies=[("credit", "15.00")],
        follow_up="to come",
    ),
    Spec(  # 11: closed after 700 hours, on 30 November
        at(11, 1, 8), "Eva Lind", value="90", remedies=[("refund", "90.00")],
        outcome="lost", tag="courier", closed_after=700,
    ),
]  # fmt: skip

# The twelve months that end with November: a case with an outcome in ten of them (none
# in April; July's case has none), in dollars every month and in euros in three. The
# pound case of November 2025 is before those twelve months: no chart for pounds.
EARLIER = [
    Spec(at(11, 16, year=2025), "Tom Hill", currency="GBP", value="20",
         remedies=[("refund", "20.00")], outcome="kept"),
    Spec(at(12, 10, year=2025), "Ivy Brown", value="30", remedies=[("refund", "30.00")],
         outcome="kept"),
    Spec(at(1, 12), "Noah Kim", value="50", remedies=[("credit", "10.00")], outcome="lost"),
    Spec(at(2, 9), "Lea Roux", currency="EUR", value="40", remedies=[("gift", "8.00")],
         outcome="kept"),
    Spec(at(3, 16), "Max Berg", value="20", remedies=[("refund", "20.00")], outcome="refunded"),
    Spec(at(5, 11), "Zoe Adams", value="70", remedies=[("discount", "7.00")], outcome="kept"),
    Spec(at(5, 12), "Jan Novak", currency="EUR", value="30", remedies=[("refund", "30.00")],
         outcome="refunded"),
    Spec(at(6, 8), "Uma Rao", value="25", remedies=[("bonus", None)], outcome="kept"),
    Spec(at(7, 14), "Leo Marsh", value="40", remedies=[("refund", "40.00")]),
    Spec(at(8, 17), "Ada Cole", value="35", remedies=[("credit", "5.00")], outcome="escalated"),
    Spec(at(9, 21), "Ben Ford", currency="EUR", value="60", remedies=[("refund", "60.00")],
         outcome="lost"),
    Spec(at(10, 19), "Dana Reyes", value="25", remedies=[("credit", "5.00")], outcome="kept"),
]  # fmt: skip
MONTHS_WITH_AN_OUTCOME = 10

# Markup where the seller's and customers' words go: shown as text, never run.
SCRIPT_NAME = "<script>alert(1)</script>"
IMG_TAG = '"><img src=x onerror=alert(1)>'
ODD_TAG = "size<m & up"
ROOT_CAUSE = "The feed ended in </style> and ]]> <svg onload=alert(2)>"
PREVENTION = "Strip </style> and ]]> from the feed <script>alert(3)</script>"
HOSTILE = [
    Spec(
        at(11, 18), SCRIPT_NAME, email="mallory@example.com", value="10",
        remedies=[("refund", "10.00")], outcome="lost", tag=IMG_TAG,
        root_cause=ROOT_CAUSE, prevention=PREVENTION,
    ),
    Spec(
        at(11, 19), SCRIPT_NAME, email="mallory@example.com", value="10",
        remedies=[("credit", "2.00")], outcome="kept", tag=ODD_TAG,
        root_cause=ODD_TAG, prevention="Mind the <b>bold</b> & the rest",
    ),
]  # fmt: skip
HOSTILE_TEXTS = [SCRIPT_NAME, IMG_TAG, ODD_TAG, ROOT_CAUSE, PREVENTION]

# Orders, so that the report can tell who bought again: some of the customers above
# bought later, within 90 days of their case.
ORDERS = (
    "Name,Email,Financial Status,Currency,Total,Created at,"
    "Lineitem quantity,Lineitem name,Lineitem price,Billing Name\n"
    """\
#1001,ivy@example.com,paid,USD,30.00,2025-12-01 10:00:00 +0000,1,Blue Mug,30.00,Ivy Brown
#1002,ivy@example.com,paid,USD,12.00,2026-01-20 10:00:00 +0000,1,Red Cup,12.00,Ivy Brown
#1003,noah@example.com,paid,USD,50.00,2026-01-02 10:00:00 +0000,1,Teapot,50.00,Noah Kim
#1004,max@example.com,paid,USD,20.00,2026-03-01 10:00:00 +0000,1,Saucer,20.00,Max Berg
#1005,zoe@example.com,paid,USD,70.00,2026-05-01 10:00:00 +0000,1,Lamp,70.00,Zoe Adams
#1006,zoe@example.com,paid,USD,15.00,2026-06-30 10:00:00 +0000,1,Bulb,15.00,Zoe Adams
#1007,dana@example.com,paid,USD,40.00,2026-10-30 10:00:00 +0000,1,Blue Mug,40.00,Dana Reyes
#1008,dana@example.com,paid,USD,22.00,2026-11-25 10:00:00 +0000,1,Red Cup,22.00,Dana Reyes
#1009,kim@example.com,paid,USD,30.00,2026-11-01 10:00:00 +0000,1,Bowl,30.00,Kim Park
"""
)

GENERAL = PlaybookRef(id="general", title="General", hash="sha256:" + "0" * 64)


def built(case_id: str, spec: Spec) -> Case:
    """The case a spec describes, made with the project's own state changes."""
    customer = Customer(
        name=spec.name,
        email=spec.email,
        order_value=Decimal(spec.value) if spec.value is not None else None,
    )
    opened = spec.opened
    case = new_case(
        case_id, customer=customer, playbook=GENERAL, currency=spec.currency, now=opened
    )
    if spec.replied_after is not None:
        reply = opened + timedelta(hours=spec.replied_after)
        case.mail = MailThread(
            messages=[
                MailIn(
                    message_id=f"<complaint-{case_id}@example.com>",
                    subject="Something went wrong with my order",
                    date=opened,
                    sender=spec.email,
                    name=spec.name,
                    text="It never arrived.",
                    added_at=opened,
                )
            ],
            sent=[
                MailOut(
                    message_id=f"<reply-{case_id}@shop.example>",
                    what="reply",
                    to=spec.email,
                    subject="Re: Something went wrong with my order",
                    via="smtp",
                    status="sent",
                    at=reply,
                    sent_at=reply,
                )
            ],
        )
    else:
        case.steps.append(
            StepRecord(
                id="listen",
                title="Listen",
                status="noted",
                note="It never arrived.",
                started_at=opened + timedelta(minutes=2),
                ended_at=opened + timedelta(minutes=5),
            )
        )
    case.set_remedies(
        "remedy",
        [
            Remedy(
                step="remedy",
                offer=f"offer-{n}",
                label=f"{kind.title()} {n}",
                kind=kind,
                amount=Decimal(amount) if amount is not None else None,
                currency=spec.currency,
            )
            for n, (kind, amount) in enumerate(spec.remedies, start=1)
        ],
    )
    case.complete_walk(opened + timedelta(minutes=10))
    if spec.follow_up is not None:
        due = opened + timedelta(days=CHECK_IN_DAYS)
        if spec.follow_up == "to come":
            due = datetime.now(UTC) + timedelta(days=7)
        case.schedule_follow_up("check-in", due, "Is everything working now?")
        case.settle_status(opened)
        if spec.follow_up in ("on time", "late"):
            done = due + timedelta(days=1 if spec.follow_up == "late" else 0)
            case.record_follow_up(1, reached=True, happy="yes", note="", now=done)
    if spec.outcome is not None:
        outcome = Outcome(
            result=spec.outcome,
            satisfaction=4,
            cause_tag=spec.tag,
            root_cause=spec.root_cause,
            prevention=spec.prevention,
        )
        case.set_outcome(outcome, opened + timedelta(hours=spec.closed_after))
    return case


@dataclass(frozen=True)
class Machine:
    """This machine's own folders (cache and state), shared by every home here."""

    cache: Path
    state: Path

    def recover(self, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
        """``recover ARGS`` in its own process, as a script runs it, in UTC."""
        result = subprocess.run(
            [sys.executable, "-m", "recovery_cli", *args],
            env={
                "RECOVER_HOME": str(home),
                "RECOVER_CACHE_DIR": str(self.cache),
                "RECOVER_STATE_DIR": str(self.state),
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "NO_COLOR": "1",
                "TZ": "UTC",
                "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
            },
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=SAFETY,
            check=False,
        )
        assert result.returncode == 0, f"recover {' '.join(args)}:\n{result.stderr}"
        return result

    def fill(self, home: Path, specs: list[Spec], orders: Path) -> None:
        """Write the cases into ``home`` through the Store, and import the orders."""
        with pytest.MonkeyPatch.context() as env:
            env.setenv("RECOVER_CACHE_DIR", str(self.cache))
            env.setenv("RECOVER_STATE_DIR", str(self.state))
            with Store(home) as store:
                for spec in specs:
                    store.create(partial(built, spec=spec))
        self.recover(home, "orders", "import", "--platform", "shopify", str(orders))


@dataclass(frozen=True)
class Report:
    """A report page written by ``recover report``, and ``recover stats --json`` for
    the same days."""

    page: Path
    stats: dict[str, Any]


def report(machine: Machine, home: Path, month: str, first: str, last: str) -> Report:
    """``recover report --month MONTH`` of ``home``, and the stats of those days."""
    page = home.parent / f"{home.name}-{month}.html"
    machine.recover(home, "report", "--month", month, "-o", str(page))
    stats = machine.recover(home, "stats", "--json", "--since", first, "--until", last)
    return Report(page, json.loads(stats.stdout))


@pytest.fixture(scope="module")
def machine(tmp_path_factory: pytest.TempPathFactory) -> Machine:
    """This machine's folders, for every home of the module."""
    base = tmp_path_factory.mktemp("machine")
    return Machine(base / "cache", base / "state")


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory, machine: Machine) -> dict[str, Path]:
    """Two homes with the same orders: the cases above, and those with hostile ones."""
    base = tmp_path_factory.mktemp("homes")
    orders = base / "orders_export.csv"
    orders.write_text(ORDERS, encoding="utf-8")
    made = {"typical": base / "typical", "hostile": base / "hostile"}
    machine.fill(made["typical"], EARLIER + NOVEMBER, orders)
    machine.fill(made["hostile"], EARLIER + NOVEMBER + HOSTILE, orders)
    return made


@pytest.fixture(scope="module")
def typical(machine: Machine, homes: dict[str, Path]) -> Report:
    """November's report of the typical home."""
    return report(machine, homes["typical"], MONTH, FIRST_DAY, LAST_DAY)


@pytest.fixture(scope="module")
def hostile(machine: Machine, homes: dict[str, Path]) -> Report:
    """November's report of the home with hostile text."""
    return report(machine, homes["hostile"], MONTH, FIRST_DAY, LAST_DAY)


@pytest.fixture(scope="module")
def empty(machine: Machine, homes: dict[str, Path]) -> Report:
    """The report of June 2025, a month with no case in the twelve months up to it."""
    return report(machine, homes["typical"], "2025-06", "2025-06-01", "2025-06-30")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """One headless Chromium for the whole module."""
    with Browser() as started:
        yield started


@pytest.fixture
def on_typical(chromium: Browser, typical: Report) -> Browser:
    """The browser with November's typical report open, on a desktop screen."""
    chromium.open(typical.page)
    return chromium


# -- reading the page ------------------------------------------------------------------
def figures_shown(browser: Browser) -> list[tuple[str, str, str]]:
    """Every ``[data-json]`` element: its path, its value (JSON) and the text shown."""
    found: list[tuple[str, str, str]] = browser.evaluate(
        "return Array.from(document.querySelectorAll('[data-json]'),"
        " e => [e.dataset.json, e.dataset.value ?? '', e.textContent.trim()])"
    )
    return found


def value_at(data: Any, path: str) -> Any:
    """The value at a dotted path into JSON (list indexes as numbers); KeyError if none."""
    for key in path.split("."):
        if isinstance(data, list):
            if not key.isdigit() or int(key) >= len(data):
                raise KeyError(path)
            data = data[int(key)]
        elif isinstance(data, dict) and key in data:
            data = data[key]
        else:
            raise KeyError(path)
    return data


@dataclass(frozen=True)
class Chart:
    """What one ``figure.chart`` holds."""

    svgs: int
    role: str | None
    title: str
    bars: int
    points: int
    table: str | None
    rows: int


def charts(browser: Browser) -> dict[str, Chart]:
    """The page's charts, by name."""
    found = browser.evaluate(
        """return Array.from(document.querySelectorAll('figure.chart'), f => {
          const svg = f.querySelector('svg');
          const table = f.querySelector('table[data-table]');
          return [f.dataset.chart, {
            svgs: f.querySelectorAll('svg').length,
            role: svg && svg.getAttribute('role'),
            title: (svg && svg.querySelector(':scope > title')?.textContent || '').trim(),
            bars: f.querySelectorAll('svg rect.bar').length,
            points: f.querySelectorAll('svg circle.point').length,
            table: table && table.dataset.table,
            rows: table ? table.querySelectorAll('tbody tr').length : 0,
          }];
        })"""
    )
    return {name: Chart(**chart) for name, chart in found}


def luminance(browser: Browser, css_colour: str) -> tuple[float, int]:
    """The relative luminance (WCAG, 0 black to 1 white) of a CSS colour in any syntax,
    as the browser paints it, and its alpha (0 to 255)."""
    red, green, blue, alpha = browser.evaluate(
        """const paint = document.createElement('canvas').getContext('2d');
        paint.fillStyle = arguments[0];
        paint.fillRect(0, 0, 1, 1);
        return Array.from(paint.getImageData(0, 0, 1, 1).data);""",
        css_colour,
    )

    def linear(channel: int) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue), alpha


# -- the store -------------------------------------------------------------------------
def test_the_month_holds_the_cases_worked_out_by_hand(typical: Report) -> None:
    stats = typical.stats
    assert (stats["cases"], stats["with_outcome"], stats["kept_rate"]) == (11, 9, 0.4444)
    assert stats["outcomes"] == {"kept": 4, "refunded": 2, "lost": 2, "escalated": 1}
    assert stats["follow_ups"] == {"on_time": 3, "late": 2, "missed": 1, "pending": 1}
    assert stats["cause_tags"] == {"email": 3, "courier": 2, "packaging": 2, "sizing": 1}
    kinds = {kind for kind, tally in stats["remedy_kinds"].items() if tally["with_outcome"]}
    assert kinds == {"refund", "credit", "bonus", "discount", "gift", "exchange"}
    assert {currency: money["cost"] for currency, money in stats["money"].items()} == {
        "USD": "206.50",
        "EUR": "92.00",
    }
    assert [bucket["cases"] for bucket in stats["speed"]["first_reply"]["buckets"]] == [
        7,  # the six calls, and the email answered in half an hour
        1,
        1,
        1,
        1,
    ]


# -- the page on its own ---------------------------------------------------------------
def test_the_report_is_one_page_that_asks_for_nothing_and_shows_no_error(
    on_typical: Browser,
) -> None:
    assert on_typical.requests() == []
    assert on_typical.console_errors() == []
    assert on_typical.calls() == []
    sections = on_typical.evaluate(
        "return Array.from(document.querySelectorAll('section[id]'), s => s.id)"
    )
    assert [name for name in SECTIONS if name not in sections] == []


def test_every_figure_shown_is_the_one_recover_stats_json_gives(
    on_typical: Browser, typical: Report
) -> None:
    shown = figures_shown(on_typical)
    assert len(shown) >= 20, f"only {len(shown)} figures carry data-json"
    wrong = []
    for path, value, text in shown:
        try:
            expected = value_at(typical.stats, path)
        except KeyError:
            wrong.append(f"{path}: not in recover stats --json (shown as {text!r})")
            continue
        try:
            given = json.loads(value)
        except ValueError:
            wrong.append(f"{path}: data-value {value!r} is not JSON (shown as {text!r})")
            continue
        if given != expected:
            wrong.append(f"{path}: data-value {value} but stats say {json.dumps(expected)}")
    assert wrong == []


def test_the_months_figures_are_the_ones_its_cases_make(on_typical: Browser) -> None:
    shown = {path: json.loads(value) for path, value, _ in figures_shown(on_typical)}
    expected = {
        "kept_rate": 0.4444,  # 4 kept of 9 with an outcome
        "outcomes.kept": 4,
        "follow_ups.missed": 1,
        "money.USD.cost": "206.50",
        "money.EUR.cost": "92.00",
        "cause_tags.email": 3,
        "remedy_kinds.refund.with_outcome": 4,
    }
    assert {path: shown.get(path, "not shown") for path in expected} == expected


# -- charts ------------------------------------------------------------------------------
# Each chart, with its marks (bars, or points on a line) and the rows of its table.
EXPECTED_CHARTS = {
    "kept-by-month": ("points", MONTHS_WITH_AN_OUTCOME, 12),
    "cost-by-month-USD": ("bars", 24, 12),  # 12 months x cost and order value
    "cost-by-month-EUR": ("bars", 24, 12),
    # A bar for each kind with an outcome behind its rate; the table also lists the
    # kinds given in cases still open (here: nothing given, one open case).
    "remedies": ("bars", 6, 7),
    "first-reply": ("bars", 5, 5),
    "time-to-close": ("bars", 5, 5),
    "follow-ups": ("bars", 3, 4),  # on time, late, missed; the table adds to come
    "causes": ("bars", 4, 4),
    "bought-again": ("bars", 3, 3),  # kept, refunded, lost
}


def test_the_charts_are_the_ones_the_month_has(on_typical: Browser) -> None:
    assert sorted(charts(on_typical)) == sorted(EXPECTED_CHARTS)  # no chart for pounds


@pytest.mark.parametrize("name", list(EXPECTED_CHARTS))
def test_a_chart_draws_one_mark_per_figure_and_lists_them_in_its_table(
    on_typical: Browser, name: str
) -> None:
    chart = charts(on_typical).get(name)
    assert chart is not None, f"no figure.chart[data-chart={name!r}]"
    assert (chart.svgs, chart.role) == (1, "img")
    assert chart.title, "the chart's svg has no <title>"
    assert chart.table == name
    kind, marks, rows = EXPECTED_CHARTS[name]
    other = "points" if kind == "bars" else "bars"
    assert {kind: getattr(chart, kind), other: getattr(chart, other), "rows": chart.rows} == {
        kind: marks,
        other: 0,
        "rows": rows,
    }


def test_the_tables_without_a_chart_are_there(on_typical: Browser) -> None:
    tables = on_typical.evaluate(
        "return Array.from(document.querySelectorAll('table[data-table]'), t => t.dataset.table)"
    )
    assert [name for name in PLAIN_TABLES if name not in tables] == []


def test_a_month_without_cases_says_so_instead_of_charting(
    chromium: Browser, empty: Report
) -> None:
    chromium.open(empty.page)
    assert chromium.console_errors() == [] and chromium.requests() == []
    sections = dict(
        chromium.evaluate(
            "return Array.from(document.querySelectorAll('section[id]'), s => [s.id, {"
            " charts: Array.from(s.querySelectorAll('figure.chart'), f => f.dataset.chart),"
            " empty: s.querySelector('p.empty') !== null}])"
        )
    )
    assert [name for name in SECTIONS if name not in sections] == []
    charted = {
        name: sections[name]["charts"]
        for name in CHARTED
        if sections[name]["charts"] or not sections[name]["empty"]
    }
    assert charted == {}, "sections that chart nothing instead of saying so (p.empty)"


# -- hostile text ------------------------------------------------------------------------
def test_markup_in_names_tags_and_causes_is_shown_as_text_and_never_run(
    chromium: Browser, typical: Report, hostile: Report
) -> None:
    count = (
        "return ['style', 'script', '[onerror]', '[onload]']"
        ".map(s => document.querySelectorAll(s).length)"
    )
    chromium.open(typical.page)
    usual = chromium.evaluate(count)
    chromium.open(hostile.page)
    assert chromium.calls() == []
    assert chromium.console_errors() == []
    assert chromium.requests() == []
    text = chromium.evaluate("return document.body.innerText")
    assert [shown for shown in HOSTILE_TEXTS if shown not in text] == []
    stray = chromium.evaluate(
        "return Array.from(document.images).filter(i => !i.closest('figure.chart')).length"
    )
    assert stray == 0
    assert chromium.evaluate(count) == usual  # style, script, onerror, onload elements


# -- how it looks ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("screen", "width", "height", "mobile"),
    [("desktop", 1280, 900, False), ("phone", 390, 844, True)],
)
def test_the_page_is_drawn_on_a_desktop_and_on_a_phone(
    on_typical: Browser, screen: str, width: int, height: int, mobile: bool
) -> None:
    shot = artefacts_dir() / f"report-{screen}.png"
    size = on_typical.screenshot(shot, width, height, mobile=mobile)
    print(f"{screen} screenshot of the report: {shot}")
    assert size[0] == width and size[1] >= height
    assert not is_blank(shot)
    # Nothing on the page is wider than the screen: no sideways scrolling.
    assert on_typical.evaluate("return document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_page_follows_the_readers_light_or_dark_setting(
    on_typical: Browser, scheme: Literal["light", "dark"]
) -> None:
    on_typical.color_scheme(scheme)
    shot = artefacts_dir() / f"report-{scheme}.png"
    on_typical.screenshot(shot, 1280, 900)
    print(f"{scheme} screenshot of the report: {shot}")
    background, colour = on_typical.evaluate(
        "const style = getComputedStyle(document.body); return [style.backgroundColor, style.color]"
    )
    (ground, opacity), (ink, _) = luminance(on_typical, background), luminance(on_typical, colour)
    seen = f"{scheme} scheme: background {background}, text {colour}"
    assert opacity == 255, f"{seen}: the background is not opaque"
    if scheme == "dark":
        assert ground < 0.3 and ink > 0.5, f"{seen}: not light text on a dark background"
    else:
        assert ground > 0.5 and ink < 0.3, f"{seen}: not dark text on a light background"


# -- printing ------------------------------------------------------------------------------
def test_chromium_prints_the_month_on_one_to_three_pages(typical: Report, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    pages = print_to_pdf(typical.page, pdf)
    assert 1 <= pages <= 3, f"{pages} pages on {pdf_paper(pdf)}"


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_the_month_prints_on_one_to_three_pages_of_a4_or_letter(
    on_typical: Browser, tmp_path: Path, paper: Paper
) -> None:
    pdf = tmp_path / f"report-{paper}.pdf"
    pages = on_typical.print_pdf(pdf, paper)
    assert 1 <= pages <= 3, f"{pages} pages on {paper}"
    assert pdf_paper(pdf) == paper
